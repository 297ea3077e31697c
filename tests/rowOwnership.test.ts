// Rows that are no longer the resource's: another environment, region, workspace or project took the row over
// out of band (a case-only variant counts as another), and every operation that writes or deletes must refuse
// it, naming both owners and writing nothing: update, delete, refresh, the health write-back and an adoption.
// Through Pulumi's dynamic-provider host against a real MariaDB, the engine's calls emulated as in
// tests/cutover.test.ts; the health hook as the engine calls it.
import { strict as assert } from "assert";
import type { Connection } from "mysql2/promise";
import { runHealthHook, type HealthHookSettings } from "../components/healthHook";
import { SecretValue } from "../lib/secret";
import { closeDatabasePools, parseConnectionSettings } from "../providers/connection";
import { kubernetesNameProblems } from "../providers/sentinelSql";
import { SENTINEL_RECORD_PROVIDER_STUB } from "../providers/stub";
import { startDatabase, type TestDatabase } from "./harness/mariadb";
import { secret, startProviderHost, type Props, type ProviderHost } from "./harness/providerHost";
import { afterCreate, deploymentOutputs, QUIET, SAMPLE_SPEC } from "./support/sentinels";

const SPEC = { ...SAMPLE_SPEC, workspaceId: "ws_own", projectId: "proj_own", environmentId: "env_own" };
const NEW_IMAGE = "ghcr.io/unkeyed/unkey:v2.0.32";

interface State {
  readonly id: string;
  readonly inputs: Props;
  readonly outputs: Props;
}

/** What the engine sends as a record's new inputs. */
const newsFor = (spec: Props = {}): Props => ({
  __provider: SENTINEL_RECORD_PROVIDER_STUB,
  spec: { ...SPEC, ...spec },
});

/** A gRPC failure's message (what the engine prints), or null when the call succeeded. */
async function refusal(call: Promise<unknown>): Promise<string | null> {
  return call.then(
    () => null,
    (err: { details?: string; message?: string }) => String(err.details ?? err.message),
  );
}

/**
 * Polls until a session has been running a statement matching `pattern` for 200 ms, i.e. waits in it (for a
 * lock, here), and returns the statement. MariaDB does not list a transaction that has only read in
 * INNODB_TRX, so the process list is what shows a locking read that waits.
 */
async function waitingIn(db: TestDatabase, pattern: RegExp): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const running = (await db.admin(
      "SELECT info, time_ms FROM information_schema.PROCESSLIST WHERE command = 'Query' AND info IS NOT NULL",
    )) as { info: string; time_ms: string }[];
    const waiting = running.find((r) => pattern.test(r.info) && Number(r.time_ms) >= 200);
    if (waiting !== undefined) return waiting.info;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no session waited in a statement matching ${pattern} within 5 s`);
}

/** The provider's deadline here: its lock waits (9 s) outlast waitingIn's polling. */
const OPERATION_TIMEOUT_MS = 20_000;

describe("rows that are no longer the resource's", function () {
  this.timeout(120_000);
  let db: TestDatabase;
  let host: ProviderHost;
  let healthSettings: HealthHookSettings;

  before(async () => {
    db = await startDatabase();
    host = await startProviderHost();
    const database = { host: db.host, port: db.port, user: db.user, name: db.database };
    await host.configure({
      config: {
        "sentinel-fleet:database": { ...database, operationTimeoutMs: OPERATION_TIMEOUT_MS },
        "sentinel-fleet:databasePassword": secret(db.password),
      },
    });
    const { settings } = parseConnectionSettings({ ...database, operationTimeoutMs: OPERATION_TIMEOUT_MS });
    assert.ok(settings !== null);
    healthSettings = {
      database: settings,
      password: new SecretValue("sentinel-fleet:databasePassword", db.password),
      caCert: null,
    };
  });
  after(async function () {
    this.timeout(30_000);
    await closeDatabasePools();
    await host?.stop();
    await db?.stop();
  });
  beforeEach(() => db.reset());

  /** `pulumi up` of a new record: check, then create; the state the engine keeps. */
  async function up(spec: Props = {}): Promise<State> {
    const checked = (await host.check({ olds: {}, news: newsFor(spec) })).inputs;
    const created = await host.create({ properties: checked });
    return { id: created.id, inputs: checked, outputs: created.properties };
  }

  /** `pulumi up` of a change: check against the state's inputs, diff, then update. */
  async function change(state: State, spec: Props): Promise<Props> {
    const checked = (await host.check({ olds: state.inputs, news: newsFor(spec) })).inputs;
    const request = { id: state.id, olds: state.outputs, news: checked, oldInputs: state.inputs };
    assert.equal((await host.diff(request)).changes, "some");
    return (await host.update(request)).properties;
  }

  const rowsByPk = async () =>
    ((await db.admin("SELECT * FROM sentinels ORDER BY pk")) as Props[]).map((r) => ({ ...r }));

  /** The health hook after a rollout of the state's sentinel: its Deployment's labels name the record's owner. */
  const healthWrite = (state: State) =>
    runHealthHook(
      afterCreate(deploymentOutputs({ sentinelId: state.id, ...state.outputs.spec }, state.outputs.k8sName)),
      healthSettings,
      QUIET,
    );

  /** Another owner's value in one column, or a variant of ours the collation equates with it. */
  const TAKEOVERS: { label: string; column: string; value: (state: State) => string }[] = [
    { label: "environment", column: "environment_id", value: () => "env_thief" },
    { label: "environment", column: "environment_id", value: () => "ENV_OWN" },
    { label: "environment", column: "environment_id", value: () => "env_own " },
    { label: "region", column: "region_id", value: () => "reg_euc1" },
    { label: "region", column: "region_id", value: () => "REG_USE1" },
    { label: "workspace", column: "workspace_id", value: () => "ws_thief" },
    { label: "workspace", column: "workspace_id", value: () => "Ws_Own" },
    { label: "project", column: "project_id", value: () => "proj_thief" },
    { label: "project", column: "project_id", value: () => "proj_own\t" },
    { label: "id", column: "id", value: (state) => state.id.toUpperCase() },
  ];
  const ours: Record<string, (state: State) => string> = {
    environment: () => SPEC.environmentId,
    region: () => SPEC.regionId,
    workspace: () => SPEC.workspaceId,
    project: () => SPEC.projectId,
    id: (state) => state.id,
  };

  it("refuses to update, delete, refresh or record the health of a row another owner took over, naming both, writing nothing", async () => {
    for (const { label, column, value } of TAKEOVERS) {
      await db.reset();
      const state = await up();
      const theirs = value(state);
      await db.admin(`UPDATE sentinels SET ${column} = ?`, [theirs]);
      const before = await rowsByPk();
      const what = `${column} = ${JSON.stringify(theirs)}`;

      const attempts: [string, () => Promise<unknown>][] = [
        ["update", () => change(state, { image: NEW_IMAGE })],
        ["delete", () => host.delete({ id: state.id, properties: state.outputs, oldInputs: state.inputs })],
        ["refresh", () => host.read({ id: state.id, properties: state.outputs, inputs: state.inputs })],
        ["health write-back", () => healthWrite(state)],
      ];
      for (const [operation, attempt] of attempts) {
        const message = await refusal(attempt());
        assert.ok(message !== null, `${operation} of a row with ${what} succeeded`);
        // Both owners, quoted: the row's value and ours, in the field that differs.
        const field = label === "id" ? "sentinel row" : label;
        assert.ok(
          message.includes(`${field} ${JSON.stringify(theirs)}`),
          `${operation}, ${what}: ${message}`,
        );
        assert.ok(message.includes(JSON.stringify(ours[label](state))), `${operation}, ${what}: ${message}`);
        assert.match(message, new RegExp(`they differ in ${label}\\b`), `${operation}, ${what}`);
        assert.match(message, /is refused and nothing was changed/, `${operation}, ${what}`);
        assert.deepEqual(await rowsByPk(), before, `${operation} with ${what} changed the row`);
      }
    }
  });

  it("quotes a taken-over row's ids bounded and escaped", async () => {
    const state = await up();
    const hostile = `env\u001b[2J\r\n[INFO] forged line ${"x".repeat(200)}`;
    await db.admin("UPDATE sentinels SET environment_id = ?", [hostile]);
    const message = await refusal(change(state, { image: NEW_IMAGE }));
    assert.ok(message !== null);
    assert.ok(
      !/[\u0000-\u001f\u007f]/.test(message),
      `raw control characters in: ${JSON.stringify(message)}`,
    );
    assert.ok(message.includes(String.raw`"env\u001b[2J\r\n[INFO] forged line xxx`), message);
    assert.ok(message.includes(`…" (${hostile.length} characters)`), message);
    assert.ok(!message.includes("x".repeat(100)), "the value is quoted whole");
    assert.ok(message.length < 2_000, `${message.length} characters`);
  });

  it("after a refresh, the next up never deletes or rewrites another environment's row", async () => {
    const state = await up();
    // Another environment takes the row over, every id of it.
    await db.admin(
      "UPDATE sentinels SET environment_id = 'env_thief', workspace_id = 'ws_thief', project_id = 'proj_thief', " +
        "image = 'ghcr.io/thief/app:1'",
    );
    const theirs = await rowsByPk();

    // pulumi refresh: refused, so the state keeps the record's own identity (it would have recorded the thief's,
    // and the next up would then have replaced the record, deleting the thief's row).
    const refresh = await refusal(
      host.read({ id: state.id, properties: state.outputs, inputs: state.inputs }),
    );
    assert.match(refresh ?? "", /belongs to environment "env_thief".*not to this sentinel \(.*"env_own"/);

    // pulumi up, nothing changed: no database call at all.
    const same = (await host.check({ olds: state.inputs, news: newsFor() })).inputs;
    const quiet = await host.diff({ id: state.id, olds: state.outputs, news: same, oldInputs: state.inputs });
    assert.equal(quiet.changes, "none");
    // pulumi up with a change: refused.
    assert.ok((await refusal(change(state, { image: NEW_IMAGE }))) !== null);
    // A move to another region replaces the record: the new row is created, the old one is not deleted.
    const moved = (await host.check({ olds: state.inputs, news: newsFor({ regionId: "reg_euc1" }) })).inputs;
    const replace = await host.diff({
      id: state.id,
      olds: state.outputs,
      news: moved,
      oldInputs: state.inputs,
    });
    assert.deepEqual(replace.replaces, ["spec.regionId"]);
    const created = await host.create({ properties: moved });
    assert.ok((await refusal(host.delete({ id: state.id, properties: state.outputs }))) !== null);
    // pulumi destroy of the new record deletes only its own row.
    await host.delete({ id: created.id, properties: created.properties });
    assert.deepEqual(await rowsByPk(), theirs, "the other environment's row is as it was");
  });

  it("checks under the row's lock: a takeover that commits while a write waits is refused", async () => {
    const other: Connection = await db.connect();
    try {
      for (const operation of ["update", "delete", "health write-back"]) {
        await db.reset();
        const state = await up();
        await other.query("START TRANSACTION");
        await other.query("UPDATE sentinels SET project_id = 'proj_thief', image = 'ghcr.io/thief/app:1'");
        const attempt =
          operation === "update"
            ? change(state, { image: NEW_IMAGE })
            : operation === "delete"
              ? host.delete({ id: state.id, properties: state.outputs })
              : healthWrite(state);
        const pending = refusal(attempt);
        // The write waits for the row the takeover holds (its check has not run yet), then sees it committed.
        await waitingIn(db, new RegExp(`FROM sentinels WHERE id = '${state.id}' FOR UPDATE`));
        await other.query("COMMIT");
        const message = await pending;
        assert.match(message ?? "", /belongs to .*project "proj_thief".*they differ in project/, operation);
        const [row] = await rowsByPk();
        assert.deepEqual(
          [row.project_id, row.image, row.health, Number(row.version)],
          ["proj_thief", "ghcr.io/thief/app:1", "unknown", state.outputs.version],
          operation,
        );
      }
    } finally {
      await other.end();
    }
  });

  it("moves a row to another region under the new region's lock, not the old one's", async () => {
    const state = await up();
    const neighbour = await up({ environmentId: "env_neighbour", regionId: "reg_euc1" });
    const locker: Connection = await db.connect();
    try {
      // The old region's lock held elsewhere does not hold the move up.
      await locker.query("START TRANSACTION");
      await locker.query("SELECT id FROM regions WHERE id = 'reg_use1' FOR UPDATE");
      const moved = await change(state, { regionId: "reg_euc1" });
      await locker.query("COMMIT");
      const [row] = (await db.admin("SELECT region_id, version FROM sentinels WHERE id = ?", [
        state.id,
      ])) as Props[];
      assert.equal(row.region_id, "reg_euc1");
      assert.ok(
        Number(row.version) > neighbour.outputs.version,
        "a version of the new region, above its rows",
      );
      assert.equal(moved.spec.regionId, "reg_euc1");
      const movedState = { id: state.id, inputs: { ...state.inputs, spec: moved.spec }, outputs: moved };

      // The new region's lock held elsewhere: the move waits for exactly that lock.
      await locker.query("START TRANSACTION");
      await locker.query("SELECT id FROM regions WHERE id = 'reg_aps1' FOR UPDATE");
      const pending = change(movedState, { regionId: "reg_aps1" });
      await waitingIn(db, /FROM regions r WHERE r\.id = 'reg_aps1' FOR UPDATE/);
      await locker.query("COMMIT");
      const movedAgain = await pending;
      const [after] = (await db.admin("SELECT region_id FROM sentinels WHERE id = ?", [state.id])) as Props[];
      assert.equal(after.region_id, "reg_aps1");

      // A region where the environment already has a row: refused, nothing written.
      await db.admin(
        "INSERT INTO sentinels (id, workspace_id, project_id, environment_id, k8s_name, k8s_address, region_id, " +
          "image, desired_replicas, available_replicas, cpu_millicores, memory_mib, version, created_at) " +
          "VALUES ('s_there', 'ws_own', 'proj_own', 'env_own', 'there', 'there.sentinel.svc.cluster.local:8040', " +
          "'reg_use1', 'ghcr.io/x/y:1', 1, 0, 1, 1, 1, 1)",
      );
      const before = await rowsByPk();
      const lastState = {
        id: state.id,
        inputs: { ...state.inputs, spec: movedAgain.spec },
        outputs: movedAgain,
      };
      const taken = await refusal(change(lastState, { regionId: "reg_use1" }));
      assert.match(taken ?? "", /row "s_there" is already there; nothing was changed/);
      assert.deepEqual(await rowsByPk(), before);
    } finally {
      await locker.end();
    }
  });

  describe("adopting a row during a cutover", () => {
    const insert = (k8sName: string, k8sAddress: string, ids: Props = {}) =>
      db.admin(
        "INSERT INTO sentinels (id, workspace_id, project_id, environment_id, k8s_name, k8s_address, region_id, " +
          "image, desired_replicas, available_replicas, cpu_millicores, memory_mib, version, created_at) " +
          "VALUES ('s_orig01', ?, ?, ?, ?, ?, 'reg_use1', ?, 1, 1, 256, 256, 41, 1700000000000)",
        [
          ids.workspaceId ?? SPEC.workspaceId,
          ids.projectId ?? SPEC.projectId,
          SPEC.environmentId,
          k8sName,
          k8sAddress,
          SPEC.image,
        ],
      );
    const cutover = newsFor({ adoptExisting: true });

    const BAD_NAMES = [
      "Q7X2K9AB",
      "9q7x2k9a",
      "q7x2k9a-",
      "q7x2_k9a",
      "q7x2.k9a",
      "q7x2\nk9a",
      "",
      "q".repeat(64),
    ];
    const BAD_ADDRESSES = [
      "q7x2k9ab.sentinel.svc.cluster.local",
      "q7x2k9ab.sentinel.svc.cluster.local:0",
      "q7x2k9ab.sentinel.svc.cluster.local:99999",
      "q7x2k9ab.Sentinel.svc.cluster.local:8040",
      "q7x2k9ab..svc.cluster.local:8040",
      "q7x2k9ab sentinel:8040",
      "q7x2k9ab.sentinel.svc.cluster.local:8040\u001b[0m",
      "http://q7x2k9ab.sentinel.svc.cluster.local:8040",
    ];

    it("refuses a row whose k8s_name or address cannot name Kubernetes objects, at check and at create", async () => {
      const cases = [
        ...BAD_NAMES.map((name) => ({
          name,
          address: `${name}.sentinel.svc.cluster.local:8040`,
          bad: "k8s_name",
        })),
        ...BAD_ADDRESSES.map((address) => ({ name: "q7x2k9ab", address, bad: "k8s_address" })),
      ];
      for (const { name, address, bad } of cases) {
        await db.reset();
        await insert(name, address);
        const before = await rowsByPk();
        const value = bad === "k8s_name" ? name : address;
        const atCheck = await refusal(host.check({ olds: {}, news: cutover }));
        assert.ok(
          atCheck !== null,
          `check adopted k8s_name ${JSON.stringify(name)}, address ${JSON.stringify(address)}`,
        );
        assert.match(atCheck, /sentinel row "s_orig01" of environment "env_own".* cannot be adopted: /);
        assert.ok(atCheck.includes(`${bad} ${JSON.stringify(value).slice(0, 40)}`), atCheck);
        assert.ok(!/[\u0000-\u001f]/.test(atCheck), "control characters escaped");
        // A create (the row appeared after the preview, or no cutover opt-in) refuses it the same way.
        const proposed = (await host.check({ olds: {}, news: newsFor() })).inputs;
        const atCreate = await refusal(host.create({ properties: proposed }));
        assert.match(atCreate ?? "", / cannot be adopted: /);
        assert.deepEqual(await rowsByPk(), before);
      }
      // The same row with usable names is adopted.
      await db.reset();
      await insert("q7x2k9ab", "q7x2k9ab.sentinel.svc.cluster.local:8040");
      const adopted = (await host.check({ olds: {}, news: cutover })).inputs;
      assert.deepEqual([adopted.sentinelId, adopted.k8sName], ["s_orig01", "q7x2k9ab"]);
    });

    it("refuses a row of another workspace or project, a case-only variant included", async () => {
      for (const ids of [
        { workspaceId: "ws_other" },
        { projectId: "proj_other" },
        { workspaceId: "WS_OWN" },
        { projectId: "proj_own " },
      ]) {
        await db.reset();
        await insert("q7x2k9ab", "q7x2k9ab.sentinel.svc.cluster.local:8040", ids);
        const before = await rowsByPk();
        const [field, value] = Object.entries(ids)[0];
        const label = field === "workspaceId" ? "workspace" : "project";
        for (const attempt of [
          host.check({ olds: {}, news: cutover }),
          host.check({ olds: {}, news: newsFor() }).then((c) => host.create({ properties: c.inputs })),
        ]) {
          const message = await refusal(attempt);
          assert.ok(message?.includes(`${label} ${JSON.stringify(value)}`), String(message));
          assert.match(message ?? "", new RegExp(`they differ in ${label}, compared byte for byte`));
        }
        assert.deepEqual(await rowsByPk(), before);
      }
    });
  });
});

describe("kubernetesNameProblems", () => {
  it("accepts what the spec's agent and this program write, and nothing a Service could not be named", () => {
    const ok = (k8sName: string, k8sAddress = `${k8sName}.sentinel.svc.cluster.local:8040`) =>
      kubernetesNameProblems({ k8sName, k8sAddress });
    assert.deepEqual(ok("q7x2k9ab"), []);
    assert.deepEqual(ok("a"), []);
    assert.deepEqual(ok("a-b-c"), []);
    assert.deepEqual(ok("q".repeat(63)), []);
    for (const name of ["q".repeat(64), "-a", "a-", "1a", "A", "a_b", "a.b", "a b", "é", ""])
      assert.match(ok(name)[0] ?? "", /^k8s_name /, JSON.stringify(name));
    assert.deepEqual(ok("q7x2k9ab", "q7x2k9ab.other-ns.svc.cluster.local:1"), []);
    for (const address of [
      "q7x2k9ab.sentinel.svc.cluster.local:65536",
      `q7x2k9ab.${"n".repeat(64)}.svc.cluster.local:8040`,
      "q7x2k9ab.sentinel.svc.cluster.local:",
      ":8040",
    ])
      assert.deepEqual(
        ok("q7x2k9ab", address).map((p) => p.split(" ")[0]),
        ["k8s_address"],
        address,
      );
  });
});
