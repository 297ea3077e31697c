// sentinel-fleet: provisions every sentinel of every configured environment in every configured region.
// The configuration is validated whole before any resource is declared.
import { deployFleet } from "./components/fleet";
import { readStackConfig } from "./lib/config";

const fleet = deployFleet(readStackConfig());
/** Environment id → region name → { sentinelId, k8sName, address }. */
export const sentinels = fleet.then((f) => f.sentinels);
/** Region base stacks only: region name → { namespace, databasePrimaryDsn, databaseReplicaDsn } (DSNs secret). */
export const regionBase = fleet.then((f) => f.regionBase);
