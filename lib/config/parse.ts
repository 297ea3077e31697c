// Parsing the stack configuration: the schema, the cross-field rules and the secret rules all run on the raw
// values before any resource is declared, every problem is reported at once, and the result is one frozen
// FleetConfig. Its type is what `build` makes of the schema's output (z.output), so a key is declared once, in
// its group's schema; `build` only resolves what one key cannot know alone (region order, prewarm URLs, the
// database addresses) and joins the secrets.
import * as pulumi from "@pulumi/pulumi";
import { PROJECT } from "../constants";
import { joinHostPort, normalizeAddress } from "../validate";
import { SecretValue } from "../secret";
import { toConnectionSettings } from "./connection";
import {
  FleetConfigError,
  fallbackMessage,
  fromIssues,
  sortedProblems,
  typed,
  withoutNulls,
  type Found,
} from "./problems";
import { crossFieldRules } from "./rules";
import { ALL_KEYS, plainSchema, SECRET_KEYS, type PlainConfig, type RawConfig } from "./schema";
import type { ExistingLogin } from "./logins";
import { secretRules, type StringSecretKey } from "./secrets";

/** Readonly all the way down; secret values stay what they are. */
type Frozen<T> = T extends SecretValue
  ? T
  : T extends readonly (infer U)[]
    ? readonly Frozen<U>[]
    : T extends object
      ? { readonly [K in keyof T]: Frozen<T[K]> }
      : T;

/** The whole configuration as the program reads it. */
export type FleetConfig = Frozen<ReturnType<typeof build>>;
export type RegionConfig = FleetConfig["regions"][number];
export type EnvironmentConfig = FleetConfig["environments"][number];
export type ProbePaths = FleetConfig["probes"];
export type NodeClass = FleetConfig["nodeClass"];
export type DatabaseConfig = FleetConfig["database"];
export type OtelConfig = NonNullable<FleetConfig["otel"]>;
export type PrewarmConfig = FleetConfig["prewarm"];
export type PodConfig = FleetConfig["pod"];
export type NamespacePodSecurity = FleetConfig["namespacePodSecurity"];
export type PodSecurityLevel = NamespacePodSecurity["enforce"];
export type StackRole = FleetConfig["stackRole"];

/**
 * Parses and validates the whole configuration. Throws FleetConfigError listing every problem.
 * Pure: callers pass the raw values (from `pulumi.runtime.allConfig()`, or a stack YAML file for synth).
 */
export function parseFleetConfig(raw: RawConfig): FleetConfig {
  const input: Record<string, unknown> = {};
  const found: Found[] = [];
  for (const [full, value] of Object.entries(raw.values)) {
    if (!full.startsWith(`${PROJECT}:`) || value === undefined || value === null) continue;
    const name = full.slice(PROJECT.length + 1);
    if ((SECRET_KEYS as readonly string[]).includes(name)) continue;
    if (!(ALL_KEYS as string[]).includes(name)) {
      found.push({ path: [name], message: `unknown key (known: ${ALL_KEYS.join(", ")})` });
      continue;
    }
    const v = withoutNulls(typed(value));
    if (v !== null) input[name] = v;
  }

  const parsed = plainSchema.safeParse(input, { error: fallbackMessage });
  if (!parsed.success) found.push(...fromIssues(parsed.error.issues));
  found.push(...crossFieldRules(input));
  const { found: secretProblems, secrets, logins } = secretRules(raw, input);
  found.push(...secretProblems);

  if (found.length > 0 || !parsed.success) throw new FleetConfigError(sortedProblems(found, input));
  return deepFreeze(build(parsed.data, secrets, logins));
}

/** Keys of `database` that become the connection settings or an address below. */
const CONNECTION_KEYS = [
  "host",
  "port",
  "user",
  "name",
  "connectTimeoutMs",
  "operationTimeoutMs",
  "tls",
  "primaryAddress",
  "replicaAddress",
] as const;

function without<T extends object, K extends keyof T>(value: T, keys: readonly K[]): Omit<T, K> {
  return Object.fromEntries(
    Object.entries(value).filter(([k]) => !(keys as readonly PropertyKey[]).includes(k)),
  ) as Omit<T, K>;
}

function build(
  c: PlainConfig,
  secrets: Record<StringSecretKey, SecretValue | null>,
  logins: Record<string, ExistingLogin> | null,
) {
  const regionNames = c.regions.map((r) => r.name);
  // Subsets keep the order of `regions`: names derive from stable keys, never from list positions.
  const inOrder = (names: readonly string[] | undefined) =>
    names === undefined ? regionNames : regionNames.filter((n) => names.includes(n));
  const template = c.prewarm.urlTemplate ?? null;
  const settings = toConnectionSettings(c.database);
  const primaryAddress =
    c.database.primaryAddress === undefined
      ? joinHostPort(settings.host, settings.port)
      : (normalizeAddress(c.database.primaryAddress) as string);
  const replicaAddress =
    c.database.replicaAddress === undefined
      ? primaryAddress
      : (normalizeAddress(c.database.replicaAddress) as string);
  return {
    ...c,
    pod: { ...c.pod, priorityClassName: c.pod.priorityClassName ?? null },
    regions: c.regions.map((r) => ({
      ...r,
      kubeContext: r.kubeContext ?? null,
      prewarmUrl: r.prewarmUrl ?? (template === null ? null : template.split("{region}").join(r.name)),
    })),
    deployRegions: inOrder(c.deployRegions),
    waves: c.waves ?? null,
    regionBaseStack: c.regionBaseStack ?? null,
    shards: c.shards ?? [],
    shard: c.shard ?? null,
    environments: c.environments.map((e) => ({
      ...e,
      shard: e.shard ?? null,
      regions: inOrder(e.regions),
      replicas: e.replicas ?? null,
      cpuMillicores: e.cpuMillicores ?? null,
      memoryMib: e.memoryMib ?? null,
      image: e.image ?? null,
    })),
    probes: {
      liveness: c.probes.livenessPath,
      readiness: c.probes.readinessPath,
      startup: c.probes.startupPath,
    },
    database: {
      ...settings,
      password: secrets.databasePassword as SecretValue,
      caCert: secrets.databaseCaCert,
      /** With `logins: existing`: region name -> its DSNs (every deployed region); otherwise null. */
      existingLogins: logins,
      primaryAddress,
      replicaAddress,
      ...without(c.database, CONNECTION_KEYS),
    },
    clickhouseUrl: secrets.clickhouseUrl as SecretValue,
    redisUrl: secrets.redisUrl as SecretValue,
    otel: c.otel === undefined ? null : { ...c.otel, headers: secrets.otelHeaders },
    prewarm: { ...without(c.prewarm, ["urlTemplate"]), token: secrets.prewarmToken },
  };
}

function deepFreeze<T>(value: T): T {
  if (
    typeof value === "object" &&
    value !== null &&
    !(value instanceof SecretValue) &&
    !Object.isFrozen(value)
  ) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

/**
 * Reads the running stack's configuration (the Pulumi runtime's view: values as strings, secrets decrypted,
 * the secret keys listed) and parses it.
 */
export function readStackConfig(): FleetConfig {
  const values = pulumi.runtime.allConfig();
  // isConfigSecret is how the SDK itself reads the language host's PULUMI_CONFIG_SECRET_KEYS; it is exported
  // from the runtime module but not declared in its typings.
  const runtime = pulumi.runtime as unknown as { isConfigSecret: (k: string) => boolean };
  const secretKeys = Object.keys(values).filter((k) => runtime.isConfigSecret(k));
  return parseFleetConfig({ values, secretKeys });
}
