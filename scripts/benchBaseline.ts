// The benchmark's baseline program: the same Kubernetes objects as index.ts, built by the same builders from
// the same config, registered directly as plain @pulumi/kubernetes resources at the top level: no components,
// no dynamic resources, no hooks, no database users. ConfigMaps pad it to the program's resource count
// (BENCH_TARGET_RESOURCES), so the two are compared per registered resource.
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { readStackConfig } from "../lib/config";
import { COMPONENTS, ENV_VARS } from "../lib/constants";
import {
  ciliumPolicyManifest,
  deploymentManifest,
  gossipServiceManifest,
  namespaceManifest,
  podDisruptionBudgetManifest,
  serviceHost,
  serviceManifest,
} from "../lib/kube";
import { buildLabels, sharedLabels } from "../lib/labels";
import { environmentObjectName } from "../lib/names";
import { renderSentinelToml } from "../lib/toml";
import { proposeIdentity, resolveReplicas, sentinelAddress } from "../providers/identity";

const cfg = readStackConfig();
let registered = 0;
const count = <T>(r: T): T => (registered++, r);

// Evaluated like index.ts (one environment per turn of the event loop), so the comparison isolates what the
// components, the dynamic resources and the hooks cost.
async function declareAll(): Promise<number> {
  for (const region of cfg.regions) {
    const provider = count(
      new k8s.Provider(`region-${region.name}`, { context: region.kubeContext ?? undefined }),
    );
    const opts = { provider };
    const ns = namespaceManifest(cfg.namespace, { ...sharedLabels() });
    count(new k8s.core.v1.Namespace(`region-${region.name}-namespace`, { metadata: ns.metadata }, opts));
    const dsn = pulumi.secret(
      `sentinel:password@tcp(${cfg.database.primaryAddress})/${cfg.database.database}`,
    );
    for (const env of cfg.environments.filter((e) => e.regions.includes(region.name))) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const base = `${env.environmentId}-${region.name}`;
      const labels = buildLabels(env, COMPONENTS.sentinel);
      const gossipLabels = buildLabels(env, COMPONENTS.gossip);
      const envSecretName = environmentObjectName("env", env.environmentId);
      count(
        new k8s.core.v1.Secret(
          `${base}-env`,
          {
            metadata: { name: envSecretName, namespace: cfg.namespace, labels: labels.metadata },
            type: "Opaque",
            stringData: pulumi.secret({
              [ENV_VARS.databasePrimary]: dsn,
              [ENV_VARS.databaseReplica]: dsn,
              [ENV_VARS.clickhouseUrl]: cfg.clickhouseUrl.toOutput(),
              [ENV_VARS.redisUrl]: cfg.redisUrl.toOutput(),
            }),
          },
          opts,
        ),
      );
      const gossipName = environmentObjectName("gossip", env.environmentId);
      const gossip = gossipServiceManifest(gossipName, cfg.namespace, gossipLabels);
      count(
        new k8s.core.v1.Service(`${base}-gossip`, { metadata: gossip.metadata, spec: gossip.spec }, opts),
      );
      const policy = ciliumPolicyManifest(gossipName, cfg.namespace, gossipLabels);
      count(
        new k8s.apiextensions.CustomResource(
          `${base}-gossip-policy`,
          {
            apiVersion: "cilium.io/v2",
            kind: "CiliumNetworkPolicy",
            metadata: policy.metadata,
            spec: policy.spec,
          },
          opts,
        ),
      );
      const { sentinelId, k8sName } = proposeIdentity(env.environmentId, region.id);
      const sentinelLabels = buildLabels(env, COMPONENTS.sentinel, sentinelId);
      const deployment = deploymentManifest({
        name: k8sName,
        namespace: cfg.namespace,
        labels: sentinelLabels,
        replicas: resolveReplicas(env.slug, env.replicas),
        image: env.image ?? cfg.image,
        cpuMillicores: env.cpuMillicores ?? 256,
        memoryMib: env.memoryMib ?? 256,
        probes: cfg.probes,
        nodeClass: cfg.nodeClass,
        pod: cfg.pod,
        rowIncarnation: String(Date.now()),
        secrets: { environment: envSecretName },
        configToml: renderSentinelToml({
          sentinelId,
          workspaceId: env.workspaceId,
          environmentId: env.environmentId,
          platform: cfg.platform,
          region: region.name,
          lanSeeds: [serviceHost(gossipName, cfg.namespace)],
        }),
        regionName: region.name,
        regionId: region.id,
        address: sentinelAddress(k8sName, cfg.namespace),
      });
      count(new k8s.apps.v1.Deployment(base, { metadata: deployment.metadata, spec: deployment.spec }, opts));
      const service = serviceManifest(k8sName, cfg.namespace, sentinelLabels);
      count(new k8s.core.v1.Service(base, { metadata: service.metadata, spec: service.spec }, opts));
      const pdb = podDisruptionBudgetManifest(k8sName, cfg.namespace, sentinelLabels);
      count(new k8s.policy.v1.PodDisruptionBudget(base, { metadata: pdb.metadata, spec: pdb.spec }, opts));
    }
  }

  const target = Number(process.env.BENCH_TARGET_RESOURCES ?? 0);
  const padding = count(new k8s.Provider("padding", {}));
  for (let i = 0; registered < target; i++) {
    if (i % 10 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    count(
      new k8s.core.v1.ConfigMap(
        `pad-${i}`,
        { metadata: { name: `pad-${i}` }, data: { n: String(i) } },
        { provider: padding },
      ),
    );
  }
  return registered;
}

export const resources = declareAll();
