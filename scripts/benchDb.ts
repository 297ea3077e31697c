// npm run bench:db — what ensureSentinels costs against a real MariaDB (a throwaway mariadbd with default
// durability, or MYSQL_URL). Prints figures; asserts nothing.
//
//   1. Round trips per ensured sentinel, counted on the client (each `query` call is one: mysql2 sends one
//      packet and reads one result), new and existing, on a bare connection and through the provider's pool;
//      rows the server reads for one new sentinel (its Handler_read* counters) as its region grows.
//   2. Connections the provider's pool opens per 1,000 creates.
//   3. Ensuring 1,000 new sentinels across 3 regions through the provider (`SentinelRecordProvider.create`,
//      its pool, deadlines and version allocation), 16 creates at a time as `pulumi up` runs them, against a
//      bare loop of the same parameterized INSERTs on one connection, as a ratio. BENCH_ROUNDS (default 3)
//      rounds, each into a freshly emptied table (each side in its own 3 regions), the two sides interleaved
//      in blocks of 100, alternating which goes first: this machine's shared cores and disk swing whole-loop
//      timings by far more than the difference measured, which interleaving cancels but does not remove.
import * as os from "os";
import type { Connection } from "mysql2/promise";
import { closeDatabasePools, databaseStats, POOL } from "../providers/connection";
import { proposeIdentity, sentinelAddress } from "../providers/identity";
import {
  SentinelRecordProvider,
  checkSentinelRecord,
  type SentinelRecordCheckedInputs,
} from "../providers/sentinelRecord";
import { ensureSentinel, INSERT_SQL, type DesiredSentinel, type Queryable } from "../providers/sentinelSql";
import {
  DEFAULT_REGIONS,
  fillRegion,
  rowsReadBy,
  startDatabase,
  type RegionSeed,
  type TestDatabase,
} from "../tests/harness/mariadb";

const COUNT = Number(process.env.BENCH_SENTINELS ?? 1000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 16);
const BLOCK = 100;
/** Sentinels already in the region when rows read per create are counted. */
const REGION_SIZES = [10, 1000, 3000];
const REGIONS = DEFAULT_REGIONS.map((r) => r.id);
/** The bare loop's own regions, so its versions never meet ensure's. */
const BARE_REGIONS: readonly RegionSeed[] = DEFAULT_REGIONS.map((r) => ({
  id: `${r.id}_bare`,
  name: `${r.name}-bare`,
  platform: r.platform,
}));

function desired(i: number, side: "ensure" | "bare" = "ensure"): DesiredSentinel {
  const environmentId = `env_${side === "ensure" ? "e" : "b"}_${i}`;
  const regionId = side === "ensure" ? REGIONS[i % REGIONS.length] : BARE_REGIONS[i % REGIONS.length].id;
  const { sentinelId, k8sName } = proposeIdentity(environmentId, regionId);
  return {
    sentinelId,
    k8sName,
    k8sAddress: sentinelAddress(k8sName, "sentinel"),
    workspaceId: "ws_bench",
    projectId: "proj_bench",
    environmentId,
    regionId,
    image: "ghcr.io/unkeyed/unkey:v2.0.31",
    desiredReplicas: 1,
    cpuMillicores: 256,
    memoryMib: 256,
  };
}

/**
 * Rows the server reads for one new sentinel in a region already holding `size` (and rows of the region next in
 * the `(region_id, version)` key), and for ensuring it again (existing).
 */
async function rowsRead(db: TestDatabase, size: number): Promise<{ create: number; existing: number }> {
  await db.reset([...DEFAULT_REGIONS, ...BARE_REGIONS]);
  const want = desired(0);
  await fillRegion(db, want.regionId, size);
  await fillRegion(db, `${want.regionId}_next`, 100, "next");
  const conn = await db.connect();
  try {
    const create = await rowsReadBy(conn, () => ensureSentinel(conn, want));
    const existing = await rowsReadBy(conn, () => ensureSentinel(conn, want));
    return { create, existing };
  } finally {
    await conn.end();
  }
}

/** Round trips of one ensure on a bare connection. */
async function roundTrips(db: TestDatabase, want: DesiredSentinel): Promise<number> {
  const conn = await db.connect();
  try {
    let calls = 0;
    const counting: Queryable = { query: (sql, values) => (calls++, conn.query(sql, values)) };
    await ensureSentinel(counting, want);
    return calls;
  } finally {
    await conn.end();
  }
}

async function configuredProvider(db: TestDatabase): Promise<SentinelRecordProvider> {
  const provider = new SentinelRecordProvider();
  const settings = { host: db.host, port: db.port, user: db.user, name: db.database };
  await provider.configure({
    config: {
      get: (k: string) =>
        k === "sentinel-fleet:database"
          ? JSON.stringify(settings)
          : k === "sentinel-fleet:databasePassword"
            ? db.password
            : undefined,
      require: () => "",
    },
  });
  return provider;
}

function inputs(i: number): SentinelRecordCheckedInputs {
  const d = desired(i);
  const spec = { ...d, environmentSlug: "staging", namespace: "sentinel" };
  return checkSentinelRecord({}, { spec }).inputs as unknown as SentinelRecordCheckedInputs;
}

/** Creates [from, to) through the provider, `concurrency` at a time; ms. */
async function timeProvider(
  provider: SentinelRecordProvider,
  concurrency: number,
  from = 0,
  to = COUNT,
): Promise<number> {
  let next = from;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < to) await provider.create(inputs(next++));
    }),
  );
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** The same rows [from, to) as plain parameterized INSERTs, one after another on one connection; ms. */
async function timeBare(
  conn: Connection,
  versions: Map<string, number>,
  from: number,
  to: number,
): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = from; i < to; i++) {
    const d = desired(i, "bare");
    const version = (versions.get(d.regionId) ?? 0) + 1;
    versions.set(d.regionId, version);
    await conn.query(INSERT_SQL, [
      d.sentinelId,
      d.workspaceId,
      d.projectId,
      d.environmentId,
      d.k8sName,
      d.k8sAddress,
      d.regionId,
      d.image,
      d.desiredReplicas,
      d.cpuMillicores,
      d.memoryMib,
      version,
      Date.now(),
    ]);
  }
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

interface Round {
  readonly ours: number;
  readonly bare: number;
  readonly connections: number;
  readonly roundTrips: number;
  readonly blockRatios: number[];
}

/**
 * One round: COUNT creates each way into a freshly emptied table, interleaved in blocks of BLOCK (alternating
 * which side goes first), so both see the same server, the same growing indexes and the same moment's load.
 */
async function round(db: TestDatabase): Promise<Round> {
  await closeDatabasePools(); // every round starts cold: connections opened count from zero
  await db.reset([...DEFAULT_REGIONS, ...BARE_REGIONS]);
  const provider = await configuredProvider(db);
  const bareConn = await db.connect();
  const versions = new Map<string, number>();
  const stats = databaseStats();
  const [c0, r0] = [stats.connectionsOpened, stats.roundTrips];
  let ours = 0;
  let bare = 0;
  const blockRatios: number[] = [];
  try {
    for (let from = 0; from < COUNT; from += BLOCK) {
      const to = Math.min(COUNT, from + BLOCK);
      let o: number;
      let b: number;
      if ((from / BLOCK) % 2 === 0) {
        o = await timeProvider(provider, PARALLEL, from, to);
        b = await timeBare(bareConn, versions, from, to);
      } else {
        b = await timeBare(bareConn, versions, from, to);
        o = await timeProvider(provider, PARALLEL, from, to);
      }
      ours += o;
      bare += b;
      blockRatios.push(o / b);
    }
  } finally {
    await bareConn.end();
  }
  return {
    ours,
    bare,
    connections: stats.connectionsOpened - c0,
    roundTrips: stats.roundTrips - r0,
    blockRatios,
  };
}

const fmt = (ms: number) => `${ms.toFixed(0)} ms (${((ms * 1000) / COUNT).toFixed(0)} µs/sentinel)`;

async function main(): Promise<void> {
  const db = await startDatabase();
  try {
    console.log(
      `bench:db on ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? "unknown CPU"}, ` +
        `${Math.round(os.totalmem() / 2 ** 30)} GiB, Node.js ${process.version}, ` +
        `${process.env.MYSQL_URL ? "MYSQL_URL" : "throwaway mariadbd"}`,
    );
    await db.reset([...DEFAULT_REGIONS, ...BARE_REGIONS]);
    const fresh = await roundTrips(db, desired(0));
    const existing = await roundTrips(db, desired(0));
    console.log(
      `round trips per ensured sentinel, bare connection: new row ${fresh} (goal <= 4), existing row ` +
        `${existing} (goal 1); one statement each, no batches`,
    );
    const reads: { create: number; existing: number }[] = [];
    for (const size of REGION_SIZES) reads.push(await rowsRead(db, size));
    const first = reads[0];
    const largest = reads[reads.length - 1];
    const bound = 1.5 * first.create + 50;
    console.log(
      `rows read per create (Handler_read*: lookup, insert, reading back) with ${REGION_SIZES.join(", ")} ` +
        `sentinels in the region: ${reads.map((r) => r.create).join(", ")} (goal at ` +
        `${REGION_SIZES[REGION_SIZES.length - 1]}: <= 1.5 x ${first.create} + 50 = ${bound}: ` +
        `${largest.create <= bound ? "met" : "NOT met"}); existing row: ` +
        reads.map((r) => r.existing).join(", "),
    );
    await db.reset([...DEFAULT_REGIONS, ...BARE_REGIONS]);
    const provider = await configuredProvider(db);
    await provider.create(inputs(1)); // a warm pooled connection (its session set up once)
    const stats = databaseStats();
    let r0 = stats.roundTrips;
    await provider.create(inputs(2));
    const poolNew = stats.roundTrips - r0;
    r0 = stats.roundTrips;
    await provider.create(inputs(2));
    const poolExisting = stats.roundTrips - r0;
    console.log(
      `round trips through the provider's pool, warm connection: new row ${poolNew}, existing row ${poolExisting}` +
        " (a connection's first use adds one: its session settings)",
    );

    const rounds: Round[] = [];
    for (let r = 0; r < ROUNDS; r++) rounds.push(await round(db));
    const mean = (f: (r: (typeof rounds)[number]) => number) => rounds.reduce((t, r) => t + f(r), 0) / ROUNDS;
    const ours = mean((r) => r.ours);
    const blocks = rounds.flatMap((r) => r.blockRatios).sort((x, y) => x - y);
    const pct = (p: number) => blocks[Math.min(blocks.length - 1, Math.floor(p * blocks.length))].toFixed(2);
    const bare = mean((r) => r.bare);
    console.log(
      `connections opened per ${COUNT} creates (pool of ${POOL.connectionLimit}, ${PARALLEL} at a time): ` +
        rounds.map((r) => r.connections).join(", ") +
        `; round trips per create: ${(mean((r) => r.roundTrips) / COUNT).toFixed(2)}`,
    );
    console.log(
      `provider.create of ${COUNT} new sentinels across ${REGIONS.length} regions, ${PARALLEL} at a time: ` +
        `${fmt(ours)} (mean of ${ROUNDS} rounds)`,
    );
    console.log(`bare loop of the same ${COUNT} parameterized INSERTs, one connection: ${fmt(bare)}`);
    console.log(
      `ratio provider / bare: ${(ours / bare).toFixed(2)}x (goal <= 2x); per round: ` +
        rounds.map((r) => (r.ours / r.bare).toFixed(2)).join(", ") +
        `; per block of ${BLOCK}: median ${pct(0.5)}, p10 ${pct(0.1)}, p90 ${pct(0.9)}`,
    );
    await closeDatabasePools();
    await db.reset([...DEFAULT_REGIONS, ...BARE_REGIONS]);
    const seq = await timeProvider(await configuredProvider(db), 1);
    console.log(`for context, provider.create one at a time (not interleaved): ${fmt(seq)}`);
  } finally {
    await closeDatabasePools();
    await db.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
