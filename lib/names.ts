// Names: Kubernetes object names and MySQL user names derived from stable keys (environment id, region name),
// never from list positions, so reordering the config renames nothing.
import { createHash } from "crypto";

const MAX_DNS_LABEL = 63;

function shortHash(text: string, length = 8): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}

function sanitize(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/**
 * Kinds of per-environment objects in a region's namespace: the environment's one Secret (every key its pods
 * read: database DSNs, ClickHouse, Redis, OpenTelemetry) and the gossip headless Service and policy.
 */
export type EnvironmentObjectKind = "env" | "gossip";

/**
 * The name of a per-environment object: `sentinel-<kind>-<readable environment id>-<hash>`, an RFC 1035 label
 * of at most 63 characters. Environment ids are case-sensitive and may hold `_`; lowercasing alone could map
 * two environments to one name, so a hash of the exact id keeps names unique per environment.
 */
export function environmentObjectName(kind: EnvironmentObjectKind, environmentId: string): string {
  const prefix = `sentinel-${kind}`;
  const suffix = shortHash(environmentId);
  const room = MAX_DNS_LABEL - prefix.length - suffix.length - 2;
  const readable = sanitize(environmentId).slice(0, room).replace(/-+$/, "");
  return readable === "" ? `${prefix}-${suffix}` : `${prefix}-${readable}-${suffix}`;
}

/** MySQL user of a region's sentinels: `sentinel_<region>`, within MySQL's 32-character limit. */
export function sentinelDbUser(regionName: string): string {
  const base = `sentinel_${regionName.replace(/[^A-Za-z0-9]+/g, "_")}`;
  return base.length <= 32 ? base : `${base.slice(0, 23)}_${shortHash(regionName)}`;
}
