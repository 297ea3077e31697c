import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { NodeClass, PodConfig, ProbePaths } from "../lib/config";
import { COMPONENTS, ENV_VARS, TOKENS } from "../lib/constants";
import { ciliumPolicyManifest, gossipServiceManifest } from "../lib/kube";
import { buildLabels } from "../lib/labels";
import { environmentObjectName } from "../lib/names";
import { orderByWave } from "../lib/waves";
import { assertValid, environmentProblems } from "../lib/validate";
import { Sentinel, type SentinelIdentity } from "./sentinel";

/** What an environment needs from one region: the cluster, its namespace and the region's DB credentials. */
export interface SentinelRegionTarget {
  /** The platform's `regions.id`. Required. */
  readonly id: string;
  /** Region name, e.g. `us-east-1`; names the environment's resources in it. Required. */
  readonly name: string;
  /** The region's Kubernetes provider. Required. */
  readonly provider: k8s.Provider;
  /** The sentinel namespace in the region's cluster. Required. */
  readonly namespace: string;
  /**
   * What the region's objects wait for: the Namespace where this stack owns it. Passed as ordering, not as the
   * namespace's Output: the engine stores every Output's origin once per input property of every object.
   * Default: none (a shard: the region base stack owns the namespace).
   */
  readonly after?: readonly pulumi.Resource[];
  /** DSN for the primary, a secret. Required. */
  readonly databasePrimaryDsn: pulumi.Input<string>;
  /** DSN for the read replica, a secret. Required. */
  readonly databaseReplicaDsn: pulumi.Input<string>;
  /** Router prewarm hook for the sentinels' Deployments in this region. Default: none (no prewarm URL here). */
  readonly prewarmHook?: pulumi.ResourceHook;
  /** Row-health hook for the sentinels' Deployments (components/healthHook.ts). Default: none. */
  readonly healthHook?: pulumi.ResourceHook;
  /** The region is being cut over from the original agent: adopt existing rows' identities. Default: false. */
  readonly cutover?: boolean;
}

/** OpenTelemetry export settings for the pods. */
export interface SentinelOtelSettings {
  /** OTLP endpoint URL. Required. */
  readonly endpoint: string;
  /** OTLP headers (often an API key), a secret. Default: none. */
  readonly headers?: pulumi.Input<string>;
}

export interface SentinelEnvironmentArgs {
  /** Workspace id. Required. */
  readonly workspaceId: string;
  /** Project id. Required. */
  readonly projectId: string;
  /** App id. Required. */
  readonly appId: string;
  /** Environment id; names the per-environment objects. Required. */
  readonly environmentId: string;
  /** Environment slug; `production` defaults replicas to 3. Required. */
  readonly slug: string;
  /** The regions this environment runs in, one sentinel each. Required, non-empty. */
  readonly regions: readonly SentinelRegionTarget[];
  /** Platform name (TOML `platform`). Required. */
  readonly platform: string;
  /** Container image. Required. */
  readonly image: string;
  /** Replicas per region. Default: 3 for slug `production`, 1 otherwise. */
  readonly replicas?: number;
  /** CPU per pod, millicores. Default: 256. */
  readonly cpuMillicores?: number;
  /** Memory per pod, MiB. Default: 256. */
  readonly memoryMib?: number;
  /** Probe paths. Required. */
  readonly probes: ProbePaths;
  /** Node class the pods tolerate and require. Required. */
  readonly nodeClass: NodeClass;
  /** Create the gossip CiliumNetworkPolicy (clusters without Cilium: false). Default: true. */
  readonly ciliumNetworkPolicies?: boolean;
  /** ClickHouse URL, a secret. Required. */
  readonly clickhouseUrl: pulumi.Input<string>;
  /** Redis URL, a secret. Required. */
  readonly redisUrl: pulumi.Input<string>;
  /** OpenTelemetry settings; their keys join the environment's Secret when set. Default: none. */
  readonly otel?: SentinelOtelSettings;
  /** Keep database rows when sentinels are deleted. Default: false. */
  readonly retainSentinelRows?: boolean;
  /** Pod user and group, priority class, preStop delay and drain time. Default: POD_DEFAULTS. */
  readonly pod?: PodConfig;
  /**
   * Ordered rollout waves of region names: a region's Deployment waits for the environment's Deployments in
   * its previous wave. Every region of `regions` must be in one. Default: none (every region in parallel).
   */
  readonly waves?: readonly (readonly string[])[];
}

/**
 * One environment: in each of its regions the environment's Secret, gossip headless Service and (optionally)
 * CiliumNetworkPolicy, then one Sentinel. Every object name derives from the environment id, so environments
 * sharing a namespace never collide, and deleting one environment deletes only its own objects.
 */
export class SentinelEnvironment extends pulumi.ComponentResource {
  /** Sentinels by region name. */
  readonly sentinels: Readonly<Record<string, pulumi.Output<SentinelIdentity>>>;

  constructor(name: string, args: SentinelEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
    super(TOKENS.environment, name, {}, opts);
    assertValid(`SentinelEnvironment ${name}`, environmentProblems(args));

    const labels = buildLabels(args, COMPONENTS.sentinel);
    const gossipLabels = buildLabels(args, COMPONENTS.gossip);
    const names = {
      environment: environmentObjectName("env", args.environmentId),
      gossip: environmentObjectName("gossip", args.environmentId),
    };
    // The keys every region's Secret shares; the DSNs are the region's own. OpenTelemetry keys are present only
    // when configured: pods start without them either way.
    const sharedData: Record<string, pulumi.Input<string>> = {
      [ENV_VARS.clickhouseUrl]: args.clickhouseUrl,
      [ENV_VARS.redisUrl]: args.redisUrl,
    };
    if (args.otel !== undefined) {
      sharedData[ENV_VARS.otelEndpoint] = args.otel.endpoint;
      if (args.otel.headers !== undefined) sharedData[ENV_VARS.otelHeaders] = args.otel.headers;
    }

    const sentinels: Record<string, pulumi.Output<SentinelIdentity>> = {};
    // In wave order, so each wave's Deployments exist by the time the next wave's Sentinels are declared.
    const deploymentsByWave: pulumi.Resource[][] = [];
    for (const { region, wave } of orderByWave(args.regions, args.waves ?? null)) {
      const child = (kind: string) => `${name}-${region.name}-${kind}`;
      const after = region.after === undefined ? undefined : [...region.after];
      const inRegion = { parent: this, provider: region.provider, dependsOn: after };
      // One Secret per environment and region holding every key the pods read: one engine step and one state
      // entry instead of four. Named, not auto-named, on a provider with enableSecretMutable, so a rotation
      // updates it in place (README, "How it is built").
      const secret = new k8s.core.v1.Secret(
        child("env"),
        {
          metadata: { name: names.environment, namespace: region.namespace, labels: { ...labels.metadata } },
          type: "Opaque",
          // @pulumi/kubernetes marks a Secret's stringData secret itself, plain strings included.
          stringData: {
            [ENV_VARS.databasePrimary]: region.databasePrimaryDsn,
            [ENV_VARS.databaseReplica]: region.databaseReplicaDsn,
            ...sharedData,
          },
        },
        inRegion,
      );
      // What the pods read at start-up; the Deployment is created after them.
      const prerequisites: pulumi.Resource[] = [secret];

      const gossip = gossipServiceManifest(names.gossip, region.namespace, gossipLabels);
      prerequisites.push(
        new k8s.core.v1.Service(child("gossip"), { metadata: gossip.metadata, spec: gossip.spec }, inRegion),
      );
      if (args.ciliumNetworkPolicies ?? true) {
        const policy = ciliumPolicyManifest(names.gossip, region.namespace, gossipLabels);
        new k8s.apiextensions.CustomResource(
          child("gossip-policy"),
          { apiVersion: policy.apiVersion, kind: policy.kind, metadata: policy.metadata, spec: policy.spec },
          inRegion,
        );
      }

      const sentinel = new Sentinel(
        `${name}-${region.name}`,
        {
          workspaceId: args.workspaceId,
          projectId: args.projectId,
          appId: args.appId,
          environmentId: args.environmentId,
          environmentSlug: args.slug,
          regionId: region.id,
          regionName: region.name,
          platform: args.platform,
          namespace: region.namespace,
          image: args.image,
          replicas: args.replicas,
          cpuMillicores: args.cpuMillicores,
          memoryMib: args.memoryMib,
          secrets: { environment: names.environment },
          gossipServiceName: names.gossip,
          prerequisites,
          after,
          previousWave: deploymentsByWave[wave - 1],
          probes: args.probes,
          nodeClass: args.nodeClass,
          prewarmHook: region.prewarmHook,
          healthHook: region.healthHook,
          adoptExisting: region.cutover,
          retainRecord: args.retainSentinelRows,
          pod: args.pod,
        },
        { parent: this, providers: [region.provider] },
      );
      sentinels[region.name] = sentinel.identity;
      (deploymentsByWave[wave] ??= []).push(sentinel.deployment);
    }

    this.sentinels = sentinels;
    // Nothing reads a component's registered outputs (callers use the fields above), and the engine would store
    // them in the state a second time for every sentinel: only mark the component complete.
    this.registerOutputs({});
  }
}
