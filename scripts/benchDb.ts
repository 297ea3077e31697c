// npm run bench:db — what ensureSentinels costs against a real MariaDB (a throwaway mariadbd with default
// durability, or MYSQL_URL). Prints figures; asserts nothing.
//
//   1. Round trips per ensured sentinel (each `query` call is one: mysql2 sends one packet and reads every
//      result), and the statements in them as the server counts them (MariaDB's per-session `Questions`).
//   2. Ensuring 1,000 new sentinels across 3 regions on one connection, against a bare loop of the same
//      parameterized INSERTs on another connection, as a ratio. The two run interleaved in blocks of 50
//      (alternating which goes first) into the same table, each in its own 3 regions, so both see the same
//      server, the same growing indexes and the same moment's machine load: this machine's shared cores swing
//      whole-loop timings by ±30%, which interleaving cancels. BENCH_ROUNDS (default 3) rounds of 1,000 each;
//      the ratio is of the totals, with the spread of the per-block ratios.
//   3. For context: the provider's real path (a connection per create) sequentially and 10 at a time, the
//      way `pulumi up` runs creates in parallel.
import * as os from "os";
import type { Connection } from "mysql2/promise";
import { proposeIdentity, sentinelAddress } from "../providers/identity";
import {
  SentinelRecordProvider,
  checkSentinelRecord,
  type SentinelRecordCheckedInputs,
} from "../providers/sentinelRecord";
import { ensureSentinel, INSERT_SQL, type DesiredSentinel, type Queryable } from "../providers/sentinelSql";
import { DEFAULT_REGIONS, startDatabase, type RegionSeed, type TestDatabase } from "../tools/mariadb";

const COUNT = Number(process.env.BENCH_SENTINELS ?? 1000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const BLOCK = 50;
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

async function questions(conn: Connection): Promise<number> {
  const [rows] = await conn.query("SHOW SESSION STATUS LIKE 'Questions'");
  return Number((rows as { Value: string }[])[0].Value);
}

/** Round trips (query calls) and server-side statements of one ensure (the SHOW itself counts once). */
async function roundTrips(
  conn: Connection,
  want: DesiredSentinel,
): Promise<{ roundTrips: number; statements: number }> {
  let calls = 0;
  const counting: Queryable = { query: (sql, values) => (calls++, conn.query(sql, values)) };
  const before = await questions(conn);
  await ensureSentinel(counting, want);
  return { roundTrips: calls, statements: (await questions(conn)) - before - 1 };
}

interface Interleaved {
  readonly ensureMs: number;
  readonly bareMs: number;
  /** ensure ÷ bare of each block of BLOCK sentinels. */
  readonly blockRatios: number[];
}

/** COUNT new sentinels each way, interleaved in blocks, into one freshly emptied table. */
async function timeInterleaved(db: TestDatabase): Promise<Interleaved> {
  await db.reset([...DEFAULT_REGIONS, ...BARE_REGIONS]);
  const ours = await db.connect();
  const bare = await db.connect();
  const versions = new Map<string, number>();
  const runEnsure = async (from: number, to: number) => {
    for (let i = from; i < to; i++) await ensureSentinel(ours, desired(i));
  };
  const runBare = async (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const d = desired(i, "bare");
      const version = (versions.get(d.regionId) ?? 0) + 1;
      versions.set(d.regionId, version);
      await bare.query(INSERT_SQL, [
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
  };
  const timed = async (run: (from: number, to: number) => Promise<void>, from: number, to: number) => {
    const t0 = process.hrtime.bigint();
    await run(from, to);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  let ensureMs = 0;
  let bareMs = 0;
  const blockRatios: number[] = [];
  try {
    for (let from = 0; from < COUNT; from += BLOCK) {
      const to = Math.min(COUNT, from + BLOCK);
      let e: number;
      let b: number;
      // Alternate which side goes first, so neither always follows the other's commits.
      if ((from / BLOCK) % 2 === 0) {
        e = await timed(runEnsure, from, to);
        b = await timed(runBare, from, to);
      } else {
        b = await timed(runBare, from, to);
        e = await timed(runEnsure, from, to);
      }
      ensureMs += e;
      bareMs += b;
      blockRatios.push(e / b);
    }
    return { ensureMs, bareMs, blockRatios };
  } finally {
    await ours.end();
    await bare.end();
  }
}

async function timeProvider(db: TestDatabase, concurrency: number): Promise<number> {
  await db.reset();
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
  const inputs = (i: number) => {
    const d = desired(i);
    const spec = { ...d, environmentSlug: "staging", namespace: "sentinel" };
    return checkSentinelRecord({}, { spec }).inputs as unknown as SentinelRecordCheckedInputs;
  };
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < COUNT) await provider.create(inputs(next++));
    }),
  );
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const fmt = (ms: number) => `${ms.toFixed(0)} ms (${((ms * 1000) / COUNT).toFixed(0)} µs/sentinel)`;

async function main(): Promise<void> {
  const db = await startDatabase();
  try {
    console.log(
      `bench:db on ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? "unknown CPU"}, ${process.env.MYSQL_URL ? "MYSQL_URL" : "throwaway mariadbd"}`,
    );
    await db.reset();
    const conn = await db.connect();
    const fresh = await roundTrips(conn, desired(0));
    const existing = await roundTrips(conn, desired(0));
    await conn.end();
    console.log(
      `round trips per ensured sentinel: new row ${fresh.roundTrips} (goal <= 2), existing row ` +
        `${existing.roundTrips} (goal 1); statements in them: ${fresh.statements} and ${existing.statements}`,
    );

    const rounds: Interleaved[] = [];
    for (let round = 0; round < ROUNDS; round++) rounds.push(await timeInterleaved(db));
    const ensureMs = rounds.reduce((t, r) => t + r.ensureMs, 0) / ROUNDS;
    const bareMs = rounds.reduce((t, r) => t + r.bareMs, 0) / ROUNDS;
    const blocks = rounds.flatMap((r) => r.blockRatios).sort((a, b) => a - b);
    const pct = (p: number) => blocks[Math.min(blocks.length - 1, Math.floor(p * blocks.length))].toFixed(2);
    console.log(
      `ensure ${COUNT} new sentinels across ${REGIONS.length} regions, one connection: ${fmt(ensureMs)}` +
        ` (mean of ${ROUNDS} rounds)`,
    );
    console.log(`bare loop of the same ${COUNT} parameterized INSERTs, one connection:      ${fmt(bareMs)}`);
    console.log(
      `ratio ensure / bare: ${(ensureMs / bareMs).toFixed(2)}x (goal <= 1.5x); per round: ` +
        `${rounds.map((r) => (r.ensureMs / r.bareMs).toFixed(2)).join(", ")}; per block of ${BLOCK}: ` +
        `median ${pct(0.5)}, p10 ${pct(0.1)}, p90 ${pct(0.9)}`,
    );
    console.log(`provider.create, a connection per create, sequential:  ${fmt(await timeProvider(db, 1))}`);
    console.log(`provider.create, a connection per create, 10 at a time: ${fmt(await timeProvider(db, 10))}`);
  } finally {
    await db.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
