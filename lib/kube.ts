// Builders that turn plain values into Kubernetes objects. The components pass their results to
// @pulumi/kubernetes unchanged; tests validate the same objects against the Kubernetes OpenAPI schema.
import type * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import {
  ANNOTATIONS,
  CLUSTER_DOMAIN,
  CONTAINER,
  ENV_VARS,
  POD_STARTUP_ALLOWANCE_SECONDS,
  POD_DEFAULTS,
  POD_SECURITY_LABELS,
  POD_SECURITY_VERSIONS,
  PORTS,
  PROBES,
  ROLLOUT,
  SCRATCH_VOLUME,
} from "./constants";
import type { NamespacePodSecurity, NodeClass, PodConfig, ProbePaths } from "./config";
import type { LabelSet } from "./labels";

type ObjectMeta = k8s.types.input.meta.v1.ObjectMeta;

export interface Manifest<Spec> {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: ObjectMeta;
  readonly spec: Spec;
}

/** An object in the fleet's namespace, labelled with `labels`' metadata labels. */
function namespaced<Spec>(
  apiVersion: string,
  kind: string,
  name: string,
  namespace: pulumi.Input<string>,
  labels: LabelSet,
  spec: Spec,
): Manifest<Spec> {
  return { apiVersion, kind, metadata: { name, namespace, labels: { ...labels.metadata } }, spec };
}

/** The Secret a sentinel's pods read through envFrom: every key of the environment in its region. */
export interface SentinelSecretNames {
  readonly environment: string;
}

export interface SentinelWorkload {
  readonly name: string;
  readonly namespace: string;
  readonly labels: LabelSet;
  readonly replicas: number;
  readonly image: string;
  readonly cpuMillicores: number;
  readonly memoryMib: number;
  readonly probes: ProbePaths;
  readonly nodeClass: NodeClass;
  readonly secrets: SentinelSecretNames;
  readonly configToml: string;
  readonly regionName: string;
  readonly regionId: string;
  readonly address: string;
  /** Pod identity, priority and termination timing. */
  readonly pod: PodConfig;
  /** The row's record incarnation (SentinelRecordRow.incarnation); null: no annotation. */
  readonly rowIncarnation: string | null;
}

/** In-cluster DNS name of a Service. */
export function serviceHost(name: string, namespace: string): string {
  return `${name}.${namespace}.${CLUSTER_DOMAIN}`;
}

/**
 * The namespace's Pod Security Admission labels: each mode at its configured level, enforce pinned to a policy
 * version and warn/audit at the cluster's latest (see POD_SECURITY_VERSIONS).
 */
export function podSecurityLabels(levels: NamespacePodSecurity): Record<string, string> {
  return {
    [POD_SECURITY_LABELS.enforce]: levels.enforce,
    [POD_SECURITY_LABELS.enforceVersion]: POD_SECURITY_VERSIONS.enforce,
    [POD_SECURITY_LABELS.warn]: levels.warn,
    [POD_SECURITY_LABELS.warnVersion]: POD_SECURITY_VERSIONS.warn,
    [POD_SECURITY_LABELS.audit]: levels.audit,
    [POD_SECURITY_LABELS.auditVersion]: POD_SECURITY_VERSIONS.audit,
  };
}

/** The pod's termination budget: the preStop delay while endpoints move, then the in-flight drain. */
export function terminationGracePeriodSeconds(
  pod: Pick<PodConfig, "preStopSeconds" | "drainSeconds">,
): number {
  return pod.preStopSeconds + pod.drainSeconds;
}

export function namespaceManifest(name: string, labels: Record<string, string>): Manifest<undefined> {
  return { apiVersion: "v1", kind: "Namespace", metadata: { name, labels }, spec: undefined };
}

function probe(path: string, timing: (typeof PROBES)[keyof typeof PROBES]) {
  return { httpGet: { path, port: PORTS.http, scheme: "HTTP" }, ...timing };
}

/**
 * The worst-case time for `pulumi up` to see this Deployment converge: with maxSurge 1 and maxUnavailable 0
 * pods roll one at a time, and each needs scheduling and an image pull, the whole startup-probe budget,
 * minReadySeconds, and the termination of the pod it replaces (the preStop delay plus the drain, counted in
 * full: a cluster that counts terminating pods against maxSurge waits for each). Used as the Deployment's
 * customTimeouts so Pulumi waits instead of timing out.
 */
export function rolloutTimeoutSeconds(
  replicas: number,
  graceSeconds: number = terminationGracePeriodSeconds(POD_DEFAULTS),
): number {
  const startupBudget =
    PROBES.startup.initialDelaySeconds + PROBES.startup.periodSeconds * PROBES.startup.failureThreshold;
  const perPod = POD_STARTUP_ALLOWANCE_SECONDS + startupBudget + ROLLOUT.minReadySeconds + graceSeconds;
  return Math.max(1, replicas) * perPod + 60;
}

/**
 * The preStop delay: a stopping pod keeps serving while the endpoint controller, kube-proxy and the router
 * drop it; SIGTERM (and the drain) only follows. A `sleep` action, run by the kubelet, because the image may
 * have no shell (Kubernetes >= 1.30). No hook at 0 seconds: `sleep: 0` needs PodLifecycleSleepActionAllowZero.
 */
function preStop(seconds: number): { lifecycle?: k8s.types.input.core.v1.Lifecycle } {
  return seconds > 0 ? { lifecycle: { preStop: { sleep: { seconds } } } } : {};
}

export function deploymentManifest(w: SentinelWorkload): Manifest<k8s.types.input.apps.v1.DeploymentSpec> {
  const quantity = { cpu: `${w.cpuMillicores}m`, memory: `${w.memoryMib}Mi` };
  // One Secret: the OpenTelemetry keys are in it only when configured, so a pod without them still starts.
  const envFrom: k8s.types.input.core.v1.EnvFromSource[] = [
    { secretRef: { name: w.secrets.environment, optional: false } },
  ];
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: w.name,
      namespace: w.namespace,
      labels: { ...w.labels.metadata },
      // The shared prewarm hook reads these to know which sentinel it fires for.
      annotations: {
        [ANNOTATIONS.region]: w.regionName,
        [ANNOTATIONS.regionId]: w.regionId,
        [ANNOTATIONS.address]: w.address,
        ...(w.rowIncarnation === null ? {} : { [ANNOTATIONS.rowIncarnation]: w.rowIncarnation }),
      },
    },
    spec: {
      replicas: w.replicas,
      selector: { matchLabels: { ...w.labels.selector } },
      strategy: {
        type: "RollingUpdate",
        rollingUpdate: { maxUnavailable: ROLLOUT.maxUnavailable, maxSurge: ROLLOUT.maxSurge },
      },
      minReadySeconds: ROLLOUT.minReadySeconds,
      revisionHistoryLimit: ROLLOUT.revisionHistoryLimit,
      template: {
        metadata: {
          labels: { ...w.labels.pod },
          annotations: { [ANNOTATIONS.reloaderAuto]: "true" },
        },
        spec: {
          // Thousands of Services share this namespace; service links would put all of them into every
          // pod's environment. The sentinel finds peers and backends by DNS.
          enableServiceLinks: false,
          automountServiceAccountToken: false,
          // Pod Security Standard "restricted": a non-root user and group, the runtime's seccomp profile.
          securityContext: {
            runAsNonRoot: true,
            runAsUser: w.pod.runAsUser,
            runAsGroup: w.pod.runAsGroup,
            seccompProfile: { type: "RuntimeDefault" },
          },
          terminationGracePeriodSeconds: terminationGracePeriodSeconds(w.pod),
          ...(w.pod.priorityClassName === null ? {} : { priorityClassName: w.pod.priorityClassName }),
          volumes: [{ name: SCRATCH_VOLUME.name, emptyDir: { sizeLimit: SCRATCH_VOLUME.sizeLimit } }],
          tolerations: [
            { key: w.nodeClass.key, operator: "Equal", value: w.nodeClass.value, effect: "NoSchedule" },
          ],
          // The toleration only permits sentinel nodes; this requires them (spec: known flaw).
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [
                  {
                    matchExpressions: [{ key: w.nodeClass.key, operator: "In", values: [w.nodeClass.value] }],
                  },
                ],
              },
            },
          },
          topologySpreadConstraints: [
            {
              maxSkew: ROLLOUT.maxSkew,
              topologyKey: ROLLOUT.topologyKey,
              whenUnsatisfiable: ROLLOUT.whenUnsatisfiable,
              labelSelector: { matchLabels: { ...w.labels.selector } },
            },
          ],
          containers: [
            {
              name: CONTAINER.name,
              image: w.image,
              args: [...CONTAINER.args],
              imagePullPolicy: CONTAINER.imagePullPolicy,
              ports: [
                { name: PORTS.httpName, containerPort: PORTS.http, protocol: "TCP" },
                { name: PORTS.gossipTcpName, containerPort: PORTS.gossip, protocol: "TCP" },
                { name: PORTS.gossipUdpName, containerPort: PORTS.gossip, protocol: "UDP" },
              ],
              env: [{ name: ENV_VARS.config, value: w.configToml }],
              envFrom,
              // Requests = limits: Guaranteed QoS, so a busy node evicts sentinels last (spec: known flaw).
              resources: { requests: quantity, limits: quantity },
              startupProbe: probe(w.probes.startup, PROBES.startup),
              livenessProbe: probe(w.probes.liveness, PROBES.liveness),
              readinessProbe: probe(w.probes.readiness, PROBES.readiness),
              securityContext: {
                allowPrivilegeEscalation: false,
                capabilities: { drop: ["ALL"] },
                readOnlyRootFilesystem: true,
              },
              // The root filesystem is read-only; the process gets /tmp (Go's os.TempDir) and nothing else.
              volumeMounts: [{ name: SCRATCH_VOLUME.name, mountPath: SCRATCH_VOLUME.mountPath }],
              ...preStop(w.pod.preStopSeconds),
            },
          ],
        },
      },
    },
  };
}

export function serviceManifest(
  name: string,
  namespace: string,
  labels: LabelSet,
): Manifest<k8s.types.input.core.v1.ServiceSpec> {
  return namespaced("v1", "Service", name, namespace, labels, {
    type: "ClusterIP",
    selector: { ...labels.selector },
    ports: [{ name: PORTS.httpName, port: PORTS.http, targetPort: PORTS.http, protocol: "TCP" }],
  });
}

/**
 * The disruption budget. maxUnavailable 1 is relative to the Deployment's current scale, so:
 * one replica: the pod may always be evicted (a drain never waits forever);
 * n >= 2 replicas: at most one pod is evicted at a time, so n - 1 >= 1 keep serving;
 * and after any manual scale-down it still never deadlocks, which a fixed minAvailable would.
 * AlwaysAllow lets a drain evict pods that are not Ready anyway (crash-looping, stuck), which would
 * otherwise block the drain with zero disruptions allowed.
 */
export function podDisruptionBudgetManifest(
  name: string,
  namespace: string,
  labels: LabelSet,
): Manifest<k8s.types.input.policy.v1.PodDisruptionBudgetSpec> {
  return namespaced("policy/v1", "PodDisruptionBudget", name, namespace, labels, {
    maxUnavailable: 1,
    unhealthyPodEvictionPolicy: "AlwaysAllow",
    selector: { matchLabels: { ...labels.selector } },
  });
}

/**
 * Headless Service for gossip peer discovery: DNS returns every sentinel pod of the environment. The namespace may
 * be the Namespace's output: the Service then waits for it without an apply.
 */
export function gossipServiceManifest(
  name: string,
  namespace: pulumi.Input<string>,
  labels: LabelSet,
): Manifest<k8s.types.input.core.v1.ServiceSpec> {
  return namespaced("v1", "Service", name, namespace, labels, {
    clusterIP: "None",
    // A starting pod must find its peers before it is Ready, or the first pods never join each other.
    publishNotReadyAddresses: true,
    selector: { ...labels.selector },
    ports: [
      { name: PORTS.gossipTcpName, port: PORTS.gossip, targetPort: PORTS.gossip, protocol: "TCP" },
      { name: PORTS.gossipUdpName, port: PORTS.gossip, targetPort: PORTS.gossip, protocol: "UDP" },
    ],
  });
}

export interface CiliumPolicySpec {
  readonly endpointSelector: { readonly matchLabels: Record<string, string> };
  readonly enableDefaultDeny: { readonly ingress: boolean; readonly egress: boolean };
  readonly ingress: readonly {
    readonly fromEndpoints: readonly { readonly matchLabels: Record<string, string> }[];
    readonly toPorts: readonly {
      readonly ports: readonly { readonly port: string; readonly protocol: string }[];
    }[];
  }[];
}

/**
 * Lets sentinel pods of one environment reach each other on 7946 TCP and UDP. A Cilium policy with ingress
 * rules otherwise switches its pods to ingress default-deny, which would also cut off port 8040 from the
 * router; enableDefaultDeny false makes this policy add an allow and nothing else (Cilium >= 1.16, which
 * introduced the field; older CRDs prune it, and the policy then default-denies ingress).
 */
export function ciliumPolicyManifest(
  name: string,
  namespace: pulumi.Input<string>,
  labels: LabelSet,
): Manifest<CiliumPolicySpec> {
  const peers = { matchLabels: { ...labels.selector } };
  return namespaced("cilium.io/v2", "CiliumNetworkPolicy", name, namespace, labels, {
    endpointSelector: peers,
    enableDefaultDeny: { ingress: false, egress: false },
    ingress: [
      {
        fromEndpoints: [peers],
        toPorts: [
          {
            ports: [
              { port: String(PORTS.gossip), protocol: "TCP" },
              { port: String(PORTS.gossip), protocol: "UDP" },
            ],
          },
        ],
      },
    ],
  });
}
