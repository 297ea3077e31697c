// A real MariaDB for tests and benchmarks: a throwaway `mariadbd` in a temp datadir on a free 127.0.0.1 port
// (about a second to start), or an existing server named by MYSQL_URL. Either way each run gets its own
// database with the spec's schema (db/schema.sql) and a login whose password has URL-hostile characters.
import { spawn, spawnSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import type { Connection } from "mysql2/promise";
import * as mysql from "mysql2/promise";

export interface TestDatabase {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Deliberately full of `@ : / # % ? & ' "` so DSN-building bugs show. */
  readonly password: string;
  readonly database: string;
  /** True when this harness started the server (and may e.g. create users freely). */
  readonly throwaway: boolean;
  /** A fresh connection as the test login. */
  connect(): Promise<Connection>;
  /** Runs statements as the admin login (schema resets, out-of-band edits). */
  admin(sql: string, values?: unknown[]): Promise<unknown>;
  /** Empties the sentinels table and (re)seeds the regions. */
  reset(regions?: readonly RegionSeed[]): Promise<void>;
  stop(): Promise<void>;
}

export interface RegionSeed {
  readonly id: string;
  readonly name: string;
  readonly platform: string;
}

export const DEFAULT_REGIONS: readonly RegionSeed[] = [
  { id: "reg_use1", name: "us-east-1", platform: "aws" },
  { id: "reg_euc1", name: "eu-central-1", platform: "aws" },
  { id: "reg_aps1", name: "ap-southeast-1", platform: "aws" },
];

export const TEST_PASSWORD = `p@ss:w/rd#%?&'"x`;
const SCHEMA = path.join(__dirname, "..", "db", "schema.sql");

export interface StartOptions {
  /** Extra mariadbd flags (throwaway servers only). */
  readonly serverArgs?: readonly string[];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/usr/bin", "/sbin"])) {
    const candidate = path.join(dir, cmd);
    if (fs.existsSync(candidate)) return candidate;
  }
  return null;
}

async function waitFor<T>(what: string, timeoutMs: number, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await attempt();
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${what} did not come up within ${timeoutMs} ms: ${String(last)}`);
}

async function startThrowaway(options: StartOptions): Promise<{
  admin: mysql.ConnectionOptions;
  host: string;
  port: number;
  stop: () => Promise<void>;
}> {
  const mariadbd = which("mariadbd");
  const installDb = which("mariadb-install-db");
  if (mariadbd === null || installDb === null) {
    throw new Error(
      "mariadbd / mariadb-install-db not found: install Debian's mariadb-server (`.ci/run` does), " +
        "or set MYSQL_URL=mysql://user:password@host:port to use an existing server",
    );
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sentinel-fleet-mariadb-"));
  const datadir = path.join(dir, "data");
  const socket = path.join(dir, "mariadbd.sock");
  const asRoot = process.getuid?.() === 0 ? ["--user=root"] : [];
  const install = spawnSync(
    installDb,
    [
      "--no-defaults",
      `--datadir=${datadir}`,
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
      ...asRoot,
    ],
    { encoding: "utf8" },
  );
  if (install.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`mariadb-install-db failed: ${install.stderr || install.stdout}`);
  }
  const port = await freePort();
  const child: ChildProcess = spawn(
    mariadbd,
    [
      "--no-defaults",
      `--datadir=${datadir}`,
      `--socket=${socket}`,
      `--port=${port}`,
      "--bind-address=127.0.0.1",
      "--skip-log-bin",
      "--innodb-buffer-pool-size=64M",
      `--log-error=${path.join(dir, "error.log")}`,
      `--pid-file=${path.join(dir, "mariadbd.pid")}`,
      ...asRoot,
      ...(options.serverArgs ?? []),
    ],
    { stdio: "ignore" },
  );
  let exited = false;
  child.once("exit", () => (exited = true));
  // If the test process dies without stop(), do not leave a server or a datadir behind.
  const onExit = () => {
    if (!exited) child.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", onExit);
  const admin: mysql.ConnectionOptions = { socketPath: socket, user: "root", password: "" };
  await waitFor("mariadbd", 15_000, async () => {
    if (exited) throw new Error(fs.readFileSync(path.join(dir, "error.log"), "utf8"));
    const c = await mysql.createConnection(admin);
    await c.end();
  });
  return {
    admin,
    host: "127.0.0.1",
    port,
    stop: async () => {
      process.removeListener("exit", onExit);
      if (!exited) {
        const done = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
        if (!exited) child.kill("SIGKILL");
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts (or connects to) a server and prepares a fresh database on it. */
export async function startDatabase(options: StartOptions = {}): Promise<TestDatabase> {
  const url = process.env.MYSQL_URL;
  let server: { admin: mysql.ConnectionOptions; host: string; port: number; stop: () => Promise<void> };
  if (url !== undefined && url !== "") {
    const u = new URL(url);
    const host = u.hostname;
    const port = Number(u.port || "3306");
    server = {
      admin: { host, port, user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) },
      host,
      port,
      stop: () => Promise.resolve(),
    };
  } else {
    server = await startThrowaway(options);
  }
  const database = `sentinel_fleet_test_${process.pid}_${Math.floor(Math.random() * 1e6)}`;
  const user = "fleet_test";
  const adminConn = await mysql.createConnection({ ...server.admin, multipleStatements: true });
  await adminConn.query(`CREATE DATABASE \`${database}\``);
  await adminConn.query(`USE \`${database}\``);
  await adminConn.query(fs.readFileSync(SCHEMA, "utf8"));
  await adminConn.query("CREATE USER IF NOT EXISTS ?@'%' IDENTIFIED BY ?", [user, TEST_PASSWORD]);
  await adminConn.query("CREATE USER IF NOT EXISTS ?@'127.0.0.1' IDENTIFIED BY ?", [user, TEST_PASSWORD]);
  await adminConn.query("CREATE USER IF NOT EXISTS ?@'localhost' IDENTIFIED BY ?", [user, TEST_PASSWORD]);
  for (const h of ["%", "127.0.0.1", "localhost"]) {
    await adminConn.query(`GRANT ALL ON \`${database}\`.* TO ?@?`, [user, h]);
  }
  const db: TestDatabase = {
    host: server.host,
    port: server.port,
    user,
    password: TEST_PASSWORD,
    database,
    throwaway: url === undefined || url === "",
    // As the provider connects (providers/connection.ts): ensureSentinel sends one batch of statements.
    connect: () =>
      mysql.createConnection({
        host: server.host,
        port: server.port,
        user,
        password: TEST_PASSWORD,
        database,
        multipleStatements: true,
      }),
    admin: async (sql, values) => {
      const [result] = await adminConn.query(sql, values);
      return result;
    },
    reset: async (regions = DEFAULT_REGIONS) => {
      await adminConn.query("DELETE FROM sentinels");
      await adminConn.query("DELETE FROM regions");
      for (const r of regions) {
        await adminConn.query("INSERT INTO regions (id, name, platform) VALUES (?, ?, ?)", [
          r.id,
          r.name,
          r.platform,
        ]);
      }
    },
    stop: async () => {
      await adminConn.query(`DROP DATABASE IF EXISTS \`${database}\``).catch(() => undefined);
      await adminConn.end().catch(() => undefined);
      await server.stop();
    },
  };
  await db.reset();
  return db;
}
