// The one place for spec values (docs/sentinel-spec.md). Everything else imports from here.
// This module has no imports: the dynamic provider captures it into its serialized text, so it must stay
// plain data.

/** The program's own name: the `app.kubernetes.io/managed-by` label value and the config namespace. */
export const PROJECT = "sentinel-fleet";

/**
 * Configuration namespaces that are not this project's but are read by someone: the engine (`pulumi:`) and the
 * providers the program uses. A key under any other namespace is reported (most likely a mistyped project).
 */
export const PROVIDER_NAMESPACES = ["pulumi", "kubernetes", "mysql", "random"] as const;

/** Pulumi type tokens. */
export const TOKENS = {
  environment: "sentinel-fleet:index:SentinelEnvironment",
  sentinel: "sentinel-fleet:index:Sentinel",
} as const;

/** Label keys (spec section 5). */
export const LABELS = {
  managedBy: "app.kubernetes.io/managed-by",
  component: "app.kubernetes.io/component",
  workspaceId: "unkey.com/workspace.id",
  projectId: "unkey.com/project.id",
  appId: "unkey.com/app.id",
  environmentId: "unkey.com/environment.id",
  sentinelId: "unkey.com/sentinel.id",
} as const;

/** `app.kubernetes.io/component` values. */
export const COMPONENTS = {
  sentinel: "sentinel",
  gossip: "gossip-lan",
} as const;

/**
 * Annotations on each sentinel Deployment. The prewarm hook is one shared hook for every Deployment, so it
 * reads the sentinel's region and address from the Deployment it fires for.
 */
export const ANNOTATIONS = {
  reloaderAuto: "reloader.stakater.com/auto",
  region: "unkey.com/region",
  regionId: "unkey.com/region.id",
  address: "unkey.com/sentinel.address",
  /** The row's record incarnation: a new value when the row is inserted anew, so the Deployment's hooks run. */
  rowIncarnation: "unkey.com/sentinel.row-incarnation",
} as const;

export const DEFAULT_NAMESPACE = "sentinel";
export const CLUSTER_DOMAIN = "svc.cluster.local";

/** Ports (spec section 4). */
export const PORTS = {
  http: 8040,
  httpName: "sentinel",
  gossip: 7946,
  gossipTcpName: "gossip-lan",
  gossipUdpName: "gossip-lan-udp",
} as const;

export const CONTAINER = {
  name: "sentinel",
  args: ["run", "sentinel"],
  imagePullPolicy: "IfNotPresent",
} as const;

/** Rollout (spec section 4, Deployment table). */
export const ROLLOUT = {
  maxUnavailable: 0,
  maxSurge: 1,
  minReadySeconds: 30,
  // Every ReplicaSet kept is read again by each Deployment's refresh: the Kubernetes provider lists all of the
  // namespace's ReplicaSets for every Deployment it reads (docs/performance.md). Kubernetes keeps 10; a rollback
  // goes through the stack's image anyway, so three old ones are enough for `kubectl rollout undo`.
  revisionHistoryLimit: 3,
  topologyKey: "topology.kubernetes.io/zone",
  maxSkew: 1,
  whenUnsatisfiable: "ScheduleAnyway",
} as const;

/** The original's single health endpoint; the default for every probe until the sentinel ships separate ones. */
export const DEFAULT_PROBE_PATH = "/_unkey/internal/health";

/** Probe timings. Liveness and readiness are the spec's; the startup probe is new (spec: known flaw). */
export const PROBES = {
  liveness: { initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 },
  readiness: { initialDelaySeconds: 5, periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2 },
  // Up to 2 minutes to start (cold caches, slow DNS); liveness only takes over once this has passed.
  startup: { initialDelaySeconds: 0, periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 60 },
} as const;

/** Default node placement: the taint the sentinel nodes carry, and the label that selects them. */
export const DEFAULT_NODE_CLASS = { key: "node-class", value: "sentinel" } as const;

/** Sizing defaults (spec section 1). */
export const SIZING = {
  productionSlug: "production",
  productionReplicas: 3,
  defaultReplicas: 1,
  cpuMillicores: 256,
  memoryMib: 256,
} as const;

/** Sentinel rows (spec sections 1 and 2). */
export const ROWS = {
  idPrefix: "s_",
  k8sNameLength: 12,
  initialHealth: "unknown",
  initialDesiredState: "running",
} as const;

/** Environment variables the pods receive from the Secrets; the TOML references them as `${NAME}`. */
export const ENV_VARS = {
  config: "UNKEY_CONFIG_DATA",
  databasePrimary: "UNKEY_DATABASE_PRIMARY",
  databaseReplica: "UNKEY_DATABASE_REPLICA",
  clickhouseUrl: "UNKEY_CLICKHOUSE_URL",
  redisUrl: "UNKEY_REDIS_URL",
  otelEndpoint: "OTEL_EXPORTER_OTLP_ENDPOINT",
  otelHeaders: "OTEL_EXPORTER_OTLP_HEADERS",
} as const;

/** `[observability.logging]` and `[gossip]` values of the sentinel's TOML (spec section 4). */
export const SENTINEL_TOML = {
  sampleRate: 1.0,
  slowThreshold: "1s",
  gossipBindAddr: "0.0.0.0",
} as const;

/** DSN parameters the sentinel's Go MySQL driver needs. */
export const DSN_PARAMS = "parseTime=true&interpolateParams=true";

/** Read-only by default: the sentinel reads deployments and instances, it never writes the platform tables. */
export const DEFAULT_SENTINEL_DB_PRIVILEGES = ["SELECT"] as const;

/** Prewarm hook defaults. */
export const PREWARM = {
  hookName: "sentinel-fleet-router-prewarm",
  attemptTimeoutMs: 5_000,
  deadlineMs: 60_000,
  baseDelayMs: 250,
  maxDelayMs: 5_000,
} as const;

/**
 * Kubernetes start-up allowance per pod beyond the probes: scheduling and an image pull on a fresh node.
 * Used to size the Deployment's customTimeouts.
 */
export const POD_STARTUP_ALLOWANCE_SECONDS = 120;

/**
 * Pod defaults (stack config `pod`). 65532 is the conventional "nonroot" user and group of distroless images.
 * preStopSeconds: how long a stopping pod keeps serving while Service endpoints and the router drop it;
 * drainSeconds: how long in-flight requests then get after SIGTERM. terminationGracePeriodSeconds is their sum.
 */
export const POD_DEFAULTS = {
  runAsUser: 65532,
  runAsGroup: 65532,
  priorityClassName: null,
  preStopSeconds: 10,
  drainSeconds: 30,
} as const;

/** The writable scratch directory of a pod whose root filesystem is read-only. */
export const SCRATCH_VOLUME = {
  name: "tmp",
  mountPath: "/tmp",
  // A runaway writer fills its own emptyDir, not the node's disk: past the limit the kubelet evicts the pod.
  sizeLimit: "64Mi",
} as const;

/** Pod Security Admission namespace labels (Kubernetes >= 1.25). */
export const POD_SECURITY_LABELS = {
  enforce: "pod-security.kubernetes.io/enforce",
  enforceVersion: "pod-security.kubernetes.io/enforce-version",
  warn: "pod-security.kubernetes.io/warn",
  warnVersion: "pod-security.kubernetes.io/warn-version",
  audit: "pod-security.kubernetes.io/audit",
  auditVersion: "pod-security.kubernetes.io/audit-version",
} as const;

export const POD_SECURITY_LEVELS = ["restricted", "baseline", "privileged"] as const;

/** Default levels of the namespace's Pod Security Admission modes (stack config `namespacePodSecurity`). */
export const NAMESPACE_POD_SECURITY_DEFAULTS = {
  enforce: "restricted",
  warn: "restricted",
  audit: "restricted",
} as const;

/**
 * The policy versions the modes check against. enforce is pinned to the oldest Kubernetes the objects support,
 * so a cluster upgrade that tightens a level never starts rejecting sentinel pods mid-rollout; warn and audit
 * follow the cluster ("latest"), so `pulumi up` and the audit log show early what a newer level would reject.
 */
export const POD_SECURITY_VERSIONS = {
  enforce: "v1.30",
  warn: "latest",
  audit: "latest",
} as const;

/** Oldest versions the emitted objects and the program need (docs/operations.md, "Minimum versions"). */
export const MINIMUM_VERSIONS = {
  /** `lifecycle.preStop.sleep` (PodLifecycleSleepAction) is beta and on by default from 1.30. */
  kubernetes: "1.30",
  /** CiliumNetworkPolicy `enableDefaultDeny` arrived in 1.16; older CRDs drop it and default-deny ingress. */
  cilium: "1.16",
  /**
   * After-hooks whose failure fails the update (3.238.0): the row-health write-back must not fail silently.
   * Resource hooks themselves came in 3.182.0 (SupportsFeature "resourceHooks").
   */
  pulumiCli: "3.238.0",
} as const;
