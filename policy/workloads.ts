// Rules 2 and 3: how Deployments roll out, probe, size and place their pods, and PodDisruptionBudgets that
// never block a drain; and the advisory on probe paths.
import { DEFAULT_NODE_CLASS, type NodeClassConfig, TYPES } from "./facts";
import {
  absent,
  all,
  any,
  containersOf,
  get,
  isSet,
  list,
  NOT_KNOWN,
  objectRef,
  POD_SPEC_PATHS,
  type Tri,
  type Props,
  show,
} from "./props";

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
