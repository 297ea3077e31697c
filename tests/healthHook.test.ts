// The row-health hook against a real MariaDB: its callback called with ResourceHookArgs shaped like the
// engine's (a converged Deployment's outputs, status included), and the program under the mock engine.
import { strict as assert } from "assert";
import * as net from "net";
import {
  createHealthHook,
  HEALTH_HOOK_NAME,
  observedRollout,
  runHealthHook,
  type HealthHookSettings,
} from "../components/healthHook";
import type { HookLogger } from "../components/prewarmHook";
import { ANNOTATIONS, LABELS } from "../lib/constants";
import { SecretValue } from "../lib/secret";
import { parseConnectionSettings } from "../lib/config/connection";
import { closeDatabasePools } from "../providers/connection";
import {
  checkSentinelRecord,
  SentinelRecordProvider,
  type SentinelRecordCheckedInputs,
} from "../providers/sentinelRecord";
import { healthOf } from "../providers/sentinelSql";
import { DYNAMIC_RESOURCE_TYPE } from "../providers/stub";
import { startDatabase, type TestDatabase } from "./harness/mariadb";
import { runExample } from "./support/fixtures";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

function settingsFor(db: TestDatabase, overrides: Record<string, unknown> = {}): HealthHookSettings {
  const { settings } = parseConnectionSettings({
    host: db.host,
    port: db.port,
    user: db.user,
    name: db.database,
    ...overrides,
  });
  assert.ok(settings !== null);
  return {
    database: settings,
    password: new SecretValue("sentinel-fleet:databasePassword", db.password),
    caCert: null,
  };
}

/** A converged Deployment's outputs as the Kubernetes provider returns them, and the hook args around them. */
function hookArgs(
  row: { sentinelId: string; k8sName: string },
  environmentId: string,
  replicas: number,
  status: Record<string, unknown> | undefined,
) {
  const outputs = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: row.k8sName,
      namespace: "sentinel",
      labels: {
        [LABELS.sentinelId]: row.sentinelId,
        [LABELS.environmentId]: environmentId,
        [LABELS.workspaceId]: "ws_1",
        [LABELS.projectId]: "proj_1",
      },
      annotations: { [ANNOTATIONS.regionId]: "reg_use1", [ANNOTATIONS.region]: "us-east-1" },
    },
    spec: { replicas },
    ...(status === undefined ? {} : { status }),
  };
  return {
    urn: `urn:pulumi:dev::sentinel-fleet::sentinel-fleet:index:Sentinel$${DEPLOYMENT}::${environmentId}-us-east-1`,
    id: `sentinel/${row.k8sName}`,
    name: `${environmentId}-us-east-1`,
    type: DEPLOYMENT,
    newInputs: { metadata: outputs.metadata, spec: outputs.spec },
    newOutputs: outputs,
  };
}

function recordingLogger(): { logger: HookLogger; lines: { level: string; message: string }[] } {
  const lines: { level: string; message: string }[] = [];
  return {
    lines,
    logger: {
      info: (message) => void lines.push({ level: "info", message }),
      warn: (message) => void lines.push({ level: "warn", message }),
    },
  };
}

describe("row-health hook", function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let provider: SentinelRecordProvider;

  const create = async (environmentId: string, replicas: number) => {
    const spec = {
      workspaceId: "ws_1",
      projectId: "proj_1",
      environmentId,
      environmentSlug: "staging",
      regionId: "reg_use1",
      namespace: "sentinel",
      image: "ghcr.io/unkeyed/unkey:v2.0.31",
      replicas,
    };
    const inputs = checkSentinelRecord({}, { spec }).inputs as unknown as SentinelRecordCheckedInputs;
    return (await provider.create(inputs)).outs;
  };
  const row = async (id: string) =>
    (
      (await db.admin("SELECT health, available_replicas, version FROM sentinels WHERE id = ?", [
        id,
      ])) as any[]
    )[0];

  before(async () => {
    db = await startDatabase();
    provider = new SentinelRecordProvider();
    const values: Record<string, unknown> = {
      "sentinel-fleet:database": { host: db.host, port: db.port, user: db.user, name: db.database },
      "sentinel-fleet:databasePassword": db.password,
    };
    await provider.configure({
      config: { get: (k: string) => values[k], require: (k: string) => values[k] },
    } as never);
  });
  after(async () => {
    await closeDatabasePools();
    await db?.stop();
  });
  beforeEach(() => db.reset());

  it("derives health as spec section 7 says", () => {
    assert.deepEqual(
      [healthOf(3, 3), healthOf(3, 1), healthOf(3, 0), healthOf(0, 0), healthOf(0, 1)],
      ["healthy", "healthy", "unhealthy", "paused", "healthy"],
    );
    const seen = observedRollout(hookArgs({ sentinelId: "s_1", k8sName: "k" }, "env_1", 2, {}).newOutputs);
    assert.deepEqual("missing" in seen ? seen : [seen.availableReplicas, seen.health], [0, "unhealthy"]);
    assert.deepEqual(observedRollout({ metadata: {}, spec: { replicas: -1 } }), {
      missing: [
        `metadata.labels["${LABELS.sentinelId}"]`,
        `metadata.labels["${LABELS.environmentId}"]`,
        `metadata.annotations["${ANNOTATIONS.regionId}"]`,
        `metadata.labels["${LABELS.workspaceId}"]`,
        `metadata.labels["${LABELS.projectId}"]`,
        "spec.replicas",
        "status",
      ],
    });
  });

  it("writes what the converged rollout observed into the row, with a new version each time it changes", async () => {
    const outs = await create("env_h", 3);
    const before = await row(outs.sentinelId);
    assert.deepEqual([before.health, before.available_replicas], ["unknown", 0]);
    const { logger, lines } = recordingLogger();
    const settings = settingsFor(db);

    const healthy = await runHealthHook(
      hookArgs(outs, "env_h", 3, { replicas: 3, availableReplicas: 3, readyReplicas: 3 }),
      settings,
      logger,
    );
    assert.ok(healthy?.written);
    const r1 = await row(outs.sentinelId);
    assert.deepEqual([r1.health, r1.available_replicas], ["healthy", 3]);
    assert.ok(Number(r1.version) > Number(before.version));
    assert.equal(healthy.row.version, Number(r1.version));

    // The same observation again: nothing to change, no new version.
    const same = await runHealthHook(
      hookArgs(outs, "env_h", 3, { replicas: 3, availableReplicas: 3 }),
      settings,
      logger,
    );
    assert.equal(same?.written, false);
    assert.equal(Number((await row(outs.sentinelId)).version), Number(r1.version));

    // Kubernetes omits availableReplicas when it is 0.
    await runHealthHook(
      hookArgs(outs, "env_h", 3, { replicas: 3, unavailableReplicas: 3 }),
      settings,
      logger,
    );
    const r2 = await row(outs.sentinelId);
    assert.deepEqual([r2.health, r2.available_replicas], ["unhealthy", 0]);
    assert.ok(Number(r2.version) > Number(r1.version));

    await runHealthHook(hookArgs(outs, "env_h", 0, {}), settings, logger);
    const r3 = await row(outs.sentinelId);
    assert.deepEqual([r3.health, r3.available_replicas], ["paused", 0]);
    assert.ok(Number(r3.version) > Number(r2.version));
    assert.deepEqual(
      lines.map((l) => l.level),
      ["info", "info", "info", "info"],
    );
    assert.ok(lines.every((l) => !l.message.includes(db.password)));
  });

  it("fails the hook clearly when the write fails, leaving the row as it was", async () => {
    const outs = await create("env_down", 1);
    const refused = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const down = settingsFor(db, { port: refused, connectTimeoutMs: 500, operationTimeoutMs: 3_000 });
    const args = hookArgs(outs, "env_down", 1, { availableReplicas: 1 });
    await assert.rejects(runHealthHook(args, down, recordingLogger().logger), (err: Error) => {
      assert.match(
        err.message,
        new RegExp(
          `recording the rollout of sentinel "${outs.sentinelId}" \\("env_down", "reg_use1"\\) \\(healthy, 1/1 available\\) ` +
            `in its row failed: .*cannot connect to the platform database at 127\\.0\\.0\\.1:${refused}`,
        ),
      );
      assert.ok(!err.message.includes(db.password));
      return true;
    });
    assert.equal((await row(outs.sentinelId)).health, "unknown");

    // A Deployment whose labels point at a row of another environment (differing only by case) is refused.
    await assert.rejects(
      runHealthHook(
        hookArgs(outs, "ENV_DOWN", 1, { availableReplicas: 1 }),
        settingsFor(db),
        recordingLogger().logger,
      ),
      /belongs to environment "env_down", .* not to this sentinel .*they differ in environment, compared byte for byte/,
    );
    assert.equal((await row(outs.sentinelId)).health, "unknown");
  });

  it("warns and writes nothing when the Deployment's outputs hold no status", async () => {
    const outs = await create("env_nostatus", 1);
    const { logger, lines } = recordingLogger();
    assert.equal(
      await runHealthHook(hookArgs(outs, "env_nostatus", 1, undefined), settingsFor(db), logger),
      null,
    );
    assert.deepEqual(lines, [
      { level: "warn", message: "row health not recorded: the Deployment's outputs lack status" },
    ]);
    assert.equal((await row(outs.sentinelId)).health, "unknown");
  });

  it("records the health of a row inserted again after an out-of-band delete, on the `up` that inserts it", async () => {
    const spec = {
      workspaceId: "ws_1",
      projectId: "proj_1",
      environmentId: "env_again",
      environmentSlug: "staging",
      regionId: "reg_use1",
      namespace: "sentinel",
      image: "ghcr.io/unkeyed/unkey:v2.0.31",
      replicas: 2,
    };
    const settings = settingsFor(db);
    const { logger } = recordingLogger();
    const converged = { replicas: 2, availableReplicas: 2, readyReplicas: 2 };
    // First `up`: the record, then the Deployment's create and its hook.
    const first = (await provider.check({}, { spec })).inputs as unknown as SentinelRecordCheckedInputs;
    const created = (await provider.create(first)).outs;
    await runHealthHook(hookArgs(created, "env_again", 2, converged), settings, logger);
    const healthy = await row(created.sentinelId);
    assert.deepEqual([healthy.health, healthy.available_replicas], ["healthy", 2]);

    // The row is deleted out of band; `pulumi refresh` drops the record (read says it is gone).
    await db.admin("DELETE FROM sentinels WHERE id = ?", [created.sentinelId]);
    assert.equal((await provider.read(created.sentinelId, created)).id, "");

    // The next `up` checks the record with no prior state and inserts the row again, saying `unknown`...
    const again = (await provider.check({}, { spec })).inputs as unknown as SentinelRecordCheckedInputs;
    const recreated = (await provider.create(again)).outs;
    assert.equal(recreated.sentinelId, created.sentinelId, "the same id and name");
    assert.equal((await row(created.sentinelId)).health, "unknown");
    // ... with a new incarnation, which the Deployment carries: it changes, so the engine updates it (metadata
    // only) once the record is created, and the hook runs after that update with the converged status.
    assert.notEqual(recreated.row.incarnation, created.row.incarnation);
    const written = await runHealthHook(hookArgs(recreated, "env_again", 2, converged), settings, logger);
    assert.ok(written?.written);
    const after = await row(created.sentinelId);
    assert.deepEqual([after.health, after.available_replicas], ["healthy", 2]);
    assert.ok(Number(after.version) > Number(healthy.version), "a new version, above the deleted row's");
  });

  it("changes a Deployment exactly when its record is created again, and no Deployment on an upgrade", async () => {
    const deployments = (run: Awaited<ReturnType<typeof runExample>>) =>
      new Map(run.resources.filter((r) => r.type === DEPLOYMENT).map((r) => [r.name, r.inputs]));
    const records = (run: Awaited<ReturnType<typeof runExample>>) =>
      new Map(run.resources.filter((r) => r.type === DYNAMIC_RESOURCE_TYPE).map((r) => [r.name, r.outputs]));
    // A first deployment: every record is a create, and its Deployment carries the record's incarnation.
    const first = await runExample(false);
    const firstRecords = records(first);
    const firstDeployments = deployments(first);
    assert.ok(firstDeployments.size >= 2);
    for (const [name, d] of firstDeployments) {
      const incarnation = d.metadata.annotations[ANNOTATIONS.rowIncarnation];
      assert.match(incarnation, /^\d{13}$/, name);
      assert.equal(incarnation, firstRecords.get(name)?.row.incarnation, name);
    }
    // The next `up` (the engine passes each record's stored inputs to check): every Deployment as it was.
    const next = await runExample(false, {}, { priorInputs: (name) => firstRecords.get(name) });
    assert.deepEqual(deployments(next), firstDeployments);
    // One record dropped by a refresh after its row was deleted out of band: only its Deployment differs,
    // only in that annotation (no pod template change, so no pods restart).
    const [dropped] = [...firstRecords.keys()];
    const after = deployments(
      await runExample(
        false,
        {},
        { priorInputs: (name) => (name === dropped ? undefined : firstRecords.get(name)) },
      ),
    );
    for (const [name, d] of firstDeployments) {
      if (name !== dropped) {
        assert.deepEqual(after.get(name), d, name);
        continue;
      }
      const changed = after.get(name)!;
      assert.notEqual(
        changed.metadata.annotations[ANNOTATIONS.rowIncarnation],
        d.metadata.annotations[ANNOTATIONS.rowIncarnation],
      );
      const without = (x: any) => ({
        ...x,
        metadata: {
          ...x.metadata,
          annotations: { ...x.metadata.annotations, [ANNOTATIONS.rowIncarnation]: "" },
        },
      });
      assert.deepEqual(without(changed), without(d));
    }
    // Records stored by a release without incarnations: their Deployments get no new annotation, so an
    // upgrade plans no Deployment change.
    const older = (name: string) => {
      const r = firstRecords.get(name);
      return r === undefined ? undefined : { ...r, row: { ...r.row, incarnation: undefined } };
    };
    for (const [name, d] of deployments(await runExample(false, {}, { priorInputs: older }))) {
      assert.ok(!(ANNOTATIONS.rowIncarnation in d.metadata.annotations), name);
      assert.deepEqual(
        Object.keys(d.metadata.annotations).sort(),
        [ANNOTATIONS.address, ANNOTATIONS.region, ANNOTATIONS.regionId].sort(),
      );
    }
  });

  it("is one hook, never run in previews, failing the update when the write fails", () => {
    const hook = createHealthHook(settingsFor(db));
    assert.equal(hook.name, HEALTH_HOOK_NAME);
    assert.deepEqual([hook.opts?.onDryRun, hook.opts?.ignoreErrors], [false, false]);
  });

  it("fires under the mock engine after every Deployment's create without failing the run", async () => {
    // Prewarm off: the example routers do not exist here (tests/prewarmHook.test.ts serves its own).
    const run = await runExample(false, { "sentinel-fleet:prewarm": undefined }, { fireHooks: true });
    const fired = run.firedHooks.filter((f) => f.hook === HEALTH_HOOK_NAME);
    const deployments = run.resources.filter((r) => r.type === DEPLOYMENT);
    assert.equal(fired.length, deployments.length);
    assert.ok(fired.every((f) => f.error === null));
    // The mock engine's Deployments have no status: nothing observed, nothing written, one warning each.
    const warnings = run.logs.filter((l) => /^row health not recorded/.test(l.message));
    assert.equal(warnings.length, deployments.length);
  });
});
