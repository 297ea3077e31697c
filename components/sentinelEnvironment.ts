import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { NodeClass, ProbePaths } from "../lib/config";
import { COMPONENTS, ENV_VARS, TOKENS } from "../lib/constants";
import { ciliumPolicyManifest, gossipServiceManifest } from "../lib/kube";
import { buildLabels } from "../lib/labels";
import { environmentObjectName } from "../lib/names";
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
  /** The sentinel namespace in the region's cluster; pass the Namespace's output. Required. */
  readonly namespace: pulumi.Input<string>;
  /** DSN for the primary, a secret. Required. */
  readonly databasePrimaryDsn: pulumi.Input<string>;
  /** DSN for the read replica, a secret. Required. */
  readonly databaseReplicaDsn: pulumi.Input<string>;
  /** Router prewarm hook for the sentinels' Deployments in this region. Default: none (no prewarm URL here). */
  readonly prewarmHook?: pulumi.ResourceHook;
  /** Row-health hook for the sentinels' Deployments (components/healthHook.ts). Default: none. */
  readonly healthHook?: pulumi.ResourceHook;
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
  /** OpenTelemetry settings; an OpenTelemetry Secret is created when set. Default: none. */
  readonly otel?: SentinelOtelSettings;
  /** Keep database rows when sentinels are deleted. Default: false. */
  readonly retainSentinelRows?: boolean;
}

/**
 * One environment: in each of its regions the environment's Secrets, gossip headless Service and (optionally)
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
      database: environmentObjectName("db", args.environmentId),
      clickhouse: environmentObjectName("clickhouse", args.environmentId),
      redis: environmentObjectName("redis", args.environmentId),
      otel: environmentObjectName("otel", args.environmentId),
      gossip: environmentObjectName("gossip", args.environmentId),
    };

    const sentinels: Record<string, pulumi.Output<SentinelIdentity>> = {};
    for (const region of args.regions) {
      const child = (kind: string) => `${name}-${region.name}-${kind}`;
      const inRegion = { parent: this, provider: region.provider };
      // The Secrets as a table walked by a loop, not a helper function: the SDK records and source-maps the full
      // call stack of every resource, so a frame between here and the resources costs at fleet scale.
      const secretData: [kind: string, objectName: string, data: Record<string, pulumi.Input<string>>][] = [
        [
          "db",
          names.database,
          {
            [ENV_VARS.databasePrimary]: region.databasePrimaryDsn,
            [ENV_VARS.databaseReplica]: region.databaseReplicaDsn,
          },
        ],
        ["clickhouse", names.clickhouse, { [ENV_VARS.clickhouseUrl]: args.clickhouseUrl }],
        ["redis", names.redis, { [ENV_VARS.redisUrl]: args.redisUrl }],
      ];
      let otelName: string | undefined;
      if (args.otel !== undefined) {
        const otelData: Record<string, pulumi.Input<string>> = {
          [ENV_VARS.otelEndpoint]: args.otel.endpoint,
        };
        if (args.otel.headers !== undefined) otelData[ENV_VARS.otelHeaders] = args.otel.headers;
        secretData.push(["otel", names.otel, otelData]);
        otelName = names.otel;
      }
      // What the pods read at start-up; the Deployment is created after them.
      const prerequisites: pulumi.Resource[] = [];
      for (const [kind, objectName, data] of secretData) {
        prerequisites.push(
          new k8s.core.v1.Secret(
            child(kind),
            {
              metadata: { name: objectName, namespace: region.namespace, labels: { ...labels.metadata } },
              type: "Opaque",
              // @pulumi/kubernetes marks a Secret's stringData secret itself, plain strings included.
              stringData: data,
            },
            inRegion,
          ),
        );
      }

      // The namespace travels as the Namespace's output inside plain objects: the SDK waits for it without an
      // apply, and every apply costs an Output (with its promises and captured stacks) per object at fleet scale.
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
          secrets: {
            database: names.database,
            clickhouse: names.clickhouse,
            redis: names.redis,
            otel: otelName,
          },
          gossipServiceName: names.gossip,
          prerequisites,
          probes: args.probes,
          nodeClass: args.nodeClass,
          prewarmHook: region.prewarmHook,
          healthHook: region.healthHook,
          retainRecord: args.retainSentinelRows,
        },
        { parent: this, providers: [region.provider] },
      );
      sentinels[region.name] = sentinel.identity;
    }

    this.sentinels = sentinels;
    this.registerOutputs({ sentinels });
  }
}
