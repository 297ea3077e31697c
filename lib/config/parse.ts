// Parsing the stack configuration: the schema, the cross-field rules and the secret rules all run on the raw
// values before any resource is declared, every problem is reported at once, and the result is one frozen
// FleetConfig. Its type is what `build` makes of the schema's output (z.output), so a key is declared once, in
// its group's schema; `build` only resolves what one key cannot know alone (region order, prewarm URLs, the
// database addresses) and joins the secrets.
import * as pulumi from "@pulumi/pulumi";
import { PROJECT, PROVIDER_NAMESPACES } from "../constants";
import { joinHostPort, normalizeAddress } from "../validate";
import { SecretValue } from "../secret";
import { providerConnectionText, toConnectionSettings } from "./connection";
import {
  FleetConfigError,
  fallbackMessage,
  fromIssues,
  nearestKey,
  oneProblemPerMistake,
  sortedProblems,
  typed,
  unknownKeyMessage,
  withoutNulls,
  writtenSchema,
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
    const colon = full.indexOf(":");
    const namespace = colon < 0 ? PROJECT : full.slice(0, colon);
    const name = full.slice(colon + 1);
    if (namespace !== PROJECT) {
      const problem = foreignKeyProblem(namespace, name);
      if (problem !== null) found.push({ path: [name], foreignKey: full, message: problem });
      continue;
    }
    if (value === undefined || value === null) continue;
    if ((SECRET_KEYS as readonly string[]).includes(name)) continue;
    if (!(ALL_KEYS as string[]).includes(name)) {
      found.push({ path: [name], message: unknownKeyMessage(name, ALL_KEYS) });
      continue;
    }
    const v = withoutNulls(asProgramValue(name, value));
    if (v !== null) input[name] = v;
  }

  const parsed = plainSchema.safeParse(input, { error: fallbackMessage });
  if (!parsed.success) found.push(...fromIssues(parsed.error.issues));
  found.push(...crossFieldRules(input));
  const { found: secretProblems, secrets, logins } = secretRules(raw, input);
  found.push(...secretProblems);

  if (found.length > 0 || !parsed.success) {
    throw new FleetConfigError(sortedProblems(oneProblemPerMistake(found, input), input));
  }
  return deepFreeze(build(parsed.data, secrets, logins));
}

let stringKeys: ReadonlySet<string> | undefined;

/**
 * A top-level value as the program means it. Pulumi hands every value over as a string (a mapping or a list as
 * its JSON text): a key whose schema is a string takes that text as it is (`"1"`, `"null"` and `"true"` are
 * those strings), any other key is its JSON. Values that are not strings come from callers that parsed them.
 */
function asProgramValue(name: string, value: unknown): unknown {
  if (typeof value !== "string") return value;
  stringKeys ??= new Set(
    Object.entries(writtenSchema().properties as Record<string, { type?: unknown }>)
      .filter(([, s]) => s.type === "string")
      .map(([k]) => k),
  );
  return stringKeys.has(name) ? value : typed(value);
}

/**
 * A key under another namespace than this project's: the providers' own namespaces are theirs to read; any
 * other is most likely a mistyped project name, whose keys the program would otherwise never see.
 */
function foreignKeyProblem(namespace: string, name: string): string | null {
  if ((PROVIDER_NAMESPACES as readonly string[]).includes(namespace)) return null;
  const near = (ALL_KEYS as string[]).includes(name) ? name : nearestKey(name, ALL_KEYS);
  return (
    `unknown namespace (this project's keys are ${PROJECT}:<key>` +
    (near === undefined ? ")" : `; did you mean ${PROJECT}:${near}?)`)
  );
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
      /** The connection as the rows' provider reads it (providerConnectionText). */
      providerConnection: providerConnectionText(c.database),
      /** `@pulumi/mysql`'s TLS mode (`tls.mysqlProvider.mode`, else `tls.mode`). */
      mysqlProviderTlsMode: c.database.tls?.mysqlProvider?.mode ?? settings.tls.mode,
      /** The pods' DSNs' TLS mode and their logins' `REQUIRE SSL` (`tls.pods.mode`, else `tls.mode`). */
      podTlsMode: c.database.tls?.pods?.mode ?? settings.tls.mode,
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
