// The sentinel fleet's guardrails as Pulumi resource policies (spec: docs/sentinel-spec.md).
//
// Each rule is a pure function over (type, props) that returns violation messages; `policies` wraps them for
// the Pulumi policy server, and `evaluatePolicies` runs the same wrappers offline (synth, tests) without the
// Pulumi CLI. The spec values it checks (label keys, credential variables, the node class) come from
// lib/constants.ts, the program's one place for them; that module has no imports, so the pack stays loadable
// on its own from policy/.
//
// Values that are not known yet (preview) are never a violation: the engine sends them as marker strings, the
// policy server turns reading one into an exception, and the SDK's mock deserializer yields an `Unknown` object
// or an own property holding `undefined`. All of these read as NOT_KNOWN below and every rule skips them.
import type {
  EnforcementLevel,
  PolicyConfigSchema,
  PolicyResourceOptions,
  ReportViolation,
  ResourceValidation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
} from "@pulumi/policy";
import { parse as parseToml } from "smol-toml";
import { DEFAULT_NODE_CLASS as NODE_CLASS, ENV_VARS, LABELS } from "../lib/constants";

// ---------------------------------------------------------------------------------------------------------
// Facts from the spec.

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

// ---------------------------------------------------------------------------------------------------------
// Reading props that may hold values not known yet.

/** The engine's markers for unknown values, one per type (the engine itself sends the string one). */
export const UNKNOWN_MARKERS: readonly string[] = [
  "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // string
  "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
  "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
  "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
  "030794c1-ac77-496b-92df-f27374a8bd58", // asset
  "e48ece36-62e2-4504-bad9-02848725956a", // archive
  "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
];
export const UNKNOWN_VALUE = UNKNOWN_MARKERS[0];

/** Wire signature of a secret value (`{ [SIG_KEY]: SECRET_SIG, value }`). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

type Props = Readonly<Record<string, unknown>>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** True for an engine unknown marker or the SDK's `Unknown` value (recognised the way the SDK does). */
export function isUnknown(value: unknown): boolean {
  if (typeof value === "string") return UNKNOWN_MARKERS.includes(value);
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { __pulumiUnknown?: unknown }).__pulumiUnknown === true
  );
}

function isSecretEnvelope(value: unknown): value is { value: unknown } {
  return isRecord(value) && value[SIG_KEY] === SECRET_SIG;
}

/** The policy server throws this (UnknownValueError) when a rule reads an unknown value through its proxy. */
function isUnknownValueError(err: unknown): boolean {
  return typeof err === "object" && err !== null && "unknownTypeSentinel" in err;
}

function readSafely(container: object, key: string | number): unknown {
  try {
    return (container as Record<string | number, unknown>)[key];
  } catch (err) {
    if (isUnknownValueError(err)) return UNKNOWN_VALUE;
    throw err;
  }
}

/**
 * Props as plain data, the shape the rules read: secret envelopes replaced by their values (the policy server
 * does the same), unknowns of every form as the unknown marker, and the policy server's unknown-checking proxy
 * copied out so reading an unknown value no longer throws. Own properties holding `undefined` stay so.
 */
export function plainProps(value: unknown): unknown {
  if (isUnknown(value)) return UNKNOWN_VALUE;
  if (isSecretEnvelope(value)) return plainProps(readSafely(value, "value"));
  if (Array.isArray(value)) {
    const items = value as unknown[];
    return Array.from({ length: items.length }, (_, i) => plainProps(readSafely(items, i)));
  }
  if (typeof value === "object" && value !== null) {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) copy[key] = plainProps(readSafely(value, key));
    return copy;
  }
  return value;
}

/** What a read returns for a value that is not known yet. */
const NOT_KNOWN: unique symbol = Symbol("not known yet");
type NotKnown = typeof NOT_KNOWN;
type Tri = "yes" | "no" | "unknown";

/**
 * Reads a path. NOT_KNOWN when the value or anything on the way is unknown (an own property holding undefined
 * counts: that is how the SDK's deserializer drops an unknown); undefined when something on the way is absent.
 */
function get(value: unknown, ...keys: (string | number)[]): unknown {
  let current = value;
  for (const key of keys) {
    if (current === NOT_KNOWN || isUnknown(current)) return NOT_KNOWN;
    if (typeof current !== "object" || current === null) return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, key)) return undefined;
    current = (current as Record<string | number, unknown>)[key];
    if (current === undefined) return NOT_KNOWN;
  }
  return isUnknown(current) ? NOT_KNOWN : current;
}

/** A list at a path: NOT_KNOWN, its items, or [] when absent (or not a list). */
function list(value: unknown, ...keys: (string | number)[]): unknown[] | NotKnown {
  const v = get(value, ...keys);
  if (v === NOT_KNOWN) return NOT_KNOWN;
  return Array.isArray(v) ? (v as unknown[]).map((_, i) => get(v, i)) : [];
}

const absent = (v: unknown): boolean => v === undefined || v === null;

/**
 * Whether a field is set, to a value or to one not known yet (a marker, or an own property holding undefined).
 * For fields where any value is wrong, so being set is the violation.
 */
function isSet(container: unknown, key: string): boolean {
  return (
    isRecord(container) && Object.prototype.hasOwnProperty.call(container, key) && container[key] !== null
  );
}

/** "yes" if any item is, else "unknown" if any might be, else "no". */
function any(items: readonly Tri[]): Tri {
  if (items.includes("yes")) return "yes";
  return items.includes("unknown") ? "unknown" : "no";
}

/** "no" if any item is, else "unknown" if any might be, else "yes" (vacuously for none). */
function all(items: readonly Tri[]): Tri {
  if (items.includes("no")) return "no";
  return items.includes("unknown") ? "unknown" : "yes";
}

function show(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** `Kind namespace/name` for messages. */
export function objectRef(type: string, props: Props): string {
  const kind = type.split(":")[2] ?? type;
  const name = get(props, "metadata", "name");
  const namespace = get(props, "metadata", "namespace");
  const shownName =
    typeof name === "string" && name !== ""
      ? name
      : name === NOT_KNOWN
        ? "<name not known yet>"
        : "<auto-named>";
  return typeof namespace === "string" && namespace !== ""
    ? `${kind} ${namespace}/${shownName}`
    : `${kind} ${shownName}`;
}

// ---------------------------------------------------------------------------------------------------------
// Workloads and their containers.

/** Where each workload type keeps its pod spec. */
const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  [TYPES.deployment]: ["spec", "template", "spec"],
  "kubernetes:apps/v1:StatefulSet": ["spec", "template", "spec"],
  "kubernetes:apps/v1:DaemonSet": ["spec", "template", "spec"],
  "kubernetes:apps/v1:ReplicaSet": ["spec", "template", "spec"],
  "kubernetes:batch/v1:Job": ["spec", "template", "spec"],
  "kubernetes:batch/v1:CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
  "kubernetes:core/v1:Pod": ["spec"],
};

export const isWorkload = (type: string): boolean => type in POD_SPEC_PATHS;

interface Container {
  readonly value: unknown;
  /** `container "sentinel"` for messages. */
  readonly label: string;
}

/** The containers (and with `init`, the init containers) of a workload; NOT_KNOWN while the list is unknown. */
function containersOf(type: string, props: Props, init: boolean): Container[] | NotKnown {
  const path = POD_SPEC_PATHS[type];
  if (path === undefined) return [];
  const out: Container[] = [];
  for (const [field, what] of init
    ? ([
        ["initContainers", "init container"],
        ["containers", "container"],
      ] as const)
    : ([["containers", "container"]] as const)) {
    const items = list(props, ...path, field);
    if (items === NOT_KNOWN) return NOT_KNOWN;
    items.forEach((value, i) => {
      const name = get(value, "name");
      out.push({
        value,
        label: typeof name === "string" && name !== "" ? `${what} "${name}"` : `${what} #${i}`,
      });
    });
  }
  return out.filter((c) => c.value !== NOT_KNOWN);
}

// ---------------------------------------------------------------------------------------------------------
// Rules. Each returns the violation messages for one resource; [] when it complies or does not apply.

/** Kubernetes object types: `kubernetes:<group>/<version>:<Kind>`, not Helm/YAML/kustomize, lists or patches. */
export function isKubernetesObject(type: string): boolean {
  if (!/^kubernetes:[^:]+:[^:]+$/.test(type)) return false;
  if (/^kubernetes:(yaml|helm\.sh|kustomize)[/:]/.test(type)) return false;
  return !/(List|Patch)$/.test(type);
}

/** The labels an object must carry; NOT_KNOWN parts (a Service whose headlessness is unknown) ask for less. */
export function requiredLabels(type: string, props: Props): readonly string[] {
  if (type === TYPES.namespace) return NAMESPACE_LABELS;
  if (type === TYPES.deployment || type === TYPES.podDisruptionBudget) return SENTINEL_OBJECT_LABELS;
  if (type === TYPES.service) {
    // The per-environment gossip Service is headless and has no sentinel id; every other Service is a
    // sentinel's own ClusterIP Service.
    const clusterIP = get(props, "spec", "clusterIP");
    return clusterIP === NOT_KNOWN || clusterIP === "None" ? OBJECT_LABELS : SENTINEL_OBJECT_LABELS;
  }
  return OBJECT_LABELS;
}

/** 1. Every Kubernetes object carries the spec's labels, non-empty. */
export function labelViolations(type: string, props: Props): string[] {
  if (!isKubernetesObject(type)) return [];
  const labels = get(props, "metadata", "labels");
  if (labels === NOT_KNOWN) return [];
  const missing = requiredLabels(type, props).filter((key) => {
    const v = get(labels, key);
    return v !== NOT_KNOWN && (typeof v !== "string" || v.trim() === "");
  });
  return missing.length === 0
    ? []
    : [
        `${objectRef(type, props)} is missing required label(s) ${missing.join(", ")} (each must be non-empty)`,
      ];
}

/** 2a. Deployments roll out without ever taking a serving pod away first. */
export function rolloutViolations(type: string, props: Props): string[] {
  if (type !== TYPES.deployment) return [];
  const ref = objectRef(type, props);
  const strategyType = get(props, "spec", "strategy", "type");
  if (strategyType === NOT_KNOWN) return [];
  if (!absent(strategyType) && strategyType !== "RollingUpdate") {
    return [`${ref} uses strategy ${show(strategyType)}; it must be RollingUpdate with maxUnavailable 0`];
  }
  const maxUnavailable = get(props, "spec", "strategy", "rollingUpdate", "maxUnavailable");
  if (absent(maxUnavailable)) {
    return [
      `${ref} does not set strategy.rollingUpdate.maxUnavailable (Kubernetes defaults to 25%); ` +
        "it must be 0 so a rollout never removes a serving pod before its replacement is ready",
    ];
  }
  if (maxUnavailable === NOT_KNOWN || maxUnavailable === 0 || maxUnavailable === "0%") return [];
  return [
    `${ref} sets strategy.rollingUpdate.maxUnavailable to ${show(maxUnavailable)}; ` +
      "it must be 0 so a rollout never removes a serving pod before its replacement is ready",
  ];
}

const PROBES = ["livenessProbe", "readinessProbe", "startupProbe"] as const;

/** 2b. Every Deployment container has liveness, readiness and startup probes. */
export function probeViolations(type: string, props: Props): string[] {
  if (type !== TYPES.deployment) return [];
  const containers = containersOf(type, props, false);
  if (containers === NOT_KNOWN) return [];
  const ref = objectRef(type, props);
  return containers.flatMap((c) =>
    PROBES.filter((probe) => absent(get(c.value, probe))).map(
      (probe) => `${ref}: ${c.label} has no ${probe}`,
    ),
  );
}

/** 2c. Every Deployment container has cpu and memory requests and limits. */
export function resourceViolations(type: string, props: Props): string[] {
  if (type !== TYPES.deployment) return [];
  const containers = containersOf(type, props, false);
  if (containers === NOT_KNOWN) return [];
  const ref = objectRef(type, props);
  const out: string[] = [];
  for (const c of containers) {
    for (const section of ["requests", "limits"]) {
      for (const resource of ["cpu", "memory"]) {
        const v = get(c.value, "resources", section, resource);
        if (absent(v) || v === "") out.push(`${ref}: ${c.label} has no resources.${section}.${resource}`);
      }
    }
  }
  return out;
}

/** Whether a toleration tolerates the taint `key=value:effect` (Kubernetes semantics). */
function tolerates(toleration: unknown, node: NodeClassConfig): Tri {
  const key = get(toleration, "key");
  const operator = get(toleration, "operator");
  const value = get(toleration, "value");
  const effect = get(toleration, "effect");
  if (toleration === NOT_KNOWN || [key, operator, value, effect].includes(NOT_KNOWN)) return "unknown";
  if (!absent(effect) && effect !== "" && effect !== node.effect) return "no";
  if (operator === "Exists") return absent(key) || key === "" || key === node.key ? "yes" : "no";
  if (absent(operator) || operator === "Equal")
    return key === node.key && value === node.value ? "yes" : "no";
  return "no";
}

/** Whether a node selector term admits only nodes labelled `key=value`. */
function termRequires(term: unknown, node: NodeClassConfig): Tri {
  const expressions = list(term, "matchExpressions");
  if (term === NOT_KNOWN || expressions === NOT_KNOWN) return "unknown";
  return any(
    expressions.map((e): Tri => {
      const key = get(e, "key");
      const operator = get(e, "operator");
      const values = list(e, "values");
      if (e === NOT_KNOWN || key === NOT_KNOWN || operator === NOT_KNOWN || values === NOT_KNOWN) {
        return "unknown";
      }
      if (key !== node.key || operator !== "In" || values.length === 0) return "no";
      return all(values.map((v): Tri => (v === NOT_KNOWN ? "unknown" : v === node.value ? "yes" : "no")));
    }),
  );
}

/** Whether pods are required onto `key=value` nodes: node affinity (every term) or a nodeSelector. */
function requiredOntoNodes(podSpec: readonly string[], props: Props, node: NodeClassConfig): Tri {
  const selector = get(props, ...podSpec, "nodeSelector", node.key);
  const bySelector: Tri = selector === NOT_KNOWN ? "unknown" : selector === node.value ? "yes" : "no";
  const terms = list(
    props,
    ...podSpec,
    "affinity",
    "nodeAffinity",
    "requiredDuringSchedulingIgnoredDuringExecution",
    "nodeSelectorTerms",
  );
  // Node selector terms are ORed: every one of them must require the node class.
  const byAffinity: Tri =
    terms === NOT_KNOWN
      ? "unknown"
      : terms.length === 0
        ? "no"
        : all(terms.map((t) => termRequires(t, node)));
  return any([bySelector, byAffinity]);
}

/** Node class config with defaults for what is not set. */
export function nodeClassConfig(config: object = {}): NodeClassConfig {
  const c = config as Partial<Record<keyof NodeClassConfig, unknown>>;
  const pick = (k: keyof NodeClassConfig): string => {
    const v = c[k];
    return typeof v === "string" && v !== "" ? v : DEFAULT_NODE_CLASS[k];
  };
  return { key: pick("key"), value: pick("value"), effect: pick("effect") };
}

/** 2d. Deployment pods tolerate the sentinel taint and are required onto sentinel nodes. */
export function placementViolations(
  type: string,
  props: Props,
  node: NodeClassConfig = DEFAULT_NODE_CLASS,
): string[] {
  if (type !== TYPES.deployment) return [];
  const podSpec = POD_SPEC_PATHS[type];
  if (get(props, ...podSpec) === NOT_KNOWN) return [];
  const ref = objectRef(type, props);
  const out: string[] = [];
  const tolerations = list(props, ...podSpec, "tolerations");
  const tolerated = tolerations === NOT_KNOWN ? "unknown" : any(tolerations.map((t) => tolerates(t, node)));
  if (tolerated === "no") {
    out.push(
      `${ref}: pods do not tolerate the taint ${node.key}=${node.value}:${node.effect}, ` +
        "so they cannot run on sentinel nodes",
    );
  }
  if (requiredOntoNodes(podSpec, props, node) === "no") {
    out.push(
      `${ref}: pods are not required onto ${node.key}=${node.value} nodes; a toleration alone lets them land ` +
        `on any node (add required node affinity ${node.key} In [${node.value}] or nodeSelector ` +
        `${node.key}: ${node.value})`,
    );
  }
  return out;
}

/** True for an integer >= 1 or a percentage above 0% (Kubernetes rounds PDB percentages up). */
function allowsEviction(maxUnavailable: unknown): boolean {
  if (typeof maxUnavailable === "number") return Number.isInteger(maxUnavailable) && maxUnavailable >= 1;
  if (typeof maxUnavailable !== "string") return false;
  const m = /^(\d+)%$/.exec(maxUnavailable);
  return m !== null && Number(m[1]) > 0;
}

/** 3. A PodDisruptionBudget never blocks a drain, whatever the Deployment's scale. */
export function disruptionBudgetViolations(type: string, props: Props): string[] {
  if (type !== TYPES.podDisruptionBudget) return [];
  const spec = get(props, "spec");
  if (spec === NOT_KNOWN) return [];
  const ref = objectRef(type, props);
  const out: string[] = [];
  // Whether minAvailable is set is known even while its value is not, and any value is wrong.
  if (isSet(spec, "minAvailable")) {
    out.push(
      `${ref} sets minAvailable; any value >= 1 blocks every drain of a single-replica or scaled-down ` +
        "sentinel and 0 protects nothing: use maxUnavailable",
    );
  }
  const maxUnavailable = get(spec, "maxUnavailable");
  if (absent(maxUnavailable)) {
    out.push(`${ref} does not set maxUnavailable; it must be an integer >= 1 or a percentage above 0%`);
  } else if (maxUnavailable !== NOT_KNOWN && !allowsEviction(maxUnavailable)) {
    out.push(
      `${ref} sets maxUnavailable to ${show(maxUnavailable)}; it must be an integer >= 1 or a percentage ` +
        "above 0%, or no pod can ever be evicted",
    );
  }
  const policy = get(spec, "unhealthyPodEvictionPolicy");
  if (policy !== NOT_KNOWN && policy !== "AlwaysAllow") {
    const got = absent(policy)
      ? "does not set unhealthyPodEvictionPolicy"
      : `sets unhealthyPodEvictionPolicy to ${show(policy)}`;
    out.push(`${ref} ${got}; it must be AlwaysAllow so pods that are not ready never block a drain`);
  }
  return out;
}

/** True when an image reference names a digest, or an explicit tag other than `latest`. */
export function isPinnedImage(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  if (image.includes("@")) return false;
  const name = image.slice(image.lastIndexOf("/") + 1);
  const colon = name.lastIndexOf(":");
  if (colon < 0) return false;
  const tag = name.slice(colon + 1);
  return tag !== "" && tag.toLowerCase() !== "latest";
}

/** 4. Every container image is pinned. */
export function imageViolations(type: string, props: Props): string[] {
  const containers = containersOf(type, props, true);
  if (containers === NOT_KNOWN) return [];
  const ref = objectRef(type, props);
  const out: string[] = [];
  for (const c of containers) {
    const image = get(c.value, "image");
    if (image === NOT_KNOWN) continue;
    if (typeof image !== "string" || image === "") out.push(`${ref}: ${c.label} has no image`);
    else if (!isPinnedImage(image)) {
      out.push(
        `${ref}: ${c.label} image ${image} is not pinned; use a digest (@sha256:...) or an explicit tag ` +
          "other than latest",
      );
    }
  }
  return out;
}

/** Why a text looks like it holds a credential, or null. Never echoes the text. */
export function credentialShape(text: string): string | null {
  if (/[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*:[^\s/@]+@/i.test(text)) return "a URL with user:password@";
  if (/[^\s:@/"'=]*:[^\s@"']+@(?:tcp|unix)\(/.test(text)) return "a MySQL DSN user:password@tcp(...)";
  if (/password\s*=/i.test(text)) return "password=";
  return null;
}

const VAR_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;

function tomlViolations(prefix: string, text: string): string[] {
  let doc: unknown;
  try {
    doc = parseToml(text);
  } catch {
    return [`${prefix} ${CONFIG_ENV_VAR} is not valid TOML`];
  }
  const out: string[] = [];
  for (const key of TOML_CREDENTIAL_KEYS) {
    const v = get(doc, ...key.split("."));
    if (v === undefined) {
      out.push(`${prefix} ${CONFIG_ENV_VAR} has no ${key}; it must be a \${VAR} reference`);
    } else if (typeof v !== "string" || !VAR_REFERENCE.test(v)) {
      out.push(
        `${prefix} ${CONFIG_ENV_VAR} sets ${key} to a literal value; it must be exactly a \${VAR} reference ` +
          "so the credential stays in a Secret",
      );
    }
  }
  return out;
}

/** 5. Credentials only in Secrets: never in plain env values, the sentinel TOML, or ConfigMaps. */
export function credentialViolations(type: string, props: Props): string[] {
  const ref = objectRef(type, props);
  if (type === TYPES.secret) {
    const data = get(props, "data");
    const stringData = get(props, "stringData");
    if (data === NOT_KNOWN || stringData === NOT_KNOWN) return [];
    const count = [data, stringData].reduce(
      (n: number, d) => n + (isRecord(d) ? Object.keys(d).length : 0),
      0,
    );
    return count > 0 ? [] : [`${ref} has no data or stringData; a Secret must carry its values there`];
  }
  if (type === TYPES.configMap) {
    const data = get(props, "data");
    if (!isRecord(data)) return [];
    return Object.keys(data).flatMap((key) => {
      const v = get(data, key);
      const shape = typeof v === "string" ? credentialShape(v) : null;
      return shape === null
        ? []
        : [`${ref} key ${key} holds what looks like a credential (${shape}); credentials belong in a Secret`];
    });
  }
  const containers = containersOf(type, props, true);
  if (containers === NOT_KNOWN) return [];
  const out: string[] = [];
  for (const c of containers) {
    const env = list(c.value, "env");
    if (env === NOT_KNOWN) continue;
    for (const entry of env) {
      const name = get(entry, "name");
      if (typeof name !== "string") continue;
      const value = get(entry, "value");
      const valueFrom = get(entry, "valueFrom");
      const prefix = `${ref}: ${c.label}`;
      if (CREDENTIAL_ENV_VARS.includes(name)) {
        const secretKeyRef = get(valueFrom, "secretKeyRef");
        if (secretKeyRef === NOT_KNOWN || !absent(secretKeyRef)) continue;
        // A credential in `value` is wrong whatever the value turns out to be, so one not known yet counts.
        if (isSet(entry, "value") && value !== "") {
          out.push(
            `${prefix} sets ${name} as a plain env value; credentials must come from a Secret ` +
              "(envFrom secretRef or valueFrom.secretKeyRef)",
          );
        } else if (!absent(valueFrom)) {
          out.push(
            `${prefix} takes ${name} from something other than a Secret; credentials must come from a ` +
              "Secret (envFrom secretRef or valueFrom.secretKeyRef)",
          );
        }
        continue;
      }
      if (typeof value !== "string") continue;
      const shape = credentialShape(value);
      if (shape !== null) {
        out.push(
          `${prefix} env ${name} holds what looks like a credential (${shape}); move it into a Secret`,
        );
      }
      if (name === CONFIG_ENV_VAR) out.push(...tomlViolations(prefix, value));
    }
  }
  return out;
}

/** Advisory: liveness and readiness probes hit different endpoints (spec: known flaw). */
export function probePathAdvisories(type: string, props: Props): string[] {
  if (type !== TYPES.deployment) return [];
  const containers = containersOf(type, props, false);
  if (containers === NOT_KNOWN) return [];
  const ref = objectRef(type, props);
  return containers.flatMap((c) => {
    const liveness = get(c.value, "livenessProbe", "httpGet");
    const readiness = get(c.value, "readinessProbe", "httpGet");
    const [lPath, rPath] = [get(liveness, "path"), get(readiness, "path")];
    const [lPort, rPort] = [get(liveness, "port"), get(readiness, "port")];
    if (typeof lPath !== "string" || lPath !== rPath || lPort === NOT_KNOWN || lPort !== rPort) return [];
    return [
      `${ref}: ${c.label} liveness and readiness probes both GET ${lPath}; readiness should report whether ` +
        "the sentinel can serve (database, Redis) on its own path, liveness only that the process is alive",
    ];
  });
}

// ---------------------------------------------------------------------------------------------------------
// Pod security and termination.

/** Pod Security Admission levels, strictest first. */
export const POD_SECURITY_LEVELS: readonly string[] = ["restricted", "baseline", "privileged"];
/** The namespace labels of Pod Security Admission's three modes. */
export const POD_SECURITY_MODES: readonly string[] = ["enforce", "warn", "audit"];
const PSA_PREFIX = "pod-security.kubernetes.io/";
/** Volume types the "restricted" standard allows. */
export const RESTRICTED_VOLUME_TYPES: readonly string[] = [
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
];
const RESTRICTED_SECCOMP = ["RuntimeDefault", "Localhost"];

/**
 * A pod-level setting as each container sees it (the container's own value when set, else the pod's): the
 * containers for which `ok` fails. Values not known yet never fail.
 */
function effective(
  podSpec: unknown,
  containers: readonly Container[],
  path: readonly string[],
  ok: (value: unknown) => boolean,
): string[] {
  const podValue = get(podSpec, "securityContext", ...path);
  const failing: string[] = [];
  for (const c of containers) {
    const own = get(c.value, "securityContext", ...path);
    const v = absent(own) ? podValue : own;
    if (v !== NOT_KNOWN && !ok(v)) failing.push(c.label);
  }
  return failing;
}

/**
 * 6. Pods meet the Pod Security Standard "restricted", and their root filesystem is read-only: non-root,
 * no privilege escalation, every capability dropped (only NET_BIND_SERVICE may come back), seccomp
 * RuntimeDefault or Localhost, no privileged containers, host namespaces or host volumes.
 */
export function podSecurityViolations(type: string, props: Props): string[] {
  const path = POD_SPEC_PATHS[type];
  if (path === undefined) return [];
  const podSpec = get(props, ...path);
  const containers = containersOf(type, props, true);
  if (podSpec === NOT_KNOWN || containers === NOT_KNOWN) return [];
  const ref = objectRef(type, props);
  const out: string[] = [];
  const each = (setting: readonly string[], ok: (value: unknown) => boolean, rule: string): void => {
    const failing = effective(podSpec, containers, setting, ok);
    if (failing.length > 0) out.push(`${ref}: ${failing.join(", ")} ${rule}`);
  };
  each(["runAsNonRoot"], (v) => v === true, "must run with runAsNonRoot: true (pod or container)");
  each(["runAsUser"], (v) => v !== 0, "must not run as user 0 (runAsUser)");
  each(
    ["seccompProfile", "type"],
    (v) => typeof v === "string" && RESTRICTED_SECCOMP.includes(v),
    "must use seccompProfile RuntimeDefault (or Localhost), on the pod or the container",
  );
  for (const c of containers) {
    const sc = get(c.value, "securityContext");
    if (sc === NOT_KNOWN) continue;
    const prefix = `${ref}: ${c.label}`;
    const escalation = get(sc, "allowPrivilegeEscalation");
    if (escalation !== NOT_KNOWN && escalation !== false)
      out.push(`${prefix} must set securityContext.allowPrivilegeEscalation: false`);
    const privileged = get(sc, "privileged");
    if (privileged === true) out.push(`${prefix} must not be privileged`);
    const drop = list(sc, "capabilities", "drop");
    if (drop !== NOT_KNOWN && !drop.includes("ALL") && !drop.includes(NOT_KNOWN))
      out.push(`${prefix} must drop every capability (securityContext.capabilities.drop: [ALL])`);
    const add = list(sc, "capabilities", "add");
    if (add !== NOT_KNOWN) {
      const extra = add.filter((a) => a !== NOT_KNOWN && a !== "NET_BIND_SERVICE");
      if (extra.length > 0)
        out.push(
          `${prefix} adds capabilities ${extra.map(show).join(", ")}; only NET_BIND_SERVICE is allowed`,
        );
    }
    const readOnly = get(sc, "readOnlyRootFilesystem");
    if (readOnly !== NOT_KNOWN && readOnly !== true)
      out.push(
        `${prefix} must set securityContext.readOnlyRootFilesystem: true (mount an emptyDir where it writes)`,
      );
  }
  for (const field of ["hostNetwork", "hostPID", "hostIPC"]) {
    if (get(podSpec, field) === true) out.push(`${ref}: pods must not use ${field}`);
  }
  const volumes = list(podSpec, "volumes");
  if (volumes !== NOT_KNOWN) {
    for (const volume of volumes) {
      if (!isRecord(volume)) continue;
      const kinds = Object.keys(volume).filter((k) => k !== "name");
      const bad = kinds.filter((k) => !RESTRICTED_VOLUME_TYPES.includes(k));
      if (bad.length > 0)
        out.push(
          `${ref}: volume ${show(get(volume, "name"))} is of type ${bad.join(", ")}; the restricted standard ` +
            `allows ${RESTRICTED_VOLUME_TYPES.join(", ")}`,
        );
    }
  }
  return out;
}

/** Termination policy config: the shortest preStop delay the pack accepts (0: none required). */
export interface TerminationConfig {
  readonly minPreStopSeconds: number;
}
export const DEFAULT_TERMINATION: TerminationConfig = { minPreStopSeconds: 1 };

export function terminationConfig(config: object = {}): TerminationConfig {
  const v = (config as { minPreStopSeconds?: unknown }).minPreStopSeconds;
  return {
    minPreStopSeconds:
      typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : DEFAULT_TERMINATION.minPreStopSeconds,
  };
}

/** Kubernetes' terminationGracePeriodSeconds when a pod does not set it. */
const DEFAULT_GRACE_SECONDS = 30;

/**
 * 7. Deployment pods stop without dropping requests: each container waits in a preStop hook (a `sleep` of at
 * least minPreStopSeconds, or an exec/httpGet hook) while endpoints move, and the grace period outlasts the
 * sleep, so SIGTERM and the drain still have time before the kubelet kills the pod.
 */
export function terminationViolations(
  type: string,
  props: Props,
  config: TerminationConfig = DEFAULT_TERMINATION,
): string[] {
  if (type !== TYPES.deployment) return [];
  const podSpec = get(props, ...POD_SPEC_PATHS[type]);
  const containers = containersOf(type, props, false);
  if (podSpec === NOT_KNOWN || containers === NOT_KNOWN) return [];
  const ref = objectRef(type, props);
  const graceValue = get(podSpec, "terminationGracePeriodSeconds");
  const grace = absent(graceValue) ? DEFAULT_GRACE_SECONDS : graceValue;
  const out: string[] = [];
  for (const c of containers) {
    const preStop = get(c.value, "lifecycle", "preStop");
    if (preStop === NOT_KNOWN) continue;
    const seconds = get(preStop, "sleep", "seconds");
    if (seconds === NOT_KNOWN) continue;
    const otherHook = !absent(get(preStop, "exec")) || !absent(get(preStop, "httpGet"));
    if (typeof seconds === "number") {
      if (seconds < config.minPreStopSeconds)
        out.push(
          `${ref}: ${c.label} preStop sleeps ${seconds} s; at least ${config.minPreStopSeconds} s keep a ` +
            "stopping pod serving while endpoints move",
        );
      if (typeof grace === "number" && grace <= seconds)
        out.push(
          `${ref}: terminationGracePeriodSeconds ${grace} does not outlast ${c.label}'s preStop sleep of ` +
            `${seconds} s; the pod is killed before it can drain`,
        );
    } else if (!otherHook && config.minPreStopSeconds > 0) {
      out.push(
        `${ref}: ${c.label} has no preStop hook; without one a stopping pod gets SIGTERM while endpoints still ` +
          "send it requests (use lifecycle.preStop.sleep)",
      );
    }
  }
  return out;
}

/** Namespace policy config: the least strict enforce level the pack accepts. */
export interface NamespacePodSecurityConfig {
  readonly minimumEnforce: string;
}
export const DEFAULT_NAMESPACE_POD_SECURITY: NamespacePodSecurityConfig = { minimumEnforce: "restricted" };

export function namespacePodSecurityConfig(config: object = {}): NamespacePodSecurityConfig {
  const v = (config as { minimumEnforce?: unknown }).minimumEnforce;
  return {
    minimumEnforce:
      typeof v === "string" && POD_SECURITY_LEVELS.includes(v)
        ? v
        : DEFAULT_NAMESPACE_POD_SECURITY.minimumEnforce,
  };
}

const PSA_VERSION = /^(latest|v1\.(0|[1-9][0-9]*))$/;

/**
 * 8. The namespace carries Pod Security Admission labels: enforce at least as strict as minimumEnforce, warn
 * and audit at valid levels, any `-version` label `latest` or `v1.<minor>`.
 */
export function namespacePodSecurityViolations(
  type: string,
  props: Props,
  config: NamespacePodSecurityConfig = DEFAULT_NAMESPACE_POD_SECURITY,
): string[] {
  if (type !== TYPES.namespace) return [];
  const labels = get(props, "metadata", "labels");
  if (labels === NOT_KNOWN) return [];
  const ref = objectRef(type, props);
  const out: string[] = [];
  for (const mode of POD_SECURITY_MODES) {
    const level = get(labels, PSA_PREFIX + mode);
    if (level === NOT_KNOWN) continue;
    if (typeof level !== "string" || !POD_SECURITY_LEVELS.includes(level)) {
      const got = absent(level)
        ? `has no label ${PSA_PREFIX}${mode}`
        : `label ${PSA_PREFIX}${mode} is ${JSON.stringify(level)}`;
      out.push(`${ref} ${got}; it must be one of ${POD_SECURITY_LEVELS.join(", ")}`);
    } else if (
      mode === "enforce" &&
      POD_SECURITY_LEVELS.indexOf(level) > POD_SECURITY_LEVELS.indexOf(config.minimumEnforce)
    ) {
      out.push(
        `${ref} enforces Pod Security level ${level}; it must be ${config.minimumEnforce} or stricter`,
      );
    }
    const version = get(labels, `${PSA_PREFIX}${mode}-version`);
    if (
      version !== NOT_KNOWN &&
      !absent(version) &&
      (typeof version !== "string" || !PSA_VERSION.test(version))
    )
      out.push(
        `${ref} label ${PSA_PREFIX}${mode}-version is ${show(version)}; it must be latest or v1.<minor>`,
      );
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Policies.

type Rule = (type: string, props: Props, config: object) => string[];

function resourcePolicy(
  name: string,
  description: string,
  enforcementLevel: EnforcementLevel,
  applies: (type: string) => boolean,
  appliesTo: string,
  rule: Rule,
  configSchema?: PolicyConfigSchema,
): ResourceValidationPolicy {
  const validate: ResourceValidation = (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    if (!applies(args.type)) args.notApplicable(`applies to ${appliesTo} only`);
    const props = plainProps(args.props) as Props;
    for (const message of rule(args.type, props, args.getConfig())) reportViolation(message);
  };
  return { name, description, enforcementLevel, configSchema, validateResource: validate };
}

const isDeployment = (type: string) => type === TYPES.deployment;

export const policies: ResourceValidationPolicy[] = [
  resourcePolicy(
    "sentinel-labels",
    "Every Kubernetes object carries the fleet's labels (managed-by, component, workspace, project, app and " +
      "environment ids; per-sentinel objects also the sentinel id; the shared namespace managed-by and component).",
    "mandatory",
    isKubernetesObject,
    "Kubernetes objects",
    labelViolations,
  ),
  resourcePolicy(
    "sentinel-rolling-update",
    "Deployments use RollingUpdate with maxUnavailable 0.",
    "mandatory",
    isDeployment,
    "Deployments",
    rolloutViolations,
  ),
  resourcePolicy(
    "sentinel-probes",
    "Every Deployment container has liveness, readiness and startup probes.",
    "mandatory",
    isDeployment,
    "Deployments",
    probeViolations,
  ),
  resourcePolicy(
    "sentinel-resources",
    "Every Deployment container has cpu and memory requests and limits.",
    "mandatory",
    isDeployment,
    "Deployments",
    resourceViolations,
  ),
  resourcePolicy(
    "sentinel-node-placement",
    "Deployment pods tolerate the sentinel node taint and are required onto sentinel nodes (node affinity or " +
      "nodeSelector); configure key, value and effect to mirror the fleet's nodeClass setting.",
    "mandatory",
    isDeployment,
    "Deployments",
    (type, props, config) => placementViolations(type, props, nodeClassConfig(config)),
    {
      properties: {
        key: {
          type: "string",
          minLength: 1,
          default: DEFAULT_NODE_CLASS.key,
          description: "Node label/taint key",
        },
        value: { type: "string", default: DEFAULT_NODE_CLASS.value, description: "Node label/taint value" },
        effect: {
          type: "string",
          enum: ["NoSchedule", "PreferNoSchedule", "NoExecute"],
          default: DEFAULT_NODE_CLASS.effect,
          description: "Taint effect",
        },
      },
    },
  ),
  resourcePolicy(
    "sentinel-pdb-drainable",
    "PodDisruptionBudgets never block a drain: no minAvailable, maxUnavailable >= 1 (or > 0%), and " +
      "unhealthyPodEvictionPolicy AlwaysAllow.",
    "mandatory",
    (type) => type === TYPES.podDisruptionBudget,
    "PodDisruptionBudgets",
    disruptionBudgetViolations,
  ),
  resourcePolicy(
    "sentinel-images-pinned",
    "Every container image is pinned by digest or by an explicit tag other than latest.",
    "mandatory",
    isWorkload,
    "workloads",
    imageViolations,
  ),
  resourcePolicy(
    "sentinel-credentials-in-secrets",
    "Credentials live only in Secrets: never as plain env values, literal values in the sentinel's TOML, or " +
      "ConfigMap data; Secrets carry data or stringData.",
    "mandatory",
    (type) => isWorkload(type) || type === TYPES.secret || type === TYPES.configMap,
    "workloads, Secrets and ConfigMaps",
    credentialViolations,
  ),
  resourcePolicy(
    "sentinel-pod-security",
    "Pods meet the Pod Security Standard restricted and run with a read-only root filesystem: runAsNonRoot, " +
      "no user 0, allowPrivilegeEscalation false, capabilities drop ALL, seccomp RuntimeDefault, no privileged " +
      "containers, host namespaces or non-restricted volume types.",
    "mandatory",
    isWorkload,
    "workloads",
    podSecurityViolations,
  ),
  resourcePolicy(
    "sentinel-graceful-termination",
    "Deployment containers wait in a preStop hook (sleep >= minPreStopSeconds) while endpoints move, and the " +
      "termination grace period outlasts the sleep, so a rollout or drain drops no request.",
    "mandatory",
    isDeployment,
    "Deployments",
    (type, props, config) => terminationViolations(type, props, terminationConfig(config)),
    {
      properties: {
        minPreStopSeconds: {
          type: "integer",
          minimum: 0,
          default: DEFAULT_TERMINATION.minPreStopSeconds,
          description:
            "Shortest preStop sleep accepted; 0 requires no hook (mirror the fleet's pod.preStopSeconds)",
        },
      },
    },
  ),
  resourcePolicy(
    "sentinel-namespace-pod-security",
    "The namespace carries Pod Security Admission enforce, warn and audit labels; enforce is at least " +
      "minimumEnforce (mirror the fleet's namespacePodSecurity.enforce).",
    "mandatory",
    (type) => type === TYPES.namespace,
    "Namespaces",
    (type, props, config) => namespacePodSecurityViolations(type, props, namespacePodSecurityConfig(config)),
    {
      properties: {
        minimumEnforce: {
          type: "string",
          enum: [...POD_SECURITY_LEVELS],
          default: DEFAULT_NAMESPACE_POD_SECURITY.minimumEnforce,
          description: "Least strict enforce level accepted",
        },
      },
    },
  ),
  resourcePolicy(
    "sentinel-probe-paths-distinct",
    "Liveness and readiness probes use different endpoints, so readiness can report dependencies while " +
      "liveness only reports the process (spec: known flaw).",
    "advisory",
    isDeployment,
    "Deployments",
    probePathAdvisories,
  ),
];

// ---------------------------------------------------------------------------------------------------------
// Offline evaluation.

export interface PlainResource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly props: Record<string, unknown>;
}

/** Policy pack config as `--policy-pack-config` takes it: per policy an enforcement level or settings. */
export type PackConfig = Readonly<
  Record<
    string,
    EnforcementLevel | { readonly enforcementLevel?: EnforcementLevel; readonly [key: string]: unknown }
  >
>;

export interface PolicyViolation {
  readonly policy: string;
  readonly enforcementLevel: string;
  readonly urn: string;
  readonly message: string;
}

class NotApplicable extends Error {}

const NO_OPTIONS: PolicyResourceOptions = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

function schemaDefaults(schema: PolicyConfigSchema | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, property] of Object.entries(schema?.properties ?? {})) {
    if (property.default !== undefined) out[key] = property.default;
  }
  return out;
}

/**
 * Runs every policy's validateResource over plain resources, as the policy server would: props with secrets
 * unwrapped and unknowns as markers, getConfig returning the schema defaults overlaid with `config`, and the
 * enforcement level from `config`, else the policy's own. Disabled policies do not run.
 */
export function evaluatePolicies(
  resources: readonly PlainResource[],
  config: PackConfig = {},
): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  for (const policy of policies) {
    const configured = Object.prototype.hasOwnProperty.call(config, policy.name)
      ? config[policy.name]
      : undefined;
    const { enforcementLevel: configuredLevel, ...properties } =
      typeof configured === "object" ? configured : { enforcementLevel: configured };
    let level: EnforcementLevel = configuredLevel ?? policy.enforcementLevel ?? "advisory";
    if (level === "disabled") continue;
    if (level === "remediate") level = "mandatory";
    const settings = { ...schemaDefaults(policy.configSchema), ...properties };
    const validations = policy.validateResource ?? [];
    for (const resource of resources) {
      const args: ResourceValidationArgs = {
        type: resource.type,
        props: plainProps(resource.props) as Record<string, unknown>,
        urn: resource.urn,
        name: resource.name,
        opts: NO_OPTIONS,
        stackTags: new Map<string, string>(),
        isType: () => false,
        asType: () => undefined,
        getConfig: <T extends object>() => settings as T,
        notApplicable: (reason?: string) => {
          throw new NotApplicable(reason);
        },
      };
      const report: ReportViolation = (message) =>
        violations.push({ policy: policy.name, enforcementLevel: level, urn: resource.urn, message });
      for (const validate of Array.isArray(validations) ? validations : [validations]) {
        try {
          const result = validate(args, report);
          if (result instanceof Promise) {
            throw new Error(
              `policy ${policy.name} validates asynchronously; evaluatePolicies is synchronous`,
            );
          }
        } catch (err) {
          if (!(err instanceof NotApplicable)) throw err;
        }
      }
    }
  }
  return violations;
}
