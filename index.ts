// sentinel-fleet: provisions every sentinel of every configured environment in every configured region.
// The configuration is validated whole, and the engine checked for what the program needs, before any
// resource is declared.
import { deployFleet } from "./components/fleet";
import { readStackConfig } from "./lib/config";
import { requireSupportedEngine } from "./lib/engine";

const config = readStackConfig();
const fleet = requireSupportedEngine().then(() => deployFleet(config));
/** Environment id → region name → { sentinelId, k8sName, address }. */
export const sentinels = fleet.then((f) => f.sentinels);
/** Region base stacks only: region name → { namespace, databasePrimaryDsn, databaseReplicaDsn } (DSNs secret). */
export const regionBase = fleet.then((f) => f.regionBase);
