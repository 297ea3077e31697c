// What can be checked here of the end-to-end test (no Docker, kind or Pulumi CLI on this machine): the e2e
// stack passes the program's own validation and synth, the script passes shellcheck and fails clearly without
// its prerequisites, the stand-in image's entrypoint ignores the program's args, and the assertions of
// tests/e2e/check.ts accept what the program declares once converged and reject each kind of wrong state.
import { HEALTH_HOOK_NAME } from "../components/healthHook";
import { strict as assert } from "assert";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import type { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { parseFleetConfig, type FleetConfig } from "../lib/config";
import { PREWARM } from "../lib/constants";
import { prewarm } from "../lib/prewarm";
import {
  canonical,
  CLIENT_POD,
  clusterProblems,
  destroyProblems,
  dsnLogin,
  expectedSentinels,
  outputProblems,
  prewarmBodyOf,
  prewarmProblems,
  refreshProblems,
  regionsSql,
  reinsertedProblems,
  rowProblems,
  versionProblems,
  type ClusterState,
  type ExpectedSentinel,
  type KubeObject,
  type SentinelRow,
} from "./e2e/check";
import { prewarmReceiver, type PrewarmCall } from "./e2e/receiver";
import {
  DYNAMIC_TYPE,
  runProgram,
  unwrapSecrets,
  type CapturedResource,
  type ProgramRun,
} from "../synth/mockEngine";
import { synthStack } from "../synth";
import { ROOT, TEST_SECRETS } from "./support/fixtures";

const STACK_FILE = path.join(ROOT, "Pulumi.e2e.yaml");
const SCRIPT = path.join(ROOT, "scripts", "e2e.sh");
const DOCKERFILE = path.join(ROOT, "tests", "e2e", "image", "Dockerfile");
const BASH = "/bin/bash";
/** The tools scripts/e2e.sh needs on PATH. */
const TOOLS = ["docker", "kind", "kubectl", "pulumi", "mysql", "node"];

const stackConfig = (): Record<string, unknown> =>
  (YAML.parse(fs.readFileSync(STACK_FILE, "utf8")) as { config: Record<string, unknown> }).config;

/** The e2e stack with the test secrets set as secrets (no OpenTelemetry: the stack has no otel.endpoint). */
function e2eConfig(overrides: Record<string, unknown> = {}): {
  config: Record<string, unknown>;
  secretKeys: string[];
} {
  const secrets = Object.fromEntries(
    Object.entries(TEST_SECRETS).filter(([k]) => k !== "sentinel-fleet:otelHeaders"),
  );
  return { config: { ...stackConfig(), ...secrets, ...overrides }, secretKeys: Object.keys(secrets) };
}

function fleetConfig(overrides: Record<string, unknown> = {}): FleetConfig {
  const { config, secretKeys } = e2eConfig(overrides);
  return parseFleetConfig({ values: config, secretKeys });
}

/** A `readonly NAME="value"` (or `readonly NAME=(a b)`) constant of scripts/e2e.sh. */
function scriptConstant(name: string): string {
  const m = new RegExp(`^readonly ${name}="?\\(?([^")]*)\\)?"?$`, "m").exec(fs.readFileSync(SCRIPT, "utf8"));
  assert.ok(m, `scripts/e2e.sh defines no ${name}`);
  return m[1].replace(/^\$\{[A-Z0-9_]+:-([^}]*)\}$/, "$1");
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "sentinel-fleet-e2e-test-"));
}

/** Runs the script with exactly this PATH and nothing else in the environment. */
function runScript(pathDirs: string[], args: string[] = []) {
  const r = spawnSync(BASH, [SCRIPT, ...args], {
    env: { PATH: pathDirs.join(":"), HOME: os.tmpdir() },
    encoding: "utf8",
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A directory of executables named `names`, each running `body`. */
function stubDir(names: string[], body = "exit 0"): string {
  const dir = tempDir();
  for (const n of names) fs.writeFileSync(path.join(dir, n), `#!${BASH}\n${body}\n`, { mode: 0o755 });
  return dir;
}

/** The tools the script reported missing, from its first line. */
function missingOf(stderr: string): string[] {
  const m = /^e2e\.sh: missing prerequisites: (.*)$/m.exec(stderr);
  assert.ok(m, `no list of missing prerequisites in: ${stderr}`);
  return m[1].split(" ");
}

const regionOf = (r: CapturedResource) => /::region-([a-z0-9-]+?)(-namespace)?::/.exec(r.provider)?.[1];

const SENTINEL_NODE = "sentinel-e2e-worker";
const PLAIN_NODE = "sentinel-e2e-worker2";

/**
 * A region's cluster as the API server would show it once every object the program declared has converged:
 * the declared objects with their status filled in, the Deployments' pods on the sentinel node, an
 * EndpointSlice per sentinel Service, Secrets' stringData as data.
 */
function convergedCluster(run: ProgramRun, region: string): ClusterState {
  const mine = run.resources.filter((r) => r.custom && regionOf(r) === region);
  const plain = (r: CapturedResource) => unwrapSecrets(r.inputs) as Record<string, any>;
  const objects: KubeObject[] = [];
  const namespace = mine.find((r) => r.type === "kubernetes:core/v1:Namespace");
  for (const r of mine) {
    const o = plain(r);
    if (r.type === "kubernetes:apps/v1:Deployment") {
      const n = o.spec.replicas as number;
      objects.push({
        kind: "Deployment",
        metadata: { ...o.metadata, generation: 1 },
        spec: o.spec,
        status: {
          observedGeneration: 1,
          replicas: n,
          updatedReplicas: n,
          readyReplicas: n,
          availableReplicas: n,
          conditions: [{ type: "Available", status: "True" }],
        },
      });
      const pods = Array.from({ length: n }, (_, i) => ({
        kind: "Pod",
        metadata: { name: `${o.metadata.name}-7d4b9-${i}`, labels: o.spec.template.metadata.labels },
        spec: { nodeName: SENTINEL_NODE, containers: o.spec.template.spec.containers },
        status: { conditions: [{ type: "Ready", status: "True" }], podIP: `10.244.1.${i + 1}` },
      }));
      objects.push(...pods);
      objects.push({
        kind: "EndpointSlice",
        metadata: {
          name: `${o.metadata.name}-x8k2p`,
          labels: { "kubernetes.io/service-name": o.metadata.name },
        },
        endpoints: pods.map((p) => ({ addresses: [p.status.podIP], conditions: { ready: true } })),
        ports: [{ name: "sentinel", port: 8040, protocol: "TCP" }],
      });
    } else if (r.type === "kubernetes:policy/v1:PodDisruptionBudget") {
      const replicas = mine
        .map(plain)
        .find((d) => d.kind === "Deployment" && d.metadata.name === o.metadata.name)?.spec.replicas;
      objects.push({
        kind: "PodDisruptionBudget",
        metadata: o.metadata,
        spec: o.spec,
        status: { expectedPods: replicas, currentHealthy: replicas, disruptionsAllowed: 1 },
      });
    } else if (r.type === "kubernetes:core/v1:Service") {
      objects.push({
        kind: "Service",
        metadata: o.metadata,
        spec: { ...o.spec, type: o.spec.type ?? "ClusterIP" },
      });
    } else if (r.type === "kubernetes:core/v1:Secret") {
      const data = Object.fromEntries(
        Object.entries(o.stringData as Record<string, string>).map(([k, v]) => [
          k,
          Buffer.from(v).toString("base64"),
        ]),
      );
      objects.push({ kind: "Secret", metadata: o.metadata, data });
    }
  }
  return {
    region,
    namespace: namespace === undefined ? null : { kind: "Namespace", metadata: plain(namespace).metadata },
    objects,
    nodes: [
      { kind: "Node", metadata: { name: "sentinel-e2e-control-plane", labels: {} } },
      {
        kind: "Node",
        metadata: { name: SENTINEL_NODE, labels: { "node-class": "sentinel" } },
        spec: { taints: [{ key: "node-class", value: "sentinel", effect: "NoSchedule" }] },
      },
      { kind: "Node", metadata: { name: PLAIN_NODE, labels: {} } },
    ],
  };
}

/** The rows `pulumi up` writes: what the program's SentinelRecords hold, with the versions the database gave. */
function rowsOf(run: ProgramRun): SentinelRow[] {
  return run.resources
    .filter((r) => r.type === DYNAMIC_TYPE)
    .map((r, i) => {
      const { spec, row } = r.outputs as { spec: Record<string, any>; row: Record<string, any> };
      return {
        id: row.sentinelId,
        workspace_id: spec.workspaceId,
        project_id: spec.projectId,
        environment_id: spec.environmentId,
        k8s_name: row.k8sName,
        k8s_address: row.k8sAddress,
        region_id: spec.regionId,
        image: row.image,
        desired_replicas: row.desiredReplicas,
        cpu_millicores: row.cpuMillicores,
        memory_mib: row.memoryMib,
        version: i + 1,
        available_replicas: row.desiredReplicas,
        health: row.desiredReplicas === 0 ? "paused" : "healthy",
      };
    });
}

/** A copy of a cluster with one object changed. */
function edit(state: ClusterState, kind: string, change: (o: any) => any, which = 0): ClusterState {
  let seen = -1;
  return {
    ...state,
    objects: state.objects.map((o) => (o.kind === kind && ++seen === which ? change(structuredClone(o)) : o)),
  };
}

const someMatch = (problems: string[], re: RegExp) =>
  assert.ok(
    problems.some((p) => re.test(p)),
    `no problem matches ${re}: ${JSON.stringify(problems)}`,
  );

describe("end-to-end test (what can be checked without Docker, kind or the Pulumi CLI)", function () {
  this.timeout(60_000);
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  describe("the e2e stack (Pulumi.e2e.yaml)", () => {
    let run: ProgramRun;
    let expected: ExpectedSentinel[];
    let calls: PrewarmCall[];

    before(async () => {
      // `pulumi up` under the mock engine, the hook firing for real into the real receiver on loopback.
      calls = [];
      const server = prewarmReceiver(TEST_SECRETS["sentinel-fleet:prewarmToken"], (c) => calls.push(c));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const port = (server.address() as AddressInfo).port;
      const prewarmConfig = {
        ...(stackConfig()["sentinel-fleet:prewarm"] as object),
        urlTemplate: `http://127.0.0.1:${port}/prewarm/{region}/{k8sName}`,
      };
      try {
        const { config, secretKeys } = e2eConfig({ "sentinel-fleet:prewarm": prewarmConfig });
        run = await runProgram({ config, secretKeys, preview: false, stack: "e2e", fireHooks: true });
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
      expected = expectedSentinels(fleetConfig());
    });

    it("passes the program's validation, in preview as in up", async () => {
      const { config, secretKeys } = e2eConfig();
      const preview = await runProgram({ config, secretKeys, preview: true, stack: "e2e", fireHooks: false });
      for (const r of [preview, run]) {
        assert.equal(r.resources.filter((x) => x.type === "kubernetes:apps/v1:Deployment").length, 3);
      }
      assert.deepEqual(
        expected.map((s) => `${s.environmentId}/${s.regionName}/${s.replicas}`),
        ["env_e2e_prod/us-east-1/2", "env_e2e_prod/eu-central-1/2", "env_e2e_preview/us-east-1/1"],
      );
    });

    it("declares no CiliumNetworkPolicy (kind runs no Cilium) and hooks the prewarm to every Deployment", () => {
      assert.equal(stackConfig()["sentinel-fleet:ciliumNetworkPolicies"], false);
      assert.equal(run.resources.filter((r) => r.type.startsWith("kubernetes:cilium.io")).length, 0);
      for (const d of run.resources.filter((r) => r.type === "kubernetes:apps/v1:Deployment")) {
        assert.deepEqual(d.hooks.afterCreate, [HEALTH_HOOK_NAME, PREWARM.hookName]);
        assert.deepEqual(d.hooks.afterUpdate, [HEALTH_HOOK_NAME, PREWARM.hookName]);
      }
    });

    it("evaluates with synth (npm run synth -- --stack e2e), policies passing with no advisory", async () => {
      const out = tempDir();
      dirs.push(out);
      // What the CLI runs (tests/synth.test.ts drives the CLI itself), in-process to keep this fast.
      const result = await synthStack({ stack: "e2e", outDir: out });
      assert.deepEqual(result.violations, []);
      assert.deepEqual(result.advisories, []);
      assert.deepEqual(result.counts, {
        Namespace: 2,
        Secret: 3,
        Service: 6,
        Deployment: 3,
        PodDisruptionBudget: 3,
      });
      assert.deepEqual(fs.readdirSync(path.join(out, "e2e")).sort(), [
        "eu-central-1",
        "sentinels.json",
        "us-east-1",
      ]);
    });

    it("agrees with the script: regions, kind contexts, database, receiver port, image tags", () => {
      const cfg = fleetConfig();
      const regions = scriptConstant("REGIONS").split(" ");
      assert.deepEqual(
        cfg.regions.map((r) => r.name),
        regions,
      );
      const prefix = scriptConstant("CLUSTER_PREFIX");
      assert.deepEqual(
        cfg.regions.map((r) => r.kubeContext),
        regions.map((r) => `kind-${prefix}-${r}`),
      );
      assert.equal(cfg.database.database, scriptConstant("DATABASE"));
      assert.equal(`${cfg.database.host}:${cfg.database.port}`, "127.0.0.1:3306");
      const url = new URL(
        String((stackConfig()["sentinel-fleet:prewarm"] as { urlTemplate: string }).urlTemplate),
      );
      assert.equal(url.hostname, "127.0.0.1", "the hook runs on the runner: the receiver is on its loopback");
      assert.equal(url.port, scriptConstant("RECEIVER_PORT"));
      assert.equal(cfg.image, `${scriptConstant("STAND_IN_IMAGE")}:v1`);
      assert.ok(
        cfg.environments.some((e) => e.environmentId === "env_e2e_preview"),
        "the row step 5 deletes",
      );
      assert.equal(scriptConstant("STACK"), "e2e");
    });

    it("accepts the prewarm calls the real hook makes, and rejects a call without the token", async () => {
      assert.deepEqual(prewarmProblems(expected, calls, 1), []);
      assert.equal(calls.length, expected.length);
      someMatch(prewarmProblems(expected, calls, 2), /1 prewarm calls, expected at least 2/);
      someMatch(prewarmProblems(expected, calls.slice(1), 1), /0 prewarm calls/);
      // The real prewarm client with a wrong token, into the real receiver.
      const wrong: PrewarmCall[] = [];
      const server = prewarmReceiver("the-right-token", (c) => wrong.push(c));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      try {
        const s = expected[0];
        const body = prewarmBodyOf(s);
        const port = (server.address() as AddressInfo).port;
        const url = `http://127.0.0.1:${port}/prewarm/${s.regionName}/${s.k8sName}`;
        const result = await prewarm(body, {
          url,
          token: "not-the-token",
          attemptTimeoutMs: 2000,
          deadlineMs: 5000,
        });
        assert.equal(result.ok, true);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
      assert.equal(wrong.length, 1);
      assert.ok(!JSON.stringify(wrong).includes("not-the-token"), "the receiver wrote the token down");
      someMatch(prewarmProblems(expected.slice(0, 1), wrong, 1), /without the bearer token/);
      const stray = { ...calls[0], path: "/prewarm/us-east-1/nobody" };
      someMatch(prewarmProblems(expected, [...calls, stray], 1), /unknown path/);
      const badBody = { ...calls[0], body: { ...(calls[0].body as object), address: "elsewhere:8040" } };
      someMatch(prewarmProblems(expected, [badBody, ...calls.slice(1)], 1), /prewarm body/);
    });

    it("accepts each region's cluster as the program declares it, converged", () => {
      for (const region of ["us-east-1", "eu-central-1"]) {
        const mine = expected.filter((s) => s.regionName === region);
        assert.deepEqual(clusterProblems(mine, convergedCluster(run, region), fleetConfig().nodeClass), []);
      }
    });

    it("rejects each kind of wrong cluster state", () => {
      const nodeClass = fleetConfig().nodeClass;
      const mine = expected.filter((s) => s.regionName === "us-east-1");
      const good = convergedCluster(run, "us-east-1");
      const check = (state: ClusterState) => clusterProblems(mine, state, nodeClass);
      someMatch(
        check(edit(good, "Pod", (p) => ({ ...p, spec: { ...p.spec, nodeName: PLAIN_NODE } }))),
        /not a sentinel node/,
      );
      someMatch(
        check(
          edit(good, "Pod", (p) => ({ ...p, status: { conditions: [{ type: "Ready", status: "False" }] } })),
        ),
        /not Ready/,
      );
      someMatch(
        check(
          edit(good, "Pod", (p) => ({
            ...p,
            metadata: { ...p.metadata, deletionTimestamp: "2026-01-01T00:00:00Z" },
          })),
        ),
        /1 pods, expected 2/,
      );
      someMatch(
        check(
          edit(good, "EndpointSlice", (e) => ({
            ...e,
            endpoints: [{ ...e.endpoints[0], conditions: { ready: false } }, ...e.endpoints.slice(1)],
          })),
        ),
        /ready endpoints, expected/,
      );
      someMatch(
        check(
          edit(good, "Secret", (s) => ({
            ...s,
            data: { UNKEY_DATABASE_PRIMARY: s.data.UNKEY_DATABASE_PRIMARY },
          })),
        ),
        /has keys UNKEY_DATABASE_PRIMARY, expected/,
      );
      someMatch(
        check(
          edit(good, "Secret", (s) => ({
            ...s,
            data: Object.fromEntries(Object.keys(s.data).map((k) => [k, ""])),
          })),
        ),
        /is empty/,
      );
      someMatch(
        check(
          edit(good, "PodDisruptionBudget", (p) => ({
            ...p,
            status: { ...p.status, disruptionsAllowed: 0 },
          })),
        ),
        /PDB status/,
      );
      someMatch(
        check(edit(good, "PodDisruptionBudget", (p) => ({ ...p, spec: { ...p.spec, minAvailable: 1 } }))),
        /maxUnavailable 1 without minAvailable/,
      );
      someMatch(
        check(edit(good, "Deployment", (d) => ({ ...d, status: { ...d.status, updatedReplicas: 1 } }))),
        /updatedReplicas 1, expected 2/,
      );
      someMatch(
        check(edit(good, "Deployment", (d) => ({ ...d, status: { ...d.status, conditions: [] } }))),
        /not Available/,
      );
      const newImage = mine.map((s) => ({ ...s, image: "sentinel-fleet-e2e:v2" }));
      someMatch(
        clusterProblems(newImage, good, nodeClass),
        /runs sentinel-fleet-e2e:v1, expected sentinel-fleet-e2e:v2/,
      );
      someMatch(
        check({
          ...good,
          objects: [
            ...good.objects,
            {
              kind: "Deployment",
              metadata: { name: "stray", labels: { "app.kubernetes.io/managed-by": "sentinel-fleet" } },
            },
          ],
        }),
        /unexpected Deployment stray/,
      );
      someMatch(check({ ...good, objects: good.objects.filter((o) => o.kind !== "Service") }), /no Service/);
      someMatch(check({ ...good, namespace: null }), /namespace does not exist/);
      someMatch(
        check({ ...good, nodes: good.nodes.map((n) => ({ ...n, spec: {} })) }),
        /lacks the taint node-class=sentinel:NoSchedule/,
      );
      someMatch(
        check({ ...good, nodes: good.nodes.filter((n) => n.metadata.name !== SENTINEL_NODE) }),
        /no node is labelled/,
      );
      // A message names objects and keys, never a Secret's value.
      const values = good.objects
        .filter((o) => o.kind === "Secret")
        .flatMap((o) => Object.values(o.data ?? {}).map((v) => Buffer.from(v, "base64").toString("utf8")));
      const all = JSON.stringify(check(edit(good, "Secret", (s) => ({ ...s, data: {} }))));
      for (const v of values) assert.ok(!all.includes(v));
    });

    it("accepts the rows and stack output the program writes, and rejects wrong ones", () => {
      const rows = rowsOf(run);
      assert.equal(rows.length, 3);
      assert.deepEqual(rowProblems(expected, rows), []);
      someMatch(rowProblems(expected, rows.slice(1)), /expected 1 row, found 0/);
      someMatch(rowProblems(expected, [...rows, { ...rows[0], id: "s_other" }]), /expected 1 row, found 2/);
      someMatch(
        rowProblems(expected, [{ ...rows[0], image: "sentinel-fleet-e2e:v0" }, ...rows.slice(1)]),
        /row image/,
      );
      someMatch(rowProblems(expected, [{ ...rows[0], version: 0 }, ...rows.slice(1)]), /row version 0/);
      // The health hook did not write the converged rollout back.
      someMatch(
        rowProblems(expected, [{ ...rows[0], health: "unknown", available_replicas: 0 }, ...rows.slice(1)]),
        /row health is "unknown", expected healthy/,
      );
      // A row inserted again by the `up` after a refresh: above every version its region had before.
      const inRegion = rows.filter((r) => r.region_id === rows[0].region_id);
      const highest = Math.max(...inRegion.map((r) => r.version));
      const again = (version: number) => [{ ...rows[0], version }, ...rows.slice(1)];
      assert.deepEqual(reinsertedProblems(rows, again(highest + 1), rows[0].id), []);
      someMatch(reinsertedProblems(rows, again(highest), rows[0].id), /expected above/);
      someMatch(reinsertedProblems(rows, rows.slice(1), rows[0].id), /not inserted again/);
      someMatch(reinsertedProblems(rows.slice(1), rows, rows[0].id), /not among the rows before/);
      someMatch(rowProblems(expected, [...rows, { ...rows[0], environment_id: "env_x" }]), /unexpected row/);

      const outputs = run.exports.sentinels;
      assert.deepEqual(outputProblems(expected, outputs), []);
      // As `pulumi stack output --json` prints it: keys sorted.
      assert.deepEqual(outputProblems(expected, JSON.parse(canonical(outputs))), []);
      assert.notEqual(canonical({ a: 1, b: [{ c: 2 }] }), canonical({ a: 1, b: [{ c: 3 }] }));
      assert.equal(canonical({ b: { d: 1, c: 2 }, a: 1 }), '{"a":1,"b":{"c":2,"d":1}}');
      const fewer = structuredClone(outputs) as Record<string, Record<string, unknown>>;
      delete fewer.env_e2e_preview;
      someMatch(outputProblems(expected, fewer), /stack output undefined/);
    });

    it("tells an image change's new versions from a replace or a missed update", () => {
      const before = rowsOf(run);
      const after = before.map((r) => ({ ...r, version: r.version + 10, image: "sentinel-fleet-e2e:v2" }));
      assert.deepEqual(versionProblems(before, after), []);
      someMatch(
        versionProblems(before, [{ ...after[0], version: before[0].version }, ...after.slice(1)]),
        /expected higher/,
      );
      someMatch(
        versionProblems(before, [{ ...after[0], id: "s_new" }, ...after.slice(1)]),
        /not there before/,
      );
      someMatch(versionProblems(before, after.slice(1)), /3 rows before the update, 2 after/);
    });

    it("checks refresh and destroy", () => {
      const ids = expected.map((s) => s.sentinelId);
      const gone = ids[2];
      assert.deepEqual(
        refreshProblems(
          expected,
          ids.filter((id) => id !== gone),
          gone,
        ),
        [],
      );
      someMatch(refreshProblems(expected, ids, gone), /still holds the deleted row/);
      someMatch(refreshProblems(expected, [ids[0]], gone), /refresh dropped a row/);

      const good = convergedCluster(run, "us-east-1");
      const emptied: ClusterState = { ...good, objects: [] };
      assert.deepEqual(destroyProblems([], [], [emptied]), []);
      someMatch(destroyProblems(rowsOf(run), [], [emptied]), /3 sentinels rows left/);
      someMatch(destroyProblems([], ["sentinel_us_east_1"], [emptied]), /logins left: sentinel_us_east_1/);
      someMatch(destroyProblems([], [], [good]), /Deployment .* left/);
      someMatch(destroyProblems([], [], [{ ...emptied, namespace: null }]), /namespace was deleted/);
    });

    it("reads the sentinel login out of the DSN the program writes", () => {
      const secret = convergedCluster(run, "eu-central-1").objects.find(
        (o) => o.kind === "Secret" && o.metadata.name.startsWith("sentinel-env-"),
      );
      const dsn = Buffer.from(secret?.data?.UNKEY_DATABASE_PRIMARY ?? "", "base64").toString("utf8");
      const login = dsnLogin(dsn);
      assert.equal(login?.user, "sentinel_eu_central_1");
      assert.equal(login?.database, "unkey");
      assert.match(login?.password ?? "", /^[A-Za-z0-9]{40}$/);
      for (const bad of ["", "mysql://u:p@h/db", "u:p@h:3306/db", "u@tcp(h:3306)/db"])
        assert.equal(dsnLogin(bad), null, bad);
    });

    it("fetches each address from the client pod the script starts", () => {
      const script = fs.readFileSync(SCRIPT, "utf8");
      assert.match(
        script,
        new RegExp(`-n ${CLIENT_POD.namespace} run ${CLIENT_POD.name} --image="\\$STAND_IN_IMAGE:v1"`),
      );
    });

    it("seeds the stack's regions with escaped SQL", () => {
      assert.equal(
        regionsSql(fleetConfig()),
        "INSERT INTO regions (id, name, platform) VALUES ('reg_e2e_use1', 'us-east-1', 'e2e'), " +
          "('reg_e2e_euc1', 'eu-central-1', 'e2e');\n",
      );
      const cfg = {
        ...fleetConfig(),
        regions: [{ id: "r'1\\", name: "x-1", kubeContext: "k", prewarmUrl: null, cutover: false }],
      };
      assert.equal(
        regionsSql(cfg),
        "INSERT INTO regions (id, name, platform) VALUES ('r\\'1\\\\', 'x-1', 'e2e');\n",
      );
    });
  });

  describe("scripts/e2e.sh", () => {
    it("passes shellcheck", () => {
      const r = spawnSync("shellcheck", ["--severity=style", SCRIPT], { encoding: "utf8", timeout: 30_000 });
      assert.ok(
        r.error === undefined,
        "shellcheck is not installed (.ci/run installs it: apt-get install shellcheck)",
      );
      assert.equal(r.status, 0, r.stdout + r.stderr);
    });

    it("fails with exit code 3 naming every missing tool when nothing is on PATH, starting nothing", () => {
      const empty = tempDir();
      dirs.push(empty);
      const r = runScript([empty]);
      assert.equal(r.status, 3, r.stderr);
      assert.equal(r.stdout, "");
      assert.deepEqual(
        missingOf(r.stderr).filter((t) => TOOLS.includes(t)),
        TOOLS,
      );
      for (const tool of TOOLS)
        assert.match(r.stderr, new RegExp(`^  ${tool} +\\S`, "m"), `no hint for ${tool}`);
      assert.match(r.stderr, /Nothing was started\. See README\.md, "End-to-end test"\./);
      // The check alone behaves the same.
      assert.equal(runScript([empty], ["check"]).status, 3);
    });

    it("names only what is missing, and a docker without a daemon", () => {
      const some = stubDir(["docker", "kind", "pulumi"]);
      dirs.push(some);
      const r = runScript([some]);
      assert.equal(r.status, 3);
      assert.deepEqual(
        missingOf(r.stderr).filter((t) => !t.includes("node_modules")),
        ["kubectl", "mysql", "node"],
      );
      const noDaemon = stubDir(
        ["docker"],
        'if [ "$1" = info ]; then echo "Cannot connect to the Docker daemon" >&2; exit 1; fi',
      );
      dirs.push(noDaemon);
      someMatch(missingOf(runScript([noDaemon]).stderr), /^docker-daemon$/);
    });

    it("passes the check when every prerequisite is there", () => {
      const all = stubDir(TOOLS);
      dirs.push(all);
      const r = runScript([all], ["check"]);
      if (fs.existsSync(path.join(ROOT, "policy", "node_modules"))) {
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, "e2e.sh: all prerequisites found\n");
      } else {
        // A clone where only `npm ci` ran: the policy pack's dependencies are the one thing missing.
        assert.equal(r.status, 3);
        assert.deepEqual(missingOf(r.stderr), ["policy/node_modules"]);
      }
    });

    it("rejects an unknown mode with exit code 2", () => {
      const r = runScript([os.tmpdir()], ["deploy"]);
      assert.equal(r.status, 2);
      assert.match(r.stderr, /^usage: .*e2e\.sh \[run\|check\]$/m);
    });
  });

  describe("the kind clusters (tests/e2e/kind-cluster.yaml)", () => {
    it("have a worker labelled and tainted as the stack's node class, and a plain worker", () => {
      const cluster = YAML.parse(
        fs.readFileSync(path.join(ROOT, "tests", "e2e", "kind-cluster.yaml"), "utf8"),
      ) as {
        kind: string;
        nodes: { role: string; labels?: Record<string, string>; kubeadmConfigPatches?: string[] }[];
      };
      assert.equal(cluster.kind, "Cluster");
      const { key, value } = fleetConfig().nodeClass;
      const workers = cluster.nodes.filter((n) => n.role === "worker");
      const sentinel = workers.filter((n) => n.labels?.[key] === value);
      assert.equal(sentinel.length, 1);
      const patches = (sentinel[0].kubeadmConfigPatches ?? []).map((p) => YAML.parse(p));
      const join = patches.find((p) => p.kind === "JoinConfiguration");
      assert.deepEqual(join?.nodeRegistration?.taints, [{ key, value, effect: "NoSchedule" }]);
      assert.equal(
        workers.filter((n) => n.labels === undefined && n.kubeadmConfigPatches === undefined).length,
        1,
      );
      assert.equal(cluster.nodes.filter((n) => n.role === "control-plane").length, 1);
    });

    it("run a Kubernetes the pods need (the preStop sleep action: 1.30 or later), pinned by digest", () => {
      const image = scriptConstant("KIND_NODE_IMAGE");
      const m = /^kindest\/node:v(\d+)\.(\d+)\.(\d+)@sha256:[0-9a-f]{64}$/.exec(image);
      assert.ok(m !== null, image);
      assert.ok(Number(m[1]) > 1 || Number(m[2]) >= 30, `${image}: Kubernetes 1.30 or later`);
      // The e2e stack's pods do have the hook (a 0-second delay would declare none).
      assert.ok(fleetConfig().pod.preStopSeconds > 0);
    });
  });

  describe("the stand-in image (tests/e2e/image/Dockerfile)", () => {
    const dockerfile = () => fs.readFileSync(DOCKERFILE, "utf8");

    it("serves every probe path of the e2e stack", () => {
      const probes = stackConfig()["sentinel-fleet:probes"] as Record<string, string>;
      for (const p of Object.values(probes)) assert.match(dockerfile(), new RegExp(`echo ok > /www${p}\\b`));
      assert.match(dockerfile(), /httpd -f -v -p 8040 -h \/www/);
      assert.match(dockerfile(), /^USER 65532:65532$/m);
    });

    it("has an entrypoint that ignores the program's args and ends on SIGTERM", async () => {
      const m = /^ENTRYPOINT (\[.*\])$/m.exec(dockerfile());
      assert.ok(m, "no exec-form ENTRYPOINT");
      const entrypoint = JSON.parse(m[1]) as string[];
      assert.deepEqual(entrypoint.slice(0, 2), ["/bin/sh", "-c"]);
      // Run the entrypoint as Kubernetes would (ENTRYPOINT + the program's args) with an httpd stub that
      // records its arguments and serves nothing.
      const bin = stubDir(["httpd"], 'printf "%s\\n" "$*" > "$HTTPD_ARGS"; exec sleep 30');
      dirs.push(bin);
      const record = path.join(bin, "args");
      const child = spawn("sh", ["-c", entrypoint[2], entrypoint[3], "run", "sentinel"], {
        env: { PATH: `${bin}:/usr/bin:/bin`, HTTPD_ARGS: record },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      const deadline = Date.now() + 10_000;
      while (!fs.existsSync(record) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      const code = await exited;
      clearTimeout(timer);
      assert.equal(
        fs.readFileSync(record, "utf8"),
        "-f -v -p 8040 -h /www\n",
        "httpd got the program's args",
      );
      assert.match(stdout, /args ignored: run sentinel/);
      assert.equal(code, 0, "the entrypoint must exit 0 on SIGTERM, not wait out the grace period");
    });
  });
});
