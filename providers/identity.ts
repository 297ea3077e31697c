// Deterministic sentinel identity and sizing. Pure functions shared by the dynamic provider (check, create)
// and the components (rollout timeouts), so preview and `up` agree on names without touching the database.
import { createHash } from "crypto";
import { CLUSTER_DOMAIN, PORTS, ROWS, SIZING } from "../lib/constants";

export interface SentinelIdentity {
  readonly sentinelId: string;
  readonly k8sName: string;
}

const LETTERS = "abcdefghijklmnopqrstuvwxyz";

function digest(kind: string, environmentId: string, regionId: string): bigint {
  // The NUL separator keeps ("ab", "c") and ("a", "bc") apart.
  const hex = createHash("sha256").update(`${kind}\0${environmentId}\0${regionId}`).digest("hex");
  return BigInt(`0x${hex}`);
}

/**
 * The identity this program proposes for the sentinel of (environment, region): the same on every machine and
 * every run, so `pulumi preview` shows real names and concurrent runs race for the same row instead of
 * inserting two. `k8sName` is an RFC 1035 label of `ROWS.k8sNameLength` characters, first a letter; 12
 * characters (26 × 36^11 ≈ 2^61.6 names) keep the unique `k8s_name` key collision-free at any realistic fleet size, where
 * 8 random characters would give a ~0.25% chance of one collision at 100,000 sentinels.
 */
export function proposeIdentity(environmentId: string, regionId: string): SentinelIdentity {
  const nameBits = digest("k8s-name", environmentId, regionId);
  const first = LETTERS[Number(nameBits % 26n)];
  // Low-order base-36 digits of a 256-bit number are uniform; the leading digit would not be.
  const rest = (nameBits / 26n).toString(36).slice(-(ROWS.k8sNameLength - 1));
  const idBits = digest("sentinel-id", environmentId, regionId);
  return {
    sentinelId: `${ROWS.idPrefix}${idBits.toString(36).slice(-20)}`,
    k8sName: `${first}${rest}`,
  };
}

/** `<k8s_name>.<namespace>.svc.cluster.local:8040` (spec section 1). */
export function sentinelAddress(k8sName: string, namespace: string): string {
  return `${k8sName}.${namespace}.${CLUSTER_DOMAIN}:${PORTS.http}`;
}

/** Replicas: 3 for the `production` slug, 1 otherwise, unless the environment overrides it. */
export function resolveReplicas(slug: string, override: number | null | undefined): number {
  if (override !== null && override !== undefined) return override;
  return slug === SIZING.productionSlug ? SIZING.productionReplicas : SIZING.defaultReplicas;
}
