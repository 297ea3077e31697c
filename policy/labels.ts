// Rule 1: every Kubernetes object carries the fleet's labels (spec section 5).
import { NAMESPACE_LABELS, OBJECT_LABELS, TYPES, SENTINEL_OBJECT_LABELS } from "./facts";
import { get, NOT_KNOWN, objectRef, type Props } from "./props";

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
