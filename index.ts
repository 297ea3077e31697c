// sentinel-fleet: provisions every sentinel of every configured environment in every configured region.
// The configuration is validated whole before any resource is declared.
import { deployFleet } from "./components/fleet";
import { readStackConfig } from "./lib/config";

/** Environment id → region name → { sentinelId, k8sName, address }. */
export const sentinels = deployFleet(readStackConfig());
