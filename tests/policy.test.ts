// The policy pack (policy/policies.ts): each policy against objects from the real builders, one field broken at
// a time; unknown values; and the whole example program, normal and preview, under the mock engine.
// policy/index.ts is not imported: constructing the PolicyPack starts its gRPC server.
import { strict as assert } from "assert";
import { unknownCheckingProxy } from "@pulumi/policy";
import { unknown as sdkUnknown } from "@pulumi/pulumi";
import {
  COMPONENTS,
  DEFAULT_NODE_CLASS,
  ENV_VARS,
  LABELS,
  NAMESPACE_POD_SECURITY_DEFAULTS,
  POD_DEFAULTS,
} from "../lib/constants";
import {
  ciliumPolicyManifest,
  deploymentManifest,
  gossipServiceManifest,
  namespaceManifest,
  podDisruptionBudgetManifest,
  podSecurityLabels,
  serviceManifest,
  type SentinelWorkload,
} from "../lib/kube";
import { buildLabels, sharedLabels } from "../lib/labels";
import { renderSentinelToml } from "../lib/toml";
import {
  CREDENTIAL_ENV_VARS,
  credentialShape,
  evaluatePolicies,
  isPinnedImage,
  LABEL_KEYS,
  policies,
  TYPES,
  UNKNOWN_MARKERS,
  UNKNOWN_VALUE,
  type PackConfig,
} from "../policy/policies";
import { SECRET_SIG, SECRET_SIG_KEY, type CapturedResource } from "../synth/mockEngine";
import { readStackFile, runExample } from "./support/fixtures";
import { TEST_IDENTITY, testWorkload } from "./support/workload";

type Obj = Record<string, any>;

const identity = TEST_IDENTITY;
const sentinelLabels = buildLabels(identity, COMPONENTS.sentinel, "s_123");
const environmentLabels = buildLabels(identity, COMPONENTS.sentinel);
const gossipLabels = buildLabels(identity, COMPONENTS.gossip);

const D = "Deployment sentinel/abcdefgh1234";
const clone = (value: unknown): Obj => JSON.parse(JSON.stringify(value));

const workload = (overrides: Partial<SentinelWorkload> = {}): SentinelWorkload =>
  testWorkload({
    configToml: renderSentinelToml({
      sentinelId: "s_123",
      workspaceId: identity.workspaceId,
      environmentId: identity.environmentId,
      platform: "aws",
      region: "us-east-1",
      lanSeeds: ["sentinel-gossip-env-1.sentinel.svc.cluster.local"],
    }),
    ...overrides,
  });

/** Resource inputs as the program passes them: the builder's manifest, as plain data. */
const deployment = (overrides: Partial<SentinelWorkload> = {}): Obj =>
  clone(deploymentManifest(workload(overrides)));
const service = (): Obj => clone(serviceManifest("abcdefgh1234", "sentinel", sentinelLabels));
const pdb = (): Obj => clone(podDisruptionBudgetManifest("abcdefgh1234", "sentinel", sentinelLabels));
const gossipService = (): Obj =>
  clone(gossipServiceManifest("sentinel-gossip-env-1", "sentinel", gossipLabels));
const ciliumPolicy = (): Obj =>
  clone(ciliumPolicyManifest("sentinel-gossip-env-1", "sentinel", gossipLabels));
const namespace = (): Obj =>
  clone(
    namespaceManifest("sentinel", {
      ...sharedLabels(),
      ...podSecurityLabels(NAMESPACE_POD_SECURITY_DEFAULTS),
    }),
  );
/** A per-environment Secret as SentinelEnvironment declares it. */
const secret = (): Obj => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: {
    name: "sentinel-redis-env-1",
    namespace: "sentinel",
    labels: { ...environmentLabels.metadata },
  },
  type: "Opaque",
  stringData: { [ENV_VARS.redisUrl]: "rediss://:pw-1234@redis.platform:6380" },
});
const configMap = (data: Record<string, string>): Obj => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "extra", namespace: "sentinel", labels: { ...environmentLabels.metadata } },
  data,
});

const podSpec = (d: Obj): Obj => d.spec.template.spec;
const container = (d: Obj): Obj => podSpec(d).containers[0];

/** Every violation of every policy for one resource, as [policy, message]. */
function evaluate(type: string, props: Obj, config?: PackConfig): [string, string][] {
  return evaluatePolicies(
    [{ type, name: "r", urn: `urn:pulumi:dev::sentinel-fleet::${type}::r`, props }],
    config,
  ).map((v) => [v.policy, v.message]);
}

describe("policy pack", () => {
  it("declares its policies with their enforcement levels", () => {
    assert.deepEqual(
      policies.map((p) => [p.name, p.enforcementLevel]),
      [
        ["sentinel-labels", "mandatory"],
        ["sentinel-rolling-update", "mandatory"],
        ["sentinel-probes", "mandatory"],
        ["sentinel-resources", "mandatory"],
        ["sentinel-node-placement", "mandatory"],
        ["sentinel-pdb-drainable", "mandatory"],
        ["sentinel-images-pinned", "mandatory"],
        ["sentinel-credentials-in-secrets", "mandatory"],
        ["sentinel-pod-security", "mandatory"],
        ["sentinel-graceful-termination", "mandatory"],
        ["sentinel-namespace-pod-security", "mandatory"],
        ["sentinel-probe-paths-distinct", "advisory"],
      ],
    );
    for (const p of policies) {
      assert.ok(p.description.length > 20, p.name);
      assert.equal(typeof p.validateResource, "function", p.name);
    }
  });

  it("knows the program's label keys and credential variables, and defaults to its node class", () => {
    assert.deepEqual(LABEL_KEYS, LABELS);
    assert.deepEqual(
      [...CREDENTIAL_ENV_VARS].sort(),
      [
        ENV_VARS.databasePrimary,
        ENV_VARS.databaseReplica,
        ENV_VARS.clickhouseUrl,
        ENV_VARS.redisUrl,
        ENV_VARS.otelHeaders,
      ].sort(),
    );
    const placement = policies.find((p) => p.name === "sentinel-node-placement");
    const schema = placement?.configSchema?.properties ?? {};
    assert.deepEqual(
      { key: schema.key?.default, value: schema.value?.default, effect: schema.effect?.default },
      { ...DEFAULT_NODE_CLASS, effect: "NoSchedule" },
    );
  });

  it("passes every object the builders produce", () => {
    const objects: [string, Obj][] = [
      [TYPES.deployment, deployment()],
      [TYPES.service, service()],
      [TYPES.podDisruptionBudget, pdb()],
      [TYPES.service, gossipService()],
      [TYPES.ciliumNetworkPolicy, ciliumPolicy()],
      [TYPES.namespace, namespace()],
      [TYPES.secret, secret()],
    ];
    for (const [type, props] of objects)
      assert.deepEqual(evaluate(type, props), [], `${type} ${props.metadata.name}`);
  });
});

describe("policy sentinel-labels", () => {
  it("requires the sentinel id on a Deployment", () => {
    const d = deployment();
    delete d.metadata.labels[LABELS.sentinelId];
    assert.deepEqual(evaluate(TYPES.deployment, d), [
      ["sentinel-labels", `${D} is missing required label(s) ${LABELS.sentinelId} (each must be non-empty)`],
    ]);
  });

  it("rejects empty labels and requires the sentinel id on a ClusterIP Service, not on the headless one", () => {
    const s = service();
    s.metadata.labels[LABELS.appId] = "";
    delete s.metadata.labels[LABELS.sentinelId];
    assert.deepEqual(evaluate(TYPES.service, s), [
      [
        "sentinel-labels",
        `Service sentinel/abcdefgh1234 is missing required label(s) ${LABELS.appId}, ${LABELS.sentinelId} ` +
          "(each must be non-empty)",
      ],
    ]);
    const g = gossipService();
    assert.equal(g.metadata.labels[LABELS.sentinelId], undefined);
    assert.deepEqual(evaluate(TYPES.service, g), []);
    delete g.metadata.labels[LABELS.environmentId];
    assert.deepEqual(evaluate(TYPES.service, g), [
      [
        "sentinel-labels",
        `Service sentinel/sentinel-gossip-env-1 is missing required label(s) ${LABELS.environmentId} ` +
          "(each must be non-empty)",
      ],
    ]);
  });

  it("requires the PDB's sentinel id, the policy's and Secret's identity labels, the namespace's two", () => {
    const p = pdb();
    p.metadata.labels[LABELS.sentinelId] = " ";
    assert.deepEqual(evaluate(TYPES.podDisruptionBudget, p), [
      [
        "sentinel-labels",
        `PodDisruptionBudget sentinel/abcdefgh1234 is missing required label(s) ${LABELS.sentinelId} ` +
          "(each must be non-empty)",
      ],
    ]);
    const c = ciliumPolicy();
    delete c.metadata.labels;
    assert.deepEqual(evaluate(TYPES.ciliumNetworkPolicy, c), [
      [
        "sentinel-labels",
        "CiliumNetworkPolicy sentinel/sentinel-gossip-env-1 is missing required label(s) " +
          `${LABELS.managedBy}, ${LABELS.component}, ${LABELS.workspaceId}, ${LABELS.projectId}, ` +
          `${LABELS.appId}, ${LABELS.environmentId} (each must be non-empty)`,
      ],
    ]);
    const s = secret();
    delete s.metadata.labels[LABELS.workspaceId];
    assert.deepEqual(evaluate(TYPES.secret, s), [
      [
        "sentinel-labels",
        `Secret sentinel/sentinel-redis-env-1 is missing required label(s) ${LABELS.workspaceId} ` +
          "(each must be non-empty)",
      ],
    ]);
    const n = namespace();
    delete n.metadata.labels[LABELS.component];
    assert.deepEqual(evaluate(TYPES.namespace, n), [
      [
        "sentinel-labels",
        `Namespace sentinel is missing required label(s) ${LABELS.component} (each must be non-empty)`,
      ],
    ]);
  });

  it("ignores resources that are not Kubernetes objects", () => {
    for (const type of [
      "mysql:index/user:User",
      "pulumi:providers:kubernetes",
      "kubernetes:yaml/v2:ConfigGroup",
    ]) {
      assert.deepEqual(evaluate(type, { metadata: {} }), [], type);
    }
  });
});

describe("policy sentinel-rolling-update", () => {
  it("requires maxUnavailable 0", () => {
    const d = deployment();
    d.spec.strategy.rollingUpdate.maxUnavailable = 1;
    assert.deepEqual(evaluate(TYPES.deployment, d), [
      [
        "sentinel-rolling-update",
        `${D} sets strategy.rollingUpdate.maxUnavailable to 1; it must be 0 so a rollout never removes a ` +
          "serving pod before its replacement is ready",
      ],
    ]);
  });

  it("rejects Recreate and the Kubernetes default of 25%", () => {
    const recreate = deployment();
    recreate.spec.strategy = { type: "Recreate" };
    assert.deepEqual(evaluate(TYPES.deployment, recreate), [
      [
        "sentinel-rolling-update",
        `${D} uses strategy Recreate; it must be RollingUpdate with maxUnavailable 0`,
      ],
    ]);
    const unset = deployment();
    delete unset.spec.strategy;
    assert.deepEqual(evaluate(TYPES.deployment, unset), [
      [
        "sentinel-rolling-update",
        `${D} does not set strategy.rollingUpdate.maxUnavailable (Kubernetes defaults to 25%); it must be 0 so ` +
          "a rollout never removes a serving pod before its replacement is ready",
      ],
    ]);
  });
});

describe("policy sentinel-probes", () => {
  it("requires liveness, readiness and startup probes", () => {
    const d = deployment();
    delete container(d).startupProbe;
    assert.deepEqual(evaluate(TYPES.deployment, d), [
      ["sentinel-probes", `${D}: container "sentinel" has no startupProbe`],
    ]);
    delete container(d).livenessProbe;
    delete container(d).readinessProbe;
    assert.deepEqual(evaluate(TYPES.deployment, d), [
      ["sentinel-probes", `${D}: container "sentinel" has no livenessProbe`],
      ["sentinel-probes", `${D}: container "sentinel" has no readinessProbe`],
      ["sentinel-probes", `${D}: container "sentinel" has no startupProbe`],
    ]);
  });
});

describe("policy sentinel-resources", () => {
  it("requires cpu and memory requests and limits", () => {
    const d = deployment();
    delete container(d).resources.limits.memory;
    assert.deepEqual(evaluate(TYPES.deployment, d), [
      ["sentinel-resources", `${D}: container "sentinel" has no resources.limits.memory`],
    ]);
    delete container(d).resources.requests;
    assert.deepEqual(evaluate(TYPES.deployment, d), [
      ["sentinel-resources", `${D}: container "sentinel" has no resources.requests.cpu`],
      ["sentinel-resources", `${D}: container "sentinel" has no resources.requests.memory`],
      ["sentinel-resources", `${D}: container "sentinel" has no resources.limits.memory`],
    ]);
  });
});

describe("policy sentinel-node-placement", () => {
  const notRequired =
    `${D}: pods are not required onto node-class=sentinel nodes; a toleration alone lets them land on any ` +
    "node (add required node affinity node-class In [sentinel] or nodeSelector node-class: sentinel)";
  const notTolerated = `${D}: pods do not tolerate the taint node-class=sentinel:NoSchedule, so they cannot run on sentinel nodes`;

  it("rejects a toleration without a requirement (the spec's known flaw), accepts a nodeSelector instead", () => {
    const d = deployment();
    delete podSpec(d).affinity;
    assert.deepEqual(evaluate(TYPES.deployment, d), [["sentinel-node-placement", notRequired]]);
    podSpec(d).nodeSelector = { "node-class": "sentinel" };
    assert.deepEqual(evaluate(TYPES.deployment, d), []);
  });

  it("rejects an affinity with another term (terms are ORed) or another value", () => {
    const d = deployment();
    const required = podSpec(d).affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution;
    required.nodeSelectorTerms.push({
      matchExpressions: [{ key: "pool", operator: "In", values: ["general"] }],
    });
    assert.deepEqual(evaluate(TYPES.deployment, d), [["sentinel-node-placement", notRequired]]);
    required.nodeSelectorTerms = [
      { matchExpressions: [{ key: "node-class", operator: "In", values: ["sentinel", "general"] }] },
    ];
    assert.deepEqual(evaluate(TYPES.deployment, d), [["sentinel-node-placement", notRequired]]);
  });

  it("requires the toleration, with the taint's effect", () => {
    const d = deployment();
    podSpec(d).tolerations = [];
    assert.deepEqual(evaluate(TYPES.deployment, d), [["sentinel-node-placement", notTolerated]]);
    podSpec(d).tolerations = [
      { key: "node-class", operator: "Equal", value: "sentinel", effect: "NoExecute" },
    ];
    assert.deepEqual(evaluate(TYPES.deployment, d), [["sentinel-node-placement", notTolerated]]);
    podSpec(d).tolerations = [{ key: "node-class", operator: "Exists" }];
    assert.deepEqual(evaluate(TYPES.deployment, d), []);
  });

  it("takes the node class from policy config, to mirror the fleet's nodeClass", () => {
    const d = deployment({ nodeClass: { key: "pool", value: "edge" } });
    assert.deepEqual(evaluate(TYPES.deployment, d), [
      ["sentinel-node-placement", notTolerated],
      ["sentinel-node-placement", notRequired],
    ]);
    assert.deepEqual(
      evaluate(TYPES.deployment, d, { "sentinel-node-placement": { key: "pool", value: "edge" } }),
      [],
    );
  });
});

describe("policy sentinel-pdb-drainable", () => {
  const P = "PodDisruptionBudget sentinel/abcdefgh1234";

  it("rejects minAvailable, which blocks a single-replica drain", () => {
    const p = pdb();
    delete p.spec.maxUnavailable;
    p.spec.minAvailable = 1;
    assert.deepEqual(evaluate(TYPES.podDisruptionBudget, p), [
      [
        "sentinel-pdb-drainable",
        `${P} sets minAvailable; any value >= 1 blocks every drain of a single-replica or scaled-down ` +
          "sentinel and 0 protects nothing: use maxUnavailable",
      ],
      [
        "sentinel-pdb-drainable",
        `${P} does not set maxUnavailable; it must be an integer >= 1 or a percentage above 0%`,
      ],
    ]);
  });

  it("rejects minAvailable even while its value is not known", () => {
    const p = pdb();
    p.spec.minAvailable = UNKNOWN_MARKERS[2];
    assert.deepEqual(
      evaluate(TYPES.podDisruptionBudget, p).map(([, message]) => message.split(";")[0]),
      [`${P} sets minAvailable`],
    );
  });

  it("requires maxUnavailable >= 1 or above 0%", () => {
    for (const bad of [0, "0%", "1", 0.5]) {
      const p = pdb();
      p.spec.maxUnavailable = bad;
      assert.deepEqual(evaluate(TYPES.podDisruptionBudget, p), [
        [
          "sentinel-pdb-drainable",
          `${P} sets maxUnavailable to ${typeof bad === "string" ? bad : JSON.stringify(bad)}; it must be an ` +
            "integer >= 1 or a percentage above 0%, or no pod can ever be evicted",
        ],
      ]);
    }
    for (const good of [1, 2, "1%", "50%"]) {
      const p = pdb();
      p.spec.maxUnavailable = good;
      assert.deepEqual(evaluate(TYPES.podDisruptionBudget, p), [], String(good));
    }
  });

  it("requires unhealthyPodEvictionPolicy AlwaysAllow", () => {
    const p = pdb();
    p.spec.unhealthyPodEvictionPolicy = "IfHealthyBudget";
    assert.deepEqual(evaluate(TYPES.podDisruptionBudget, p), [
      [
        "sentinel-pdb-drainable",
        `${P} sets unhealthyPodEvictionPolicy to IfHealthyBudget; it must be AlwaysAllow so pods that are not ` +
          "ready never block a drain",
      ],
    ]);
    delete p.spec.unhealthyPodEvictionPolicy;
    assert.deepEqual(evaluate(TYPES.podDisruptionBudget, p), [
      [
        "sentinel-pdb-drainable",
        `${P} does not set unhealthyPodEvictionPolicy; it must be AlwaysAllow so pods that are not ready never ` +
          "block a drain",
      ],
    ]);
  });
});

describe("policy sentinel-images-pinned", () => {
  const digest = `ghcr.io/unkeyed/unkey@sha256:${"a".repeat(64)}`;

  it("accepts a tag or a digest", () => {
    assert.deepEqual(evaluate(TYPES.deployment, deployment({ image: digest })), []);
    assert.deepEqual(evaluate(TYPES.deployment, deployment({ image: "registry.local:5000/unkey:v2" })), []);
  });

  it("rejects latest, an implicit latest, and a registry port mistaken for a tag", () => {
    for (const image of [
      "ghcr.io/unkeyed/unkey:latest",
      "ghcr.io/unkeyed/unkey",
      "registry.local:5000/unkey",
    ]) {
      assert.deepEqual(evaluate(TYPES.deployment, deployment({ image })), [
        [
          "sentinel-images-pinned",
          `${D}: container "sentinel" image ${image} is not pinned; use a digest (@sha256:...) or an explicit ` +
            "tag other than latest",
        ],
      ]);
    }
  });

  it("checks init containers too, and parses references", () => {
    const d = deployment();
    podSpec(d).initContainers = [
      { name: "migrate", image: "busybox", securityContext: clone(container(d).securityContext) },
    ];
    assert.deepEqual(evaluate(TYPES.deployment, d), [
      [
        "sentinel-images-pinned",
        `${D}: init container "migrate" image busybox is not pinned; use a digest (@sha256:...) or an explicit ` +
          "tag other than latest",
      ],
    ]);
    assert.equal(isPinnedImage("unkey:v2@sha256:" + "0".repeat(64)), true);
    assert.equal(isPinnedImage("unkey@sha256:abc"), false);
    assert.equal(isPinnedImage("unkey:LATEST"), false);
  });
});

describe("policy sentinel-credentials-in-secrets", () => {
  const C = `${D}: container "sentinel"`;
  const fromSecret = "credentials must come from a Secret (envFrom secretRef or valueFrom.secretKeyRef)";

  it("rejects a credential variable with a plain value, accepts secretKeyRef", () => {
    const d = deployment();
    container(d).env.push({ name: ENV_VARS.databasePrimary, value: "u:p@tcp(db:3306)/unkey" });
    assert.deepEqual(evaluate(TYPES.deployment, d), [
      [
        "sentinel-credentials-in-secrets",
        `${C} sets ${ENV_VARS.databasePrimary} as a plain env value; ${fromSecret}`,
      ],
    ]);
    container(d).env[1] = {
      name: ENV_VARS.databasePrimary,
      valueFrom: { secretKeyRef: { name: "db-secret", key: ENV_VARS.databasePrimary } },
    };
    assert.deepEqual(evaluate(TYPES.deployment, d), []);
    // Set to a value not known yet (a marker, or dropped to undefined): still a plain value.
    for (const value of [UNKNOWN_VALUE, undefined]) {
      container(d).env[1] = { name: ENV_VARS.redisUrl, value };
      assert.deepEqual(evaluate(TYPES.deployment, d), [
        [
          "sentinel-credentials-in-secrets",
          `${C} sets ${ENV_VARS.redisUrl} as a plain env value; ${fromSecret}`,
        ],
      ]);
    }
    container(d).env[1] = {
      name: ENV_VARS.otelHeaders,
      valueFrom: { configMapKeyRef: { name: "otel", key: "headers" } },
    };
    assert.deepEqual(evaluate(TYPES.deployment, d), [
      [
        "sentinel-credentials-in-secrets",
        `${C} takes ${ENV_VARS.otelHeaders} from something other than a Secret; ${fromSecret}`,
      ],
    ]);
  });

  it("rejects any env value shaped like a credential, without repeating it", () => {
    const cases: [string, string][] = [
      ["mysql://sentinel:hunter2@db:3306/unkey", "a URL with user:password@"],
      ["sentinel:hunter2@tcp(db:3306)/unkey?parseTime=true", "a MySQL DSN user:password@tcp(...)"],
      ["host=db user=sentinel password=hunter2", "password="],
    ];
    for (const [value, shape] of cases) {
      const d = deployment();
      container(d).env.push({ name: "EXTRA", value });
      const found = evaluate(TYPES.deployment, d);
      assert.deepEqual(found, [
        [
          "sentinel-credentials-in-secrets",
          `${C} env EXTRA holds what looks like a credential (${shape}); move it into a Secret`,
        ],
      ]);
      assert.ok(!found[0][1].includes("hunter2"));
    }
  });

  it("requires the TOML's credential keys to be ${VAR} references", () => {
    const toml = workload().configToml;
    assert.ok(toml.includes('"${UNKEY_DATABASE_PRIMARY}"'));
    const literal = toml.replace('"${UNKEY_DATABASE_PRIMARY}"', '"mysql-primary.platform:3306"');
    assert.deepEqual(evaluate(TYPES.deployment, deployment({ configToml: literal })), [
      [
        "sentinel-credentials-in-secrets",
        `${C} ${ENV_VARS.config} sets database.primary to a literal value; it must be exactly a \${VAR} ` +
          "reference so the credential stays in a Secret",
      ],
    ]);
    const dsn = toml.replace('"${UNKEY_REDIS_URL}"', '"redis://:hunter2@redis:6379"');
    assert.deepEqual(evaluate(TYPES.deployment, deployment({ configToml: dsn })), [
      [
        "sentinel-credentials-in-secrets",
        `${C} env ${ENV_VARS.config} holds what looks like a credential (a URL with user:password@); move it into a Secret`,
      ],
      [
        "sentinel-credentials-in-secrets",
        `${C} ${ENV_VARS.config} sets redis.url to a literal value; it must be exactly a \${VAR} reference so the ` +
          "credential stays in a Secret",
      ],
    ]);
    const missing = toml.replace(/\[clickhouse\]\nurl = .*\n/, "");
    assert.notEqual(missing, toml);
    assert.deepEqual(evaluate(TYPES.deployment, deployment({ configToml: missing })), [
      [
        "sentinel-credentials-in-secrets",
        `${C} ${ENV_VARS.config} has no clickhouse.url; it must be a \${VAR} reference`,
      ],
    ]);
    assert.deepEqual(evaluate(TYPES.deployment, deployment({ configToml: "primary = " })), [
      ["sentinel-credentials-in-secrets", `${C} ${ENV_VARS.config} is not valid TOML`],
    ]);
  });

  it("requires a Secret to carry data or stringData, and keeps credentials out of ConfigMaps", () => {
    const s = secret();
    s.stringData = {};
    assert.deepEqual(evaluate(TYPES.secret, s), [
      [
        "sentinel-credentials-in-secrets",
        "Secret sentinel/sentinel-redis-env-1 has no data or stringData; a Secret must carry its values there",
      ],
    ]);
    s.data = { [ENV_VARS.redisUrl]: Buffer.from("rediss://:pw@redis:6380").toString("base64") };
    assert.deepEqual(evaluate(TYPES.secret, s), []);
    assert.deepEqual(evaluate(TYPES.configMap, configMap({ endpoint: "http://otel:4318" })), []);
    assert.deepEqual(evaluate(TYPES.configMap, configMap({ redis: "rediss://:hunter2@redis:6380" })), [
      [
        "sentinel-credentials-in-secrets",
        "ConfigMap sentinel/extra key redis holds what looks like a credential (a URL with user:password@); " +
          "credentials belong in a Secret",
      ],
    ]);
  });

  it("does not mistake the sentinel's own values for credentials", () => {
    for (const text of [
      workload().configToml,
      "http://otel-collector.observability:4318",
      "${UNKEY_REDIS_URL}",
    ]) {
      assert.equal(credentialShape(text), null, text);
    }
  });
});

describe("policy sentinel-probe-paths-distinct (advisory)", () => {
  it("flags liveness and readiness on one endpoint", () => {
    const path = "/_unkey/internal/health";
    const same = deployment({ probes: { liveness: path, readiness: path, startup: path } });
    const found = evaluatePolicies([{ type: TYPES.deployment, name: "r", urn: "urn:r", props: same }]);
    assert.deepEqual(
      found.map((v) => [v.policy, v.enforcementLevel, v.message]),
      [
        [
          "sentinel-probe-paths-distinct",
          "advisory",
          `${D}: container "sentinel" liveness and readiness probes both GET ${path}; readiness should report ` +
            "whether the sentinel can serve (database, Redis) on its own path, liveness only that the process is alive",
        ],
      ],
    );
    assert.deepEqual(evaluate(TYPES.deployment, deployment()), []);
  });
});

describe("policy sentinel-pod-security", () => {
  const only = (d: Obj) =>
    evaluate(TYPES.deployment, d).filter(([policy]) => policy === "sentinel-pod-security");
  const C = `${D}: container "sentinel"`;

  it("passes the builder's pods, with the settings on the pod or on the container", () => {
    assert.deepEqual(only(deployment()), []);
    const d = deployment();
    const { runAsNonRoot, seccompProfile } = podSpec(d).securityContext;
    podSpec(d).securityContext = {};
    Object.assign(container(d).securityContext, { runAsNonRoot, seccompProfile });
    assert.deepEqual(only(d), []);
  });

  // One broken field at a time: [what, break it, the message].
  const cases: [string, (d: Obj) => void, string][] = [
    [
      "runAsNonRoot absent",
      (d) => delete podSpec(d).securityContext.runAsNonRoot,
      `${D}: container "sentinel" must run with runAsNonRoot: true (pod or container)`,
    ],
    [
      "runAsNonRoot false on the container",
      (d) => (container(d).securityContext.runAsNonRoot = false),
      `${D}: container "sentinel" must run with runAsNonRoot: true (pod or container)`,
    ],
    [
      "user 0",
      (d) => (podSpec(d).securityContext.runAsUser = 0),
      `${D}: container "sentinel" must not run as user 0 (runAsUser)`,
    ],
    [
      "user 0 on the container",
      (d) => (container(d).securityContext.runAsUser = 0),
      `${D}: container "sentinel" must not run as user 0 (runAsUser)`,
    ],
    [
      "no seccomp profile",
      (d) => delete podSpec(d).securityContext.seccompProfile,
      `${D}: container "sentinel" must use seccompProfile RuntimeDefault (or Localhost), on the pod or the container`,
    ],
    [
      "Unconfined on the container",
      (d) => (container(d).securityContext.seccompProfile = { type: "Unconfined" }),
      `${D}: container "sentinel" must use seccompProfile RuntimeDefault (or Localhost), on the pod or the container`,
    ],
    [
      "escalation allowed",
      (d) => (container(d).securityContext.allowPrivilegeEscalation = true),
      `${C} must set securityContext.allowPrivilegeEscalation: false`,
    ],
    [
      "escalation not set",
      (d) => delete container(d).securityContext.allowPrivilegeEscalation,
      `${C} must set securityContext.allowPrivilegeEscalation: false`,
    ],
    ["privileged", (d) => (container(d).securityContext.privileged = true), `${C} must not be privileged`],
    [
      "capabilities kept",
      (d) => (container(d).securityContext.capabilities.drop = ["NET_RAW"]),
      `${C} must drop every capability (securityContext.capabilities.drop: [ALL])`,
    ],
    [
      "capability added",
      (d) => (container(d).securityContext.capabilities.add = ["NET_ADMIN", "NET_BIND_SERVICE"]),
      `${C} adds capabilities NET_ADMIN; only NET_BIND_SERVICE is allowed`,
    ],
    [
      "writable root",
      (d) => (container(d).securityContext.readOnlyRootFilesystem = false),
      `${C} must set securityContext.readOnlyRootFilesystem: true (mount an emptyDir where it writes)`,
    ],
    ["hostNetwork", (d) => (podSpec(d).hostNetwork = true), `${D}: pods must not use hostNetwork`],
    ["hostPID", (d) => (podSpec(d).hostPID = true), `${D}: pods must not use hostPID`],
    [
      "hostPath volume",
      (d) => podSpec(d).volumes.push({ name: "host", hostPath: { path: "/" } }),
      `${D}: volume host is of type hostPath; the restricted standard allows configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret`,
    ],
  ];
  for (const [what, breakIt, message] of cases) {
    it(`rejects ${what}`, () => {
      const d = deployment();
      breakIt(d);
      assert.deepEqual(only(d), [["sentinel-pod-security", message]]);
    });
  }

  it("checks init containers and every workload type, and allows NET_BIND_SERVICE back", () => {
    const d = deployment();
    podSpec(d).initContainers = [{ name: "init", image: "busybox:1.36" }];
    assert.deepEqual(
      only(d).map(([, m]) => m),
      [
        `${D}: init container "init" must set securityContext.allowPrivilegeEscalation: false`,
        `${D}: init container "init" must drop every capability (securityContext.capabilities.drop: [ALL])`,
        `${D}: init container "init" must set securityContext.readOnlyRootFilesystem: true (mount an emptyDir where it writes)`,
      ],
    );
    const ok = deployment();
    container(ok).securityContext.capabilities.add = ["NET_BIND_SERVICE"];
    assert.deepEqual(only(ok), []);
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: podSpec(deployment()) };
    assert.deepEqual(
      evaluate("kubernetes:core/v1:Pod", pod).filter(([p]) => p === "sentinel-pod-security"),
      [],
    );
    pod.spec.hostIPC = true;
    assert.deepEqual(
      evaluate("kubernetes:core/v1:Pod", pod).filter(([p]) => p === "sentinel-pod-security"),
      [["sentinel-pod-security", "Pod p: pods must not use hostIPC"]],
    );
  });

  it("does not report what is not known yet", () => {
    const d = deployment();
    podSpec(d).securityContext.runAsNonRoot = UNKNOWN_MARKERS[1];
    container(d).securityContext = UNKNOWN_MARKERS[6];
    podSpec(d).volumes = UNKNOWN_MARKERS[5];
    assert.deepEqual(only(d), []);
  });
});

describe("policy sentinel-graceful-termination", () => {
  const only = (d: Obj, config?: PackConfig) =>
    evaluate(TYPES.deployment, d, config).filter(([policy]) => policy === "sentinel-graceful-termination");

  it("passes a preStop sleep that the grace period outlasts, and an exec or httpGet hook", () => {
    assert.deepEqual(only(deployment()), []);
    const d = deployment();
    container(d).lifecycle = { preStop: { exec: { command: ["/bin/sleep", "5"] } } };
    assert.deepEqual(only(d), []);
  });

  it("rejects a container without a preStop hook", () => {
    const d = deployment({ pod: { ...POD_DEFAULTS, preStopSeconds: 0 } });
    assert.deepEqual(only(d), [
      [
        "sentinel-graceful-termination",
        `${D}: container "sentinel" has no preStop hook; without one a stopping pod gets SIGTERM while ` +
          "endpoints still send it requests (use lifecycle.preStop.sleep)",
      ],
    ]);
    // The fleet's pod.preStopSeconds 0 is a choice the pack can be told about.
    assert.deepEqual(only(d, { "sentinel-graceful-termination": { minPreStopSeconds: 0 } }), []);
  });

  it("rejects a sleep shorter than minPreStopSeconds", () => {
    const d = deployment({ pod: { ...POD_DEFAULTS, preStopSeconds: 3 } });
    assert.deepEqual(only(d), []);
    assert.deepEqual(only(d, { "sentinel-graceful-termination": { minPreStopSeconds: 5 } }), [
      [
        "sentinel-graceful-termination",
        `${D}: container "sentinel" preStop sleeps 3 s; at least 5 s keep a stopping pod serving while endpoints move`,
      ],
    ]);
  });

  it("rejects a grace period the sleep uses up, Kubernetes' default of 30 s included", () => {
    const d = deployment();
    podSpec(d).terminationGracePeriodSeconds = 10;
    const message = (grace: number, sleep: number) => [
      "sentinel-graceful-termination",
      `${D}: terminationGracePeriodSeconds ${grace} does not outlast container "sentinel"'s preStop sleep of ` +
        `${sleep} s; the pod is killed before it can drain`,
    ];
    assert.deepEqual(only(d), [message(10, 10)]);
    delete podSpec(d).terminationGracePeriodSeconds;
    container(d).lifecycle.preStop.sleep.seconds = 45;
    assert.deepEqual(only(d), [message(30, 45)]);
    podSpec(d).terminationGracePeriodSeconds = UNKNOWN_MARKERS[2];
    assert.deepEqual(only(d), []);
  });
});

describe("policy sentinel-namespace-pod-security", () => {
  const N = "Namespace sentinel";
  const only = (ns: Obj, config?: PackConfig) =>
    evaluate(TYPES.namespace, ns, config).filter(([policy]) => policy === "sentinel-namespace-pod-security");

  it("passes the fleet's namespace", () => {
    assert.deepEqual(only(namespace()), []);
  });

  it("requires enforce, warn and audit with valid levels", () => {
    const ns = namespace();
    delete ns.metadata.labels["pod-security.kubernetes.io/warn"];
    ns.metadata.labels["pod-security.kubernetes.io/audit"] = "strict";
    assert.deepEqual(only(ns), [
      [
        "sentinel-namespace-pod-security",
        `${N} has no label pod-security.kubernetes.io/warn; it must be one of restricted, baseline, privileged`,
      ],
      [
        "sentinel-namespace-pod-security",
        `${N} label pod-security.kubernetes.io/audit is "strict"; it must be one of restricted, baseline, privileged`,
      ],
    ]);
  });

  it("rejects an enforce level below minimumEnforce, which config can lower", () => {
    const ns = namespace();
    ns.metadata.labels["pod-security.kubernetes.io/enforce"] = "baseline";
    const below = [
      "sentinel-namespace-pod-security",
      `${N} enforces Pod Security level baseline; it must be restricted or stricter`,
    ];
    assert.deepEqual(only(ns), [below]);
    assert.deepEqual(only(ns, { "sentinel-namespace-pod-security": { minimumEnforce: "baseline" } }), []);
    ns.metadata.labels["pod-security.kubernetes.io/enforce"] = "privileged";
    assert.equal(only(ns, { "sentinel-namespace-pod-security": { minimumEnforce: "baseline" } }).length, 1);
  });

  it("rejects a version label that is not latest or v1.<minor>", () => {
    const ns = namespace();
    ns.metadata.labels["pod-security.kubernetes.io/enforce-version"] = "1.30";
    assert.deepEqual(only(ns), [
      [
        "sentinel-namespace-pod-security",
        `${N} label pod-security.kubernetes.io/enforce-version is 1.30; it must be latest or v1.<minor>`,
      ],
    ]);
    delete ns.metadata.labels["pod-security.kubernetes.io/enforce-version"];
    assert.deepEqual(only(ns), [], "a version label is optional (Kubernetes defaults to latest)");
  });
});

describe("evaluatePolicies", () => {
  it("applies enforcement levels from config and skips disabled policies", () => {
    const d = deployment({ image: "unkey:latest" });
    const urn = "urn:r";
    const run = (config: PackConfig) =>
      evaluatePolicies([{ type: TYPES.deployment, name: "r", urn, props: d }], config).map((v) => [
        v.policy,
        v.enforcementLevel,
        v.urn,
      ]);
    assert.deepEqual(run({}), [["sentinel-images-pinned", "mandatory", urn]]);
    assert.deepEqual(run({ "sentinel-images-pinned": "advisory" }), [
      ["sentinel-images-pinned", "advisory", urn],
    ]);
    assert.deepEqual(run({ "sentinel-images-pinned": { enforcementLevel: "disabled" } }), []);
  });

  it("does not report values that are not known yet", () => {
    const d = deployment();
    d.metadata.labels[LABELS.sentinelId] = UNKNOWN_VALUE;
    d.spec.strategy.rollingUpdate.maxUnavailable = UNKNOWN_MARKERS[2];
    podSpec(d).tolerations = UNKNOWN_VALUE;
    podSpec(d).affinity = UNKNOWN_MARKERS[6];
    container(d).image = UNKNOWN_VALUE;
    container(d).startupProbe = UNKNOWN_MARKERS[6];
    container(d).resources.limits = sdkUnknown;
    container(d).env[0].value = UNKNOWN_VALUE;
    const p = pdb();
    p.spec.maxUnavailable = UNKNOWN_MARKERS[2];
    p.spec.unhealthyPodEvictionPolicy = sdkUnknown;
    const s = service();
    s.spec = UNKNOWN_VALUE;
    delete s.metadata.labels[LABELS.sentinelId];
    const sec = secret();
    sec.stringData = { [SECRET_SIG_KEY]: SECRET_SIG, value: sdkUnknown };
    // The SDK's deserializer drops an unknown to an own property holding undefined.
    const u = deployment();
    u.metadata.labels[LABELS.appId] = undefined;
    u.spec.strategy.rollingUpdate.maxUnavailable = undefined;
    podSpec(u).tolerations = undefined;
    container(u).image = undefined;
    container(u).livenessProbe = undefined;
    const whole = { metadata: UNKNOWN_VALUE, spec: UNKNOWN_VALUE };
    const resources: [string, Obj][] = [
      [TYPES.deployment, d],
      [TYPES.podDisruptionBudget, p],
      [TYPES.service, s],
      [TYPES.secret, sec],
      [TYPES.deployment, u],
      [TYPES.deployment, whole],
      [TYPES.podDisruptionBudget, whole],
      [TYPES.secret, { metadata: { labels: { ...environmentLabels.metadata } }, stringData: UNKNOWN_VALUE }],
    ];
    for (const [type, props] of resources) assert.deepEqual(evaluate(type, props), [], JSON.stringify(props));
    // The same objects with the unknown parts broken instead are reported: the rules do look there.
    const broken = deployment({ image: "unkey:latest" });
    delete podSpec(broken).tolerations;
    assert.equal(evaluate(TYPES.deployment, broken).length, 2);
  });

  it("reads props through the policy server's unknown-checking proxy", () => {
    const d = deployment();
    d.spec.strategy.rollingUpdate.maxUnavailable = UNKNOWN_VALUE;
    const proxied = unknownCheckingProxy(d) as Obj;
    assert.throws(() => proxied.spec.strategy.rollingUpdate.maxUnavailable, /can't be known during preview/);
    assert.deepEqual(evaluate(TYPES.deployment, unknownCheckingProxy(d) as Obj), []);
    container(d).image = "unkey:latest";
    assert.deepEqual(
      evaluate(TYPES.deployment, unknownCheckingProxy(d) as Obj).map(([policy]) => policy),
      ["sentinel-images-pinned"],
    );
  });
});

describe("policy pack over the example program", () => {
  const asPlain = (resources: CapturedResource[]) =>
    resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs }));
  const config = readStackFile();
  const probes = config["sentinel-fleet:probes"] as { livenessPath: string; readinessPath: string };

  for (const preview of [false, true]) {
    it(`has no mandatory violations (${preview ? "preview" : "update"})`, async () => {
      const run = await runExample(preview);
      const types = new Set(run.resources.map((r) => r.type));
      for (const type of Object.values(TYPES).filter((t) => t !== TYPES.configMap))
        assert.ok(types.has(type), type);
      const violations = evaluatePolicies(asPlain(run.resources));
      assert.deepEqual(
        violations.filter((v) => v.enforcementLevel !== "advisory"),
        [],
      );
      // The example stack keeps the original's single health endpoint, which the advisory policy flags.
      const deployments = run.resources.filter((r) => r.type === TYPES.deployment).map((r) => r.urn);
      const expected = probes.livenessPath === probes.readinessPath ? deployments : [];
      assert.deepEqual(
        violations.map((v) => [v.policy, v.urn]),
        expected.map((urn) => ["sentinel-probe-paths-distinct", urn]),
      );

      // And a broken object in the same run is reported (secret envelopes and all).
      const broken = asPlain(run.resources).map((r) => ({ ...r, props: clone(r.props) }));
      const pdbIndex = broken.findIndex((r) => r.type === TYPES.podDisruptionBudget);
      broken[pdbIndex].props.spec.minAvailable = 1;
      const secretIndex = broken.findIndex((r) => r.type === TYPES.secret);
      broken[secretIndex].props.stringData = { [SECRET_SIG_KEY]: SECRET_SIG, value: {} };
      assert.deepEqual(
        evaluatePolicies(broken)
          .filter((v) => v.enforcementLevel === "mandatory")
          .map((v) => [v.policy, v.urn]),
        [
          ["sentinel-pdb-drainable", broken[pdbIndex].urn],
          ["sentinel-credentials-in-secrets", broken[secretIndex].urn],
        ],
      );
    });
  }

  it("has no violations at all with separate liveness and readiness paths", async () => {
    const run = await runExample(false, {
      "sentinel-fleet:probes": { livenessPath: "/live", readinessPath: "/ready", startupPath: "/live" },
    });
    assert.ok(run.resources.some((r) => r.type === TYPES.deployment));
    assert.deepEqual(evaluatePolicies(asPlain(run.resources)), []);
  });
});
