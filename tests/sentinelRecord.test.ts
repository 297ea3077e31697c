// The SentinelRecord provider and its SQL against a real MariaDB (a throwaway mariadbd, or MYSQL_URL).
import { strict as assert } from "assert";
import * as net from "net";
import * as pulumi from "@pulumi/pulumi";
import { proposeIdentity } from "../providers/identity";
import {
  checkSentinelRecord,
  diffSentinelRecord,
  sentinelRecordProvider,
  SentinelRecordProvider,
  UNKNOWN,
  type SentinelRecordCheckedInputs,
  type SentinelRecordOutputs,
} from "../providers/sentinelRecord";
import { spawnSync } from "child_process";
import {
  closeDatabasePools,
  databaseStats,
  parseConnectionSettings,
  POOL,
  withDatabase,
} from "../providers/connection";
import * as sentinelSql from "../providers/sentinelSql";
import { ensureSentinel, readSentinel, type Queryable } from "../providers/sentinelSql";
import {
  connectionSettings,
  fillRegion,
  rowsReadBy,
  startDatabase,
  type TestDatabase,
} from "./harness/mariadb";

const NEWS = {
  workspaceId: "ws_1",
  projectId: "proj_1",
  environmentId: "env_1",
  environmentSlug: "production",
  regionId: "reg_use1",
  namespace: "sentinel",
  image: "ghcr.io/unkeyed/unkey:v2.0.31",
};

function configFor(settings: Record<string, unknown>, password: string | undefined) {
  const values: Record<string, string | undefined> = {
    "sentinel-fleet:database": JSON.stringify(settings),
    "sentinel-fleet:databasePassword": password,
  };
  return {
    config: {
      get: (key: string) => values[key],
      require: (key: string) => values[key] ?? "",
    },
  };
}

async function configured(db: TestDatabase, overrides: Record<string, unknown> = {}, password = db.password) {
  const provider = new SentinelRecordProvider();
  await provider.configure(
    configFor({ host: db.host, port: db.port, user: db.user, name: db.database, ...overrides }, password),
  );
  return provider;
}

/** A provider reaching `db` through `proxy`, 1 s to connect and 3 s per operation. */
const configuredThrough = (db: TestDatabase, proxy: { readonly port: number }) =>
  configured(db, { port: proxy.port, connectTimeoutMs: 1_000, operationTimeoutMs: 3_000 });

/**
 * A TCP proxy on 127.0.0.1 in front of the database: it forwards, or goes silent (accepts bytes, answers
 * nothing, forwards nothing), or resets every connection on its next packet. With `deafAfter` set, a
 * connection that forwards a packet containing that text keeps forwarding to the server but passes none of
 * its answers back: the statement reaches the server, its answer never reaches the client.
 */
async function startProxy(targetPort: number): Promise<{
  port: number;
  mode: "forward" | "silent" | "reset";
  deafAfter: string | null;
  close(): Promise<void>;
}> {
  const sockets = new Set<net.Socket>();
  const state = { mode: "forward" as "forward" | "silent" | "reset", deafAfter: null as string | null };
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    let deaf = false;
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    }
    const pipe = (from: net.Socket, to: net.Socket) =>
      from.on("data", (chunk: Buffer) => {
        if (state.mode === "forward") {
          if (from === upstream && deaf) return;
          to.write(chunk);
          if (from === client && state.deafAfter !== null && chunk.includes(state.deafAfter)) deaf = true;
        } else if (state.mode === "reset") {
          client.resetAndDestroy();
          upstream.destroy();
        }
      });
    pipe(client, upstream);
    pipe(upstream, client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    get mode() {
      return state.mode;
    },
    set mode(m) {
      state.mode = m;
    },
    get deafAfter() {
      return state.deafAfter;
    },
    set deafAfter(text) {
      state.deafAfter = text;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

function checked(spec: Record<string, unknown> = {}): SentinelRecordCheckedInputs {
  const { inputs, failures } = checkSentinelRecord({}, { spec: { ...NEWS, ...spec } });
  assert.deepEqual(failures, []);
  return inputs as unknown as SentinelRecordCheckedInputs;
}

describe("SentinelRecord against MariaDB", function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let provider: SentinelRecordProvider;

  const rows = async (where = "1 = 1", values: unknown[] = []) =>
    (await db.admin(`SELECT * FROM sentinels WHERE ${where} ORDER BY pk`, values)) as any[];

  before(async () => {
    db = await startDatabase();
    provider = await configured(db);
  });
  after(async () => {
    await closeDatabasePools();
    await db?.stop();
  });
  beforeEach(async () => {
    await db.reset();
  });

  it("creates exactly the spec's row for a new (environment, region)", async () => {
    const before = Date.now();
    const inputs = checked();
    const { id, outs } = await provider.create(inputs);
    const proposed = proposeIdentity("env_1", "reg_use1");
    assert.equal(id, proposed.sentinelId);
    const all = await rows();
    assert.equal(all.length, 1);
    const row = all[0];
    assert.ok(row.created_at >= before && row.created_at <= Date.now());
    // The version: the database clock in microseconds (the region had no rows, so MAX + 1 is lower).
    const version = Number(row.version);
    assert.ok(version >= before * 1000 && version <= Date.now() * 1000 + 1000, `version ${version}`);
    delete row.pk;
    delete row.created_at;
    assert.deepEqual(
      { ...row, version },
      {
        id: proposed.sentinelId,
        workspace_id: "ws_1",
        project_id: "proj_1",
        environment_id: "env_1",
        k8s_name: proposed.k8sName,
        k8s_address: `${proposed.k8sName}.sentinel.svc.cluster.local:8040`,
        region_id: "reg_use1",
        image: "ghcr.io/unkeyed/unkey:v2.0.31",
        desired_state: "running",
        health: "unknown",
        desired_replicas: 3,
        available_replicas: 0,
        cpu_millicores: 256,
        memory_mib: 256,
        version,
        updated_at: null,
      },
    );
    assert.equal(outs.k8sAddress, `${proposed.k8sName}.sentinel.svc.cluster.local:8040`);
    assert.equal(outs.version, version);
    assert.equal(outs.updatedAt, null);
    assert.ok(!Object.values(outs).includes(undefined), "outputs use null, never undefined");
  });

  it("adopts the existing row on a second create", async () => {
    const inputs = checked();
    const first = await provider.create(inputs);
    const second = await provider.create(inputs);
    assert.equal(second.id, first.id);
    assert.deepEqual(second.outs, first.outs);
    assert.equal((await rows()).length, 1);
  });

  it("adopts a row written outside this program, keeping its id, name, address and version", async () => {
    await db.admin(
      "INSERT INTO sentinels (id, workspace_id, project_id, environment_id, k8s_name, k8s_address, region_id, image, " +
        "desired_replicas, available_replicas, cpu_millicores, memory_mib, version, created_at) " +
        "VALUES ('s_legacy01', 'ws_1', 'proj_1', 'env_1', 'q7x2k9ab', 'q7x2k9ab.sentinel.svc.cluster.local:8040', " +
        "'reg_use1', ?, 3, 2, 256, 256, 41, 1700000000000)",
      [NEWS.image],
    );
    const { id, outs } = await provider.create(checked());
    assert.equal(id, "s_legacy01");
    assert.equal(outs.k8sName, "q7x2k9ab");
    assert.equal(outs.k8sAddress, "q7x2k9ab.sentinel.svc.cluster.local:8040");
    assert.equal(outs.version, 41);
    const [row] = await rows();
    assert.equal(row.available_replicas, 2, "the agent's columns are left alone");
    assert.equal(row.updated_at, null, "a matching row is not rewritten");
  });

  it("converges an adopted row whose sizing differs, with a new version", async () => {
    await db.admin(
      "INSERT INTO sentinels (id, workspace_id, project_id, environment_id, k8s_name, k8s_address, region_id, image, " +
        "desired_replicas, available_replicas, cpu_millicores, memory_mib, version, created_at) " +
        "VALUES ('s_legacy02', 'ws_1', 'proj_1', 'env_1', 'm3n4b5v6', 'm3n4b5v6.sentinel.svc.cluster.local:8040', " +
        "'reg_use1', 'ghcr.io/unkeyed/unkey:v1', 1, 1, 128, 128, 7, 1700000000000)",
    );
    const before = Date.now();
    const { id, outs } = await provider.create(checked());
    assert.equal(id, "s_legacy02");
    assert.equal(outs.k8sName, "m3n4b5v6");
    assert.ok(outs.version > 7 && outs.version >= before * 1000, `a new, higher version: ${outs.version}`);
    const [row] = await rows();
    assert.deepEqual(
      [row.image, row.desired_replicas, row.cpu_millicores, row.memory_mib, Number(row.version)],
      [NEWS.image, 3, 256, 256, outs.version],
    );
    assert.ok(row.updated_at > 0);
  });

  it("sizes by slug unless the environment overrides it", async () => {
    await provider.create(checked({ environmentId: "env_prod", environmentSlug: "production" }));
    await provider.create(checked({ environmentId: "env_stage", environmentSlug: "staging" }));
    await provider.create(
      checked({
        environmentId: "env_big",
        environmentSlug: "staging",
        replicas: 5,
        cpuMillicores: 1000,
        memoryMib: 2048,
      }),
    );
    await provider.create(
      checked({ environmentId: "env_paused", environmentSlug: "production", replicas: 0 }),
    );
    const sizes = (await rows()).map((r) => [
      r.environment_id,
      r.desired_replicas,
      r.cpu_millicores,
      r.memory_mib,
    ]);
    assert.deepEqual(sizes, [
      ["env_prod", 3, 256, 256],
      ["env_stage", 1, 256, 256],
      ["env_big", 5, 1000, 2048],
      ["env_paused", 0, 256, 256],
    ]);
  });

  it("keeps one row per (environment, region) and gives 20 concurrent creates 20 rising versions", async () => {
    // Rows already in the region, one with a version far above the clock's: every new version is above both.
    await provider.create(checked({ environmentId: "env_before" }));
    const seed = (await rows())[0];
    const beforeMax = Number(seed.version);
    const twenty = await Promise.all(
      Array.from({ length: 20 }, (_, i) => provider.create(checked({ environmentId: `env_c${i}` }))),
    );
    const all = await rows("region_id = ? AND environment_id <> 'env_before'", ["reg_use1"]);
    assert.equal(all.length, 20);
    const versions = all.map((r) => Number(r.version));
    assert.equal(new Set(versions).size, 20, "20 distinct versions");
    for (const v of versions) assert.ok(v > beforeMax, `${v} > ${beforeMax}`);
    // Allocation order is commit order: in insertion (pk) order the versions only go up.
    assert.deepEqual(
      versions,
      [...versions].sort((x, y) => x - y),
    );
    assert.deepEqual(twenty.map((c) => c.id).sort(), all.map((r) => r.id).sort());
    assert.deepEqual(
      twenty.map((c) => c.outs.version).sort((x, y) => x - y),
      [...versions].sort((x, y) => x - y),
    );

    const five = await Promise.all(
      Array.from({ length: 5 }, () => provider.create(checked({ environmentId: "env_same" }))),
    );
    const same = await rows("environment_id = ?", ["env_same"]);
    assert.equal(same.length, 1);
    for (const c of five) {
      assert.equal(c.id, same[0].id);
      assert.equal(c.outs.version, Number(same[0].version));
    }
  });

  it("keeps versions distinct and rising under READ COMMITTED too", async function () {
    if (!db.throwaway) this.skip(); // changes a global setting
    await db.admin("SET GLOBAL TRANSACTION ISOLATION LEVEL READ COMMITTED");
    try {
      const rc = await configured(db, { connectTimeoutMs: 4_600 }); // a new pool: sessions start in RC
      await rc.create(checked({ environmentId: "env_rc_probe" }));
      const { settings } = parseConnectionSettings({
        host: db.host,
        port: db.port,
        user: db.user,
        name: db.database,
        connectTimeoutMs: 4_600,
      });
      const level = await withDatabase(
        { settings: settings!, password: db.password, caCert: null },
        "probe",
        (q) => q.query("SELECT @@SESSION.tx_isolation AS level"),
      );
      assert.equal(
        (level[0] as { level: string }[])[0].level,
        "READ-COMMITTED",
        "the pool's sessions are RC",
      );
      const made = await Promise.all(
        Array.from({ length: 20 }, (_, i) => rc.create(checked({ environmentId: `env_rc${i}` }))),
      );
      const versions = (await rows()).map((r) => Number(r.version));
      assert.equal(new Set(versions).size, 21);
      assert.deepEqual(
        versions,
        [...versions].sort((x, y) => x - y),
      );
      // An update under RC, after deleting the newest row, still goes higher.
      const newest = made.reduce((a, b) => (a.outs.version > b.outs.version ? a : b));
      await rc.delete(newest.id, newest.outs as SentinelRecordOutputs);
      const first = made[0];
      const updated = await rc.update(
        first.id,
        first.outs as SentinelRecordOutputs,
        checked({ environmentId: "env_rc0", image: "ghcr.io/unkeyed/unkey:v7" }),
      );
      assert.ok(updated.outs!.version > newest.outs.version);
    } finally {
      await db.admin("SET GLOBAL TRANSACTION ISOLATION LEVEL REPEATABLE READ");
      await closeDatabasePools();
    }
  });

  it("never reuses a version after the region's newest row is deleted, nor goes below it", async () => {
    const a = await provider.create(checked({ environmentId: "env_a" }));
    const b = await provider.create(checked({ environmentId: "env_b" }));
    assert.ok(b.outs.version > a.outs.version);
    await provider.delete(b.id, b.outs as SentinelRecordOutputs);
    const c = await provider.create(checked({ environmentId: "env_c" }));
    assert.ok(c.outs.version > b.outs.version, `${c.outs.version} > deleted ${b.outs.version}`);
    // An update after deleting the newest row, too.
    await provider.delete(c.id, c.outs as SentinelRecordOutputs);
    const updated = await provider.update(
      a.id,
      a.outs as SentinelRecordOutputs,
      checked({ environmentId: "env_a", image: "ghcr.io/unkeyed/unkey:v9" }),
    );
    assert.ok(updated.outs!.version > c.outs.version, `${updated.outs!.version} > deleted ${c.outs.version}`);
    // A region whose versions run ahead of the clock (written by someone else) still only goes up.
    await db.admin("UPDATE sentinels SET version = ? WHERE id = ?", [8e15, a.id]);
    const d = await provider.create(checked({ environmentId: "env_d" }));
    assert.equal(d.outs.version, 8e15 + 1);
  });

  it("takes the clock once the region's lock is held, so a writer that waited never goes below a deleted row", async () => {
    const base = await provider.create(checked({ environmentId: "env_base" }));
    const locker = await db.connect();
    const other = await db.connect();
    const clock = "CAST(UNIX_TIMESTAMP(NOW(6)) * 1000000 AS UNSIGNED)";
    // While a create and an update wait for the region, a row gets a version from the clock (as a writer
    // granted the lock first would) and is deleted again, so MAX + 1 cannot keep the waiters above it.
    const waitBehindLock = async (run: () => Promise<number>) => {
      await locker.query("START TRANSACTION");
      await locker.query("SELECT id FROM regions WHERE id = 'reg_use1' FOR UPDATE");
      const pending = run();
      await new Promise((r) => setTimeout(r, 400));
      await other.query(
        "INSERT INTO sentinels (id, workspace_id, project_id, environment_id, k8s_name, k8s_address, region_id, " +
          "image, desired_replicas, available_replicas, cpu_millicores, memory_mib, version, created_at) " +
          `SELECT 'snt_gone', 'ws', 'proj', 'env_gone', 'gone', 'gone.sentinel.svc.cluster.local', 'reg_use1', ` +
          `'img', 1, 0, 100, 128, ${clock}, 0`,
      );
      const [[gone]] = (await other.query(
        "SELECT version FROM sentinels WHERE id = 'snt_gone'",
      )) as unknown as [{ version: number }[]];
      await other.query("DELETE FROM sentinels WHERE id = 'snt_gone'");
      await locker.query("COMMIT");
      return { version: await pending, seen: Number(gone.version) };
    };
    try {
      const created = await waitBehindLock(async () => {
        const r = await provider.create(checked({ environmentId: "env_waited" }));
        return r.outs.version;
      });
      assert.ok(created.version > created.seen, `create: ${created.version} > deleted ${created.seen}`);
      const updated = await waitBehindLock(async () => {
        const r = await provider.update(
          base.id,
          base.outs as SentinelRecordOutputs,
          checked({ environmentId: "env_base", image: "ghcr.io/unkeyed/unkey:v8" }),
        );
        return r.outs!.version;
      });
      assert.ok(updated.version > updated.seen, `update: ${updated.version} > deleted ${updated.seen}`);
    } finally {
      await locker.end();
      await other.end();
    }
  });

  it("gives stacks that share a region (separate provider processes' pools) distinct rising versions", async () => {
    const other = await configured(db, { connectTimeoutMs: 4_000 }); // another pool: different settings
    const made = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        (i % 2 === 0 ? provider : other).create(checked({ environmentId: `env_s${i}` })),
      ),
    );
    const versions = (await rows()).map((r) => Number(r.version));
    assert.equal(new Set(versions).size, 12);
    assert.deepEqual(
      versions,
      [...versions].sort((x, y) => x - y),
    );
    assert.equal(made.length, 12);
  });

  it("keeps 30 creates from two stacks in a region of 300 distinct and rising while its newest rows are deleted", async () => {
    await fillRegion(db, "reg_use1", 300);
    const other = await configured(db, { connectTimeoutMs: 4_000 }); // another pool: another stack
    // Meanwhile another session deletes the region's newest row, ten times: creates that looked up a version
    // that is gone by the time they insert start from it all the same.
    const deleted: number[] = [];
    const deleting = (async () => {
      for (let n = 0; n < 10; n++) {
        const [newest] = (await db.admin(
          "SELECT id, version FROM sentinels WHERE region_id = 'reg_use1' ORDER BY version DESC LIMIT 1",
        )) as { id: string; version: number }[];
        await db.admin("DELETE FROM sentinels WHERE id = ?", [newest.id]);
        deleted.push(Number(newest.version));
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const made = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        (i % 2 === 0 ? provider : other).create(checked({ environmentId: `env_busy${i}` })),
      ),
    );
    await deleting;
    const given = made.map((m) => m.outs.version);
    assert.equal(new Set(given).size, 30, "30 distinct versions, never one given out before");
    for (const v of given) assert.ok(v > 300, `${v} above the region's versions before`);
    const kept = (await rows("environment_id LIKE 'env_busy%'")).map((r) => Number(r.version));
    assert.deepEqual(
      kept,
      [...kept].sort((x, y) => x - y),
      "rising in commit (pk) order",
    );
    assert.equal(deleted.length, 10);
  });

  it("counts round trips: three for a new row, one for an existing one, all single statements", async () => {
    const conn = await db.connect();
    try {
      let queries = 0;
      const counting: Queryable = { query: (sql, values) => (queries++, conn.query(sql, values)) };
      const c = checked({ environmentId: "env_rt" });
      const want = { ...c.spec, ...c.row };
      assert.equal((await ensureSentinel(counting, want)).outcome, "inserted");
      assert.equal(queries, 3);
      queries = 0;
      assert.equal((await ensureSentinel(counting, want)).outcome, "adopted");
      assert.equal(queries, 1);
    } finally {
      await conn.end();
    }
    // Through the provider's pool, on a warm connection: the same, with no session set-up in between.
    await provider.create(checked({ environmentId: "env_warm" }));
    const before = databaseStats().roundTrips;
    await provider.create(checked({ environmentId: "env_warm" }));
    assert.equal(databaseStats().roundTrips - before, 1);
  });

  it("reads as many rows for a new row in a region of 300 sentinels as in one of 10 (Handler_read*)", async () => {
    const readsAt = async (size: number) => {
      await db.reset();
      await fillRegion(db, "reg_use1", size);
      await fillRegion(db, "reg_use2", 50, "next"); // the key's entries right after this region's
      const conn = await db.connect();
      try {
        const c = checked({ environmentId: `env_rows_${size}` });
        const want = { ...c.spec, ...c.row };
        let created: sentinelSql.EnsureResult | undefined;
        const create = await rowsReadBy(conn, async () => (created = await ensureSentinel(conn, want)));
        assert.equal(created?.outcome, "inserted");
        assert.ok(created.row.version > size, "above the region's versions");
        const existing = await rowsReadBy(conn, () => ensureSentinel(conn, want));
        return { create, existing };
      } finally {
        await conn.end();
      }
    };
    const small = await readsAt(10);
    const large = await readsAt(300);
    assert.ok(small.create > 0, "the counters count");
    // The goal (issue 19): within 1.5 x (+ 50) of the small region's. The full-region join read 2 per sentinel.
    assert.ok(
      large.create <= 1.5 * small.create + 50,
      `a create read ${large.create} rows in a region of 300, ${small.create} in one of 10`,
    );
    assert.ok(large.existing <= 1.5 * small.existing + 50, `${large.existing} vs ${small.existing}`);
  });

  it("goes above a version committed, or deleted, between a create's lookup and its insert", async () => {
    // Versions far above the clock, so only the region's own versions can keep the new one above them.
    const base = await provider.create(checked({ environmentId: "env_base" }));
    await db.admin("UPDATE sentinels SET version = ? WHERE id = ?", [8e15, base.id]);
    const conn = await db.connect();
    let afterLookup: (() => Promise<unknown>) | null = null;
    const intercepting: Queryable = {
      query: async (sql, values) => {
        const result = await conn.query(sql, values);
        const run = sql === sentinelSql.LOOKUP_SQL ? afterLookup : null;
        afterLookup = null;
        if (run !== null) await run();
        return result;
      },
    };
    const want = (environmentId: string) => {
      const c = checked({ environmentId });
      return { ...c.spec, ...c.row };
    };
    try {
      // The lookup sees 8e15 as the newest; it is deleted before the insert: the region's MAX is gone.
      afterLookup = () => db.admin("DELETE FROM sentinels WHERE id = ?", [base.id]);
      const a = await ensureSentinel(intercepting, want("env_a"));
      assert.equal(a.row.version, 8e15 + 1, "above the deleted row");
      // A row committed after the lookup, above the one the lookup saw: the insert reads it under the lock.
      afterLookup = () =>
        fillRegion(db, "reg_use1", 1, "late").then(() =>
          db.admin("UPDATE sentinels SET version = ? WHERE id = 's_late0'", [9e15]),
        );
      const b = await ensureSentinel(intercepting, want("env_b"));
      assert.equal(b.row.version, 9e15 + 1, "above the row committed meanwhile");
    } finally {
      await conn.end();
    }
  });

  it("returns for an inserted row exactly what the table holds", async () => {
    const conn = await db.connect();
    try {
      const want = (environmentId: string, regionId = "reg_use1") => {
        const c = checked({ environmentId, regionId });
        return { ...c.spec, ...c.row };
      };
      const first = await ensureSentinel(conn, want("env_a"));
      assert.equal(first.outcome, "inserted");
      assert.deepEqual(first.row, await readSentinel(conn, first.row.id));
      const second = await ensureSentinel(conn, want("env_b"));
      assert.deepEqual(second.row, await readSentinel(conn, second.row.id));
      assert.equal((await ensureSentinel(conn, want("env_b"))).outcome, "adopted");
      await assert.rejects(
        ensureSentinel(conn, want("env_d", "reg_nowhere")),
        /region "reg_nowhere" does not/,
      );
      assert.deepEqual(
        (await rows()).map((r) => [r.environment_id, r.region_id]),
        [
          ["env_a", "reg_use1"],
          ["env_b", "reg_use1"],
        ],
      );
    } finally {
      await conn.end();
    }
  });

  it("never adopts a row whose ids equal ours only under the collation", async () => {
    for (const [stored, declared] of [
      ["ENV_1", "env_1"],
      ["env_1 ", "env_1"],
    ]) {
      await db.reset();
      await db.admin(
        "INSERT INTO sentinels (id, workspace_id, project_id, environment_id, k8s_name, k8s_address, region_id, " +
          "image, desired_replicas, available_replicas, cpu_millicores, memory_mib, version, created_at) " +
          "VALUES ('s_upper', 'ws_1', 'proj_1', ?, 'upper1', 'upper1.sentinel.svc.cluster.local:8040', " +
          "'reg_use1', 'ghcr.io/x:1', 1, 0, 1, 1, 5, 1700000000000)",
        [stored],
      );
      await assert.rejects(
        provider.create(checked({ environmentId: declared })),
        new RegExp(
          `sentinel row "s_upper" belongs to environment ${JSON.stringify(stored)}, region "reg_use1", ` +
            `workspace "ws_1", project "proj_1", not to this sentinel \\(environment "env_1", .*\\): they ` +
            "differ in environment, compared byte for byte .* adopting it is refused and nothing was changed",
        ),
      );
      const [row] = await rows();
      assert.deepEqual([row.id, row.image, Number(row.version)], ["s_upper", "ghcr.io/x:1", 5], "untouched");
    }
    // A region id spelled differently from the regions table.
    await db.reset();
    await assert.rejects(
      provider.create(checked({ regionId: "REG_USE1" })),
      /region "REG_USE1" matches the platform's region "reg_use1" only under the database's case-insensitive/,
    );
    assert.equal((await rows()).length, 0);
  });

  it("reports the stored row when a lenient server coerced a value on insert", async () => {
    const conn = await db.connect();
    try {
      await conn.query("SET SESSION sql_mode = ''");
      const c = checked({ environmentId: "env_lenient" });
      const long = `ghcr.io/unkeyed/${"x".repeat(300)}`;
      const result = await ensureSentinel(conn, { ...c.spec, ...c.row, image: long });
      assert.equal(result.outcome, "inserted");
      assert.equal(result.row.image, long.slice(0, 255), "what the table holds, not what was sent");
      assert.deepEqual(result.row, await readSentinel(conn, result.row.id));
    } finally {
      await conn.end();
    }
  });

  it("updates in place with a new version, reads the live row, and deletes it", async () => {
    const { id, outs } = await provider.create(checked());
    const other = await provider.create(checked({ environmentId: "env_other" }));
    const news = checked({ image: "ghcr.io/unkeyed/unkey:v2.1.0", replicas: 2 });
    const updated = await provider.update(id, outs as SentinelRecordOutputs, news);
    const [row] = await rows("id = ?", [id]);
    assert.equal(row.image, "ghcr.io/unkeyed/unkey:v2.1.0");
    assert.equal(row.desired_replicas, 2);
    assert.ok(Number(row.version) > other.outs.version, "above the other sentinel's later version");
    assert.ok(row.updated_at >= row.created_at);
    assert.equal(updated.outs?.version, Number(row.version));
    assert.equal(updated.outs?.sentinelId, id);

    const read = await provider.read(id, updated.outs as SentinelRecordOutputs);
    assert.equal(read.id, id);
    assert.equal(read.props?.row.image, "ghcr.io/unkeyed/unkey:v2.1.0");
    assert.equal(read.inputs?.version, undefined, "refreshed inputs carry no row bookkeeping");

    await provider.delete(id, updated.outs as SentinelRecordOutputs);
    assert.equal((await rows("id = ?", [id])).length, 0);
    await provider.delete(id, updated.outs as SentinelRecordOutputs); // already gone: success
    assert.equal((await rows()).length, 1, "only the sentinel's own row was deleted");
  });

  it("moves a sentinel to another workspace or project in place, never losing its row", async () => {
    const { id, outs } = await provider.create(checked());
    const news = checked({ projectId: "proj_moved", workspaceId: "ws_moved" });
    const diff = diffSentinelRecord(outs as SentinelRecordOutputs, news);
    assert.deepEqual(diff, { changes: true, replaces: [], deleteBeforeReplace: false });
    const updated = await provider.update(id, outs as SentinelRecordOutputs, news);
    const all = await rows();
    assert.equal(all.length, 1);
    assert.deepEqual(
      [all[0].id, all[0].workspace_id, all[0].project_id, Number(all[0].version) > outs.version],
      [id, "ws_moved", "proj_moved", true],
    );
    assert.equal(updated.outs?.spec.projectId, "proj_moved");
    // A row recorded under another project is another project's: a create does not adopt it.
    await db.admin("UPDATE sentinels SET project_id = 'proj_old'");
    await assert.rejects(provider.create(news), /they differ in project, compared byte for byte/);
    assert.equal((await rows())[0].project_id, "proj_old");
  });

  it("reports a row deleted out of band as gone on refresh", async () => {
    const { id, outs } = await provider.create(checked());
    await db.admin("DELETE FROM sentinels WHERE id = ?", [id]);
    const read = await provider.read(id, outs as SentinelRecordOutputs);
    assert.equal(read.id, "");
    await assert.rejects(
      provider.update(id, outs as SentinelRecordOutputs, checked({ image: "ghcr.io/unkeyed/unkey:v3.0.0" })),
      /no longer exists in the platform database/,
    );
  });

  it("fails clearly on an unknown region and writes nothing", async () => {
    await assert.rejects(
      provider.create(checked({ regionId: "reg_nowhere" })),
      /region "reg_nowhere" does not exist in the platform's regions table/,
    );
    assert.equal((await rows()).length, 0);
  });

  it("fails clearly, without retrying forever, when another row already holds the proposed k8s_name", async () => {
    const proposed = proposeIdentity("env_taken", "reg_use1");
    await db.admin(
      "INSERT INTO sentinels (id, workspace_id, project_id, environment_id, k8s_name, k8s_address, region_id, image, " +
        "desired_replicas, available_replicas, cpu_millicores, memory_mib, version, created_at) " +
        "VALUES ('s_other', 'ws_9', 'proj_9', 'env_other', ?, 'elsewhere.sentinel.svc.cluster.local:8040', " +
        "'reg_use1', ?, 1, 0, 256, 256, 7, 1700000000000)",
      [proposed.k8sName, NEWS.image],
    );
    await assert.rejects(
      provider.create(checked({ environmentId: "env_taken" })),
      new RegExp(
        `cannot insert sentinel ${proposed.sentinelId} \\(k8s_name ${proposed.k8sName}\\) for environment ` +
          "env_taken in region reg_use1: its id, k8s_name or k8s_address is already used by another row",
      ),
    );
    assert.deepEqual(
      (await rows()).map((r) => r.id),
      ["s_other"],
    );
  });

  it("names host:port within a bounded time when the database is unreachable, and writes nothing", async () => {
    const refused = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, "127.0.0.1", () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const down = await configured(db, { port: refused, connectTimeoutMs: 500 });
    const started = Date.now();
    await assert.rejects(down.create(checked()), (err: Error) => {
      assert.match(
        err.message,
        new RegExp(`cannot connect to the platform database at 127\\.0\\.0\\.1:${refused}`),
      );
      assert.ok(!err.message.includes(db.password));
      return true;
    });
    assert.ok(Date.now() - started < 2_000);

    // A server that accepts the connection and then says nothing: bounded by connectTimeoutMs.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const hung = await configured(db, {
        port: (silent.address() as net.AddressInfo).port,
        connectTimeoutMs: 500,
      });
      const t0 = Date.now();
      await assert.rejects(
        hung.create(checked()),
        /cannot connect to the platform database at 127\.0\.0\.1:\d+ .*ETIMEDOUT/,
      );
      assert.ok(Date.now() - t0 < 3_000, `took ${Date.now() - t0} ms`);
    } finally {
      silent.close();
    }
    assert.equal((await rows()).length, 0);
  });

  it("reuses one small pool per process and closes it when idle, so the process can exit", async function () {
    this.timeout(30_000);
    const before = databaseStats().connectionsOpened;
    const pooled = await configured(db, { connectTimeoutMs: 4_500 }); // its own pool
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => pooled.create(checked({ environmentId: `env_p${i}` }))),
    );
    const opened = databaseStats().connectionsOpened - before;
    assert.ok(opened >= 1 && opened <= POOL.connectionLimit, `${opened} connections for 40 creates`);
    // A process that used the database once exits by itself: the pool ends after POOL.idleMs, and its timer
    // keeps nothing alive. Without the idle close its sockets would keep the process running.
    const script =
      `const c = require(${JSON.stringify(require.resolve("../providers/connection"))});` +
      `const target = { settings: ${JSON.stringify(connectionSettings(db))}, ` +
      `password: ${JSON.stringify(db.password)}, caCert: null };` +
      `c.withDatabase(target, "probe", (q) => q.query("SELECT 1")).then(() => console.log("queried " + Date.now()));`;
    const started = Date.now();
    const child = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", "-e", script], {
      encoding: "utf8",
      timeout: 25_000,
    });
    assert.equal(child.status, 0, child.stderr);
    const queriedAt = Number(/queried (\d+)/.exec(child.stdout)?.[1]);
    const exitedAt = Date.now();
    assert.ok(exitedAt - queriedAt >= POOL.idleMs - 100, `exited ${exitedAt - queriedAt} ms after its query`);
    assert.ok(exitedAt - started < 25_000);
  });

  it("retries an update that lost a deadlock, on the same pooled connection", async () => {
    const { id, outs } = await provider.create(checked());
    for (let i = 0; i < 5; i++)
      await provider.create(checked({ environmentId: `env_w${i}`, regionId: "reg_euc1" }));
    const other = await db.connect();
    try {
      // The other session changes several rows, ours among them; then (while our update holds the region and
      // waits for its row) it asks for the region: a lock cycle. InnoDB rolls back the lighter side, ours.
      await other.query("START TRANSACTION");
      await other.query("UPDATE sentinels SET updated_at = 1");
      const update = provider.update(
        id,
        outs as SentinelRecordOutputs,
        checked({ image: "ghcr.io/unkeyed/unkey:v5" }),
      );
      await new Promise((r) => setTimeout(r, 300));
      await other.query("SELECT id FROM regions WHERE id = 'reg_use1' FOR UPDATE");
      await other.query("COMMIT");
      const updated = await update;
      const [row] = await rows("id = ?", [id]);
      assert.equal(row.image, "ghcr.io/unkeyed/unkey:v5", "our update was retried after losing the deadlock");
      assert.ok(Number(row.updated_at) > 1, "and applied after the other transaction");
      assert.ok(updated.outs!.version > outs.version);
    } finally {
      await other.end();
    }
  });

  it("fails a create blocked by another session's LOCK TABLES within its deadline, and writes nothing later", async () => {
    const locker = await db.connect();
    const bounded = await configured(db, { connectTimeoutMs: 1_000, operationTimeoutMs: 3_000 });
    try {
      await locker.query("LOCK TABLES sentinels WRITE");
      const started = Date.now();
      await assert.rejects(bounded.create(checked()), (err: Error) => {
        assert.match(
          err.message,
          /create of the sentinel of environment env_1 in region reg_use1 gave up at the platform database at 127\.0\.0\.1:\d+: a lock held by another session was not released in time/,
        );
        return true;
      });
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 3_000, `failed after ${elapsed} ms, within the 3,000 ms deadline`);
      await locker.query("UNLOCK TABLES");
      await new Promise((r) => setTimeout(r, 500));
      assert.equal((await rows()).length, 0, "nothing written after the lock was released");
      // The pool is still usable once the lock is gone.
      await bounded.create(checked());
      assert.equal((await rows()).length, 1);
    } finally {
      await locker.end();
    }
  });

  it("gives a clear error within the deadline when the database stops answering mid-operation", async () => {
    const proxy = await startProxy(db.port);
    try {
      const bounded = await configuredThrough(db, proxy);
      await bounded.create(checked({ environmentId: "env_warm" })); // a pooled connection through the proxy
      proxy.mode = "silent";
      const started = Date.now();
      await assert.rejects(bounded.create(checked({ environmentId: "env_lost" })), (err: Error) => {
        assert.match(
          err.message,
          new RegExp(
            `create of the sentinel of environment env_lost in region reg_use1 gave up at the platform database ` +
              `at 127\\.0\\.0\\.1:${proxy.port}: no answer within its deadline of 3000 ms`,
          ),
        );
        return true;
      });
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 2_000 && elapsed < 3_500, `failed after ${elapsed} ms`);

      // A connection lost mid-operation names host:port too.
      proxy.mode = "forward";
      await bounded.create(checked({ environmentId: "env_warm2" }));
      proxy.mode = "reset";
      await assert.rejects(
        bounded.create(checked({ environmentId: "env_reset" })),
        new RegExp(
          `at the platform database at 127\\.0\\.0\\.1:${proxy.port}: .*(PROTOCOL_CONNECTION_LOST|ECONNRESET)`,
        ),
      );
      assert.deepEqual(
        (await rows()).map((r) => r.environment_id),
        ["env_warm", "env_warm2"],
      );
    } finally {
      await proxy.close();
    }
  });

  it("says what became of a write whose answer was lost, and the next run adopts or converges the row", async () => {
    const proxy = await startProxy(db.port);
    try {
      const bounded = await configuredThrough(db, proxy);
      // The autocommitted INSERT reaches the server; its answer does not reach the provider.
      proxy.deafAfter = "INSERT INTO sentinels";
      await assert.rejects(bounded.create(checked({ environmentId: "env_doubt" })), (err: Error) => {
        assert.match(
          err.message,
          new RegExp(
            `create of the sentinel of environment env_doubt in region reg_use1 gave up at the platform ` +
              `database at 127\\.0\\.0\\.1:${proxy.port}: no answer within its deadline of 3000 ms .*` +
              "its autocommitted write had reached the server and may still complete there",
          ),
        );
        return true;
      });
      const [stored] = await rows("environment_id = ?", ["env_doubt"]);
      assert.ok(stored !== undefined, "the server completed the INSERT the client gave up on");
      proxy.deafAfter = null;
      const again = await bounded.create(checked({ environmentId: "env_doubt" }));
      assert.equal(again.id, stored.id, "the next create adopts the whole row");

      // A COMMIT whose answer is lost: in doubt, said so; here it had committed, and the row is whole.
      proxy.deafAfter = "COMMIT";
      const image = "ghcr.io/unkeyed/unkey:v9";
      await assert.rejects(
        bounded.update(
          again.id,
          again.outs as SentinelRecordOutputs,
          checked({ environmentId: "env_doubt", image }),
        ),
        /no answer within its deadline of 3000 ms .*its COMMIT had been sent, so whether the change took effect is unknown/,
      );
      const [after] = await rows("id = ?", [again.id]);
      assert.equal(after.image, image);
      assert.ok(Number(after.version) > Number(stored.version));
    } finally {
      await proxy.close();
    }
  });

  it("never puts the password in errors, outputs or the serialized provider", async () => {
    const wrong = await configured(db, {}, `${db.password}-wrong`);
    await assert.rejects(wrong.create(checked()), (err: Error) => {
      assert.match(err.message, /ER_ACCESS_DENIED_ERROR/);
      assert.ok(!err.message.includes(db.password));
      return true;
    });
    const { outs } = await provider.create(checked());
    assert.ok(!JSON.stringify(outs).includes(db.password));
    // The program's provider instance is what gets serialized into state; it holds no connection settings.
    const text = (await pulumi.runtime.serializeFunction(() => sentinelRecordProvider)).text;
    assert.ok(
      text.includes("sentinel-fleet:databasePassword"),
      "it reads the password from config at run time",
    );
    assert.ok(!text.includes(db.password));
  });

  it("refuses to touch the database when it is not configured, naming what is missing", async () => {
    const empty = new SentinelRecordProvider();
    await empty.configure(configFor({ host: "", user: "u", name: "db" }, undefined));
    await assert.rejects(
      empty.create(checked()),
      /not configured: sentinel-fleet:database.host must be a non-empty string, got ""; sentinel-fleet:databasePassword is required/,
    );
  });
});

describe("the provider's SQL, as text (what MariaDB here cannot refuse but MySQL 8 or Vitess would)", () => {
  const statements = Object.entries(sentinelSql).filter(
    (e): e is [string, string] => e[0].endsWith("_SQL") && typeof e[1] === "string",
  );

  it("sends single statements only", () => {
    assert.ok(statements.length >= 8, `found ${statements.length} statements`);
    for (const [name, sql] of statements)
      assert.ok(!/;\s*\S/.test(sql), `${name} holds more than one statement`);
  });

  /** The text of every parenthesized SELECT in a statement, parentheses balanced. */
  const subqueries = (sql: string): string[] => {
    const out: string[] = [];
    for (const m of sql.matchAll(/\(\s*SELECT\b/gi)) {
      let depth = 0;
      for (let i = m.index; i < sql.length; i++) {
        depth += sql[i] === "(" ? 1 : sql[i] === ")" ? -1 : 0;
        if (depth === 0) {
          out.push(sql.slice(m.index, i + 1));
          break;
        }
      }
    }
    return out;
  };

  it("never reads the table it writes in a subquery (MySQL: ER_UPDATE_TABLE_USED; MariaDB allows it)", () => {
    const readsIn = (target: string, sql: string) =>
      subqueries(sql).some((sub) => new RegExp(`\\b(FROM|JOIN)\\s+${target}\\b`, "i").test(sub));
    for (const [name, sql] of statements) {
      const target = /^(?:INSERT INTO|UPDATE|DELETE FROM)\s+(\w+)/i.exec(sql)?.[1];
      if (target !== undefined) assert.ok(!readsIn(target, sql), `${name} reads ${target} in a subquery`);
    }
    // The check itself finds the shape MySQL refuses (release 0.2's first INSERT ... SELECT).
    assert.ok(
      readsIn(
        "sentinels",
        "INSERT INTO sentinels (a) SELECT GREATEST(COALESCE((SELECT MAX(v.version) FROM sentinels v), 0) + 1, 1) FROM regions r",
      ),
    );
  });

  it("uses no MariaDB-only syntax (RETURNING, FOR UPDATE OF is MySQL-only, multi-statement carriers)", () => {
    for (const [name, sql] of statements) {
      assert.ok(!/\bRETURNING\b/i.test(sql), `${name}: RETURNING is MariaDB-only`);
      assert.ok(!/\bFOR UPDATE OF\b/i.test(sql), `${name}: FOR UPDATE OF is MySQL 8-only`);
      assert.ok(
        !/LAST_INSERT_ID\s*\(\s*[^)\s]/i.test(sql),
        `${name}: LAST_INSERT_ID(expr) is partly unsupported on Vitess`,
      );
    }
  });
});

describe("SentinelRecord check and diff (no database)", () => {
  const withSpec = (
    olds: SentinelRecordCheckedInputs,
    change: Record<string, unknown>,
  ): SentinelRecordCheckedInputs => ({
    ...olds,
    spec: { ...olds.spec, ...change },
  });

  it("fills defaults and proposes identity, tolerating unknowns", () => {
    const { inputs, failures } = checkSentinelRecord(
      {},
      { spec: { ...NEWS, environmentId: UNKNOWN, environmentSlug: "staging" } },
    );
    assert.deepEqual(failures, []);
    assert.equal(inputs.sentinelId, UNKNOWN);
    assert.equal(inputs.k8sName, UNKNOWN);
    assert.equal(inputs.k8sAddress, UNKNOWN);
    const row = inputs.row as Record<string, unknown>;
    assert.equal(row.desiredReplicas, 1);
    assert.equal(row.cpuMillicores, 256);
    assert.equal((inputs.spec as Record<string, unknown>).memoryMib, 256);
    const unknownSize = checkSentinelRecord({}, { spec: { ...NEWS, replicas: UNKNOWN } });
    assert.equal((unknownSize.inputs.row as Record<string, unknown>).desiredReplicas, UNKNOWN);
    const unknownSpec = checkSentinelRecord({}, { spec: UNKNOWN });
    assert.deepEqual([unknownSpec.failures, unknownSpec.inputs.row], [[], UNKNOWN]);
  });

  it("names every bad field at once", () => {
    const { failures } = checkSentinelRecord(
      {},
      { spec: { ...NEWS, workspaceId: "", namespace: "Bad_NS", replicas: -1, memoryMib: 0.5 } },
    );
    assert.deepEqual(failures, [
      { property: "spec.workspaceId", reason: 'workspaceId must be a non-empty string, got ""' },
      { property: "spec.namespace", reason: 'namespace must be an RFC 1035 label, got "Bad_NS"' },
      { property: "spec.replicas", reason: "replicas must be an integer >= 0, got -1" },
      { property: "spec.memoryMib", reason: "memoryMib must be an integer >= 1, got 0.5" },
    ]);
    assert.deepEqual(checkSentinelRecord({}, { spec: "nope" }).failures, [
      { property: "spec", reason: 'spec must be an object, got "nope"' },
    ]);
  });

  it("keeps an adopted identity that a refresh wrote into the inputs", () => {
    const olds = { ...checked(), sentinelId: "s_legacy01", k8sName: "q7x2k9ab" };
    const { inputs } = checkSentinelRecord(olds, { spec: NEWS });
    assert.equal(inputs.sentinelId, "s_legacy01");
    assert.equal(inputs.k8sAddress, "q7x2k9ab.sentinel.svc.cluster.local:8040");
    const moved = checkSentinelRecord(olds, { spec: { ...NEWS, regionId: "reg_euc1" } });
    assert.equal(moved.inputs.sentinelId, proposeIdentity("env_1", "reg_euc1").sentinelId);
  });

  it("replaces on identity changes, updates in place on sizing, treats unknowns as changes", () => {
    const olds = { ...checked(), version: 1, createdAt: 1, updatedAt: null } as SentinelRecordOutputs;
    assert.deepEqual(diffSentinelRecord(olds, checked()), {
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
    assert.deepEqual(
      diffSentinelRecord(olds, checked({ image: "ghcr.io/unkeyed/unkey:v9.9.9", memoryMib: 512 })),
      { changes: true, replaces: [], deleteBeforeReplace: false },
    );
    assert.deepEqual(
      diffSentinelRecord(olds, withSpec(checked(), { environmentId: "env_2", regionId: UNKNOWN })).replaces,
      ["spec.environmentId", "spec.regionId"],
    );
    assert.equal(
      diffSentinelRecord(olds, { ...checked(), row: { ...checked().row, image: UNKNOWN } }).changes,
      true,
    );
    // A slug change matters only through the replicas it implies.
    assert.equal(diffSentinelRecord(olds, checked({ environmentSlug: "staging" })).changes, true);
    // A replacement that would keep the row's id must delete the old row first, or the create adopts it and
    // the delete then removes it.
    assert.equal(
      diffSentinelRecord(olds, withSpec(checked(), { environmentId: "env_2" })).deleteBeforeReplace,
      true,
    );
    const moved = checked({ environmentId: "env_2" });
    assert.deepEqual(diffSentinelRecord(olds, moved), {
      changes: true,
      replaces: ["spec.environmentId"],
      deleteBeforeReplace: false,
    });
  });
});
