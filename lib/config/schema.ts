// Stack configuration: one declarative zod schema (shapes, ranges, formats, defaults and the description of
// every key), cross-field rules beside it, and the secret rules that depend on how a value was stored. The
// whole configuration is checked before any resource is declared; every problem is reported at once with its
// key path and value (secret values never), in the order of the schema. The same schema produces the JSON
// Schema of `Pulumi.<stack>.yaml` (schema/stack-config.schema.json) and the README's configuration reference.
import { z } from "zod";
import {
  DEFAULT_NAMESPACE,
  DEFAULT_NODE_CLASS,
  DEFAULT_PROBE_PATH,
  DEFAULT_SENTINEL_DB_PRIVILEGES,
  PREWARM,
  PROJECT,
} from "../constants";
import * as pulumi from "@pulumi/pulumi";
import { SecretValue } from "../secret";
import {
  collationKey,
  DNS_LABEL,
  DNS_SUBDOMAIN,
  IMAGE_REF,
  joinHostPort,
  KUBE_CONTEXT,
  LABEL_VALUE,
  LABEL_VALUE_RULE,
  normalizeAddress,
  PLAIN_ID,
  PLAIN_ID_RULE,
  QUALIFIED_NAME,
  RFC1035_LABEL,
  STACK_REFERENCE,
  TOML_BREAKING,
} from "../validate";
import {
  connectionFields,
  connectionRules,
  DATABASE_CA_CERT_CONFIG_KEY,
  DATABASE_CONFIG_KEY,
  DATABASE_PASSWORD_CONFIG_KEY,
  toConnectionSettings,
  type ConfigProblem,
  type ConnectionSettings,
} from "../../providers/connection";

export interface RegionConfig {
  /** The platform's `regions.id`. */
  readonly id: string;
  /** e.g. `us-east-1`; names resources, appears in the TOML and the prewarm URL. */
  readonly name: string;
  /** kubeconfig context of the region's cluster; null: the current context. */
  readonly kubeContext: string | null;
  /** The resolved prewarm URL for this region (may still hold `{k8sName}`); null: no prewarm. */
  readonly prewarmUrl: string | null;
  /** While true, the region's Kubernetes provider takes over objects that already exist (the cutover). */
  readonly cutover: boolean;
}

export interface EnvironmentConfig {
  readonly workspaceId: string;
  readonly projectId: string;
  readonly appId: string;
  readonly environmentId: string;
  readonly slug: string;
  /** The shard (of `shards`) that deploys this environment; null when the fleet has no shards. */
  readonly shard: string | null;
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
  /** PEM text of the CA bundle (`sentinel-fleet:databaseCaCert`); null: none, or `tls.caFile`. */
  readonly caCert: SecretValue | null;
  /** `host:port` the sentinel pods use for the primary (IPv6 in brackets). */
  readonly primaryAddress: string;
  /** `host:port` the sentinel pods use for reads (IPv6 in brackets). */
  readonly replicaAddress: string;
  /** Host part of the sentinel MySQL users. */
  readonly sentinelUserHost: string;
  readonly sentinelPrivileges: readonly string[];
  /** The rotation generation: each increment rotates the sentinel login not in use and switches pods to it. */
  readonly credentialRotation: number;
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

export interface PodConfig {
  readonly runAsUser: number;
  readonly runAsGroup: number;
  readonly priorityClassName: string | null;
  /** How long a stopping pod keeps serving while endpoints move. */
  readonly preStopSeconds: number;
  /** The in-flight drain after that; terminationGracePeriodSeconds = preStopSeconds + drainSeconds. */
  readonly drainSeconds: number;
}

export type PodSecurityLevel = "restricted" | "baseline" | "privileged";

export interface NamespacePodSecurity {
  readonly enforce: PodSecurityLevel;
  readonly warn: PodSecurityLevel;
  readonly audit: PodSecurityLevel;
}

export type StackRole = "fleet" | "regionBase" | "environmentShard";

export interface FleetConfig {
  readonly platform: string;
  readonly image: string;
  readonly namespace: string;
  readonly namespacePodSecurity: NamespacePodSecurity;
  readonly pod: PodConfig;
  readonly regions: readonly RegionConfig[];
  /** Names of the regions this stack deploys (a shard), in `regions` order; all of them by default. */
  readonly deployRegions: readonly string[];
  /** Ordered rollout waves of region names; null: no waves, every region in parallel. */
  readonly waves: readonly (readonly string[])[] | null;
  readonly stackRole: StackRole;
  /** The region base stack (`<org>/<project>/<stack>`) an environment shard reads; null for other roles. */
  readonly regionBaseStack: string | null;
  /** Shard names; empty: the fleet has no shards. */
  readonly shards: readonly string[];
  /** The shard this stack deploys; null: every environment. */
  readonly shard: string | null;
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

function show(value: unknown): string {
  if (value instanceof SecretValue) return "[secret]";
  if (value === ENCRYPTED) return "[encrypted]";
  return JSON.stringify(value) ?? String(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------------------------
// The schema. Every message names the value (`show`); secrets are checked apart, below.

/** Documentation-only metadata (kept out of the editor schema): a default that is not a plain value. */
interface DocMeta {
  description: string;
  /** The README's default column when it is not the schema's `default` (a rule rather than a value). */
  "x-default"?: string;
  /** A secret: set with `pulumi config set --secret`, stored as `{ secure: ... }`. */
  "x-secret"?: true;
}

const err = (f: (input: unknown) => string) => ({ error: (iss: { input?: unknown }) => f(iss.input) });

const text = () => {
  const e = err((v) => `must be a non-empty string, got ${show(v)}`);
  return z.string(e).regex(/\S/, { ...e, abort: true });
};
const int = (min: number, max: number, what = "an integer") => {
  const e = err((v) => `must be ${what} from ${min} to ${max}, got ${show(v)}`);
  return z
    .number(e)
    .int({ ...e, abort: true })
    .min(min, e)
    .max(max, e);
};
const bool = (fallback: boolean) =>
  z.boolean(err((v) => `must be true or false, got ${show(v)}`)).default(fallback);
const labelValue = () => {
  const e = err((v) => `${show(v)} is not a valid Kubernetes label value (${LABEL_VALUE_RULE})`);
  return text().max(63, e).regex(LABEL_VALUE, e);
};
const imageRef = () => {
  const e = err((v) => `${show(v)} is not a valid container image reference (registry/name[:tag][@digest])`);
  return text().max(255, e).regex(IMAGE_REF, e);
};
/** A string of at most `max` characters matching `re`; one message, `<value> <why>`, for either rule. */
const matching = (re: RegExp, max: number, why: string) => {
  const e = err((v) => `${show(v)} ${why}`);
  return text().max(max, e).regex(re, e);
};
/** At most `max` characters (a database column's width), then `re`. */
const column = (max: number, width: string, re: RegExp, why: string) =>
  text()
    .max(
      max,
      err((v) => `must be at most ${max} characters (${width}), got ${String(v).length}`),
    )
    .regex(
      re,
      err((v) => `${show(v)} ${why}`),
    );
const oneOf = <T extends string>(values: readonly [T, ...T[]]) =>
  z.enum(
    values,
    err((v) => `must be one of ${values.join(", ")}, got ${show(v)}`),
  );
/** An object whose unknown keys (typos) are each reported with the keys it knows. */
const object = <S extends z.ZodRawShape>(shape: S, what?: (v: unknown) => string) => {
  const known = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (iss: { code?: string; input?: unknown }) =>
      iss.code === "unrecognized_keys"
        ? `unknown key (known: ${known})`
        : (what?.(iss.input) ?? `must be an object, got ${show(iss.input)}`),
  });
};
const list = <T extends z.ZodType>(item: T, what: string) => {
  const e = err((v) => `must be a non-empty list of ${what}, got ${show(v)}`);
  return z.array(item, e).min(1, e);
};
const regionName = () =>
  z.string(err((v) => `must be a region name, got ${show(v)}`)).meta({ description: "a name of `regions`" });

const URL_PLACEHOLDERS = ["region", "regionId", "k8sName", "namespace"] as const;
/** `scheme://user:password@host`: credentials inside a URL, checked before anything echoes the value. */
const URL_CREDENTIALS = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*@/;

function parseUrl(t: string, protocols: readonly string[]): URL | null {
  try {
    const u = new URL(t);
    return protocols.includes(u.protocol) && u.hostname !== "" ? u : null;
  } catch {
    return null;
  }
}

/** One message for an http(s) URL template, or null; never echoes a URL that holds credentials. */
function urlTemplateProblem(s: string): string | null {
  const unknownPlaceholders = [...s.matchAll(/\{([^}]*)\}/g)]
    .map((m) => m[1])
    .filter((name) => !(URL_PLACEHOLDERS as readonly string[]).includes(name));
  if (URL_CREDENTIALS.test(s) || parseUrl(s.replace(/\{[^}]*\}/g, "x"), ["http:", "https:"])?.username) {
    return "must not contain credentials (user:password@); the prewarm token authenticates to the router";
  }
  if (unknownPlaceholders.length > 0) {
    return `unknown placeholder {${unknownPlaceholders.join("}, {")}} (known: {${URL_PLACEHOLDERS.join("}, {")}})`;
  }
  if (parseUrl(s.replace(/\{[^}]*\}/g, "x"), ["http:", "https:"]) === null)
    return `${show(s)} is not an http(s) URL`;
  return null;
}

const urlTemplate = () =>
  text().superRefine((v, ctx) => {
    const problem = urlTemplateProblem(v);
    if (problem !== null) ctx.addIssue({ code: "custom", message: problem, input: v });
  });

const address = () =>
  text().superRefine((v, ctx) => {
    if (normalizeAddress(v) === null) {
      ctx.addIssue({
        code: "custom",
        message: `must be host, host:port, [IPv6] or [IPv6]:port, got ${show(v)}`,
      });
    }
  });

const secret = (description: string, fallback = "none") =>
  z
    .string()
    .optional()
    .meta({ description, "x-secret": true, "x-default": fallback } satisfies DocMeta);

const PRIVILEGE = /^[A-Z][A-Z ]*[A-Z]$/;
const POD_SECURITY_LEVELS = ["restricted", "baseline", "privileged"] as const;
const STACK_ROLES = ["fleet", "regionBase", "environmentShard"] as const;
const podSecurityLevel = (mode: string) =>
  oneOf(POD_SECURITY_LEVELS)
    .default("restricted")
    .meta({ description: `the namespace's \`pod-security.kubernetes.io/${mode}\` level` });

const probePath = (which: string) => {
  const e = err((v) => `must be an absolute URL path, got ${show(v)}`);
  return z
    .string(e)
    .regex(/^\/\S*$/, e)
    .default(DEFAULT_PROBE_PATH)
    .meta({ description: `the ${which} probe's path` });
};

const regionSchema = object({
  id: column(64, "regions.id", PLAIN_ID, `is not a valid region id (${PLAIN_ID_RULE})`).meta({
    description: "the platform's `regions.id`",
  }),
  name: matching(DNS_LABEL, 63, "is not a valid region name (lowercase letters, digits and '-')").meta({
    description: "e.g. `us-east-1`: names resources, appears in the TOML and prewarm URLs",
  }),
  kubeContext: matching(
    KUBE_CONTEXT,
    253,
    "is not a kubeconfig context (printable ASCII, no spaces, at most 253)",
  )
    .optional()
    .meta({
      description: "the cluster's kubeconfig context",
      "x-default": "the current context",
    } satisfies DocMeta),
  prewarmUrl: urlTemplate().optional().meta({
    description: "overrides `prewarm.urlTemplate` for this region (same placeholders; no credentials)",
  }),
  cutover: bool(false).meta({
    description:
      "while true, the region's Kubernetes provider takes over objects that already exist (cutover from the " +
      "original agent; turn it off afterwards)",
  }),
});

const environmentSchema = object({
  environmentId: labelValue().meta({ description: "the environment id; names its objects and its rows" }),
  workspaceId: labelValue().meta({ description: "the workspace id (a label value)" }),
  projectId: labelValue().meta({ description: "the project id (a label value)" }),
  appId: labelValue().meta({ description: "the app id (a label value)" }),
  slug: labelValue().meta({ description: "the environment slug; `production` defaults replicas to 3" }),
  shard: labelValue()
    .optional()
    .meta({ description: "the shard (a name of `shards`) that deploys it; required when `shards` is set" }),
  regions: list(regionName(), "region names")
    .optional()
    .meta({ description: "a subset of the region names", "x-default": "all of `regions`" } satisfies DocMeta),
  replicas: int(0, 1000)
    .optional()
    .meta({
      description: "pods per region",
      "x-default": "3 for slug `production`, else 1",
    } satisfies DocMeta),
  cpuMillicores: int(1, 1_000_000)
    .optional()
    .meta({ description: "CPU per pod (requests = limits)", "x-default": "`256`" } satisfies DocMeta),
  memoryMib: int(1, 4_194_304)
    .optional()
    .meta({
      description: "memory per pod in MiB (requests = limits)",
      "x-default": "`256`",
    } satisfies DocMeta),
  image: imageRef()
    .optional()
    .meta({ description: "overrides the fleet image", "x-default": "`image`" } satisfies DocMeta),
});

const db = connectionFields(z);
const databaseSchema = object(
  {
    ...db,
    primaryAddress: address()
      .optional()
      .meta({
        description: "`host:port` (or `host`, `[IPv6]:port`) the pods dial for the primary",
        "x-default": "`host:port`",
      } satisfies DocMeta),
    replicaAddress: address()
      .optional()
      .meta({
        description: "what the pods dial for reads",
        "x-default": "`primaryAddress`",
      } satisfies DocMeta),
    // The MySQL provider writes it into CREATE USER '<user>'@'<host>' unescaped, over the admin login.
    sentinelUserHost: matching(
      /^[A-Za-z0-9.%_:/-]+$/,
      255,
      "is not a MySQL account host (letters, digits, '.', '-', '_', ':', '/' and the wildcard '%')",
    )
      .default("%")
      .meta({
        description:
          "the host part of the sentinel logins: a host name, an IP address or netmask, `%` wildcards",
      }),
    sentinelPrivileges: list(
      z.string().regex(
        PRIVILEGE,
        err((v) => `${show(v)} is not a MySQL privilege such as "SELECT"`),
      ),
      'MySQL privileges such as "SELECT"',
    )
      .default([...DEFAULT_SENTINEL_DB_PRIVILEGES])
      .meta({ description: "what the sentinel logins may do on the database" }),
    credentialRotation: z
      .number(err((v) => `must be a non-negative integer, got ${show(v)}`))
      .int(err((v) => `must be a non-negative integer, got ${show(v)}`))
      .min(
        0,
        err((v) => `must be a non-negative integer, got ${show(v)}`),
      )
      .default(0)
      .meta({
        description:
          "the rotation generation: each increment rotates the sentinel login not in use and switches the pods to it",
      }),
  },
  (v) => (v === undefined ? "is required (host, user, name)" : `must be an object, got ${show(v)}`),
);

/** The stack configuration, key by key (without the `sentinel-fleet:` prefix), in the order problems are listed. */
export const stackConfigSchema = object({
  platform: column(64, "regions.platform", PLAIN_ID, `is not a valid platform name (${PLAIN_ID_RULE})`).meta({
    description: "platform name (TOML `platform`), e.g. `aws`",
  }),
  image: imageRef().meta({ description: "the sentinel image, pinned by tag or digest" }),
  namespace: matching(RFC1035_LABEL, 63, "is not a valid namespace name (RFC 1035 label)")
    .default(DEFAULT_NAMESPACE)
    .meta({ description: "the namespace in every cluster (RFC 1035 label)" }),
  namespacePodSecurity: object({
    enforce: podSecurityLevel("enforce"),
    warn: podSecurityLevel("warn"),
    audit: podSecurityLevel("audit"),
  })
    .prefault({})
    .meta({ description: "the Pod Security Standard levels the namespace carries" }),
  pod: object({
    runAsUser: int(1, 2_147_483_647, "a non-root user id")
      .default(65532)
      .meta({ description: "the pods' user" }),
    runAsGroup: int(1, 2_147_483_647, "a non-root group id")
      .default(65532)
      .meta({ description: "the pods' group" }),
    priorityClassName: matching(DNS_SUBDOMAIN, 253, "is not a valid PriorityClass name (a DNS subdomain)")
      .optional()
      .meta({ description: "the pods' PriorityClass", "x-default": "none" } satisfies DocMeta),
    preStopSeconds: int(0, 300)
      .default(10)
      .meta({ description: "how long a stopping pod keeps serving while endpoints move" }),
    drainSeconds: int(1, 3600).default(30).meta({
      description:
        "the in-flight drain after that; terminationGracePeriodSeconds = preStopSeconds + drainSeconds",
    }),
  })
    .prefault({})
    .meta({ description: "the sentinel pods' security context and termination" }),
  probes: object({
    livenessPath: probePath("liveness"),
    readinessPath: probePath("readiness"),
    startupPath: probePath("startup"),
  })
    .prefault({})
    .meta({ description: "the probes' HTTP paths on port 8040" }),
  nodeClass: object({
    key: matching(QUALIFIED_NAME, 316, "is not a valid label key")
      .default(DEFAULT_NODE_CLASS.key)
      .meta({ description: "the taint key pods tolerate and the node label key they require" }),
    value: labelValue().default(DEFAULT_NODE_CLASS.value).meta({ description: "its value" }),
  })
    .prefault({})
    .meta({ description: "the sentinel nodes' taint and label" }),
  ciliumNetworkPolicies: bool(true).meta({
    description: "create the gossip CiliumNetworkPolicies (false for clusters without Cilium)",
  }),
  retainSentinelRows: bool(false).meta({
    description: "keep database rows when sentinels are deleted (`retainOnDelete`)",
  }),
  prewarm: object({
    urlTemplate: urlTemplate()
      .optional()
      .meta({
        description:
          "the routers' prewarm endpoint; placeholders `{region}`, `{regionId}`, `{k8sName}`, `{namespace}`; no " +
          "credentials in it",
        "x-default": "none: no hook",
      } satisfies DocMeta),
    attemptTimeoutMs: int(100, 600_000)
      .default(PREWARM.attemptTimeoutMs)
      .meta({ description: "the deadline of one attempt, in milliseconds" }),
    deadlineMs: int(100, 3_600_000)
      .default(PREWARM.deadlineMs)
      .meta({ description: "the deadline of all attempts, in milliseconds (at least attemptTimeoutMs)" }),
  })
    .prefault({})
    .meta({ description: "the router prewarm hook; without a URL no hook is attached" }),
  regions: z
    .array(
      regionSchema,
      err((v) => `must be a non-empty list of { id, name, kubeContext? }, got ${show(v)}`),
    )
    .min(
      1,
      err((v) => `must be a non-empty list of { id, name, kubeContext? }, got ${show(v)}`),
    )
    .meta({ description: "every region of the fleet" }),
  deployRegions: list(regionName(), "region names")
    .optional()
    .meta({
      description:
        "the regions this stack deploys (a stack per region); environments may still name any region",
      "x-default": "all of `regions`",
    } satisfies DocMeta),
  waves: list(list(regionName(), "region names"), "waves (lists of region names)")
    .optional()
    .meta({
      description:
        "ordered rollout waves, e.g. `[[us-east-1], [eu-central-1]]`: each region at most once, every deployed " +
        "region in one",
      "x-default": "none: every region in parallel",
    } satisfies DocMeta),
  stackRole: oneOf(STACK_ROLES)
    .default("fleet")
    .meta({
      description:
        "`fleet`: the shared per-region objects and the environments; `regionBase`: only the shared objects " +
        "(namespace, database logins), exported; `environmentShard`: only environments, reading the base's outputs",
    }),
  regionBaseStack: text()
    .regex(
      STACK_REFERENCE,
      err((v) => `${show(v)} is not a stack reference (<org>/<project>/<stack>)`),
    )
    .optional()
    .meta({
      description:
        "the region base stack `<org>/<project>/<stack>`; required with `environmentShard`, else rejected",
      "x-default": "none",
    } satisfies DocMeta),
  shards: list(labelValue(), "shard names")
    .optional()
    .meta({ description: "shard names (label values, unique)", "x-default": "none" } satisfies DocMeta),
  shard: labelValue()
    .optional()
    .meta({
      description: "the shard this stack deploys (an `environmentShard` stack when `shards` is set)",
      "x-default": "none",
    } satisfies DocMeta),
  environments: list(environmentSchema, "environments").meta({
    description: "every environment of the fleet",
  }),
  database: databaseSchema.meta({ description: "the platform database" }),
  databasePassword: secret("password of `database.user`", "required"),
  databaseCaCert: secret(
    "PEM text of the database's CA bundle (exclusive with `database.tls.caFile`; verify-ca or verify-identity only)",
  ),
  clickhouseUrl: secret(
    '`clickhouse://`, `http(s)://` or `tcp://` URL; no `"`, `\\` or control characters (the sentinel expands it into its TOML)',
    "required",
  ),
  redisUrl: secret(
    '`redis://` or `rediss://` URL; no `"`, `\\` or control characters (the sentinel expands it into its TOML)',
    "required",
  ),
  otel: object({
    endpoint: text()
      .superRefine((v, ctx) => {
        if (parseUrl(v, ["http:", "https:"]) === null) {
          ctx.addIssue({ code: "custom", message: `${show(v)} is not an http(s) URL` });
        }
      })
      .meta({ description: "the OTLP endpoint" }),
  })
    .optional()
    .meta({
      description: "an OpenTelemetry Secret per environment and region, read by the pods",
      "x-default": "none",
    } satisfies DocMeta),
  otelHeaders: secret("`OTEL_EXPORTER_OTLP_HEADERS` (needs `otel.endpoint`)"),
  prewarmToken: secret(
    "bearer token of the routers' prewarm endpoint, printable ASCII",
    "required with a prewarm URL",
  ),
});

type Shape = typeof stackConfigSchema.shape;
const SECRET_KEYS = [
  "databasePassword",
  "databaseCaCert",
  "clickhouseUrl",
  "redisUrl",
  "otelHeaders",
  "prewarmToken",
] as const satisfies readonly (keyof Shape)[];
type SecretKey = (typeof SECRET_KEYS)[number];
const ALL_KEYS = Object.keys(stackConfigSchema.shape) as (keyof Shape)[];
const PLAIN_KEYS = ALL_KEYS.filter((k) => !(SECRET_KEYS as readonly string[]).includes(k));
const plainSchema = stackConfigSchema.omit(
  Object.fromEntries(SECRET_KEYS.map((k) => [k, true])) as { [K in SecretKey]: true },
);
type PlainConfig = z.output<typeof plainSchema>;

/** The configuration keys of this program, for documentation and tooling. */
export const CONFIG_KEYS = {
  plain: PLAIN_KEYS.map(key),
  secret: SECRET_KEYS.map(key),
  /** Secrets a stack needs (prewarmToken: with a prewarm URL); synth stands in for the ones not set. */
  requiredSecret: SECRET_KEYS.filter((k) =>
    String((stackConfigSchema.shape[k].meta() as DocMeta | undefined)?.["x-default"]).startsWith("required"),
  ).map(key),
} as const;
export { DATABASE_PASSWORD_CONFIG_KEY, DATABASE_CA_CERT_CONFIG_KEY };

// ---------------------------------------------------------------------------------------------------------
// Problems: paths below the project key, sorted in schema order.

type Segment = string | number;
interface Found {
  readonly path: readonly Segment[];
  readonly message: string;
  /** Cross-field findings about an element (duplicates) come after what is wrong inside it. */
  readonly late?: boolean;
}

/** JSON Schema of the plain configuration, for the order of keys (and for documentation). */
function inputJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(stackConfigSchema, {
    target: "draft-7",
    io: "input",
    unrepresentable: "any",
  });
}
let orderSchema: Record<string, unknown> | undefined;

function rank(path: readonly Segment[], late: boolean): number[] {
  orderSchema ??= inputJsonSchema();
  let node: Record<string, unknown> | undefined = orderSchema;
  const ranks: number[] = [];
  path.forEach((seg, i) => {
    if (late && i === path.length - 1 && typeof seg === "string") ranks.push(Number.MAX_SAFE_INTEGER);
    if (typeof seg === "number") {
      ranks.push(seg);
      node = node?.items as Record<string, unknown> | undefined;
    } else {
      const props = (node?.properties ?? {}) as Record<string, Record<string, unknown>>;
      ranks.push(Object.keys(props).indexOf(seg));
      node = props[seg];
    }
  });
  return ranks;
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function renderPath(path: readonly Segment[], input: Record<string, unknown>): string {
  let out = key(String(path[0]));
  let node: unknown = input[String(path[0])];
  path.slice(1).forEach((seg) => {
    const parentIsEnvironments = node === input.environments;
    out += typeof seg === "number" ? `[${seg}]` : `.${seg}`;
    node = Array.isArray(node) || isRecord(node) ? (node as Record<string, unknown>)[seg] : undefined;
    if (
      parentIsEnvironments &&
      typeof seg === "number" &&
      isRecord(node) &&
      typeof node.environmentId === "string"
    ) {
      out += ` (${node.environmentId})`;
    }
  });
  return out;
}

/** For a check the schema gives no message of its own: still the key's value, in the same words. */
function fallbackMessage(iss: { code?: string; expected?: unknown; input?: unknown }): string {
  const kinds: Record<string, string> = {
    string: "a string",
    number: "a number",
    int: "an integer",
    boolean: "true or false",
    object: "an object",
    array: "a list",
  };
  if (iss.code === "invalid_type") {
    return `must be ${kinds[scalar(iss.expected)] ?? scalar(iss.expected)}, got ${show(iss.input)}`;
  }
  return `is not valid, got ${show(iss.input)}`;
}

function fromIssues(issues: readonly z.core.$ZodIssue[]): Found[] {
  return issues.flatMap((i): Found[] => {
    const path = i.path.map((p) => (typeof p === "number" ? p : String(p)));
    if (i.code === "unrecognized_keys")
      return i.keys.map((k) => ({ path: [...path, k], message: i.message }));
    return [{ path, message: i.message }];
  });
}

/** Typed values arrive as JSON text from `pulumi config`; structured YAML values arrive parsed. */
function typed(v: unknown): unknown {
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

/** An absent optional and a YAML `key:` with nothing after it (null) mean the same. */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (isRecord(v)) {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== null && x !== undefined)
        .map(([k, x]) => [k, withoutNulls(x)]),
    );
  }
  return v;
}

// ---------------------------------------------------------------------------------------------------------
// Cross-field rules: they read the input as given (guarding every type), so they run even when the schema
// found problems elsewhere, and every problem is reported at once.

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
const records = (v: unknown): Record<string, unknown>[] =>
  Array.isArray(v) ? v.map((x) => (isRecord(x) ? x : {})) : [];

function crossFieldRules(v: Record<string, unknown>): Found[] {
  const found: Found[] = [];
  const add = (path: Segment[], message: string, late = false) => found.push({ path, message, late });
  const collation = "under the database's default collation (case-insensitive, trailing spaces ignored)";

  const regions = records(v.regions);
  const regionNames = regions.map((r) => (typeof r.name === "string" ? r.name : ""));
  const known = regionNames.filter((n) => n !== "");
  const ids = new Map<string, number>();
  const idKeys = new Map<string, number>();
  const names = new Set<string>();
  regions.forEach((r, i) => {
    if (typeof r.id === "string" && r.id !== "") {
      const same = ids.get(r.id);
      const similar = idKeys.get(collationKey(r.id));
      if (same !== undefined) add(["regions", i, "id"], `duplicate region id ${show(r.id)}`, true);
      else if (similar !== undefined) {
        const other = regions[similar].id;
        add(
          ["regions", i, "id"],
          `region id ${show(r.id)} equals ${show(other)} (regions[${similar}]) ${collation}`,
          true,
        );
      }
      if (same === undefined) ids.set(r.id, i);
      if (similar === undefined) idKeys.set(collationKey(r.id), i);
    }
    if (typeof r.name === "string" && r.name !== "") {
      if (names.has(r.name)) add(["regions", i, "name"], `duplicate region name ${show(r.name)}`, true);
      names.add(r.name);
    }
  });

  // A subset of the configured regions, by name: unknown and repeated names.
  const subset = (path: Segment[], value: unknown) => {
    const wanted = new Set<string>();
    (Array.isArray(value) ? value : []).forEach((name: unknown, j) => {
      if (typeof name !== "string") return;
      if (!known.includes(name))
        add([...path, j], `unknown region ${show(name)} (known: ${known.join(", ")})`);
      else if (wanted.has(name)) add([...path, j], `duplicate region ${show(name)}`, true);
      wanted.add(name);
    });
  };
  subset(["deployRegions"], v.deployRegions);
  const deployed =
    v.deployRegions === undefined ? known : strings(v.deployRegions).filter((n) => known.includes(n));

  if (Array.isArray(v.waves)) {
    const placed = new Map<string, number>();
    v.waves.forEach((wave: unknown, w) => {
      (Array.isArray(wave) ? wave : []).forEach((name: unknown, j) => {
        if (typeof name !== "string") return;
        const earlier = placed.get(name);
        if (!known.includes(name))
          add(["waves", w, j], `unknown region ${show(name)} (known: ${known.join(", ")})`);
        else if (earlier !== undefined)
          add(["waves", w, j], `region ${show(name)} is already in waves[${earlier}]`, true);
        else placed.set(name, w);
      });
    });
    const missing = deployed.filter((n) => !placed.has(n));
    if (missing.length > 0 && v.waves.every((wave) => Array.isArray(wave))) {
      add(
        ["waves"],
        `must place every region of deployRegions in a wave; in none: ${missing.join(", ")}`,
        true,
      );
    }
  }

  const envs = records(v.environments);
  const envIds = new Map<string, number>();
  const envKeys = new Map<string, number>();
  envs.forEach((e, i) => {
    subset(["environments", i, "regions"], e.regions);
    const id = e.environmentId;
    if (typeof id !== "string" || id === "") return;
    const same = envIds.get(id);
    const similar = envKeys.get(collationKey(id));
    if (same !== undefined) {
      add(
        ["environments", i, "environmentId"],
        `duplicate environment id ${show(id)} (also environments[${same}])`,
        true,
      );
    } else if (similar !== undefined) {
      const other = envs[similar].environmentId;
      add(
        ["environments", i, "environmentId"],
        `environment id ${show(id)} equals ${show(other)} (environments[${similar}]) ${collation}`,
        true,
      );
    }
    if (same === undefined) envIds.set(id, i);
    if (similar === undefined) envKeys.set(collationKey(id), i);
  });

  // Stack roles and shards.
  const role = v.stackRole ?? "fleet";
  const roleText = `got stackRole ${show(role)}`;
  if (role === "environmentShard" && v.regionBaseStack === undefined) {
    add(
      ["regionBaseStack"],
      "is required with stackRole environmentShard (the region base stack <org>/<project>/<stack>)",
    );
  } else if (role !== "environmentShard" && v.regionBaseStack !== undefined) {
    add(["regionBaseStack"], `is only for stackRole environmentShard, ${roleText}`);
  }
  const shards = strings(v.shards);
  const shardSet = new Set<string>();
  shards.forEach((s, i) => {
    if (shardSet.has(s)) add(["shards", i], `duplicate shard ${show(s)}`, true);
    shardSet.add(s);
  });
  const shardsSet = v.shards !== undefined;
  const knownShards = shards.length > 0 ? [...shardSet].join(", ") : "none";
  envs.forEach((e, i) => {
    if (shardsSet && e.shard === undefined) {
      add(["environments", i, "shard"], `is required when ${key("shards")} is set (one of: ${knownShards})`);
    } else if (!shardsSet && e.shard !== undefined) {
      add(["environments", i, "shard"], `is only allowed when ${key("shards")} is set`);
    } else if (typeof e.shard === "string" && !shardSet.has(e.shard)) {
      add(["environments", i, "shard"], `unknown shard ${show(e.shard)} (known: ${knownShards})`);
    }
  });
  if (v.shard !== undefined && role !== "environmentShard") {
    add(["shard"], `is only for stackRole environmentShard, ${roleText}`);
  } else if (v.shard === undefined && role === "environmentShard" && shardsSet) {
    add(
      ["shard"],
      `is required with stackRole environmentShard when ${key("shards")} is set (one of: ${knownShards})`,
    );
  } else if (typeof v.shard === "string" && !shardSet.has(v.shard)) {
    add(["shard"], `unknown shard ${show(v.shard)} (known: ${knownShards})`);
  } else if (typeof v.shard === "string") {
    const selected = envs.some(
      (e) =>
        e.shard === v.shard &&
        (e.regions === undefined
          ? deployed.length > 0
          : strings(e.regions).some((n) => deployed.includes(n))),
    );
    if (!selected) {
      add(["shard"], `${show(v.shard)} selects no environment in deployRegions (${deployed.join(", ")})`);
    }
  }

  const prewarm = isRecord(v.prewarm) ? v.prewarm : {};
  const attempt =
    typeof prewarm.attemptTimeoutMs === "number" ? prewarm.attemptTimeoutMs : PREWARM.attemptTimeoutMs;
  const deadline = typeof prewarm.deadlineMs === "number" ? prewarm.deadlineMs : PREWARM.deadlineMs;
  if (Number.isInteger(attempt) && Number.isInteger(deadline) && deadline < attempt) {
    add(["prewarm", "deadlineMs"], `must be at least attemptTimeoutMs (${attempt}), got ${deadline}`);
  }

  if (isRecord(v.database)) {
    for (const r of connectionRules(v.database)) add(["database", ...r.path], r.message);
  }
  return found;
}

/** Secret values: present when required, stored as secrets, well-formed; never echoed. */
function secretRules(
  raw: RawConfig,
  v: Record<string, unknown>,
): { found: Found[]; secrets: Record<SecretKey, SecretValue | null> } {
  const found: Found[] = [];
  const add = (name: SecretKey, message: string) => found.push({ path: [name], message });
  const read = (name: SecretKey, required: boolean): SecretValue | null => {
    const full = key(name);
    const value = raw.values[full];
    if (value === ENCRYPTED) return SecretValue.placeholderFor(full);
    if (value === undefined || value === null || value === "") {
      if (required) add(name, `is required; set it with \`pulumi config set --secret ${full} <value>\``);
      return null;
    }
    // Stored in plaintext whatever its type: a number or a list in the stack file is as readable as a string.
    if (!raw.secretKeys.includes(full)) {
      add(name, `is stored in plaintext; set it with \`pulumi config set --secret ${full} <value>\``);
    }
    if (typeof value !== "string") {
      add(name, "must be a string");
      return null;
    }
    return new SecretValue(full, value);
  };
  const checked = (s: SecretValue | null): string | null => (s === null || s.placeholder ? null : s.reveal());
  const expandedIntoToml = (name: SecretKey, s: SecretValue | null) => {
    if (TOML_BREAKING.test(checked(s) ?? "")) {
      add(
        name,
        "[secret] must not contain '\"', '\\' or control characters such as a newline: the sentinel expands it " +
          "into its TOML configuration",
      );
    }
  };
  const url = (name: SecretKey, s: SecretValue | null, protocols: readonly string[]) => {
    const t = checked(s);
    if (t !== null && parseUrl(t, protocols) === null) {
      add(name, `[secret] is not a valid URL with one of the schemes ${protocols.join(", ")}`);
    }
    expandedIntoToml(name, s);
  };

  const databasePassword = read("databasePassword", true);
  const databaseCaCert = read("databaseCaCert", false);
  const caText = checked(databaseCaCert);
  if (caText !== null && !/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(caText)) {
    add(
      "databaseCaCert",
      "[secret] is not PEM text (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)",
    );
  }
  const tls = isRecord(v.database) && isRecord(v.database.tls) ? v.database.tls : {};
  if (databaseCaCert !== null && tls.caFile !== undefined) {
    add("databaseCaCert", `is set and so is ${DATABASE_CONFIG_KEY}.tls.caFile: give the CA bundle one way`);
  } else if (databaseCaCert !== null && tls.mode !== "verify-ca" && tls.mode !== "verify-identity") {
    add(
      "databaseCaCert",
      `a CA bundle verifies the server: it needs ${DATABASE_CONFIG_KEY}.tls.mode verify-ca or verify-identity, ` +
        `got ${show(tls.mode ?? "disabled")}`,
    );
  }
  const clickhouseUrl = read("clickhouseUrl", true);
  url("clickhouseUrl", clickhouseUrl, ["clickhouse:", "http:", "https:", "tcp:"]);
  const redisUrl = read("redisUrl", true);
  url("redisUrl", redisUrl, ["redis:", "rediss:"]);

  let otelHeaders: SecretValue | null = null;
  if (isRecord(v.otel) && v.otel.endpoint !== undefined) {
    otelHeaders = read("otelHeaders", false);
    expandedIntoToml("otelHeaders", otelHeaders);
  } else if (raw.values[key("otelHeaders")] !== undefined) {
    add("otelHeaders", `is set but ${key("otel")}.endpoint is not`);
  }

  const anyPrewarm =
    (isRecord(v.prewarm) && v.prewarm.urlTemplate !== undefined) ||
    records(v.regions).some((r) => r.prewarmUrl !== undefined);
  const prewarmToken = read("prewarmToken", anyPrewarm);
  if (!/^[\x21-\x7E]+$/.test(checked(prewarmToken) ?? "x")) {
    add("prewarmToken", "[secret] must be printable ASCII without spaces (it is sent as a bearer token)");
  }
  return {
    found,
    secrets: { databasePassword, databaseCaCert, clickhouseUrl, redisUrl, otelHeaders, prewarmToken },
  };
}

// ---------------------------------------------------------------------------------------------------------

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
  const { found: secretProblems, secrets } = secretRules(raw, input);
  found.push(...secretProblems);

  if (found.length > 0 || !parsed.success) {
    const ranked = found.map((f, i) => ({ f, i, r: rank(f.path, f.late === true) }));
    ranked.sort((a, b) => compareRanks(a.r, b.r) || a.i - b.i);
    const problems: ConfigProblem[] = [];
    for (const { f } of ranked) {
      const p = { path: renderPath(f.path, input), message: f.message };
      if (!problems.some((q) => q.path === p.path && q.message === p.message)) problems.push(p);
    }
    throw new FleetConfigError(problems);
  }
  return deepFreeze(build(parsed.data, secrets));
}

function build(c: PlainConfig, secrets: Record<SecretKey, SecretValue | null>): FleetConfig {
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
    platform: c.platform,
    image: c.image,
    namespace: c.namespace,
    namespacePodSecurity: c.namespacePodSecurity,
    pod: {
      runAsUser: c.pod.runAsUser,
      runAsGroup: c.pod.runAsGroup,
      priorityClassName: c.pod.priorityClassName ?? null,
      preStopSeconds: c.pod.preStopSeconds,
      drainSeconds: c.pod.drainSeconds,
    },
    regions: c.regions.map((r) => ({
      id: r.id,
      name: r.name,
      kubeContext: r.kubeContext ?? null,
      prewarmUrl: r.prewarmUrl ?? (template === null ? null : template.split("{region}").join(r.name)),
      cutover: r.cutover,
    })),
    deployRegions: inOrder(c.deployRegions),
    waves: c.waves ?? null,
    stackRole: c.stackRole,
    regionBaseStack: c.regionBaseStack ?? null,
    shards: c.shards ?? [],
    shard: c.shard ?? null,
    environments: c.environments.map((e) => ({
      workspaceId: e.workspaceId,
      projectId: e.projectId,
      appId: e.appId,
      environmentId: e.environmentId,
      slug: e.slug,
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
    nodeClass: { key: c.nodeClass.key, value: c.nodeClass.value },
    ciliumNetworkPolicies: c.ciliumNetworkPolicies,
    database: {
      ...settings,
      password: secrets.databasePassword as SecretValue,
      caCert: secrets.databaseCaCert,
      primaryAddress,
      replicaAddress,
      sentinelUserHost: c.database.sentinelUserHost,
      sentinelPrivileges: c.database.sentinelPrivileges,
      credentialRotation: c.database.credentialRotation,
    },
    clickhouseUrl: secrets.clickhouseUrl as SecretValue,
    redisUrl: secrets.redisUrl as SecretValue,
    otel: c.otel === undefined ? null : { endpoint: c.otel.endpoint, headers: secrets.otelHeaders },
    prewarm: {
      token: secrets.prewarmToken,
      attemptTimeoutMs: c.prewarm.attemptTimeoutMs,
      deadlineMs: c.prewarm.deadlineMs,
    },
    retainSentinelRows: c.retainSentinelRows,
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

// ---------------------------------------------------------------------------------------------------------
// What the schema produces besides validation: the editor schema of stack files and the README reference.

type Json = Record<string, unknown>;

/** Removes the documentation-only keys (`x-...`) from a JSON Schema. */
function withoutDocKeys(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDocKeys);
  if (!isRecord(node)) return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([k, v]) => !k.startsWith("x-") && v !== undefined)
      .map(([k, v]) => [k, withoutDocKeys(v)]),
  );
}

/**
 * The JSON Schema of `Pulumi.<stack>.yaml`: the config keys under `config:` with the `sentinel-fleet:` prefix,
 * secrets as `{ secure: ... }`, other namespaces' keys allowed. Top-level keys are not required here (an ESC
 * environment may supply them); the program requires them.
 */
export function stackFileJsonSchema(): Json {
  const plain = inputJsonSchema();
  const props = plain.properties as Record<string, Json>;
  const config: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(props)) {
    config[key(name)] =
      schema["x-secret"] === true
        ? {
            description: `${String(schema.description)} (a secret: \`pulumi config set --secret ${key(name)}\`)`,
            type: "object",
            properties: { secure: { type: "string" } },
            required: ["secure"],
            additionalProperties: false,
          }
        : schema.type === "boolean"
          ? // `pulumi config set` without `--type` writes "true"/"false" as strings; the program reads both.
            withoutDocKeys({
              ...schema,
              type: undefined,
              anyOf: [{ type: "boolean" }, { type: "string", enum: ["true", "false"] }],
            })
          : withoutDocKeys(schema);
  }
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: "sentinel-fleet stack configuration (Pulumi.<stack>.yaml)",
    description: "Generated from lib/config/ by `npm run schema`; do not edit.",
    type: "object",
    properties: {
      config: {
        type: "object",
        properties: config,
        // Keys of this project must be known ones; other namespaces (kubernetes:, pulumi:) are not ours.
        propertyNames: { anyOf: [{ enum: Object.keys(config) }, { not: { pattern: `^${PROJECT}:` } }] },
      },
    },
  };
}

/** One row of the README's configuration reference. */
export interface ReferenceRow {
  readonly key: string;
  readonly type: string;
  readonly default: string;
  readonly meaning: string;
}

const scalar = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

function typeText(s: Json): string {
  if (s["x-secret"] === true) return "secret";
  if (Array.isArray(s.enum)) return (s.enum as string[]).map((e) => `\`${e}\``).join(", ");
  switch (s.type) {
    case "integer":
      if (s.maximum === Number.MAX_SAFE_INTEGER) return `integer >= ${scalar(s.minimum)}`;
      return s.minimum !== undefined && s.maximum !== undefined
        ? `integer ${scalar(s.minimum)}..${scalar(s.maximum)}`
        : "integer";
    case "boolean":
      return "bool";
    case "array": {
      const items = (s.items ?? {}) as Json;
      return items.type === "string" ? "list of strings" : items.type === "array" ? "list of lists" : "list";
    }
    default:
      return scalar(s.type ?? "any");
  }
}

function defaultText(s: Json, required: boolean): string {
  if (typeof s["x-default"] === "string") return s["x-default"];
  if (s.default === undefined) return required ? "required" : "none";
  if (isRecord(s.default)) return "see below";
  if (Array.isArray(s.default)) return `\`[${s.default.join(", ")}]\``;
  return `\`${scalar(s.default)}\``;
}

/** The README's configuration reference: every key, in schema order, nested keys after their parent. */
export function configReferenceRows(): ReferenceRow[] {
  const rows: ReferenceRow[] = [];
  const walk = (name: string, s: Json, required: boolean) => {
    rows.push({
      key: `\`${name}\``,
      type: typeText(s),
      default: defaultText(s, required),
      meaning: scalar(s.description ?? ""),
    });
    const inner = s.type === "array" ? ((s.items ?? {}) as Json) : s;
    const props = inner.properties as Record<string, Json> | undefined;
    if (props === undefined) return;
    const req = (inner.required ?? []) as string[];
    const prefix = s.type === "array" ? `${name}[]` : name;
    for (const [k, child] of Object.entries(props)) walk(`${prefix}.${k}`, child, req.includes(k));
  };
  const root = inputJsonSchema();
  const req = (root.required ?? []) as string[];
  for (const [k, s] of Object.entries(root.properties as Record<string, Json>)) walk(k, s, req.includes(k));
  return rows;
}

/** The reference as a Markdown table (Prettier reformats the padding). */
export function configReferenceTable(): string {
  const rows = configReferenceRows();
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [
    line(["key", "type", "default", "meaning"]),
    line(["---", "---", "---", "---"]),
    ...rows.map((r) => line([r.key, r.type, r.default, r.meaning])),
  ].join("\n");
}
