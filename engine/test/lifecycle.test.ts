// The whole lifecycle of a fleet stack on the real engine: preview, up, a preview with no changes, the
// checkpoint's secrets, an image change, a row deleted out of band, a failing after-hook, destroy. After each
// step, tests/e2e/check.ts's phases (the kind workflow's assertions) read the API servers, the database and
// the checkpoint.
import * as assert from "assert";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { withDeadlines } from "../driver";
import { clusters, phase, queryRows, stateSentinelIds } from "../../tests/e2e/check";
import {
  checkedConfig,
  checkStack,
  operatorLogins,
  prepareDatabase,
  tierStack,
  type TierStack,
} from "./stacks";
import { ENGINE_PHASE, noProblems, plaintextSecrets, watchAvailability } from "./assertions";
import { startTier, type Tier } from "./tier";

describe("a fleet stack on the real engine", function () {
  this.timeout(15 * 60_000);
  let tier: Tier;
  let fleet: TierStack;
  let stack: Stack;
  let logins: Awaited<ReturnType<typeof prepareDatabase>>;

  before(async () => {
    tier = await startTier();
    logins = await prepareDatabase(tier);
    fleet = await tierStack(tier, "fleet", logins);
    stack = fleet.stack;
    checkStack(fleet);
  });
  after(async () => {
    await tier?.stop();
  });

  it("previews without writing anything", async () => {
    const preview = await stack.preview();
    assert.ok(
      (preview.changeSummary.create ?? 0) > 0,
      `preview plans no creates: ${JSON.stringify(preview.changeSummary)}`,
    );
    const cfg = checkedConfig();
    assert.deepStrictEqual(queryRows(cfg), []);
    for (const c of clusters(cfg)) {
      assert.strictEqual(c.namespace, null, `${c.region}: the preview created the namespace`);
      assert.deepStrictEqual(c.objects, [], `${c.region}: the preview created objects`);
    }
    assert.deepStrictEqual(stateSentinelIds(), []);
    assert.deepStrictEqual(tier.receiver.calls(), []);
  });

  it("up converges: pods Ready, Deployments Available, endpoints, PDBs, rows with health, prewarm calls", async () => {
    await stack.up();
    noProblems("up", await phase("up", ENGINE_PHASE));
  });

  it("a preview right after up has no changes", async () => {
    const preview = await stack.preview({ expectNoChanges: true });
    const changed = Object.entries(preview.changeSummary).filter(([op, n]) => op !== "same" && (n ?? 0) > 0);
    assert.deepStrictEqual(changed, []);
  });

  it("an operation past its deadline is cancelled, and the stack is usable after it", async () => {
    const bounded = withDeadlines(await Stack.select(stack.name, stack.workspace), 1_500);
    const started = Date.now();
    await assert.rejects(bounded.up(), /cancel|interrupt|signal/i);
    // The CLI stops at the deadline (SIGINT), not when the update would have ended.
    assert.ok(Date.now() - started < 60_000, `the cancelled up took ${Date.now() - started} ms`);
    const preview = await stack.preview({ expectNoChanges: true });
    assert.deepStrictEqual(
      Object.entries(preview.changeSummary).filter(([op, n]) => op !== "same" && (n ?? 0) > 0),
      [],
    );
  });

  it("the checkpoint holds no secret in plaintext", () => {
    const values = [...fleet.secretValues, process.env.PULUMI_CONFIG_PASSPHRASE ?? ""];
    const found = plaintextSecrets(path.join(tier.work, "state"), fleet.name, values);
    assert.deepStrictEqual(found, []);
  });

  it("an image change rolls with no unavailability, and the hooks fire again", async () => {
    await stack.setConfig("sentinel-fleet:image", { value: "ghcr.io/unkeyed/unkey:v2.0.32" });
    const watch = watchAvailability(checkedConfig());
    try {
      await stack.up();
    } finally {
      watch.stop();
    }
    noProblems("image", await phase("image", ENGINE_PHASE));
    const w = watch.result();
    assert.ok(w.observations > 0, "the rollout was never observed");
    assert.deepStrictEqual(w.problems, []);
  });

  /** Deletes the preview environment's row out of band and refreshes the stack; returns the row's id. */
  async function deleteRowAndRefresh(): Promise<string> {
    const [row] = (await tier.db.admin(
      "SELECT id FROM sentinels WHERE environment_id = 'env_engine_preview'",
    )) as {
      id: string;
    }[];
    assert.ok(row !== undefined, "no row of env_engine_preview");
    await tier.db.admin("DELETE FROM sentinels WHERE id = ?", [row.id]);
    process.env.E2E_DELETED_ID = row.id;
    await stack.refresh();
    noProblems("refresh", await phase("refresh", ENGINE_PHASE));
    return row.id;
  }

  it("a row deleted out of band: refresh forgets it, up inserts it again", async () => {
    await deleteRowAndRefresh();
    await stack.up();
    noProblems("recreated", await phase("recreated", ENGINE_PHASE));
  });

  it("a failing after-hook fails the update; a failing router prewarm only warns", async () => {
    // The row inserted again changes its Deployment's metadata, so the health hook fires and writes the
    // rollout into the new row: the database refuses that write (and only it).
    await tier.db.admin(
      "CREATE TRIGGER engine_refuse_health BEFORE UPDATE ON sentinels FOR EACH ROW " +
        "IF NEW.health <> OLD.health THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'engine tier refuses'; END IF",
    );
    const id = await deleteRowAndRefresh();
    await assert.rejects(stack.up(), (err: Error) => /engine tier refuses/.test(err.message));
    const row = queryRows(checkedConfig()).find((r) => r.id === id);
    assert.ok(row !== undefined, `row ${id} was not inserted again`);
    assert.strictEqual(row.health, "unknown", "the refused health write changed the row");

    await tier.db.admin("DROP TRIGGER engine_refuse_health");
    await deleteRowAndRefresh();
    tier.receiver.status = 500;
    const callsBefore = tier.receiver.calls().length;
    try {
      await stack.up();
    } finally {
      tier.receiver.status = 200;
    }
    // The hook tried again within its deadline, was refused every time, and the update succeeded.
    const during = tier.receiver.calls().slice(callsBefore);
    assert.ok(during.length >= 2, `${during.length} prewarm calls while the router answered 500`);
    noProblems("recreated", await phase("recreated", ENGINE_PHASE));
  });

  it("destroy leaves no row and no object but the retained namespace, and the operator's logins", async () => {
    await stack.destroy();
    noProblems("destroy", await phase("destroy", ENGINE_PHASE));
    assert.strictEqual((await operatorLogins(tier)).length, Object.keys(logins).length);
  });
});
