// npm run bench:db — what ensureSentinels costs against a real MariaDB (a throwaway mariadbd with default
// durability, or MYSQL_URL). Prints figures; asserts nothing.
//
//   1. Round trips per ensured sentinel (each `query` call is one: mysql2 sends one packet and reads every
//      result), and the statements in them as the server counts them (MariaDB's per-session `Questions`).
//   2. Ensuring 1,000 new sentinels across 3 regions on one connection, against a bare loop of the same
//      parameterized INSERTs on one connection, as a ratio. BENCH_ROUNDS (default 5) alternating runs of each;
//      the fastest of each is compared (this machine's shared cores only ever add time), the medians shown too.
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
import { DEFAULT_REGIONS, startDatabase, type TestDatabase } from "../tools/mariadb";

const COUNT = Number(process.env.BENCH_SENTINELS ?? 1000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const REGIONS = DEFAULT_REGIONS.map((r) => r.id);

function desired(i: number): DesiredSentinel {
  const environmentId = `env_bench_${i}`;
  const regionId = REGIONS[i % REGIONS.length];
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

async function timeEnsure(db: TestDatabase): Promise<number> {
  await db.reset();
  const conn = await db.connect();
  try {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < COUNT; i++) await ensureSentinel(conn, desired(i));
    return Number(process.hrtime.bigint() - t0) / 1e6;
  } finally {
    await conn.end();
  }
}

async function timeBareInserts(db: TestDatabase): Promise<number> {
  await db.reset();
  const conn = await db.connect();
  const versions = new Map<string, number>();
  try {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < COUNT; i++) {
      const d = desired(i);
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
  } finally {
    await conn.end();
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
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

    const ours: number[] = [];
    const bare: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order so neither side always runs on a warmer server.
      if (round % 2 === 0) {
        ours.push(await timeEnsure(db));
        bare.push(await timeBareInserts(db));
      } else {
        bare.push(await timeBareInserts(db));
        ours.push(await timeEnsure(db));
      }
    }
    const ratio = Math.min(...ours) / Math.min(...bare);
    console.log(
      `ensure ${COUNT} new sentinels across ${REGIONS.length} regions, one connection: ${fmt(Math.min(...ours))}` +
        ` (median ${fmt(median(ours))})`,
    );
    console.log(
      `bare loop of the same ${COUNT} parameterized INSERTs, one connection:      ${fmt(Math.min(...bare))}` +
        ` (median ${fmt(median(bare))})`,
    );
    console.log(
      `ratio ensure / bare, fastest of ${ROUNDS}: ${ratio.toFixed(2)}x (goal <= 1.5x); of the medians: ` +
        `${(median(ours) / median(bare)).toFixed(2)}x`,
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
