import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { NodeClass, PodConfig, ProbePaths } from "../lib/config";
import { COMPONENTS, POD_DEFAULTS, TOKENS } from "../lib/constants";
import {
  deploymentManifest,
  podDisruptionBudgetManifest,
  rolloutTimeoutSeconds,
  serviceHost,
  serviceManifest,
  terminationGracePeriodSeconds,
} from "../lib/kube";
import { buildLabels } from "../lib/labels";
import { renderSentinelToml } from "../lib/toml";
import { assertValid, environmentProblems } from "../lib/validate";
import { resolveReplicas } from "../providers/identity";
import { SentinelRecord } from "../providers/sentinelRecord";

/** Names of the Secrets a sentinel's pods read (in the sentinel's namespace). */
export interface SentinelSecretRefs {
  /**
   * The environment's Secret in this region: database DSNs, ClickHouse and Redis URLs, and the OpenTelemetry
   * settings when configured. Required.
   */
  readonly environment: string;
}

/** A sentinel's identity as stack outputs expose it (no secrets). */
export interface SentinelIdentity {
  readonly sentinelId: string;
  readonly k8sName: string;
  readonly address: string;
}

export interface SentinelArgs {
  /** Workspace id (label `unkey.com/workspace.id`). Required. */
  readonly workspaceId: string;
  /** Project id (label `unkey.com/project.id`). Required. */
  readonly projectId: string;
  /** App id (label `unkey.com/app.id`). Required. */
  readonly appId: string;
  /** Environment id (label, row, TOML). Required. */
  readonly environmentId: string;
  /** Environment slug; `production` defaults replicas to 3. Required. */
  readonly environmentSlug: string;
  /** The platform's `regions.id`. Required. */
  readonly regionId: string;
  /** Region name, e.g. `us-east-1` (TOML `region`). Required. */
  readonly regionName: string;
  /** Platform name (TOML `platform`), e.g. `aws`. Required. */
  readonly platform: string;
  /** Namespace to run in (the objects wait for it through `after`). Required. */
  readonly namespace: pulumi.Input<string>;
  /** Container image, pinned by tag or digest. Required. */
  readonly image: string;
  /** Replicas. Default: 3 for slug `production`, 1 otherwise. */
  readonly replicas?: number;
  /** CPU per pod, millicores (requests = limits). Default: 256. */
  readonly cpuMillicores?: number;
  /** Memory per pod, MiB (requests = limits). Default: 256. */
  readonly memoryMib?: number;
  /** The environment's Secret in this region, by name. Required. */
  readonly secrets: SentinelSecretRefs;
  /** Name of the environment's gossip headless Service in the sentinel's namespace. Required. */
  readonly gossipServiceName: string;
  /**
   * What the pods read at start-up (the Secret, the gossip Service): the Deployment is created after them.
   * Default: none.
   */
  readonly prerequisites?: readonly pulumi.Resource[];
  /**
   * What the row waits for (the region's Namespace where this stack owns it); the Service and the
   * PodDisruptionBudget wait for the row, so they come after it too. Default: none.
   */
  readonly after?: readonly pulumi.Resource[];
  /**
   * The previous rollout wave's Deployments of the same environment: this sentinel's row and Deployment are
   * created or updated only after they have converged (README, "Region waves"). Default: none (no waves, or
   * the first wave).
   */
  readonly previousWave?: readonly pulumi.Resource[];
  /** Probe paths. Required (the fleet config supplies defaults). */
  readonly probes: ProbePaths;
  /** Node class the pods tolerate and require. Required (default in fleet config: node-class=sentinel). */
  readonly nodeClass: NodeClass;
  /** Router prewarm hook for the Deployment. Default: none (no prewarm). */
  readonly prewarmHook?: pulumi.ResourceHook;
  /** Hook that writes the converged rollout into the row (components/healthHook.ts). Default: none. */
  readonly healthHook?: pulumi.ResourceHook;
  /** Keep the database row when this sentinel is deleted. Default: false. */
  readonly retainRecord?: boolean;
  /**
   * Cutover from the original agent: the row takes the identity of the environment's existing row in the
   * region, read when the record is checked (README, "Cutover from the original agent"). Default: false.
   */
  readonly adoptExisting?: boolean;
  /**
   * Pod user and group, priority class, preStop delay and drain time. Default: POD_DEFAULTS (65532:65532, no
   * priority class, 10 s preStop, 30 s drain).
   */
  readonly pod?: PodConfig;
}

/**
 * One sentinel: its database row (SentinelRecord) and, named and labelled by the row, its Deployment,
 * ClusterIP Service and PodDisruptionBudget. Pass the region's Kubernetes provider via `providers`.
 */
export class Sentinel extends pulumi.ComponentResource {
  readonly sentinelId: pulumi.Output<string>;
  readonly k8sName: pulumi.Output<string>;
  readonly address: pulumi.Output<string>;
  /** The three above as one value: one Output where a caller needs them together. */
  readonly identity: pulumi.Output<SentinelIdentity>;
  readonly deployment: k8s.apps.v1.Deployment;

  constructor(name: string, args: SentinelArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TOKENS.sentinel, name, {}, opts);
    assertValid(
      `Sentinel ${name}`,
      environmentProblems({
        ...args,
        slug: args.environmentSlug,
        regions: [{ id: args.regionId, name: args.regionName }],
      }),
    );

    const record = new SentinelRecord(
      name,
      {
        workspaceId: args.workspaceId,
        projectId: args.projectId,
        environmentId: args.environmentId,
        environmentSlug: args.environmentSlug,
        regionId: args.regionId,
        namespace: args.namespace,
        image: args.image,
        replicas: args.replicas,
        cpuMillicores: args.cpuMillicores,
        memoryMib: args.memoryMib,
        // Only sent when on, so stacks that never cut over keep their records' inputs as they are.
        adoptExisting: args.adoptExisting === true ? true : undefined,
      },
      {
        parent: this,
        retainOnDelete: args.retainRecord ?? false,
        // A later wave's row (the image agents and routers read, its version) changes only once the previous
        // wave has converged too; its Service and PDB wait for it.
        dependsOn: [...(args.after ?? []), ...(args.previousWave ?? [])],
      },
    );

    // One apply turns the row into all three objects; each object then takes its metadata and spec with one
    // apply apiece. Every Output costs at fleet scale (the SDK captures a stack trace for each of its promises,
    // and `all` lifts every Output nested in its arguments into more), so the row arrives as one value, the
    // Secrets and the gossip Service go by their known names with the ordering carried by `prerequisites`,
    // and a lifted `manifests.deployment.metadata` (an Output per step) is avoided.
    const { secrets, gossipServiceName } = args;
    const pod = args.pod ?? POD_DEFAULTS;
    const manifests = pulumi.all([record.row, args.namespace]).apply(([row, namespace]) => {
      const { sentinelId, k8sName, k8sAddress: address, desiredReplicas: replicas, image } = row;
      const { cpuMillicores: cpu, memoryMib: memory } = row;
      const labels = buildLabels(args, COMPONENTS.sentinel, sentinelId);
      const configToml = renderSentinelToml({
        sentinelId,
        workspaceId: args.workspaceId,
        environmentId: args.environmentId,
        platform: args.platform,
        region: args.regionName,
        lanSeeds: [serviceHost(gossipServiceName, namespace)],
      });
      return {
        deployment: deploymentManifest({
          name: k8sName,
          namespace,
          labels,
          replicas,
          image,
          cpuMillicores: cpu,
          memoryMib: memory,
          probes: args.probes,
          nodeClass: args.nodeClass,
          secrets,
          configToml,
          regionName: args.regionName,
          regionId: args.regionId,
          address,
          pod,
          // Metadata only (no pod restarts): a row inserted anew changes the Deployment, so its hooks run.
          rowIncarnation: row.incarnation ?? null,
        }),
        service: serviceManifest(k8sName, namespace, labels),
        pdb: podDisruptionBudgetManifest(k8sName, namespace, labels),
      };
    });

    // customTimeouts must be known before the row exists, so it is sized from the declared replicas.
    const replicas = resolveReplicas(args.environmentSlug, args.replicas);
    const timeout = `${rolloutTimeoutSeconds(replicas, terminationGracePeriodSeconds(pod))}s`;
    const hooks = [args.healthHook, args.prewarmHook].filter((h) => h !== undefined);
    this.deployment = new k8s.apps.v1.Deployment(
      name,
      {
        metadata: manifests.apply((m) => m.deployment.metadata),
        spec: manifests.apply((m) => m.deployment.spec),
      },
      {
        parent: this,
        dependsOn: [...(args.prerequisites ?? []), ...(args.previousWave ?? [])],
        customTimeouts: { create: timeout, update: timeout },
        hooks: hooks.length === 0 ? undefined : { afterCreate: hooks, afterUpdate: hooks },
      },
    );
    new k8s.core.v1.Service(
      name,
      { metadata: manifests.apply((m) => m.service.metadata), spec: manifests.apply((m) => m.service.spec) },
      { parent: this },
    );
    new k8s.policy.v1.PodDisruptionBudget(
      name,
      { metadata: manifests.apply((m) => m.pdb.metadata), spec: manifests.apply((m) => m.pdb.spec) },
      { parent: this },
    );

    this.sentinelId = record.sentinelId;
    this.k8sName = record.k8sName;
    this.address = record.k8sAddress;
    this.identity = record.row.apply((r) => ({
      sentinelId: r.sentinelId,
      k8sName: r.k8sName,
      address: r.k8sAddress,
    }));
    // Nothing reads a component's registered outputs (callers use the fields above), and the engine would store
    // them in the state a second time for every sentinel: only mark the component complete.
    this.registerOutputs({});
  }
}
