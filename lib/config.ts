// Stack configuration: read once, validated whole, frozen. Every problem is collected with its key path and
// value and reported in one error before any resource is declared.
import {
  DEFAULT_NAMESPACE,
  DEFAULT_NODE_CLASS,
  DEFAULT_PROBE_PATH,
  DEFAULT_SENTINEL_DB_PRIVILEGES,
  PREWARM,
  PROJECT,
} from "./constants";
import * as pulumi from "@pulumi/pulumi";
import { SecretValue } from "./secret";
import {
  isImageRef,
  isLabelValue,
  isRegionName,
  LABEL_VALUE_RULE,
  QUALIFIED_NAME,
  RFC1035_LABEL,
} from "./validate";
import {
  DATABASE_CONFIG_KEY,
  DATABASE_PASSWORD_CONFIG_KEY,
  parseConnectionSettings,
  type ConfigProblem,
  type ConnectionSettings,
} from "../providers/connection";

export interface RegionConfig {
  /** The platform's `regions.id`. */
  readonly id: string;
  /** e.g. `us-east-1`; names resources, appears in the TOML and the prewarm URL. */
  readonly name: string;
  /** kubeconfig context of the region's cluster; null: the current context. */
  readonly kubeContext: string | null;
  /** The resolved prewarm URL for this region (may still hold `{k8sName}`); null: no prewarm. */
  readonly prewarmUrl: string | null;
}

export interface EnvironmentConfig {
  readonly workspaceId: string;
  readonly projectId: string;
  readonly appId: string;
  readonly environmentId: string;
  readonly slug: string;
  /** Region names, in the order of `sentinel-fleet:regions`. */
  readonly regions: readonly string[];
  readonly replicas: number | null;
  readonly cpuMillicores: number | null;
  readonly memoryMib: number | null;
  readonly image: string | null;
}

export interface ProbePaths {
  readonly liveness: string;
  readonly readiness: string;
  readonly startup: string;
}

export interface NodeClass {
  readonly key: string;
  readonly value: string;
}

export interface DatabaseConfig extends ConnectionSettings {
  readonly password: SecretValue;
  /** host:port the sentinel pods use for the primary. */
  readonly primaryAddress: string;
  /** host:port the sentinel pods use for reads. */
  readonly replicaAddress: string;
  /** Host part of the sentinel MySQL users. */
  readonly sentinelUserHost: string;
  readonly sentinelPrivileges: readonly string[];
  /** Changing it rotates every sentinel database password (a `keepers` value). */
  readonly credentialRotation: string;
  // TEMP(merge): config — `sentinel-fleet:databaseCaCert`, the PEM CA bundle; null: none.
  readonly caCert: SecretValue | null;
}

export interface OtelConfig {
  readonly endpoint: string;
  readonly headers: SecretValue | null;
}

export interface PrewarmConfig {
  readonly token: SecretValue | null;
  readonly attemptTimeoutMs: number;
  readonly deadlineMs: number;
}

export interface FleetConfig {
  readonly platform: string;
  readonly image: string;
  readonly namespace: string;
  readonly regions: readonly RegionConfig[];
  /** Names of the regions this stack deploys (a shard), in `regions` order; all of them by default. */
  readonly deployRegions: readonly string[];
  readonly environments: readonly EnvironmentConfig[];
  readonly probes: ProbePaths;
  readonly nodeClass: NodeClass;
  readonly ciliumNetworkPolicies: boolean;
  readonly database: DatabaseConfig;
  readonly clickhouseUrl: SecretValue;
  readonly redisUrl: SecretValue;
  readonly otel: OtelConfig | null;
  readonly prewarm: PrewarmConfig;
  readonly retainSentinelRows: boolean;
}

/** Raw stack configuration: full keys (`sentinel-fleet:regions`) to values as Pulumi or YAML gives them. */
export interface RawConfig {
  readonly values: Readonly<Record<string, unknown>>;
  /** Keys set with `pulumi config set --secret`. */
  readonly secretKeys: readonly string[];
}

/**
 * Stands for an encrypted config value that is not available (synth reads `secure:` values from the stack file
 * and cannot decrypt them); such a secret becomes a placeholder and skips format checks.
 */
export const ENCRYPTED = "<encrypted: not decrypted by synth>";

export class FleetConfigError extends Error {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    const n = problems.length;
    super(
      `${PROJECT}: the stack configuration has ${n} problem${n === 1 ? "" : "s"}; nothing was created:\n` +
        problems.map((p) => `  - ${p.path}: ${p.message}`).join("\n"),
    );
    this.name = "FleetConfigError";
    this.problems = problems;
  }
}

const key = (name: string) => `${PROJECT}:${name}`;

const SECRET_KEYS = ["databasePassword", "clickhouseUrl", "redisUrl", "prewarmToken", "otelHeaders"] as const;
const PLAIN_KEYS = [
  "platform",
  "image",
  "namespace",
  "regions",
  "deployRegions",
  "environments",
  "probes",
  "nodeClass",
  "ciliumNetworkPolicies",
  "database",
  "otel",
  "prewarm",
  "retainSentinelRows",
] as const;

const HOST_PORT = /^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?(:[0-9]{1,5})?$/;
const PRIVILEGE = /^[A-Z][A-Z ]*[A-Z]$/;
const URL_PLACEHOLDERS = ["region", "regionId", "k8sName", "namespace"] as const;

function show(value: unknown): string {
  if (value instanceof SecretValue) return "[secret]";
  if (value === ENCRYPTED) return "[encrypted]";
  return JSON.stringify(value) ?? String(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Collects problems; each check returns a usable fallback so later checks still run. */
class Problems {
  readonly list: ConfigProblem[] = [];
  add(path: string, message: string): void {
    this.list.push({ path, message });
  }
}

function parseUrl(text: string, protocols: readonly string[]): URL | null {
  try {
    const u = new URL(text);
    return protocols.includes(u.protocol) && u.hostname !== "" ? u : null;
  } catch {
    return null;
  }
}

/**
 * Parses and validates the whole configuration. Throws FleetConfigError listing every problem.
 * Pure: callers pass the raw values (from `pulumi.runtime.allConfig()`, or a stack YAML file for synth).
 */
export function parseFleetConfig(raw: RawConfig): FleetConfig {
  const p = new Problems();
  const values = raw.values;

  for (const full of Object.keys(values)) {
    if (!full.startsWith(`${PROJECT}:`)) continue;
    const name = full.slice(PROJECT.length + 1);
    if (
      !(PLAIN_KEYS as readonly string[]).includes(name) &&
      !(SECRET_KEYS as readonly string[]).includes(name) &&
      // TEMP(merge): config — the config helper lists databaseCaCert among the secret keys.
      name !== "databaseCaCert"
    ) {
      p.add(full, `unknown key (known: ${[...PLAIN_KEYS, ...SECRET_KEYS].join(", ")})`);
    }
  }

  // Typed values arrive as JSON text from `pulumi config`; structured YAML values arrive parsed.
  const typed = (name: string): unknown => {
    const v = values[key(name)];
    if (typeof v !== "string") return v;
    try {
      return JSON.parse(v) as unknown;
    } catch {
      return v;
    }
  };

  const string = (path: string, v: unknown, fallback = ""): string => {
    if (typeof v !== "string" || v.trim() === "") {
      p.add(path, `must be a non-empty string, got ${show(v)}`);
      return fallback;
    }
    return v;
  };
  const optionalString = (path: string, v: unknown): string | null =>
    v === undefined || v === null ? null : string(path, v);
  const integer = (path: string, v: unknown, min: number, max: number): number | null => {
    if (v === undefined || v === null) return null;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      p.add(path, `must be an integer from ${min} to ${max}, got ${show(v)}`);
      return null;
    }
    return v;
  };
  const boolean = (path: string, v: unknown, fallback: boolean): boolean => {
    if (v === undefined || v === null) return fallback;
    if (typeof v !== "boolean") {
      p.add(path, `must be true or false, got ${show(v)}`);
      return fallback;
    }
    return v;
  };
  const object = (path: string, v: unknown, allowed: readonly string[]): Record<string, unknown> => {
    if (v === undefined || v === null) return {};
    if (!isRecord(v)) {
      p.add(path, `must be an object, got ${show(v)}`);
      return {};
    }
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k)) p.add(`${path}.${k}`, `unknown key (known: ${allowed.join(", ")})`);
    }
    return v;
  };
  const labelValue = (path: string, v: unknown): string => {
    const s = string(path, v);
    if (s !== "" && !isLabelValue(s)) {
      p.add(path, `${show(s)} is not a valid Kubernetes label value (${LABEL_VALUE_RULE})`);
    }
    return s;
  };
  const image = (path: string, v: unknown): string => {
    const s = string(path, v);
    if (s !== "" && !isImageRef(s)) {
      p.add(path, `${show(s)} is not a valid container image reference (registry/name[:tag][@digest])`);
    }
    return s;
  };
  const secret = (name: string, required: boolean): SecretValue | null => {
    const full = key(name);
    const v = values[full];
    if (v === ENCRYPTED) return SecretValue.placeholderFor(full);
    if (v === undefined || v === null || v === "") {
      if (required) p.add(full, `is required; set it with \`pulumi config set --secret ${full} <value>\``);
      return null;
    }
    if (typeof v !== "string") {
      p.add(full, "must be a string");
      return null;
    }
    if (!raw.secretKeys.includes(full)) {
      p.add(full, `is stored in plaintext; set it with \`pulumi config set --secret ${full} <value>\``);
    }
    return new SecretValue(full, v);
  };
  const secretUrl = (name: string, protocols: readonly string[], required: boolean): SecretValue | null => {
    const s = secret(name, required);
    if (s !== null && !s.placeholder && parseUrl(s.reveal(), protocols) === null) {
      // Never echo the value: it is a credential.
      p.add(key(name), `[secret] is not a valid URL with one of the schemes ${protocols.join(", ")}`);
    }
    return s;
  };
  const urlTemplate = (path: string, v: unknown): string | null => {
    const s = optionalString(path, v);
    if (s === null) return null;
    const unknownPlaceholders = [...s.matchAll(/\{([^}]*)\}/g)]
      .map((m) => m[1])
      .filter((name) => !(URL_PLACEHOLDERS as readonly string[]).includes(name));
    if (unknownPlaceholders.length > 0) {
      p.add(
        path,
        `unknown placeholder {${unknownPlaceholders.join("}, {")}} (known: {${URL_PLACEHOLDERS.join("}, {")}})`,
      );
      return s;
    }
    const sample = s.replace(/\{[^}]*\}/g, "x");
    if (parseUrl(sample, ["http:", "https:"]) === null) p.add(path, `${show(s)} is not an http(s) URL`);
    return s;
  };

  // Fleet-wide settings.
  const platform = string(key("platform"), typed("platform"));
  const fleetImage = image(key("image"), typed("image"));
  const namespaceValue = typed("namespace") ?? DEFAULT_NAMESPACE;
  const namespace = string(key("namespace"), namespaceValue, DEFAULT_NAMESPACE);
  if (namespace.length > 63 || !RFC1035_LABEL.test(namespace)) {
    p.add(key("namespace"), `${show(namespace)} is not a valid namespace name (RFC 1035 label)`);
  }

  const probesRaw = object(key("probes"), typed("probes"), ["livenessPath", "readinessPath", "startupPath"]);
  const probePath = (name: string): string => {
    const v = probesRaw[name] ?? DEFAULT_PROBE_PATH;
    const s = string(`${key("probes")}.${name}`, v, DEFAULT_PROBE_PATH);
    if (!s.startsWith("/") || /\s/.test(s))
      p.add(`${key("probes")}.${name}`, `must be an absolute URL path, got ${show(s)}`);
    return s;
  };
  const probes: ProbePaths = {
    liveness: probePath("livenessPath"),
    readiness: probePath("readinessPath"),
    startup: probePath("startupPath"),
  };

  const nodeClassRaw = object(key("nodeClass"), typed("nodeClass"), ["key", "value"]);
  const nodeClass: NodeClass = {
    key: string(`${key("nodeClass")}.key`, nodeClassRaw.key ?? DEFAULT_NODE_CLASS.key),
    value: labelValue(`${key("nodeClass")}.value`, nodeClassRaw.value ?? DEFAULT_NODE_CLASS.value),
  };
  if (nodeClass.key !== "" && (nodeClass.key.length > 316 || !QUALIFIED_NAME.test(nodeClass.key))) {
    p.add(`${key("nodeClass")}.key`, `${show(nodeClass.key)} is not a valid label key`);
  }

  const ciliumNetworkPolicies = boolean(key("ciliumNetworkPolicies"), typed("ciliumNetworkPolicies"), true);
  const retainSentinelRows = boolean(key("retainSentinelRows"), typed("retainSentinelRows"), false);

  // Prewarm.
  const prewarmRaw = object(key("prewarm"), typed("prewarm"), [
    "urlTemplate",
    "attemptTimeoutMs",
    "deadlineMs",
  ]);
  const template = urlTemplate(`${key("prewarm")}.urlTemplate`, prewarmRaw.urlTemplate);
  const attemptTimeoutMs =
    integer(`${key("prewarm")}.attemptTimeoutMs`, prewarmRaw.attemptTimeoutMs, 100, 600_000) ??
    PREWARM.attemptTimeoutMs;
  const deadlineMs =
    integer(`${key("prewarm")}.deadlineMs`, prewarmRaw.deadlineMs, 100, 3_600_000) ?? PREWARM.deadlineMs;
  if (deadlineMs < attemptTimeoutMs) {
    p.add(
      `${key("prewarm")}.deadlineMs`,
      `must be at least attemptTimeoutMs (${attemptTimeoutMs}), got ${deadlineMs}`,
    );
  }

  // Regions.
  const regionsRaw = typed("regions");
  const regions: RegionConfig[] = [];
  if (!Array.isArray(regionsRaw) || regionsRaw.length === 0) {
    p.add(key("regions"), `must be a non-empty list of { id, name, kubeContext? }, got ${show(regionsRaw)}`);
  } else {
    const ids = new Set<string>();
    const names = new Set<string>();
    regionsRaw.forEach((r: unknown, i) => {
      const path = `${key("regions")}[${i}]`;
      const o = object(path, r, ["id", "name", "kubeContext", "prewarmUrl"]);
      const id = string(`${path}.id`, o.id);
      if (id.length > 64) p.add(`${path}.id`, `must be at most 64 characters (regions.id), got ${id.length}`);
      const name = string(`${path}.name`, o.name);
      if (name !== "" && !isRegionName(name)) {
        p.add(`${path}.name`, `${show(name)} is not a valid region name (lowercase letters, digits and '-')`);
      }
      if (id !== "" && ids.has(id)) p.add(`${path}.id`, `duplicate region id ${show(id)}`);
      if (name !== "" && names.has(name)) p.add(`${path}.name`, `duplicate region name ${show(name)}`);
      ids.add(id);
      names.add(name);
      const ownUrl = urlTemplate(`${path}.prewarmUrl`, o.prewarmUrl);
      regions.push({
        id,
        name,
        kubeContext: optionalString(`${path}.kubeContext`, o.kubeContext),
        prewarmUrl: ownUrl ?? (template === null ? null : template.split("{region}").join(name)),
      });
    });
  }
  const regionNames = regions.map((r) => r.name);

  // A subset of the configured regions, by name (default: all of them), in the order of `regions`: names
  // derive from stable keys, never from list positions.
  const regionSubset = (path: string, v: unknown): string[] => {
    if (v === undefined || v === null) return regionNames;
    if (!Array.isArray(v) || v.length === 0) {
      p.add(path, `must be a non-empty list of region names, got ${show(v)}`);
      return regionNames;
    }
    const wanted = new Set<string>();
    v.forEach((name: unknown, j) => {
      if (typeof name !== "string" || !regionNames.includes(name)) {
        p.add(`${path}[${j}]`, `unknown region ${show(name)} (known: ${regionNames.join(", ")})`);
      } else if (wanted.has(name)) {
        p.add(`${path}[${j}]`, `duplicate region ${show(name)}`);
      } else {
        wanted.add(name);
      }
    });
    return regionNames.filter((n) => wanted.has(n));
  };
  // A shard deploys a subset of the regions; environments still name any configured region, so every shard
  // can share one fleet definition.
  const deployRegions = regionSubset(key("deployRegions"), typed("deployRegions"));

  // Environments.
  const envsRaw = typed("environments");
  const environments: EnvironmentConfig[] = [];
  if (!Array.isArray(envsRaw) || envsRaw.length === 0) {
    p.add(key("environments"), `must be a non-empty list of environments, got ${show(envsRaw)}`);
  } else {
    const seen = new Map<string, number>();
    envsRaw.forEach((e: unknown, i) => {
      const envId = isRecord(e) && typeof e.environmentId === "string" ? ` (${e.environmentId})` : "";
      const path = `${key("environments")}[${i}]${envId}`;
      const o = object(path, e, [
        "workspaceId",
        "projectId",
        "appId",
        "environmentId",
        "slug",
        "regions",
        "replicas",
        "cpuMillicores",
        "memoryMib",
        "image",
      ]);
      const environmentId = labelValue(`${path}.environmentId`, o.environmentId);
      if (environmentId !== "") {
        const first = seen.get(environmentId);
        if (first !== undefined) {
          p.add(
            `${path}.environmentId`,
            `duplicate environment id ${show(environmentId)} (also environments[${first}])`,
          );
        } else {
          seen.set(environmentId, i);
        }
      }
      const envRegions = regionSubset(`${path}.regions`, o.regions);
      environments.push({
        workspaceId: labelValue(`${path}.workspaceId`, o.workspaceId),
        projectId: labelValue(`${path}.projectId`, o.projectId),
        appId: labelValue(`${path}.appId`, o.appId),
        environmentId,
        slug: labelValue(`${path}.slug`, o.slug),
        regions: envRegions,
        replicas: integer(`${path}.replicas`, o.replicas, 0, 1000),
        cpuMillicores: integer(`${path}.cpuMillicores`, o.cpuMillicores, 1, 1_000_000),
        memoryMib: integer(`${path}.memoryMib`, o.memoryMib, 1, 4_194_304),
        image: o.image === undefined || o.image === null ? null : image(`${path}.image`, o.image),
      });
    });
  }

  // Database.
  const dbRaw = typed("database");
  const connection = parseConnectionSettings(dbRaw);
  connection.problems.forEach((c) => p.add(c.path, c.message));
  const dbObj = object(DATABASE_CONFIG_KEY, isRecord(dbRaw) ? dbRaw : undefined, [
    "host",
    "port",
    "user",
    "name",
    "connectTimeoutMs",
    // TEMP(merge): config
    "operationTimeoutMs",
    "tls",
    "primaryAddress",
    "replicaAddress",
    "sentinelUserHost",
    "sentinelPrivileges",
    "credentialRotation",
  ]);
  const hostPort = (name: string, fallback: string): string => {
    const v = dbObj[name];
    if (v === undefined || v === null) return fallback;
    const s = string(`${DATABASE_CONFIG_KEY}.${name}`, v, fallback);
    if (!HOST_PORT.test(s))
      p.add(`${DATABASE_CONFIG_KEY}.${name}`, `must be host or host:port, got ${show(s)}`);
    return s;
  };
  const settings = connection.settings;
  const primaryAddress = hostPort(
    "primaryAddress",
    settings === null ? "" : `${settings.host}:${settings.port}`,
  );
  const replicaAddress = hostPort("replicaAddress", primaryAddress);
  const privilegesRaw = dbObj.sentinelPrivileges ?? [...DEFAULT_SENTINEL_DB_PRIVILEGES];
  let sentinelPrivileges: string[] = [...DEFAULT_SENTINEL_DB_PRIVILEGES];
  if (
    !Array.isArray(privilegesRaw) ||
    privilegesRaw.length === 0 ||
    !privilegesRaw.every((x) => typeof x === "string" && PRIVILEGE.test(x))
  ) {
    p.add(
      `${DATABASE_CONFIG_KEY}.sentinelPrivileges`,
      `must be a non-empty list of MySQL privileges such as "SELECT", got ${show(privilegesRaw)}`,
    );
  } else {
    sentinelPrivileges = privilegesRaw as string[];
  }
  const password = secret("databasePassword", true);
  // TEMP(merge): config
  const caCert = secret("databaseCaCert", false);

  const clickhouseUrl = secretUrl("clickhouseUrl", ["clickhouse:", "http:", "https:", "tcp:"], true);
  const redisUrl = secretUrl("redisUrl", ["redis:", "rediss:"], true);

  const otelRaw = object(key("otel"), typed("otel"), ["endpoint"]);
  let otel: OtelConfig | null = null;
  if (otelRaw.endpoint !== undefined) {
    const endpoint = string(`${key("otel")}.endpoint`, otelRaw.endpoint);
    if (endpoint !== "" && parseUrl(endpoint, ["http:", "https:"]) === null) {
      p.add(`${key("otel")}.endpoint`, `${show(endpoint)} is not an http(s) URL`);
    }
    otel = { endpoint, headers: secret("otelHeaders", false) };
  } else if (values[key("otelHeaders")] !== undefined) {
    p.add(key("otelHeaders"), `is set but ${key("otel")}.endpoint is not`);
  }

  const anyPrewarm = regions.some((r) => r.prewarmUrl !== null);
  const token = secret("prewarmToken", anyPrewarm);
  if (token !== null && !token.placeholder && !/^[\x21-\x7E]+$/.test(token.reveal())) {
    p.add(
      key("prewarmToken"),
      "[secret] must be printable ASCII without spaces (it is sent as a bearer token)",
    );
  }

  const sentinelUserHost =
    optionalString(`${DATABASE_CONFIG_KEY}.sentinelUserHost`, dbObj.sentinelUserHost) ?? "%";
  const rotationRaw = dbObj.credentialRotation ?? "1";
  let credentialRotation = "1";
  if (typeof rotationRaw === "string" || typeof rotationRaw === "number")
    credentialRotation = String(rotationRaw);
  else
    p.add(
      `${DATABASE_CONFIG_KEY}.credentialRotation`,
      `must be a string or number, got ${show(rotationRaw)}`,
    );

  if (p.list.length > 0) throw new FleetConfigError(p.list);

  const database: DatabaseConfig = {
    ...(settings as ConnectionSettings),
    password: password as SecretValue,
    primaryAddress,
    replicaAddress,
    sentinelUserHost,
    sentinelPrivileges,
    credentialRotation,
    // TEMP(merge): config
    caCert,
  };
  return deepFreeze({
    platform,
    image: fleetImage,
    namespace,
    regions,
    deployRegions,
    environments,
    probes,
    nodeClass,
    ciliumNetworkPolicies,
    database,
    clickhouseUrl: clickhouseUrl as SecretValue,
    redisUrl: redisUrl as SecretValue,
    otel,
    prewarm: { token, attemptTimeoutMs, deadlineMs },
    retainSentinelRows,
  });
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

/** The configuration keys of this program, for documentation and tooling. */
export const CONFIG_KEYS = { plain: PLAIN_KEYS.map(key), secret: SECRET_KEYS.map(key) } as const;
export { DATABASE_PASSWORD_CONFIG_KEY };

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
