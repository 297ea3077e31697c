// The pod settings end to end: the real program under the mock engine, with the defaults and with every pod
// setting and namespace level configured, down to the objects, their timeouts, the schema and the policy pack.
import { strict as assert } from "assert";
import { Namespace } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { rolloutTimeoutSeconds } from "../lib/kube";
import { evaluatePolicies, TYPES } from "../policy/policies";
import { unwrapSecrets, type CapturedResource, type ProgramRun } from "../synth/mockEngine";
import { runExample } from "./support/fixtures";

const deployments = (run: ProgramRun) => run.resources.filter((r) => r.type === TYPES.deployment);
const namespaces = (run: ProgramRun) => run.resources.filter((r) => r.type === TYPES.namespace);
const podSpec = (r: CapturedResource) => r.inputs.spec.template.spec;

function violations(run: ProgramRun, config = {}) {
  return evaluatePolicies(
    run.resources.map((r) => ({
      type: r.type,
      name: r.name,
      urn: r.urn,
      props: unwrapSecrets(r.inputs) as Record<string, unknown>,
    })),
    config,
  ).filter((v) => v.enforcementLevel === "mandatory");
}

describe("pods under the mock engine", function () {
  this.timeout(120_000);

  describe("with the default pod settings", () => {
    let run: ProgramRun;
    before(async () => {
      run = await runExample(false);
    });

    it("runs every sentinel as 65532:65532, restricted, with a 10 s preStop sleep and a 40 s grace period", () => {
      assert.equal(deployments(run).length, 5);
      for (const d of deployments(run)) {
        const pod = podSpec(d);
        assert.deepEqual(pod.securityContext, {
          runAsNonRoot: true,
          runAsUser: 65532,
          runAsGroup: 65532,
          seccompProfile: { type: "RuntimeDefault" },
        });
        assert.equal(pod.terminationGracePeriodSeconds, 40, d.urn);
        assert.equal(pod.priorityClassName, undefined, d.urn);
        assert.deepEqual(pod.containers[0].lifecycle, { preStop: { sleep: { seconds: 10 } } });
        assert.equal(pod.containers[0].securityContext.readOnlyRootFilesystem, true);
        new Deployment(d.inputs as any).validate();
      }
    });

    it("labels every namespace restricted in all three modes", () => {
      assert.equal(namespaces(run).length, 2);
      for (const ns of namespaces(run)) {
        const labels = ns.inputs.metadata.labels;
        for (const mode of ["enforce", "warn", "audit"])
          assert.equal(labels[`pod-security.kubernetes.io/${mode}`], "restricted", `${ns.urn} ${mode}`);
        new Namespace(ns.inputs as any).validate();
      }
    });

    it("passes the policy pack with its defaults", () => {
      assert.deepEqual(violations(run), []);
    });
  });

  describe("with every pod setting and namespace level configured", () => {
    const pod = {
      runAsUser: 1000,
      runAsGroup: 2000,
      priorityClassName: "edge-proxy",
      preStopSeconds: 20,
      drainSeconds: 90,
    };
    let run: ProgramRun;
    before(async () => {
      run = await runExample(false, {
        "sentinel-fleet:pod": pod,
        "sentinel-fleet:namespacePodSecurity": {
          enforce: "baseline",
          warn: "restricted",
          audit: "privileged",
        },
      });
    });

    it("passes user, group, priority class, preStop delay and grace period to every Deployment", () => {
      for (const d of deployments(run)) {
        const spec = podSpec(d);
        assert.equal(spec.securityContext.runAsUser, 1000);
        assert.equal(spec.securityContext.runAsGroup, 2000);
        assert.equal(spec.priorityClassName, "edge-proxy");
        assert.equal(spec.terminationGracePeriodSeconds, 110);
        assert.deepEqual(spec.containers[0].lifecycle, { preStop: { sleep: { seconds: 20 } } });
        new Deployment(d.inputs as any).validate();
      }
    });

    it("lengthens every rollout timeout by the longer termination", () => {
      for (const d of deployments(run)) {
        const replicas = d.inputs.spec.replicas as number;
        const timeout = `${rolloutTimeoutSeconds(replicas, 110)}s`;
        assert.deepEqual(d.customTimeouts, { create: timeout, update: timeout, delete: "" }, d.urn);
        assert.ok(rolloutTimeoutSeconds(replicas, 110) > rolloutTimeoutSeconds(replicas, 40));
      }
    });

    it("sets each namespace mode to its configured level", () => {
      for (const ns of namespaces(run)) {
        const labels = ns.inputs.metadata.labels;
        assert.equal(labels["pod-security.kubernetes.io/enforce"], "baseline");
        assert.equal(labels["pod-security.kubernetes.io/warn"], "restricted");
        assert.equal(labels["pod-security.kubernetes.io/audit"], "privileged");
      }
    });

    it("fails the policy pack's default minimum enforce level, and passes once the pack mirrors it", () => {
      assert.deepEqual(
        violations(run).map((v) => [v.policy, v.message]),
        namespaces(run).map(() => [
          "sentinel-namespace-pod-security",
          "Namespace sentinel enforces Pod Security level baseline; it must be restricted or stricter",
        ]),
      );
      assert.deepEqual(
        violations(run, { "sentinel-namespace-pod-security": { minimumEnforce: "baseline" } }),
        [],
      );
    });
  });
});
