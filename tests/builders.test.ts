import { strict as assert } from "assert";
import { parse as parseToml } from "smol-toml";
import {
  ANNOTATIONS,
  LABELS,
  NAMESPACE_POD_SECURITY_DEFAULTS,
  POD_DEFAULTS,
  PROBES,
  ROLLOUT,
  SIZING,
} from "../lib/constants";
import { Namespace } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import {
  ciliumPolicyManifest,
  deploymentManifest,
  gossipServiceManifest,
  namespaceManifest,
  podDisruptionBudgetManifest,
  podSecurityLabels,
  rolloutTimeoutSeconds,
  serviceManifest,
  terminationGracePeriodSeconds,
  type SentinelWorkload,
} from "../lib/kube";
import { buildLabels, sharedLabels } from "../lib/labels";
import { environmentObjectName, sentinelDbUser } from "../lib/names";
import { renderSentinelToml } from "../lib/toml";
import { environmentProblems } from "../lib/validate";
import { proposeIdentity, resolveReplicas, sentinelAddress } from "../providers/identity";
import { TEST_IDENTITY, testWorkload } from "./support/workload";

const identity = TEST_IDENTITY;
const RFC1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const clone = (value: unknown): any => JSON.parse(JSON.stringify(value));

const workload = (overrides: Partial<SentinelWorkload> = {}): SentinelWorkload =>
  testWorkload({ replicas: 3, ...overrides });

describe("labels", () => {
  it("puts the spec's labels on sentinel objects and selects by sentinel id alone", () => {
    const l = buildLabels(identity, "sentinel", "s_123");
    assert.deepEqual(l.metadata, {
      "app.kubernetes.io/managed-by": "sentinel-fleet",
      "app.kubernetes.io/component": "sentinel",
      "unkey.com/workspace.id": "ws_1",
      "unkey.com/project.id": "proj_1",
      "unkey.com/app.id": "app_1",
      "unkey.com/environment.id": "env_1",
      "unkey.com/sentinel.id": "s_123",
    });
    assert.deepEqual(l.pod, {
      "unkey.com/workspace.id": "ws_1",
      "unkey.com/environment.id": "env_1",
      "unkey.com/sentinel.id": "s_123",
      "app.kubernetes.io/component": "sentinel",
    });
    assert.deepEqual(l.selector, { "unkey.com/sentinel.id": "s_123" });
  });

  it("selects every sentinel pod of the environment for environment-wide objects", () => {
    const l = buildLabels(identity, "gossip-lan");
    assert.equal(l.metadata[LABELS.component], "gossip-lan");
    assert.equal(l.metadata[LABELS.sentinelId], undefined);
    assert.deepEqual(l.selector, {
      "unkey.com/environment.id": "env_1",
      "app.kubernetes.io/component": "sentinel",
    });
  });

  it("makes every selector a subset of the pod labels, so selectors always match their pods", () => {
    const pods = buildLabels(identity, "sentinel", "s_9").pod;
    for (const l of [buildLabels(identity, "sentinel", "s_9"), buildLabels(identity, "gossip-lan")]) {
      for (const [k, v] of Object.entries(l.selector)) assert.equal(pods[k], v, `selector key ${k}`);
    }
    assert.deepEqual(sharedLabels(), {
      "app.kubernetes.io/managed-by": "sentinel-fleet",
      "app.kubernetes.io/component": "sentinel",
    });
  });
});

describe("names", () => {
  it("names per-environment objects with valid, unique RFC 1035 labels of at most 63 characters", () => {
    const ids = ["env_ABC", "env_abc", "env-abc", "Env_Abc", `env_${"x".repeat(200)}`, "___", "e"];
    for (const kind of ["env", "gossip"] as const) {
      const names = ids.map((id) => environmentObjectName(kind, id));
      for (const n of names) {
        assert.ok(n.length <= 63 && RFC1035.test(n), `${n} is not a valid name`);
        assert.ok(n.startsWith(`sentinel-${kind}-`));
      }
      assert.equal(
        new Set(names).size,
        ids.length,
        `${kind}: case- and punctuation-variants must not collide`,
      );
    }
    assert.equal(environmentObjectName("env", "env_abc"), environmentObjectName("env", "env_abc"));
    assert.match(
      environmentObjectName("gossip", "env_storefront_prod"),
      /^sentinel-gossip-env-storefront-prod-[0-9a-f]{8}$/,
    );
  });

  it("keeps MySQL user names within 32 characters and distinct", () => {
    assert.equal(sentinelDbUser("us-east-1"), "sentinel_us_east_1");
    const long = sentinelDbUser("a-very-long-region-name-that-goes-on-1");
    const long2 = sentinelDbUser("a-very-long-region-name-that-goes-on-2");
    assert.ok(long.length <= 32 && long2.length <= 32);
    assert.notEqual(long, long2);
  });
});

describe("identity", () => {
  it("proposes the same identity for the same (environment, region), on every run", () => {
    assert.deepEqual(proposeIdentity("env_1", "reg_1"), proposeIdentity("env_1", "reg_1"));
    assert.notDeepEqual(proposeIdentity("env_1", "reg_1"), proposeIdentity("env_1", "reg_2"));
    assert.notDeepEqual(proposeIdentity("env_1", "reg_1"), proposeIdentity("reg_1", "env_1"));
  });

  it("proposes valid RFC 1035 names and label-safe ids, without collisions over 20,000 sentinels", () => {
    const names = new Set<string>();
    const ids = new Set<string>();
    for (let e = 0; e < 10_000; e++) {
      for (const r of ["reg_a", "reg_b"]) {
        const { sentinelId, k8sName } = proposeIdentity(`env_${e}`, r);
        assert.ok(k8sName.length === 12 && RFC1035.test(k8sName), k8sName);
        assert.match(sentinelId, /^s_[0-9a-z]{20}$/);
        names.add(k8sName);
        ids.add(sentinelId);
      }
    }
    assert.equal(names.size, 20_000);
    assert.equal(ids.size, 20_000);
  });

  it("derives the address and the replica policy from the spec", () => {
    assert.equal(sentinelAddress("abc", "sentinel"), "abc.sentinel.svc.cluster.local:8040");
    assert.equal(resolveReplicas("production", null), 3);
    assert.equal(resolveReplicas("staging", undefined), 1);
    assert.equal(resolveReplicas("production", 0), 0);
    assert.equal(resolveReplicas("preview", 5), 5);
  });
});

describe("sentinel TOML", () => {
  const text = renderSentinelToml({
    sentinelId: "s_1",
    workspaceId: "ws_1",
    environmentId: "env_1",
    platform: "aws",
    region: "us-east-1",
    lanSeeds: ["sentinel-gossip-env-1-abc.sentinel.svc.cluster.local"],
  });

  it("holds every key of the spec with the spec's values", () => {
    assert.deepEqual(JSON.parse(JSON.stringify(parseToml(text))), {
      sentinel_id: "s_1",
      workspace_id: "ws_1",
      environment_id: "env_1",
      platform: "aws",
      region: "us-east-1",
      http_port: 8040,
      database: { primary: "${UNKEY_DATABASE_PRIMARY}", readonly_replica: "${UNKEY_DATABASE_REPLICA}" },
      clickhouse: { url: "${UNKEY_CLICKHOUSE_URL}" },
      redis: { url: "${UNKEY_REDIS_URL}" },
      observability: { logging: { sample_rate: 1, slow_threshold: "1s" } },
      gossip: {
        bind_addr: "0.0.0.0",
        lan_port: 7946,
        lan_seeds: ["sentinel-gossip-env-1-abc.sentinel.svc.cluster.local"],
      },
    });
  });

  it("writes sample_rate as a float and ports as integers", () => {
    assert.match(text, /^sample_rate = 1\.0$/m);
    assert.match(text, /^http_port = 8040$/m);
    assert.match(text, /^lan_port = 7946$/m);
  });

  it("escapes hostile values instead of breaking the document", () => {
    const hostile = renderSentinelToml({
      sentinelId: 's_"\n[database]\nprimary = "x',
      workspaceId: "w",
      environmentId: "e",
      platform: "p",
      region: "r",
      lanSeeds: [],
    });
    const parsed = parseToml(hostile) as { sentinel_id: string; database: { primary: string } };
    assert.equal(parsed.sentinel_id, 's_"\n[database]\nprimary = "x');
    assert.equal(parsed.database.primary, "${UNKEY_DATABASE_PRIMARY}");
  });
});

describe("Deployment", () => {
  const d = deploymentManifest(workload()) as any;
  const pod = d.spec.template.spec;
  const c = pod.containers[0];

  it("rolls out one surge pod at a time, never below the desired count", () => {
    assert.deepEqual(d.spec.strategy, {
      type: "RollingUpdate",
      rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
    });
    assert.equal(d.spec.minReadySeconds, 30);
    assert.equal(d.spec.revisionHistoryLimit, 3);
    assert.equal(d.spec.replicas, 3);
    assert.deepEqual(d.spec.selector, { matchLabels: { "unkey.com/sentinel.id": "s_123" } });
  });

  it("spreads over zones, tolerates and requires sentinel nodes", () => {
    assert.deepEqual(pod.topologySpreadConstraints, [
      {
        maxSkew: 1,
        topologyKey: "topology.kubernetes.io/zone",
        whenUnsatisfiable: "ScheduleAnyway",
        labelSelector: { matchLabels: { "unkey.com/sentinel.id": "s_123" } },
      },
    ]);
    assert.deepEqual(pod.tolerations, [
      { key: "node-class", operator: "Equal", value: "sentinel", effect: "NoSchedule" },
    ]);
    assert.deepEqual(
      pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms,
      [{ matchExpressions: [{ key: "node-class", operator: "In", values: ["sentinel"] }] }],
    );
    const custom = deploymentManifest(workload({ nodeClass: { key: "pool", value: "edge" } })) as any;
    assert.equal(custom.spec.template.spec.tolerations[0].key, "pool");
    assert.deepEqual(
      custom.spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution
        .nodeSelectorTerms[0].matchExpressions[0],
      { key: "pool", operator: "In", values: ["edge"] },
    );
  });

  it("runs the sentinel container with the spec's name, args, pull policy and ports", () => {
    assert.equal(c.name, "sentinel");
    assert.deepEqual(c.args, ["run", "sentinel"]);
    assert.equal(c.imagePullPolicy, "IfNotPresent");
    assert.deepEqual(c.ports, [
      { name: "sentinel", containerPort: 8040, protocol: "TCP" },
      { name: "gossip-lan", containerPort: 7946, protocol: "TCP" },
      { name: "gossip-lan-udp", containerPort: 7946, protocol: "UDP" },
    ]);
  });

  it("sets separate liveness, readiness and startup probes with the spec's timings", () => {
    assert.deepEqual(c.livenessProbe, {
      httpGet: { path: "/live", port: 8040, scheme: "HTTP" },
      initialDelaySeconds: 10,
      periodSeconds: 10,
      timeoutSeconds: 5,
      failureThreshold: 3,
    });
    assert.deepEqual(c.readinessProbe, {
      httpGet: { path: "/ready", port: 8040, scheme: "HTTP" },
      initialDelaySeconds: 5,
      periodSeconds: 5,
      timeoutSeconds: 3,
      failureThreshold: 2,
    });
    assert.equal(c.startupProbe.httpGet.path, "/started");
    assert.equal(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold, 120);
  });

  it("sets requests and limits from the row's CPU and memory", () => {
    assert.deepEqual(c.resources, {
      requests: { cpu: "256m", memory: "256Mi" },
      limits: { cpu: "256m", memory: "256Mi" },
    });
    const big = deploymentManifest(workload({ cpuMillicores: 1500, memoryMib: 2048 })) as any;
    assert.deepEqual(big.spec.template.spec.containers[0].resources.limits, {
      cpu: "1500m",
      memory: "2048Mi",
    });
  });

  it("passes the TOML in UNKEY_CONFIG_DATA and credentials only through Secrets", () => {
    assert.deepEqual(c.env, [{ name: "UNKEY_CONFIG_DATA", value: "x = 1\n" }]);
    // One Secret with every key (the OpenTelemetry ones only when configured), required like the DSNs.
    assert.deepEqual(c.envFrom, [{ secretRef: { name: "env-secret", optional: false } }]);
  });

  it("annotates pods for Reloader and the Deployment for the prewarm hook", () => {
    assert.deepEqual(d.spec.template.metadata.annotations, { "reloader.stakater.com/auto": "true" });
    assert.deepEqual(d.metadata.annotations, {
      [ANNOTATIONS.region]: "us-east-1",
      [ANNOTATIONS.regionId]: "reg_use1",
      [ANNOTATIONS.address]: "abcdefgh1234.sentinel.svc.cluster.local:8040",
    });
    assert.equal(pod.enableServiceLinks, false);
  });

  it("gives pulumi up a timeout above the worst-case rollout, terminations included", () => {
    for (const replicas of [0, 1, 3, 10]) {
      for (const grace of [1, 40, 3900]) {
        const startup = PROBES.startup.periodSeconds * PROBES.startup.failureThreshold;
        const worstCase = Math.max(1, replicas) * (ROLLOUT.minReadySeconds + startup + grace);
        assert.ok(rolloutTimeoutSeconds(replicas, grace) > worstCase, `replicas ${replicas}, grace ${grace}`);
      }
    }
    // Each pod: 120 s scheduling and pull, 120 s startup probe, 30 s minReady, 10 + 30 s termination.
    assert.equal(rolloutTimeoutSeconds(3, 40), 3 * (120 + 120 + 30 + 40) + 60);
    assert.equal(rolloutTimeoutSeconds(3), rolloutTimeoutSeconds(3, 40), "the default is the default pod's");
    assert.ok(rolloutTimeoutSeconds(3, 400) - rolloutTimeoutSeconds(3, 40) === 3 * 360);
  });
});

describe("Deployment: rollouts that drop no request", () => {
  it("keeps a stopping pod serving for preStopSeconds (a kubelet sleep, no shell), then drains", () => {
    const pod = (deploymentManifest(workload()) as any).spec.template.spec;
    assert.deepEqual(pod.containers[0].lifecycle, { preStop: { sleep: { seconds: 10 } } });
    assert.equal(pod.terminationGracePeriodSeconds, 10 + 30);
    assert.equal(terminationGracePeriodSeconds(POD_DEFAULTS), 40);
  });

  it("sizes the grace period from the configured delay and drain, and omits a 0-second hook", () => {
    for (const [preStopSeconds, drainSeconds] of [
      [0, 1],
      [1, 1],
      [45, 120],
      [300, 3600],
    ]) {
      const pod = (
        deploymentManifest(workload({ pod: { ...POD_DEFAULTS, preStopSeconds, drainSeconds } })) as any
      ).spec.template.spec;
      assert.equal(pod.terminationGracePeriodSeconds, preStopSeconds + drainSeconds);
      const hook = pod.containers[0].lifecycle;
      // sleep 0 is invalid before PodLifecycleSleepActionAllowZero (1.33 beta): no hook instead.
      if (preStopSeconds === 0) assert.equal(hook, undefined);
      else {
        assert.deepEqual(hook, { preStop: { sleep: { seconds: preStopSeconds } } });
        // Kubernetes rejects a sleep longer than the grace period; the drain leaves time after it.
        assert.ok(hook.preStop.sleep.seconds < pod.terminationGracePeriodSeconds);
      }
    }
  });
});

describe("Deployment: restricted pods", () => {
  it("runs as the configured non-root user and group with the runtime's seccomp profile", () => {
    const pod = (deploymentManifest(workload()) as any).spec.template.spec;
    assert.deepEqual(pod.securityContext, {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    const other = (
      deploymentManifest(workload({ pod: { ...POD_DEFAULTS, runAsUser: 1000, runAsGroup: 2000 } })) as any
    ).spec.template.spec;
    assert.equal(other.securityContext.runAsUser, 1000);
    assert.equal(other.securityContext.runAsGroup, 2000);
  });

  it("drops every capability, forbids escalation and mounts the root filesystem read-only, with /tmp writable", () => {
    const pod = (deploymentManifest(workload()) as any).spec.template.spec;
    const c = pod.containers[0];
    assert.deepEqual(c.securityContext, {
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      readOnlyRootFilesystem: true,
    });
    assert.deepEqual(c.volumeMounts, [{ name: "tmp", mountPath: "/tmp" }]);
    assert.deepEqual(pod.volumes, [{ name: "tmp", emptyDir: { sizeLimit: "64Mi" } }]);
  });

  it("sets a priority class only when one is configured", () => {
    const none = (deploymentManifest(workload()) as any).spec.template.spec;
    assert.equal("priorityClassName" in none, false);
    const some = (
      deploymentManifest(workload({ pod: { ...POD_DEFAULTS, priorityClassName: "edge-proxy" } })) as any
    ).spec.template.spec;
    assert.equal(some.priorityClassName, "edge-proxy");
  });

  it("validates against the Kubernetes schema in every combination", () => {
    for (const pod of [
      { ...POD_DEFAULTS },
      { ...POD_DEFAULTS, preStopSeconds: 0, drainSeconds: 1, priorityClassName: "edge-proxy" },
      {
        runAsUser: 2147483647,
        runAsGroup: 1,
        priorityClassName: null,
        preStopSeconds: 300,
        drainSeconds: 3600,
      },
    ]) {
      new Deployment(deploymentManifest(workload({ pod })) as any).validate();
    }
    // The schema check is live: a wrong type in a new field fails it.
    const broken = clone(deploymentManifest(workload()));
    broken.spec.template.spec.containers[0].lifecycle.preStop.sleep.seconds = "10";
    assert.throws(() => new Deployment(broken).validate());
  });
});

describe("Namespace: Pod Security Admission", () => {
  it("labels enforce, warn and audit with their levels, enforce pinned to a version", () => {
    const labels = podSecurityLabels(NAMESPACE_POD_SECURITY_DEFAULTS);
    assert.deepEqual(labels, {
      "pod-security.kubernetes.io/enforce": "restricted",
      "pod-security.kubernetes.io/enforce-version": "v1.30",
      "pod-security.kubernetes.io/warn": "restricted",
      "pod-security.kubernetes.io/warn-version": "latest",
      "pod-security.kubernetes.io/audit": "restricted",
      "pod-security.kubernetes.io/audit-version": "latest",
    });
    const mixed = podSecurityLabels({ enforce: "baseline", warn: "restricted", audit: "privileged" });
    assert.equal(mixed["pod-security.kubernetes.io/enforce"], "baseline");
    assert.equal(mixed["pod-security.kubernetes.io/warn"], "restricted");
    assert.equal(mixed["pod-security.kubernetes.io/audit"], "privileged");
    const ns = namespaceManifest("sentinel", { ...sharedLabels(), ...labels });
    new Namespace({ apiVersion: "v1", kind: "Namespace", metadata: ns.metadata } as any).validate();
  });
});

describe("Services and policy", () => {
  const labels = buildLabels(identity, "sentinel", "s_123");
  const gossipLabels = buildLabels(identity, "gossip-lan");

  it("exposes a sentinel on a ClusterIP Service, port 8040 to 8040 TCP", () => {
    const s = serviceManifest("abcdefgh1234", "sentinel", labels) as any;
    assert.deepEqual(s.spec, {
      type: "ClusterIP",
      selector: { "unkey.com/sentinel.id": "s_123" },
      ports: [{ name: "sentinel", port: 8040, targetPort: 8040, protocol: "TCP" }],
    });
  });

  it("makes the gossip Service headless over every sentinel pod of the environment", () => {
    const g = gossipServiceManifest("sentinel-gossip-x", "sentinel", gossipLabels) as any;
    assert.equal(g.metadata.labels["app.kubernetes.io/component"], "gossip-lan");
    assert.deepEqual(g.spec, {
      clusterIP: "None",
      publishNotReadyAddresses: true,
      selector: { "unkey.com/environment.id": "env_1", "app.kubernetes.io/component": "sentinel" },
      ports: [
        { name: "gossip-lan", port: 7946, targetPort: 7946, protocol: "TCP" },
        { name: "gossip-lan-udp", port: 7946, targetPort: 7946, protocol: "UDP" },
      ],
    });
  });

  it("lets only the environment's sentinel pods reach each other on 7946, adding no default-deny", () => {
    const p = ciliumPolicyManifest("sentinel-gossip-x", "sentinel", gossipLabels) as any;
    const peers = {
      matchLabels: { "unkey.com/environment.id": "env_1", "app.kubernetes.io/component": "sentinel" },
    };
    assert.equal(p.apiVersion, "cilium.io/v2");
    assert.equal(p.kind, "CiliumNetworkPolicy");
    assert.deepEqual(p.spec.endpointSelector, peers);
    assert.deepEqual(p.spec.enableDefaultDeny, { ingress: false, egress: false });
    assert.deepEqual(p.spec.ingress, [
      {
        fromEndpoints: [peers],
        toPorts: [
          {
            ports: [
              { port: "7946", protocol: "TCP" },
              { port: "7946", protocol: "UDP" },
            ],
          },
        ],
      },
    ]);
  });
});

// The disruption controller's arithmetic (pkg/controller/disruption): with maxUnavailable the desired healthy
// count is the workload's scale minus it; with minAvailable it is the number itself.
function allowedDisruptions(
  spec: { maxUnavailable?: number; minAvailable?: number },
  scale: number,
  healthy: number,
) {
  const desiredHealthy =
    spec.maxUnavailable !== undefined ? scale - spec.maxUnavailable : (spec.minAvailable ?? 0);
  return Math.max(0, healthy - desiredHealthy);
}

describe("PodDisruptionBudget", () => {
  const labels = buildLabels(identity, "sentinel", "s_123");
  const pdb = podDisruptionBudgetManifest("abcdefgh1234", "sentinel", labels) as any;

  it("selects the sentinel's own pods and evicts unhealthy pods freely", () => {
    assert.deepEqual(pdb.spec.selector, { matchLabels: { "unkey.com/sentinel.id": "s_123" } });
    assert.equal(pdb.spec.unhealthyPodEvictionPolicy, "AlwaysAllow");
    assert.equal(pdb.spec.minAvailable, undefined);
  });

  it("never deadlocks a drain, and keeps a pod serving whenever there are two or more", () => {
    for (let replicas = 1; replicas <= 6; replicas++) {
      const allowed = allowedDisruptions(pdb.spec, replicas, replicas);
      assert.ok(allowed >= 1, `a drain must be able to evict one of ${replicas} pods`);
      if (replicas >= 2) assert.ok(replicas - allowed >= 1, `${replicas} replicas must keep one serving`);
    }
    // After a manual scale-down from 3 to 1 the budget still lets the drain through.
    assert.equal(allowedDisruptions(pdb.spec, 1, 1), 1);
    // The spec's flaw, for contrast: minAvailable 1 on one replica allows nothing, forever.
    assert.equal(allowedDisruptions({ minAvailable: 1 }, 1, 1), 0);
  });
});

describe("component argument validation", () => {
  it("lists every problem of a SentinelEnvironment's arguments", () => {
    assert.deepEqual(
      environmentProblems({
        ...identity,
        environmentId: "bad id",
        slug: "production",
        platform: "",
        image: "nope:",
        replicas: -1,
        cpuMillicores: 0,
        regions: [
          { id: "r1", name: "us-east-1" },
          { id: "r2", name: "us-east-1" },
        ],
      }),
      [
        "environmentId: \"bad id\" is not a valid Kubernetes label value (at most 63 characters: letters, digits, '-', '_', '.', starting and ending with a letter or digit)",
        "platform: must be a non-empty string",
        'image: "nope:" is not a valid container image reference',
        "replicas: must be an integer >= 0, got -1",
        "cpuMillicores: must be an integer >= 1, got 0",
        'regions: "us-east-1" appears twice',
      ],
    );
    assert.equal(SIZING.cpuMillicores, 256);
  });
});
