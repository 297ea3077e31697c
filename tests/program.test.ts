// The real program (index.ts) with the example stack, under the mock engine, in normal and preview mode.
import { strict as assert } from "assert";
import { parse as parseToml } from "smol-toml";
import { Namespace, Secret, Service } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { HEALTH_HOOK_NAME } from "../components/healthHook";
import { LABELS, PREWARM } from "../lib/constants";
import { podSecurityLabels, rolloutTimeoutSeconds } from "../lib/kube";
import { environmentObjectName } from "../lib/names";
import { proposeIdentity } from "../providers/identity";
import {
  DYNAMIC_TYPE,
  fillUnknowns,
  isSecretEnvelope,
  isUnknownValue,
  redactSecrets,
  UNKNOWN,
  unwrapSecrets,
  type CapturedResource,
  type ProgramRun,
} from "../synth/mockEngine";
import { exampleConfig, LEAK_MARKERS, runExample, strings, TEST_SECRETS } from "./support/fixtures";

const T = {
  deployment: "kubernetes:apps/v1:Deployment",
  service: "kubernetes:core/v1:Service",
  pdb: "kubernetes:policy/v1:PodDisruptionBudget",
  secret: "kubernetes:core/v1:Secret",
  namespace: "kubernetes:core/v1:Namespace",
  cnp: "kubernetes:cilium.io/v2:CiliumNetworkPolicy",
  k8sProvider: "pulumi:providers:kubernetes",
  environment: "sentinel-fleet:index:SentinelEnvironment",
  sentinel: "sentinel-fleet:index:Sentinel",
};

const REGION_IDS: Record<string, string> = { "us-east-1": "reg_use1", "eu-central-1": "reg_euc1" };
/** The example stack: environment → (slug, regions). */
const EXPECTED: Record<string, { slug: string; regions: string[]; cpu: string; memory: string }> = {
  env_storefront_prod: {
    slug: "production",
    regions: ["us-east-1", "eu-central-1"],
    cpu: "256m",
    memory: "256Mi",
  },
  env_storefront_preview: { slug: "preview", regions: ["us-east-1"], cpu: "256m", memory: "256Mi" },
  env_billing_staging: {
    slug: "staging",
    regions: ["us-east-1", "eu-central-1"],
    cpu: "500m",
    memory: "512Mi",
  },
};

const ofType = (run: ProgramRun, type: string) => run.resources.filter((r) => r.type === type);
const meta = (r: CapturedResource) =>
  r.inputs.metadata as { name: string; namespace: string; labels: Record<string, string> };
/** The region of a Kubernetes resource, from the provider it was registered with. */
const regionOf = (r: CapturedResource) => /::region-([a-z0-9-]+?)(-namespace)?::/.exec(r.provider)?.[1];

function sentinelsOf(run: ProgramRun) {
  return ofType(run, DYNAMIC_TYPE).map((record) => {
    const sentinelUrn = record.parent;
    const child = (type: string) => {
      const found = run.resources.filter((r) => r.type === type && r.parent === sentinelUrn);
      assert.equal(found.length, 1, `one ${type} under ${sentinelUrn}`);
      return found[0];
    };
    return { record, deployment: child(T.deployment), service: child(T.service), pdb: child(T.pdb) };
  });
}

/** True when the engine creates `r` after `urn`: one of its dependencies, or one of theirs. */
function waitsFor(run: ProgramRun, r: CapturedResource, urn: string, seen = new Set<string>()): boolean {
  if (seen.has(r.urn)) return false;
  seen.add(r.urn);
  if (r.dependencies.includes(urn)) return true;
  return r.dependencies.some((d) => {
    const dep = run.resources.find((x) => x.urn === d);
    return dep !== undefined && waitsFor(run, dep, urn, seen);
  });
}

/**
 * The environment variables a pod of this Deployment starts with, as the kubelet assembles them: its `env`, then
 * every key of each Secret its `envFrom` names in the same region and namespace. A missing Secret is an error
 * unless the reference is optional, as the kubelet treats it. Values are the unwrapped Secret data.
 */
function podEnvironment(run: ProgramRun, deployment: CapturedResource): Record<string, string> {
  const c = deployment.inputs.spec.template.spec.containers[0];
  const vars: Record<string, string> = {};
  for (const e of c.env as { name: string; value: string }[]) vars[e.name] = e.value;
  for (const from of c.envFrom as { secretRef: { name: string; optional: boolean } }[]) {
    const secret = ofType(run, T.secret).find(
      (s) =>
        meta(s).name === from.secretRef.name &&
        meta(s).namespace === meta(deployment).namespace &&
        regionOf(s) === regionOf(deployment),
    );
    if (secret === undefined) {
      assert.ok(
        from.secretRef.optional,
        `${deployment.name}: required Secret ${from.secretRef.name} is missing`,
      );
      continue;
    }
    Object.assign(vars, unwrapSecrets(secret.inputs.stringData) as Record<string, string>);
  }
  return vars;
}

for (const preview of [false, true]) {
  describe(`the program with the example stack (${preview ? "preview" : "up"})`, () => {
    let run: ProgramRun;
    before(async () => {
      run = await runExample(preview);
    });

    it("declares the expected objects per region and environment", () => {
      const count = (type: string) => ofType(run, type).length;
      assert.equal(count(T.environment), 3);
      assert.equal(count(T.sentinel), 5);
      assert.equal(count(DYNAMIC_TYPE), 5);
      assert.equal(count(T.deployment), 5);
      assert.equal(count(T.pdb), 5);
      assert.equal(count(T.service), 10); // a ClusterIP Service per sentinel, a gossip Service per environment and region
      assert.equal(count(T.secret), 5); // one per environment and region: every key its pods read
      assert.equal(count(T.cnp), 5);
      assert.equal(count(T.namespace), 2);
      assert.equal(count(T.k8sProvider), 4);
      // Two database logins per region, used alternately (tests/regionDatabase.test.ts).
      assert.equal(count("random:index/randomPassword:RandomPassword"), 4);
      assert.equal(count("mysql:index/user:User"), 4);
      assert.equal(count("mysql:index/grant:Grant"), 4);
      assert.equal(count("pulumi:providers:mysql"), 1);
      for (const type of [T.deployment, T.pdb, T.cnp]) {
        const perRegion = ofType(run, type).map(regionOf).sort();
        assert.deepEqual(
          perRegion,
          ["eu-central-1", "eu-central-1", "us-east-1", "us-east-1", "us-east-1"],
          type,
        );
      }
    });

    it("names every sentinel object after its row, with the proposed identity", () => {
      for (const { record, deployment, service, pdb } of sentinelsOf(run)) {
        const { environmentId, regionId } = record.inputs.spec as { environmentId: string; regionId: string };
        const proposed = proposeIdentity(environmentId, regionId);
        assert.equal(record.outputs.k8sName, proposed.k8sName);
        assert.equal(record.outputs.sentinelId, proposed.sentinelId);
        assert.equal(record.outputs.k8sAddress, `${proposed.k8sName}.sentinel.svc.cluster.local:8040`);
        // The row travels to the Kubernetes objects as one value.
        assert.deepEqual(
          [record.outputs.row.sentinelId, record.outputs.row.k8sName, record.outputs.row.k8sAddress],
          [proposed.sentinelId, proposed.k8sName, record.outputs.k8sAddress],
        );
        for (const r of [deployment, service, pdb]) {
          assert.equal(meta(r).name, proposed.k8sName);
          assert.equal(meta(r).namespace, "sentinel");
          assert.equal(meta(r).labels[LABELS.sentinelId], proposed.sentinelId);
        }
        // Pulumi names derive from the environment id and region name, never from list positions.
        const region = Object.keys(REGION_IDS).find((n) => REGION_IDS[n] === regionId) as string;
        assert.equal(record.name, `${environmentId}-${region}`);
        assert.equal(deployment.name, `${environmentId}-${region}`);
      }
    });

    it("creates each Deployment after its row, namespace, Secrets and gossip Service", () => {
      for (const { record, deployment, service, pdb } of sentinelsOf(run)) {
        const environment = run.resources.find(
          (r) => r.urn === run.resources.find((s) => s.urn === record.parent)?.parent,
        );
        const region = regionOf(deployment);
        const own = (type: string) =>
          run.resources
            .filter((r) => r.type === type && r.parent === environment?.urn && r.name.includes(`-${region}-`))
            .map((r) => r.urn);
        const secrets = own(T.secret);
        const gossip = own(T.service);
        assert.ok(
          secrets.length === 1 && gossip.length === 1,
          `${deployment.name}: its environment's objects`,
        );
        const namespace = run.resources.find(
          (r) => r.type === T.namespace && r.provider.includes(`region-${region}-namespace`),
        );
        for (const needed of [record.urn, ...secrets, ...gossip]) {
          assert.ok(deployment.dependencies.includes(needed), `${deployment.name} waits for ${needed}`);
        }
        for (const r of [service, pdb]) {
          assert.ok(r.dependencies.includes(record.urn), `${r.type} ${r.name} waits for its row`);
        }
        // The namespace is ordering, not an Output in every object: each object waits for it through what it
        // waits for (the row and the environment's objects wait for it directly).
        for (const r of [deployment, service, pdb, record]) {
          assert.ok(
            waitsFor(run, r, namespace?.urn as string),
            `${r.type} ${r.name} waits for the namespace`,
          );
        }
        for (const urn of [...secrets, ...gossip, record.urn]) {
          const direct = run.resources.find((x) => x.urn === urn) as CapturedResource;
          assert.ok(direct.dependencies.includes(namespace?.urn as string), `${urn} waits for the namespace`);
        }
      }
    });

    it("gives each sentinel the spec's rollout, placement, probes, ports and sizing", () => {
      for (const { record, deployment } of sentinelsOf(run)) {
        const env = EXPECTED[record.inputs.spec.environmentId as string];
        const spec = deployment.inputs.spec;
        assert.equal(spec.replicas, env.slug === "production" ? 3 : 1);
        assert.deepEqual(spec.strategy, {
          type: "RollingUpdate",
          rollingUpdate: { maxUnavailable: 0, maxSurge: 1 },
        });
        assert.equal(spec.minReadySeconds, 30);
        const pod = spec.template.spec;
        assert.deepEqual(pod.tolerations, [
          { key: "node-class", operator: "Equal", value: "sentinel", effect: "NoSchedule" },
        ]);
        assert.deepEqual(
          pod.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms,
          [{ matchExpressions: [{ key: "node-class", operator: "In", values: ["sentinel"] }] }],
        );
        assert.equal(pod.topologySpreadConstraints[0].topologyKey, "topology.kubernetes.io/zone");
        assert.equal(pod.topologySpreadConstraints[0].whenUnsatisfiable, "ScheduleAnyway");
        const c = pod.containers[0];
        assert.equal(c.image, "ghcr.io/unkeyed/unkey:v2.0.31");
        assert.deepEqual(c.args, ["run", "sentinel"]);
        assert.deepEqual(
          c.ports.map((p: any) => `${p.name}/${p.containerPort}/${p.protocol}`),
          ["sentinel/8040/TCP", "gossip-lan/7946/TCP", "gossip-lan-udp/7946/UDP"],
        );
        for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
          assert.equal(c[probe].httpGet.path, "/_unkey/internal/health", probe);
          assert.equal(c[probe].httpGet.port, 8040, probe);
        }
        assert.deepEqual(c.resources, {
          requests: { cpu: env.cpu, memory: env.memory },
          limits: { cpu: env.cpu, memory: env.memory },
        });
        assert.deepEqual(deployment.customTimeouts, {
          create: `${rolloutTimeoutSeconds(spec.replicas)}s`,
          update: `${rolloutTimeoutSeconds(spec.replicas)}s`,
          delete: "",
        });
      }
    });

    it("configures each sentinel through TOML that joins the environment's gossip Service", () => {
      for (const { record, deployment } of sentinelsOf(run)) {
        const envId = record.inputs.spec.environmentId as string;
        const c = deployment.inputs.spec.template.spec.containers[0];
        assert.equal(c.env.length, 1);
        const toml = parseToml(c.env[0].value) as any;
        assert.equal(toml.sentinel_id, record.outputs.sentinelId);
        assert.equal(toml.environment_id, envId);
        assert.equal(toml.workspace_id, meta(deployment).labels[LABELS.workspaceId]);
        assert.equal(toml.platform, "aws");
        assert.equal(toml.region, deployment.inputs.metadata.annotations["unkey.com/region"]);
        const gossipName = environmentObjectName("gossip", envId);
        assert.deepEqual(toml.gossip.lan_seeds, [`${gossipName}.sentinel.svc.cluster.local`]);
        assert.equal(toml.database.primary, "${UNKEY_DATABASE_PRIMARY}");
        // The name the pods read is the Secret this environment created in the same region.
        const secretNames = c.envFrom.map((e: any) => e.secretRef.name);
        assert.deepEqual(secretNames, [environmentObjectName("env", envId)]);
        const region = regionOf(deployment);
        for (const name of secretNames) {
          assert.ok(
            ofType(run, T.secret).some((s) => meta(s).name === name && regionOf(s) === region),
            `Secret ${name} exists in ${region}`,
          );
        }
        assert.ok(ofType(run, T.service).some((s) => meta(s).name === gossipName && regionOf(s) === region));
      }
    });

    it("gives every pod exactly the variables the four per-kind Secrets gave, from one Secret", function () {
      // A preview does not know the generated database password, so a Secret's data is one unknown there.
      if (preview) this.skip();
      for (const { record, deployment } of sentinelsOf(run)) {
        const region = regionOf(deployment) as string;
        const vars = podEnvironment(run, deployment);
        assert.deepEqual(Object.keys(vars).sort(), [
          "OTEL_EXPORTER_OTLP_ENDPOINT",
          "OTEL_EXPORTER_OTLP_HEADERS",
          "UNKEY_CLICKHOUSE_URL",
          "UNKEY_CONFIG_DATA",
          "UNKEY_DATABASE_PRIMARY",
          "UNKEY_DATABASE_REPLICA",
          "UNKEY_REDIS_URL",
        ]);
        assert.equal(vars.UNKEY_CLICKHOUSE_URL, TEST_SECRETS["sentinel-fleet:clickhouseUrl"]);
        assert.equal(vars.UNKEY_REDIS_URL, TEST_SECRETS["sentinel-fleet:redisUrl"]);
        assert.equal(vars.OTEL_EXPORTER_OTLP_HEADERS, TEST_SECRETS["sentinel-fleet:otelHeaders"]);
        assert.equal(
          vars.OTEL_EXPORTER_OTLP_ENDPOINT,
          "http://otel-collector.observability.svc.cluster.local:4318",
        );
        const user = `sentinel_${region.replace(/-/g, "_")}:`;
        assert.ok(vars.UNKEY_DATABASE_PRIMARY.startsWith(user), `${record.name}: the region's own login`);
        assert.ok(vars.UNKEY_DATABASE_REPLICA.startsWith(user), `${record.name}: the region's own login`);
      }
    });

    it("selects the same pods from the Deployment, the Service and the PodDisruptionBudget", () => {
      for (const { deployment, service, pdb } of sentinelsOf(run)) {
        const selector = deployment.inputs.spec.selector.matchLabels;
        assert.deepEqual(Object.keys(selector), [LABELS.sentinelId]);
        assert.deepEqual(service.inputs.spec.selector, selector);
        assert.deepEqual(pdb.inputs.spec.selector.matchLabels, selector);
        assert.deepEqual(
          deployment.inputs.spec.template.spec.topologySpreadConstraints[0].labelSelector.matchLabels,
          selector,
        );
        const podLabels = deployment.inputs.spec.template.metadata.labels;
        for (const [k, v] of Object.entries(selector)) assert.equal(podLabels[k], v);
        assert.equal(service.inputs.spec.type, "ClusterIP");
        assert.deepEqual(pdb.inputs.spec, {
          maxUnavailable: 1,
          unhealthyPodEvictionPolicy: "AlwaysAllow",
          selector: { matchLabels: selector },
        });
      }
    });

    it("labels every Kubernetes object", () => {
      const k8sObjects = run.resources.filter((r) => r.type.startsWith("kubernetes:"));
      assert.equal(k8sObjects.length, 32);
      for (const r of k8sObjects) {
        const labels = meta(r).labels;
        assert.equal(labels[LABELS.managedBy], "sentinel-fleet", r.urn);
        if (r.type === T.namespace) {
          assert.deepEqual(labels, {
            [LABELS.managedBy]: "sentinel-fleet",
            [LABELS.component]: "sentinel",
            ...podSecurityLabels({ enforce: "restricted", warn: "restricted", audit: "restricted" }),
          });
          continue;
        }
        for (const key of [LABELS.workspaceId, LABELS.projectId, LABELS.appId, LABELS.environmentId]) {
          assert.ok(typeof labels[key] === "string" && labels[key] !== "", `${r.urn} lacks ${key}`);
        }
        const gossip = r.type === T.cnp || (r.type === T.service && r.inputs.spec.clusterIP === "None");
        assert.equal(labels[LABELS.component], gossip ? "gossip-lan" : "sentinel", r.urn);
        const perSentinel = [T.deployment, T.pdb].includes(r.type) || (r.type === T.service && !gossip);
        assert.equal(
          typeof labels[LABELS.sentinelId] === "string",
          perSentinel,
          `${r.urn} sentinel id label`,
        );
      }
    });

    it("owns the shared namespace once per region, outside every environment, and never deletes it", () => {
      const namespaces = ofType(run, T.namespace);
      assert.deepEqual(namespaces.map(regionOf).sort(), ["eu-central-1", "us-east-1"]);
      for (const ns of namespaces) {
        assert.equal(meta(ns).name, "sentinel");
        assert.equal(ns.parent, "", "the namespace belongs to the stack, not to an environment");
        assert.equal(ns.retainOnDelete, true);
        const provider = run.resources.find((r) => ns.provider.startsWith(`${r.urn}::`));
        // Provider inputs travel JSON-encoded, as the engine passes provider configuration.
        assert.equal(provider?.inputs.upsertExistingObjects, "true");
      }
      // Everything environment-specific is named per environment, so no two resources own one object.
      const keys = run.resources
        .filter((r) => r.type.startsWith("kubernetes:"))
        .map((r) => `${regionOf(r)}/${r.type}/${meta(r).namespace ?? ""}/${meta(r).name}`);
      assert.equal(new Set(keys).size, keys.length);
    });

    it("connects each region through its own kube context, with Secrets updated in place", () => {
      const providers = ofType(run, T.k8sProvider).filter((p) => !p.name.endsWith("-namespace"));
      assert.deepEqual(
        providers.map((p) => [p.name, p.inputs.context, p.inputs.enableSecretMutable]),
        [
          ["region-us-east-1", "kind-us-east-1", "true"],
          ["region-eu-central-1", "kind-eu-central-1", "true"],
        ],
      );
      for (const r of run.resources.filter(
        (x) => x.type.startsWith("kubernetes:") && x.type !== T.namespace,
      )) {
        assert.ok(r.provider.includes(`::region-${regionOf(r)}::`), `${r.urn} uses its region's provider`);
      }
    });

    it("marks every Secret's data secret and keeps secrets out of plain inputs, outputs and exports", () => {
      for (const s of ofType(run, T.secret)) {
        assert.ok(isSecretEnvelope(s.inputs.stringData), `${meta(s).name} stringData is secret`);
        assert.equal(s.inputs.type, "Opaque");
      }
      const mysqlProvider = ofType(run, "pulumi:providers:mysql")[0];
      assert.ok(isSecretEnvelope(mysqlProvider.inputs.password));
      const visible = run.resources.flatMap((r) => [
        ...strings(redactSecrets(r.inputs), `${r.urn}.inputs`),
        ...strings(redactSecrets(r.outputs), `${r.urn}.outputs`),
      ]);
      visible.push(...strings(run.exports, "exports"));
      for (const { path, value } of visible) {
        for (const marker of LEAK_MARKERS) assert.ok(!value.includes(marker), `plaintext secret at ${path}`);
      }
      // The same search does find the secrets inside the envelopes, so it is not blind.
      const all = run.resources.flatMap((r) => strings(unwrapSecrets(r.inputs))).map((s) => s.value);
      assert.ok(all.some((v) => v.includes(TEST_SECRETS["sentinel-fleet:databasePassword"])));
      // A preview does not know the generated database password, so each Secret's data is one unknown there.
      if (!preview) assert.ok(all.some((v) => v.includes(TEST_SECRETS["sentinel-fleet:redisUrl"])));
    });

    it("exports each sentinel's id, Kubernetes name and address, and nothing secret", () => {
      const exported = run.exports.sentinels as Record<string, Record<string, any>>;
      assert.deepEqual(Object.keys(exported).sort(), Object.keys(EXPECTED).sort());
      for (const { record } of sentinelsOf(run)) {
        const region = Object.keys(REGION_IDS).find(
          (n) => REGION_IDS[n] === record.inputs.spec.regionId,
        ) as string;
        assert.deepEqual(exported[record.inputs.spec.environmentId as string][region], {
          sentinelId: record.outputs.sentinelId,
          k8sName: record.outputs.k8sName,
          address: record.outputs.k8sAddress,
        });
      }
      for (const [env, expected] of Object.entries(EXPECTED)) {
        assert.deepEqual(Object.keys(exported[env]).sort(), [...expected.regions].sort());
      }
    });

    it("attaches the row-health and prewarm hooks to every Deployment and to nothing else", () => {
      for (const r of run.resources) {
        const expected = r.type === T.deployment ? [HEALTH_HOOK_NAME, PREWARM.hookName] : [];
        assert.deepEqual(r.hooks.afterCreate, expected, r.urn);
        assert.deepEqual(r.hooks.afterUpdate, expected, r.urn);
      }
    });

    it("emits objects that validate against the Kubernetes OpenAPI schema", () => {
      const models: Record<string, new (data: any) => { validate(): void }> = {
        [T.namespace]: Namespace,
        [T.secret]: Secret,
        [T.deployment]: Deployment,
        [T.service]: Service,
        [T.pdb]: PodDisruptionBudget,
      };
      let validated = 0;
      for (const r of run.resources) {
        const Model = models[r.type];
        if (Model === undefined) continue;
        // A preview does not know generated passwords yet: a wholly unknown stringData (the DSN Secret) is left
        // out, unknown strings stand in as strings, as they will be.
        const inputs = unwrapSecrets(r.inputs) as Record<string, unknown>;
        if (isUnknownValue(inputs.stringData)) delete inputs.stringData;
        const data = fillUnknowns(inputs, "x");
        new Model(data).validate();
        validated++;
      }
      assert.equal(validated, 2 + 5 + 5 + 10 + 5);
    });

    it("keeps every sentinel name known even in preview", () => {
      for (const { record, deployment } of sentinelsOf(run)) {
        assert.notEqual(record.outputs.k8sName, UNKNOWN);
        assert.notEqual(meta(deployment).name, UNKNOWN);
        assert.equal(record.id === undefined, preview);
      }
    });
  });
}

describe("the program with other settings", () => {
  it("deploys only its shard's regions, skipping environments with no sentinel there", async () => {
    const run = await runExample(true, { "sentinel-fleet:deployRegions": ["eu-central-1"] });
    const k8s = run.resources.filter((r) => r.type.startsWith("kubernetes:"));
    assert.ok(k8s.length > 0);
    for (const r of k8s) assert.equal(regionOf(r), "eu-central-1", r.urn);
    assert.deepEqual(
      ofType(run, T.k8sProvider)
        .map((p) => p.name)
        .sort(),
      ["region-eu-central-1", "region-eu-central-1-namespace"],
    );
    // The preview environment runs only in us-east-1: this shard declares nothing for it.
    assert.deepEqual(
      ofType(run, T.environment)
        .map((e) => e.name)
        .sort(),
      ["env_billing_staging", "env_storefront_prod"],
    );
    assert.equal(ofType(run, T.deployment).length, 2);
    assert.equal(ofType(run, "mysql:index/user:User").length, 2); // the region's logins A and B
    const exported = run.exports.sentinels as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(exported).sort(), ["env_billing_staging", "env_storefront_prod"]);
    for (const regions of Object.values(exported)) assert.deepEqual(Object.keys(regions), ["eu-central-1"]);
  });

  it("creates no CiliumNetworkPolicy on clusters without Cilium, and no OpenTelemetry keys without otel", async () => {
    const run = await runExample(false, {
      "sentinel-fleet:ciliumNetworkPolicies": false,
      "sentinel-fleet:otel": undefined,
      "sentinel-fleet:otelHeaders": undefined,
    });
    assert.equal(ofType(run, T.cnp).length, 0);
    assert.equal(ofType(run, T.secret).length, 5);
    for (const { deployment } of sentinelsOf(run)) {
      assert.equal(deployment.inputs.spec.template.spec.containers[0].envFrom.length, 1);
      assert.deepEqual(Object.keys(podEnvironment(run, deployment)).sort(), [
        "UNKEY_CLICKHOUSE_URL",
        "UNKEY_CONFIG_DATA",
        "UNKEY_DATABASE_PRIMARY",
        "UNKEY_DATABASE_REPLICA",
        "UNKEY_REDIS_URL",
      ]);
    }
  });

  it("sends OpenTelemetry headers only as a secret, and keeps rows on delete when asked", async () => {
    const run = await runExample(false, { "sentinel-fleet:retainSentinelRows": true });
    const secrets = ofType(run, T.secret);
    assert.equal(secrets.length, 5);
    for (const s of secrets) {
      assert.ok(isSecretEnvelope(s.inputs.stringData));
      const data = unwrapSecrets(s.inputs.stringData) as Record<string, string>;
      assert.equal(
        data.OTEL_EXPORTER_OTLP_ENDPOINT,
        "http://otel-collector.observability.svc.cluster.local:4318",
      );
      assert.equal(data.OTEL_EXPORTER_OTLP_HEADERS, TEST_SECRETS["sentinel-fleet:otelHeaders"]);
    }
    // Without headers the endpoint alone is set.
    const noHeaders = await runExample(false, { "sentinel-fleet:otelHeaders": undefined });
    for (const s of ofType(noHeaders, T.secret)) {
      const data = unwrapSecrets(s.inputs.stringData) as Record<string, string>;
      assert.ok("OTEL_EXPORTER_OTLP_ENDPOINT" in data && !("OTEL_EXPORTER_OTLP_HEADERS" in data));
    }
    assert.ok(ofType(run, DYNAMIC_TYPE).every((r) => r.retainOnDelete));
    const normal = await runExample(true);
    assert.ok(ofType(normal, DYNAMIC_TYPE).every((r) => !r.retainOnDelete));
  });

  it("keeps names stable when environments and regions are reordered", async () => {
    const { config } = exampleConfig();
    const reordered = {
      "sentinel-fleet:environments": [...(config["sentinel-fleet:environments"] as unknown[])].reverse(),
      "sentinel-fleet:regions": [...(config["sentinel-fleet:regions"] as unknown[])].reverse(),
    };
    const key = (run: ProgramRun) =>
      run.resources
        .map((r) => `${r.urn} ${r.type.startsWith("kubernetes:") ? meta(r).name : ""}`)
        .sort()
        .join("\n");
    assert.equal(key(await runExample(true, reordered)), key(await runExample(true)));
  });
});
