// Facts from the spec the rules check. The values (label keys, credential variables, the node class) come from
// lib/constants.ts, the program's one place for them; that module has no imports, so the pack stays loadable on
// its own from policy/.
import {
  DEFAULT_NODE_CLASS as NODE_CLASS,
  ENV_VARS,
  LABELS,
  POD_SECURITY_LABELS,
  POD_SECURITY_LEVELS as LEVELS,
} from "../lib/constants";

/** Pulumi type tokens of the objects the fleet creates. */
export const TYPES = {
  deployment: "kubernetes:apps/v1:Deployment",
  service: "kubernetes:core/v1:Service",
  podDisruptionBudget: "kubernetes:policy/v1:PodDisruptionBudget",
  secret: "kubernetes:core/v1:Secret",
  configMap: "kubernetes:core/v1:ConfigMap",
  namespace: "kubernetes:core/v1:Namespace",
  ciliumNetworkPolicy: "kubernetes:cilium.io/v2:CiliumNetworkPolicy",
} as const;

/** Label keys (spec section 5). */
export const LABEL_KEYS = LABELS;

/** Labels every object but the shared namespace carries. */
export const OBJECT_LABELS: readonly string[] = [
  LABEL_KEYS.managedBy,
  LABEL_KEYS.component,
  LABEL_KEYS.workspaceId,
  LABEL_KEYS.projectId,
  LABEL_KEYS.appId,
  LABEL_KEYS.environmentId,
];
/** Labels of per-sentinel objects (Deployment, ClusterIP Service, PodDisruptionBudget). */
export const SENTINEL_OBJECT_LABELS: readonly string[] = [...OBJECT_LABELS, LABEL_KEYS.sentinelId];
/** Labels of the namespace, which every environment in a cluster shares. */
export const NAMESPACE_LABELS: readonly string[] = [LABEL_KEYS.managedBy, LABEL_KEYS.component];

/** Environment variables that carry credentials: they may only come from Secrets. */
export const CREDENTIAL_ENV_VARS: readonly string[] = [
  ENV_VARS.databasePrimary,
  ENV_VARS.databaseReplica,
  ENV_VARS.clickhouseUrl,
  ENV_VARS.redisUrl,
  ENV_VARS.otelHeaders,
];

/** The variable holding the sentinel's TOML configuration. */
export const CONFIG_ENV_VAR = ENV_VARS.config;
/** TOML keys that hold credentials: each must be exactly a `${VAR}` reference. */
export const TOML_CREDENTIAL_KEYS: readonly string[] = [
  "database.primary",
  "database.readonly_replica",
  "clickhouse.url",
  "redis.url",
];

/** Node placement policy config: the taint sentinel nodes carry and the label that selects them. */
export interface NodeClassConfig {
  readonly key: string;
  readonly value: string;
  readonly effect: string;
}
export const DEFAULT_NODE_CLASS: NodeClassConfig = { ...NODE_CLASS, effect: "NoSchedule" };

/** Pod Security Admission levels, strictest first. */
export const POD_SECURITY_LEVELS: readonly string[] = LEVELS;
/** Pod Security Admission's three modes, and the namespace labels of each: its level and its policy version. */
export const POD_SECURITY_MODES = ["enforce", "warn", "audit"] as const;
export const POD_SECURITY_MODE_LABELS = {
  enforce: { level: POD_SECURITY_LABELS.enforce, version: POD_SECURITY_LABELS.enforceVersion },
  warn: { level: POD_SECURITY_LABELS.warn, version: POD_SECURITY_LABELS.warnVersion },
  audit: { level: POD_SECURITY_LABELS.audit, version: POD_SECURITY_LABELS.auditVersion },
} as const;
