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

/** The two sentinel logins of a region, used alternately as the credential rotation generation advances. */
export type LoginSlot = "a" | "b";

/**
 * MySQL user of a region's login in `slot`: login A is `sentinel_<region>`, the name a stack with one login per
 * region already has (so an upgrade keeps it), login B `sentinelb_<region>`. The prefixes differ before the region part, so no region
 * name's A login can equal another's B login; both stay within MySQL's 32 characters.
 */
export function sentinelDbLogin(regionName: string, slot: LoginSlot): string {
  if (slot === "a") return sentinelDbUser(regionName);
  const base = `sentinelb_${regionName.replace(/[^A-Za-z0-9]+/g, "_")}`;
  return base.length <= 32 ? base : `${base.slice(0, 23)}_${shortHash(regionName)}`;
}

/** One resource the program declares: what its URN is made of, and the configuration it comes from. */
export interface DeclaredResource {
  /** The qualified type as the engine writes it into the URN: the parent type chain joined with `$`. */
  readonly qualifiedType: string;
  readonly name: string;
  /** Where the name comes from, for error messages: the config key and the values joined into it. */
  readonly origin: string;
  /** The config key path of that origin, e.g. `sentinel-fleet:environments[2] (env_x)`. */
  readonly path: string;
}

/** A problem in the same shape as the configuration parser's (path, message). */
export interface NameProblem {
  readonly path: string;
  readonly message: string;
}

/** Type tokens of what the program declares (components/), as they appear in URNs. */
/** The Pulumi name of the rows' explicit provider (components/fleet.ts): one per stack that declares rows. */
export const RECORDS_PROVIDER_NAME = "sentinel-records";

export const RESOURCE_TYPES = {
  kubernetesProvider: "pulumi:providers:kubernetes",
  mysqlProvider: "pulumi:providers:mysql",
  recordsProvider: "pulumi:providers:pulumi-nodejs",
  namespace: "kubernetes:core/v1:Namespace",
  password: "random:index/randomPassword:RandomPassword",
  user: "mysql:index/user:User",
  grant: "mysql:index/grant:Grant",
  environment: "sentinel-fleet:index:SentinelEnvironment",
  sentinel: "sentinel-fleet:index:Sentinel",
  secret: "kubernetes:core/v1:Secret",
  service: "kubernetes:core/v1:Service",
  ciliumPolicy: "kubernetes:cilium.io/v2:CiliumNetworkPolicy",
  record: "pulumi-nodejs:dynamic:Resource",
  stackReference: "pulumi:pulumi:StackReference",
  deployment: "kubernetes:apps/v1:Deployment",
  pdb: "kubernetes:policy/v1:PodDisruptionBudget",
} as const;

/** What names depend on, as a structural subset of FleetConfig (so this module needs no config import). */
export interface NamingConfig {
  readonly regions: readonly { readonly name: string }[];
  readonly deployRegions: readonly string[];
  readonly environments: readonly NamingEnvironment[];
  readonly ciliumNetworkPolicies: boolean;
  readonly otel: unknown;
  readonly stackRole: "fleet" | "regionBase" | "environmentShard";
  /** Whose the sentinel logins are; only managed logins have names that can collide. Default: managed. */
  readonly database?: { readonly logins: "managed" | "existing" };
  readonly shards: readonly string[];
  readonly shard: string | null;
}

export interface NamingEnvironment {
  readonly environmentId: string;
  readonly regions: readonly string[];
  readonly shard: string | null;
}

/**
 * The environments this stack declares: none in a region base stack; in an environment shard of a sharded fleet,
 * exactly those assigned to its shard; otherwise all; of these, those with a region in `deployRegions`.
 */
export function stackEnvironments<E extends NamingEnvironment>(
  cfg: Omit<NamingConfig, "environments"> & { readonly environments: readonly E[] },
): readonly E[] {
  if (cfg.stackRole === "regionBase") return [];
  const mine =
    cfg.stackRole === "environmentShard" && cfg.shards.length > 0
      ? cfg.environments.filter((e) => e.shard === cfg.shard)
      : cfg.environments;
  return mine.filter((e) => e.regions.some((r) => cfg.deployRegions.includes(r)));
}

/**
 * Every resource the program (components/fleet.ts, sentinelEnvironment.ts, sentinel.ts, regionDatabase.ts)
 * declares for `cfg`, by URN-relevant parts: the engine builds a URN from the stack, the project, the parent
 * type chain, the type and the name, so two resources collide exactly when the last two are equal. Keep in
 * step with the components: tests/names.test.ts compares this list with what the program registers.
 */
export function declaredResources(cfg: NamingConfig): DeclaredResource[] {
  const T = RESOURCE_TYPES;
  const ownsShared = cfg.stackRole !== "environmentShard";
  const program = { origin: "the program", path: "sentinel-fleet" };
  const out: DeclaredResource[] = ownsShared
    ? [{ qualifiedType: T.mysqlProvider, name: "platform-db", ...program }]
    : [{ qualifiedType: T.stackReference, name: "region-base", ...program }];
  const environments = stackEnvironments(cfg);
  if (environments.length > 0)
    out.push({ qualifiedType: T.recordsProvider, name: RECORDS_PROVIDER_NAME, ...program });
  const deployed = cfg.regions.filter((r) => cfg.deployRegions.includes(r.name));
  for (const region of deployed) {
    const origin = `region ${JSON.stringify(region.name)}`;
    const path = `sentinel-fleet:regions[${cfg.regions.indexOf(region)}] (${region.name})`;
    const base = `region-${region.name}`;
    if (ownsShared) {
      out.push(
        { qualifiedType: T.kubernetesProvider, name: `${base}-namespace`, origin, path },
        { qualifiedType: T.namespace, name: `${base}-namespace`, origin, path },
      );
      for (const login of [`${base}-sentinel-db`, `${base}-sentinel-db-b`]) {
        for (const qualifiedType of [T.password, T.user, T.grant])
          out.push({ qualifiedType, name: login, origin, path });
      }
    }
    if (environments.length > 0) out.push({ qualifiedType: T.kubernetesProvider, name: base, origin, path });
  }
  const environment = T.environment;
  const sentinel = `${environment}$${T.sentinel}`;
  for (const env of environments) {
    const regions = env.regions.filter((name) => cfg.deployRegions.includes(name));
    const path = `sentinel-fleet:environments[${cfg.environments.indexOf(env)}] (${env.environmentId})`;
    out.push({
      qualifiedType: environment,
      name: env.environmentId,
      origin: `environment ${JSON.stringify(env.environmentId)}`,
      path,
    });
    for (const region of regions) {
      const origin = `environment ${JSON.stringify(env.environmentId)} in region ${JSON.stringify(region)}`;
      const pair = `${env.environmentId}-${region}`;
      out.push({ qualifiedType: `${environment}$${T.secret}`, name: `${pair}-env`, origin, path });
      out.push({ qualifiedType: `${environment}$${T.service}`, name: `${pair}-gossip`, origin, path });
      if (cfg.ciliumNetworkPolicies) {
        out.push({
          qualifiedType: `${environment}$${T.ciliumPolicy}`,
          name: `${pair}-gossip-policy`,
          origin,
          path,
        });
      }
      out.push({ qualifiedType: sentinel, name: pair, origin, path });
      for (const type of [T.record, T.deployment, T.service, T.pdb]) {
        out.push({ qualifiedType: `${sentinel}$${type}`, name: pair, origin, path });
      }
    }
  }
  return out;
}

/**
 * Configurations whose resources would share a URN: the engine would stop mid-registration with "Duplicate
 * resource URN", after creating part of the fleet. One problem per clash, naming both origins and the name.
 */
export function nameCollisionProblems(cfg: NamingConfig): NameProblem[] {
  const seen = new Map<string, DeclaredResource>();
  const clashes = new Map<string, { first: DeclaredResource; others: DeclaredResource[] }>();
  for (const r of declaredResources(cfg)) {
    const key = `${r.qualifiedType}::${r.name}`;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, r);
      continue;
    }
    const clash = clashes.get(key) ?? { first, others: [] };
    clash.others.push(r);
    clashes.set(key, clash);
  }
  const problems: NameProblem[] = [];
  const reported = new Set<string>();
  for (const [key, { first, others }] of clashes) {
    const origins = [first.origin, ...others.map((o) => o.origin)].filter(
      (o, i, all) => all.indexOf(o) === i,
    );
    // One resource kind clashing is enough to report a pair of origins; the others would repeat it.
    const pairKey = origins.join("\n");
    if (reported.has(pairKey)) continue;
    reported.add(pairKey);
    const type = key.slice(0, key.lastIndexOf("::")).split("$").pop();
    problems.push({
      // The later of the two in the configuration is the one to point at.
      path: (others[others.length - 1] ?? first).path,
      message:
        `${origins.join(" and ")} would both declare ${type} ${JSON.stringify(first.name)} ` +
        "(Pulumi names join environment ids and region names with '-'); rename one of them",
    });
  }
  // Not URNs, but the same kind of clash: two regions whose managed logins are one MySQL user would rotate
  // each other's password. Every configured region counts, not only this shard's: shards share the database.
  const logins = new Map<string, string>();
  for (const [i, region] of (cfg.database?.logins ?? "managed") === "managed" ? cfg.regions.entries() : []) {
    for (const slot of ["a", "b"] as const) {
      const login = sentinelDbLogin(region.name, slot);
      const other = logins.get(login);
      if (other !== undefined && other !== region.name) {
        problems.push({
          path: `sentinel-fleet:regions[${i}] (${region.name})`,
          message:
            `regions ${JSON.stringify(other)} and ${JSON.stringify(region.name)} would share the MySQL login ` +
            `${JSON.stringify(login)} (non-alphanumeric runs become one '_'); rename one of them`,
        });
      }
      logins.set(login, region.name);
    }
  }
  return problems;
}
