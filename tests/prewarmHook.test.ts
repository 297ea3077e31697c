// The router-prewarm hook: runPrewarmHook called directly with a real Deployment's outputs (as the engine
// would call it), the hook's registration under the mock engine, and the hook fired end to end through the
// SDK's callback server. Every request goes to a real HTTP server on 127.0.0.1.
import { strict as assert } from "assert";
import * as http from "http";
import type { AddressInfo } from "net";
import type * as pulumi from "@pulumi/pulumi";
import { HEALTH_HOOK_NAME } from "../components/healthHook";
import { runPrewarmHook, type HookLogger, type PrewarmHookSettings } from "../components/prewarmHook";
import { parseFleetConfig } from "../lib/config";
import { ANNOTATIONS, LABELS, PREWARM } from "../lib/constants";
import type { CapturedResource, ProgramRun } from "../synth/mockEngine";
import { exampleConfig, runExample, TEST_SECRETS } from "./support/fixtures";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const TOKEN = TEST_SECRETS["sentinel-fleet:prewarmToken"];
const EXAMPLE_SENTINELS = 5;

interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

interface LogLine {
  readonly level: "info" | "warn";
  readonly message: string;
  readonly resource: pulumi.Resource | undefined;
}

/** A HookLogger that keeps what it is told. */
function capturingLogger(): { logger: HookLogger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    logger: {
      info: (message, resource) => {
        lines.push({ level: "info", message, resource });
      },
      warn: (message, resource) => {
        lines.push({ level: "warn", message, resource });
      },
    },
  };
}

function assertNoToken(messages: readonly string[]): void {
  assert.ok(messages.length > 0, "nothing was logged to check");
  for (const m of messages) assert.ok(!m.includes(TOKEN), `the prewarm token appears in a log line: ${m}`);
}

/** The run as the prewarm hook sees it: the row-health hook (tests/healthHook.test.ts) left out. */
function prewarmOnly(run: ProgramRun): ProgramRun {
  const keep = (names: readonly string[]) => names.filter((n) => n !== HEALTH_HOOK_NAME);
  return {
    ...run,
    resources: run.resources.map((r) => ({
      ...r,
      hooks: { afterCreate: keep(r.hooks.afterCreate), afterUpdate: keep(r.hooks.afterUpdate) },
    })),
    hooks: run.hooks.filter((h) => h.name !== HEALTH_HOOK_NAME),
    firedHooks: run.firedHooks.filter((f) => f.hook !== HEALTH_HOOK_NAME),
  };
}

function deployments(run: ProgramRun): CapturedResource[] {
  return run.resources.filter((r) => r.type === DEPLOYMENT);
}

/** The hook arguments the engine sends after a Deployment's create. */
function hookArgs(
  dep: CapturedResource,
  outputs: Record<string, any> = dep.outputs,
): pulumi.ResourceHookArgs {
  return {
    urn: dep.urn,
    id: dep.id ?? "",
    name: dep.name,
    type: dep.type,
    newInputs: dep.inputs,
    newOutputs: outputs,
  };
}

/** Every sentinel's Deployment carries the prewarm hook after its create and after its update. */
function assertPrewarmHookOnEach(deps: readonly CapturedResource[]): void {
  assert.equal(deps.length, EXAMPLE_SENTINELS);
  for (const dep of deps) {
    assert.deepEqual(
      dep.hooks,
      { afterCreate: [PREWARM.hookName], afterUpdate: [PREWARM.hookName] },
      dep.urn,
    );
  }
}

/** The request body a Deployment should produce, read from its labels and annotations. */
function expectedBody(dep: CapturedResource): Record<string, string> {
  const { labels, annotations } = dep.outputs.metadata;
  return {
    workspaceId: labels[LABELS.workspaceId],
    projectId: labels[LABELS.projectId],
    environmentId: labels[LABELS.environmentId],
    region: annotations[ANNOTATIONS.region],
    sentinelId: labels[LABELS.sentinelId],
    address: annotations[ANNOTATIONS.address],
  };
}

/** The URN a logger was given the resource for (pulumi.log reads only `urn`). */
function urnOf(resource: pulumi.Resource | undefined): Promise<string> {
  assert.ok(resource !== undefined, "the log line names no resource");
  return new Promise((resolve) => resource.urn.apply((u) => resolve(u)));
}

describe("router prewarm hook", function () {
  this.timeout(20_000);

  let server: http.Server;
  let port = 0;
  let received: Received[] = [];
  /** How the server answers; the default is 200. */
  let status: () => number = () => 200;
  let answer = true;

  const urlTemplate = () => `http://127.0.0.1:${port}/prewarm/{region}/{k8sName}`;
  const prewarmConfig = (deadlineMs: number) => ({
    "sentinel-fleet:prewarm": { urlTemplate: urlTemplate(), attemptTimeoutMs: 500, deadlineMs },
  });

  /** The hook settings exactly as components/fleet.ts builds them from the parsed stack configuration. */
  function settingsFor(overrides: Record<string, unknown>): PrewarmHookSettings {
    const { config, secretKeys } = exampleConfig(overrides);
    const cfg = parseFleetConfig({ values: config, secretKeys });
    assert.ok(cfg.prewarm.token !== null);
    return {
      regions: cfg.regions,
      token: cfg.prewarm.token,
      attemptTimeoutMs: cfg.prewarm.attemptTimeoutMs,
      deadlineMs: cfg.prewarm.deadlineMs,
    };
  }

  before(async () => {
    server = http.createServer((req, res) => {
      let text = "";
      req.on("data", (c: Buffer) => (text += c.toString("utf8")));
      req.on("end", () => {
        received.push({
          method: req.method ?? "",
          url: req.url ?? "",
          headers: req.headers,
          body: JSON.parse(text) as Record<string, unknown>,
        });
        if (!answer) return;
        res.writeHead(status(), { "content-type": "text/plain" });
        res.end("done");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterEach(() => {
    received = [];
    status = () => 200;
    answer = true;
    server.closeAllConnections();
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  describe("runPrewarmHook, called as the engine calls the hook", () => {
    let deps: CapturedResource[];
    let settings: PrewarmHookSettings;

    before(async () => {
      const run = prewarmOnly(await runExample(false, prewarmConfig(1000)));
      deps = deployments(run);
      assert.equal(deps.length, EXAMPLE_SENTINELS);
      settings = settingsFor(prewarmConfig(1000));
    });

    it("posts the Deployment's identity to its region's URL and logs one info line with the elapsed time", async () => {
      const dep = deps[0];
      const { logger, lines } = capturingLogger();
      const started = Date.now();
      const result = await runPrewarmHook(hookArgs(dep), settings, logger);
      const wall = Date.now() - started;

      assert.ok(result !== null && result.ok, "the prewarm did not succeed");
      assert.equal(received.length, 1);
      const [req] = received;
      const body = expectedBody(dep);
      assert.equal(req.method, "POST");
      assert.equal(req.url, `/prewarm/${body.region}/${dep.outputs.metadata.name}`);
      assert.equal(req.headers.authorization, `Bearer ${TOKEN}`);
      assert.deepEqual(req.body, body);

      assert.equal(lines.length, 1);
      assert.equal(lines[0].level, "info");
      const m = /succeeded in (\d+) ms after 1 attempt\(s\)/.exec(lines[0].message);
      assert.ok(m !== null, `unexpected message: ${lines[0].message}`);
      assert.ok(Number(m[1]) <= wall, `reported ${m[1]} ms, the call took ${wall} ms`);
      assert.ok(lines[0].message.includes(body.sentinelId));
      assert.ok(lines[0].message.includes(body.region));
      assert.equal(await urnOf(lines[0].resource), dep.urn);
      assertNoToken(lines.map((l) => l.message));
    });

    it("warns once with the status, attempts and elapsed time when the router keeps answering 500, and resolves", async () => {
      status = () => 500;
      const dep = deps[1];
      const { logger, lines } = capturingLogger();
      const started = Date.now();
      const result = await runPrewarmHook(hookArgs(dep), settings, logger);
      const wall = Date.now() - started;

      assert.ok(result !== null);
      assert.equal(result.ok, false);
      assert.ok(received.length > 1, `the router was called ${received.length} time(s)`);
      assert.equal(result.attempts, received.length);
      assert.ok(
        wall < settings.deadlineMs + 500,
        `took ${wall} ms with a deadline of ${settings.deadlineMs} ms`,
      );

      assert.equal(lines.length, 1);
      assert.equal(lines[0].level, "warn");
      const m = /failed \(HTTP 500: .*\) after (\d+) attempt\(s\) in (\d+) ms/.exec(lines[0].message);
      assert.ok(m !== null, `unexpected message: ${lines[0].message}`);
      assert.equal(Number(m[1]), received.length);
      assert.ok(Number(m[2]) <= wall);
      assert.ok(lines[0].message.includes(expectedBody(dep).sentinelId));
      assert.equal(await urnOf(lines[0].resource), dep.urn);
      assertNoToken(lines.map((l) => l.message));
    });

    it("warns once after a single attempt on 400, and resolves", async () => {
      status = () => 400;
      const { logger, lines } = capturingLogger();
      const result = await runPrewarmHook(hookArgs(deps[2]), settings, logger);

      assert.ok(result !== null && !result.ok);
      assert.equal(received.length, 1);
      assert.equal(lines.length, 1);
      assert.equal(lines[0].level, "warn");
      assert.match(lines[0].message, /HTTP 400/);
      assert.match(lines[0].message, /after 1 attempt\(s\) in \d+ ms/);
      assertNoToken(lines.map((l) => l.message));
    });

    it("warns with 'no response' when the router never answers within the deadline, and resolves", async () => {
      answer = false;
      const { logger, lines } = capturingLogger();
      const quick = { ...settings, attemptTimeoutMs: 150, deadlineMs: 500 };
      const started = Date.now();
      const result = await runPrewarmHook(hookArgs(deps[3]), quick, logger);
      const wall = Date.now() - started;

      assert.ok(result !== null && !result.ok);
      assert.ok(wall < quick.deadlineMs + 300, `took ${wall} ms`);
      assert.equal(lines.length, 1);
      assert.equal(lines[0].level, "warn");
      assert.match(lines[0].message, /failed \(no response: attempt timed out/);
      assert.match(lines[0].message, new RegExp(`after ${result.attempts} attempt\\(s\\) in \\d+ ms`));
      assertNoToken(lines.map((l) => l.message));
    });

    it("warns naming the missing fields when the Deployment lacks labels or annotations, without a request", async () => {
      const dep = deps[0];
      const outputs = structuredClone(dep.outputs);
      delete outputs.metadata.labels[LABELS.sentinelId];
      delete outputs.metadata.annotations[ANNOTATIONS.address];
      const { logger, lines } = capturingLogger();
      const result = await runPrewarmHook(hookArgs(dep, outputs), settings, logger);

      assert.equal(result, null);
      assert.equal(received.length, 0);
      assert.equal(lines.length, 1);
      assert.equal(lines[0].level, "warn");
      assert.match(lines[0].message, /lacks sentinelId, address$/);
      assert.equal(await urnOf(lines[0].resource), dep.urn);
      assertNoToken(lines.map((l) => l.message));
    });

    it("uses a region's own prewarmUrl and warns for a region without one, without a request", async () => {
      const [use1, euc1] = ["us-east-1", "eu-central-1"].map((region) => {
        const dep = deps.find((d) => d.outputs.metadata.annotations[ANNOTATIONS.region] === region);
        assert.ok(dep !== undefined, `no Deployment in ${region}`);
        return dep;
      });
      const regional = settingsFor({
        "sentinel-fleet:prewarm": undefined,
        "sentinel-fleet:regions": [
          {
            id: "reg_use1",
            name: "us-east-1",
            kubeContext: "kind-us-east-1",
            prewarmUrl: `http://127.0.0.1:${port}/use1/{k8sName}`,
          },
          { id: "reg_euc1", name: "eu-central-1", kubeContext: "kind-eu-central-1" },
        ],
      });
      const { logger, lines } = capturingLogger();

      const skipped = await runPrewarmHook(hookArgs(euc1), regional, logger);
      assert.equal(skipped, null);
      assert.equal(received.length, 0);
      assert.equal(lines.length, 1);
      assert.equal(lines[0].level, "warn");
      assert.match(lines[0].message, /no prewarm URL for region "eu-central-1"/);

      const done = await runPrewarmHook(hookArgs(use1), regional, logger);
      assert.ok(done !== null && done.ok);
      assert.deepEqual(
        received.map((r) => r.url),
        [`/use1/${use1.outputs.metadata.name}`],
      );
      assert.equal(lines.length, 2);
      assert.equal(lines[1].level, "info");
      assertNoToken(lines.map((l) => l.message));
    });

    it("refuses a URL with credentials and never logs them, even when validation was bypassed", async () => {
      // The config validation rejects such a URL; these settings go around it, as a future caller might.
      const withCredentials = {
        ...settings,
        regions: settings.regions.map((r) => ({
          ...r,
          prewarmUrl: `http://ops:s3cret-LEAK@127.0.0.1:${port}/prewarm/{region}/{k8sName}`,
        })),
      };
      const { logger, lines } = capturingLogger();
      const result = await runPrewarmHook(hookArgs(deps[0]), withCredentials, logger);
      assert.ok(result !== null && !result.ok && result.attempts === 0);
      assert.equal(received.length, 0);
      assert.equal(lines.length, 1);
      assert.equal(lines[0].level, "warn");
      assert.match(lines[0].message, /the prewarm URL contains credentials/);
      for (const l of lines)
        assert.ok(!l.message.includes("s3cret") && !l.message.includes("ops:"), l.message);
    });

    it("warns about a redirect without following it or logging the Location's credentials", async () => {
      const elsewhere = `http://ops:s3cret-LEAK@127.0.0.1:${port}/elsewhere`;
      const redirecting = http.createServer((_req, res) => {
        res.writeHead(307, { location: elsewhere });
        res.end();
      });
      await new Promise<void>((resolve) => redirecting.listen(0, "127.0.0.1", resolve));
      try {
        const redirectPort = (redirecting.address() as AddressInfo).port;
        const viaRedirect = {
          ...settings,
          regions: settings.regions.map((r) => ({
            ...r,
            prewarmUrl: `http://127.0.0.1:${redirectPort}/prewarm/{region}`,
          })),
        };
        const { logger, lines } = capturingLogger();
        const result = await runPrewarmHook(hookArgs(deps[0]), viaRedirect, logger);
        assert.ok(result !== null && !result.ok && result.status === 307 && result.attempts === 1);
        assert.equal(received.length, 0, "the redirect was followed");
        assert.equal(lines.length, 1);
        assert.match(
          lines[0].message,
          /HTTP 307: a redirect to "http:\/\/\[redacted\]@127\.0\.0\.1:\d+\/elsewhere", not followed/,
        );
        assert.ok(!lines[0].message.includes("s3cret"));
        assertNoToken(lines.map((l) => l.message));
      } finally {
        redirecting.closeAllConnections();
        await new Promise<void>((resolve) => redirecting.close(() => resolve()));
      }
    });
  });

  describe("under the mock engine", () => {
    it("attaches the one registered hook to every Deployment as afterCreate and afterUpdate, not to other resources", async () => {
      const run = prewarmOnly(await runExample(false, prewarmConfig(3000)));
      const deps = deployments(run);
      assertPrewarmHookOnEach(deps);
      for (const other of run.resources.filter((r) => r.type !== DEPLOYMENT)) {
        assert.deepEqual(other.hooks, { afterCreate: [], afterUpdate: [] }, other.urn);
      }
      assert.equal(run.hooks.length, 1);
      assert.equal(run.hooks[0].name, PREWARM.hookName);
      assert.equal(run.hooks[0].onDryRun, false);
      assert.equal(run.hooks[0].ignoreErrors, true);
      // fireHooks was off for this run.
      assert.deepEqual(run.firedHooks, []);
      assert.equal(received.length, 0);
    });

    it("keeps the hook attached in a preview but never fires it, even when the engine would fire hooks", async () => {
      const run = prewarmOnly(await runExample(true, prewarmConfig(3000), { fireHooks: true }));
      const deps = deployments(run);
      assertPrewarmHookOnEach(deps);
      assert.equal(run.hooks.length, 1);
      assert.deepEqual(run.firedHooks, []);
      assert.equal(received.length, 0);
    });

    it("fires the hook after each Deployment's create: one POST per sentinel, with that sentinel's identity", async () => {
      const run = prewarmOnly(await runExample(false, prewarmConfig(3000), { fireHooks: true }));
      const deps = deployments(run);
      assert.equal(deps.length, EXAMPLE_SENTINELS);

      assert.equal(run.firedHooks.length, EXAMPLE_SENTINELS);
      for (const fired of run.firedHooks) {
        assert.equal(fired.hook, PREWARM.hookName);
        assert.equal(fired.error, null, `${fired.urn}: ${fired.error}`);
      }
      assert.deepEqual(run.firedHooks.map((f) => f.urn).sort(), deps.map((d) => d.urn).sort());

      assert.equal(received.length, EXAMPLE_SENTINELS);
      for (const dep of deps) {
        const meta = dep.outputs.metadata;
        const sentinelId: string = meta.labels[LABELS.sentinelId];
        const region: string = meta.annotations[ANNOTATIONS.region];
        const requests = received.filter((r) => r.body.sentinelId === sentinelId);
        assert.equal(requests.length, 1, `requests for sentinel ${sentinelId}`);
        const [req] = requests;
        assert.equal(req.method, "POST");
        assert.equal(req.url, `/prewarm/${region}/${meta.name}`);
        assert.equal(req.headers.authorization, `Bearer ${TOKEN}`);
        assert.equal(req.body.region, region);
        assert.deepEqual(req.body, expectedBody(dep));
      }

      const successes = run.logs.filter((l) =>
        /^router prewarm of sentinel .* succeeded in \d+ ms/.test(l.message),
      );
      assert.equal(successes.length, EXAMPLE_SENTINELS);
      assert.ok(successes.every((l) => l.severity === "info"));
      assertNoToken(run.logs.map((l) => l.message));
    });

    it("attaches no hook and says once that router prewarm is off when no prewarm URL is configured", async () => {
      const run = prewarmOnly(
        await runExample(false, { "sentinel-fleet:prewarm": undefined }, { fireHooks: true }),
      );
      const deps = deployments(run);
      assert.equal(deps.length, EXAMPLE_SENTINELS);
      for (const r of run.resources) assert.deepEqual(r.hooks, { afterCreate: [], afterUpdate: [] }, r.urn);
      assert.deepEqual(run.hooks, []);
      assert.deepEqual(run.firedHooks, []);
      assert.equal(received.length, 0);

      const prewarmLogs = run.logs.filter((l) => /prewarm/i.test(l.message));
      assert.equal(prewarmLogs.length, 1, JSON.stringify(run.logs));
      assert.equal(prewarmLogs[0].severity, "info");
      assert.match(prewarmLogs[0].message, /^router prewarm is off\b/);
      assertNoToken(run.logs.map((l) => l.message));
    });

    it("attaches the hook only to Deployments in regions that have a prewarm URL", async () => {
      const run = prewarmOnly(
        await runExample(false, {
          "sentinel-fleet:prewarm": undefined,
          "sentinel-fleet:regions": [
            {
              id: "reg_use1",
              name: "us-east-1",
              kubeContext: "kind-us-east-1",
              prewarmUrl: "http://router.use1/{k8sName}",
            },
            { id: "reg_euc1", name: "eu-central-1", kubeContext: "kind-eu-central-1" },
          ],
        }),
      );
      const byRegion = (region: string) =>
        deployments(run).filter((d) => d.inputs.metadata.annotations[ANNOTATIONS.region] === region);
      assert.equal(byRegion("us-east-1").length, 3);
      assert.equal(byRegion("eu-central-1").length, 2);
      for (const d of byRegion("us-east-1")) assert.deepEqual(d.hooks.afterCreate, [PREWARM.hookName]);
      for (const d of byRegion("eu-central-1"))
        assert.deepEqual(d.hooks, { afterCreate: [], afterUpdate: [] });
    });
  });
});
