// A sentinel as tests declare it: the spec of its SentinelRecord, and its Deployment as the hooks receive it
// (its outputs, labelled and annotated as components/sentinel.ts writes them, and the arguments the engine
// passes a resource hook after its create).
import type * as pulumi from "@pulumi/pulumi";
import type { HookLogger } from "../../components/prewarmHook";
import { ANNOTATIONS, LABELS } from "../../lib/constants";

/** A SentinelRecord's spec, as the program passes it. */
export const SAMPLE_SPEC = {
  workspaceId: "ws_1",
  projectId: "proj_1",
  environmentId: "env_1",
  environmentSlug: "staging",
  regionId: "reg_use1",
  namespace: "sentinel",
  image: "ghcr.io/unkeyed/unkey:v2.0.31",
} as const;

/** What a Deployment's labels and annotations name; any of it may be hostile text in a test. */
export interface DeploymentIds {
  readonly sentinelId: string;
  readonly environmentId: string;
  readonly workspaceId: string;
  readonly projectId: string;
  readonly regionId: string;
  readonly region?: string;
  readonly address?: string;
}

/** A converged Deployment's outputs: one replica desired and available. */
export function deploymentOutputs(ids: DeploymentIds, name = "abcdefghijkl"): Record<string, unknown> {
  return {
    metadata: {
      name,
      namespace: "sentinel",
      labels: {
        [LABELS.sentinelId]: ids.sentinelId,
        [LABELS.environmentId]: ids.environmentId,
        [LABELS.workspaceId]: ids.workspaceId,
        [LABELS.projectId]: ids.projectId,
      },
      annotations: {
        [ANNOTATIONS.regionId]: ids.regionId,
        [ANNOTATIONS.region]: ids.region ?? "us-east-1",
        [ANNOTATIONS.address]: ids.address ?? `${name}.sentinel.svc.cluster.local:8040`,
      },
    },
    spec: { replicas: 1 },
    status: { availableReplicas: 1 },
  };
}

/** The arguments the engine passes an afterCreate hook of a Deployment with these outputs. */
export function afterCreate(outputs: Record<string, unknown>): pulumi.ResourceHookArgs {
  return {
    urn: "urn:pulumi:dev::sentinel-fleet::kubernetes:apps/v1:Deployment::d",
    id: "sentinel/d",
    name: "d",
    type: "kubernetes:apps/v1:Deployment",
    newOutputs: outputs,
  };
}

/** A logger that drops what it is told. */
export const QUIET: HookLogger = { info: () => undefined, warn: () => undefined };
