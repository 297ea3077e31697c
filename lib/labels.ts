// The one function that builds labels. Object labels, pod labels and every selector (Deployment, Service,
// PodDisruptionBudget, gossip Service, CiliumNetworkPolicy) come from here, so they cannot drift apart.
import { COMPONENTS, LABELS, PROJECT } from "./constants";

export interface LabelIdentity {
  readonly workspaceId: string;
  readonly projectId: string;
  readonly appId: string;
  readonly environmentId: string;
}

export interface LabelSet {
  /** Labels on the object itself (spec section 5). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Labels of the pods the object runs or selects: workspace, environment, sentinel ids, component. */
  readonly pod: Readonly<Record<string, string>>;
  /**
   * What the object selects: a sentinel's own pods by its id alone (Deployment, Service, PDB, topology
   * spread), or for environment-wide objects every sentinel pod of the environment (gossip, policy).
   */
  readonly selector: Readonly<Record<string, string>>;
}

/**
 * Labels for an object of a sentinel (pass `sentinelId`) or of an environment (omit it). `component` is
 * `sentinel`, or `gossip-lan` for the gossip objects.
 */
export function buildLabels(identity: LabelIdentity, component: string, sentinelId?: string): LabelSet {
  const metadata: Record<string, string> = {
    [LABELS.managedBy]: PROJECT,
    [LABELS.component]: component,
    [LABELS.workspaceId]: identity.workspaceId,
    [LABELS.projectId]: identity.projectId,
    [LABELS.appId]: identity.appId,
    [LABELS.environmentId]: identity.environmentId,
  };
  const pod: Record<string, string> = {
    [LABELS.workspaceId]: identity.workspaceId,
    [LABELS.environmentId]: identity.environmentId,
    [LABELS.component]: COMPONENTS.sentinel,
  };
  let selector: Record<string, string>;
  if (sentinelId === undefined) {
    selector = { [LABELS.environmentId]: identity.environmentId, [LABELS.component]: COMPONENTS.sentinel };
  } else {
    metadata[LABELS.sentinelId] = sentinelId;
    pod[LABELS.sentinelId] = sentinelId;
    selector = { [LABELS.sentinelId]: sentinelId };
  }
  return { metadata, pod, selector };
}

/** Labels of objects shared by every environment in a cluster (the namespace). */
export function sharedLabels(): Readonly<Record<string, string>> {
  return { [LABELS.managedBy]: PROJECT, [LABELS.component]: COMPONENTS.sentinel };
}
