// A real MariaDB for tests and benchmarks: a throwaway `mariadbd` in a temp datadir on a free 127.0.0.1 port
// (about a second to start), or an existing server named by MYSQL_URL. Either way each run gets its own
// database with the spec's schema (db/schema.sql) and a login whose password has URL-hostile characters.
// With `tls: true` the throwaway server gets a CA and a server certificate generated here with Debian's
// `openssl` (EC P-256, milliseconds), and `require_secure_transport=ON`: TCP clients must use TLS.
import { spawn, spawnSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Connection } from "mysql2/promise";
import * as mysql from "mysql2/promise";
import type { ConnectionSettings } from "../../lib/config/connection";
import { refusedPort } from "../support/net";

export interface TestDatabase {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Deliberately full of `@ : / # % ? & ' "` so DSN-building bugs show. */
  readonly password: string;
  readonly database: string;
  /** True when this harness started the server (and may e.g. create users freely). */
  readonly throwaway: boolean;
  /** With `tls: true`: the PEM of the CA that signed the server's certificate, and of an unrelated CA. */
  readonly tls: { readonly caCert: string; readonly wrongCaCert: string } | null;
  /** A fresh connection as the test login. */
  connect(): Promise<Connection>;
  /** Runs statements as the admin login (schema resets, out-of-band edits). */
  admin(sql: string, values?: unknown[]): Promise<unknown>;
  /** Empties the sentinels table and (re)seeds the regions. */
  reset(regions?: readonly RegionSeed[]): Promise<void>;
  stop(): Promise<void>;
}

/** The provider's connection settings for `db`: plaintext, 3 s to connect, 5 s per operation. */
export function connectionSettings(db: TestDatabase): ConnectionSettings {
  return {
    host: db.host,
    port: db.port,
    user: db.user,
    database: db.database,
    connectTimeoutMs: 3_000,
    operationTimeoutMs: 5_000,
    tls: { mode: "disabled", caFile: null },
  };
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
const SCHEMA = path.join(__dirname, "..", "..", "db", "schema.sql");

export interface StartOptions {
  /** Extra mariadbd flags (throwaway servers only). */
  readonly serverArgs?: readonly string[];
  /**
   * Serve TLS with a freshly generated CA and server certificate (SANs 127.0.0.1 and localhost) and refuse
   * plaintext TCP clients (`require_secure_transport=ON`). Throwaway servers only. Default: false.
   */
  readonly tls?: boolean;
}

function openssl(args: readonly string[], cwd: string): void {
  const run = spawnSync("openssl", args, { cwd, encoding: "utf8" });
  if (run.status !== 0) {
    throw new Error(
      `openssl ${args.join(" ")} failed (install Debian's openssl): ${run.error?.message ?? run.stderr}`,
    );
  }
}

/** A CA, a server certificate it signs, and an unrelated CA, in `dir`. */
export function generateCertificates(dir: string): {
  caCert: string;
  wrongCaCert: string;
  serverCert: string;
  serverKey: string;
} {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  for (const name of ["ca", "wrong-ca"]) {
    openssl(
      [
        "req",
        "-x509",
        ...ec,
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.pem`,
        "-days",
        "2",
        "-subj",
        `/CN=sentinel-fleet test ${name}`,
      ],
      dir,
    );
  }
  openssl(["req", ...ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"], dir);
  fs.writeFileSync(path.join(dir, "server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl(
    [
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.pem",
      "-days",
      "2",
      "-extfile",
      "server.ext",
    ],
    dir,
  );
  const read = (f: string) => fs.readFileSync(path.join(dir, f), "utf8");
  return {
    caCert: read("ca.pem"),
    wrongCaCert: read("wrong-ca.pem"),
    serverCert: path.join(dir, "server.pem"),
    serverKey: path.join(dir, "server.key"),
  };
}

/** A port for the server: one nothing listens on yet. */
const freePort = refusedPort;

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
  tls: { caCert: string; wrongCaCert: string } | null;
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
  let tls: { caCert: string; wrongCaCert: string } | null = null;
  const tlsArgs: string[] = [];
  if (options.tls === true) {
    const certs = generateCertificates(dir);
    tls = { caCert: certs.caCert, wrongCaCert: certs.wrongCaCert };
    tlsArgs.push(
      `--ssl-ca=${path.join(dir, "ca.pem")}`,
      `--ssl-cert=${certs.serverCert}`,
      `--ssl-key=${certs.serverKey}`,
      "--require-secure-transport=ON",
    );
  }
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
      ...tlsArgs,
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
    tls,
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
  let server: {
    admin: mysql.ConnectionOptions;
    host: string;
    port: number;
    tls: { caCert: string; wrongCaCert: string } | null;
    stop: () => Promise<void>;
  };
  if (url !== undefined && url !== "") {
    const u = new URL(url);
    const host = u.hostname;
    const port = Number(u.port || "3306");
    server = {
      admin: { host, port, user: decodeURIComponent(u.username), password: decodeURIComponent(u.password) },
      host,
      port,
      tls: null,
      stop: () => Promise.resolve(),
    };
    if (options.tls === true)
      throw new Error("startDatabase({ tls: true }) needs a throwaway server, not MYSQL_URL");
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
    tls: server.tls,
    // As the provider connects (providers/connection.ts): one statement per round trip.
    connect: () =>
      mysql.createConnection({
        host: server.host,
        port: server.port,
        user,
        password: TEST_PASSWORD,
        database,
        multipleStatements: false,
        ...(server.tls === null ? {} : { ssl: { ca: server.tls.caCert, rejectUnauthorized: true } }),
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

/** The sum of the session's `Handler_read%` counters: rows and index entries the server read for it. */
async function handlerReads(conn: Connection): Promise<number> {
  const [rows] = await conn.query("SHOW SESSION STATUS LIKE 'Handler_read%'");
  return (rows as { Value: string }[]).reduce((sum, r) => sum + Number(r.Value), 0);
}

/**
 * Rows the server read for `work` on `conn` (Handler_read* before and after, on that session), less what
 * reading the counters itself reads (measured on the spot: 0 on MariaDB 10.11).
 */
export async function rowsReadBy(conn: Connection, work: () => Promise<unknown>): Promise<number> {
  const before = await handlerReads(conn);
  const idle = (await handlerReads(conn)) - before;
  const start = await handlerReads(conn);
  await work();
  return (await handlerReads(conn)) - start - idle;
}

/** Adds `count` rows to a region (versions 1..count, ids from `prefix`), in multi-row INSERTs. */
export async function fillRegion(
  db: TestDatabase,
  regionId: string,
  count: number,
  prefix = "fill",
): Promise<void> {
  const BATCH = 500;
  for (let from = 0; from < count; from += BATCH) {
    const values: unknown[] = [];
    const tuples: string[] = [];
    for (let i = from; i < Math.min(count, from + BATCH); i++) {
      const name = `${prefix}${i}`;
      tuples.push("(?, 'ws_fill', 'proj_fill', ?, ?, ?, ?, 'img', 1, 0, 256, 256, ?, 0)");
      values.push(
        `s_${name}`,
        `env_${name}`,
        name,
        `${name}.sentinel.svc.cluster.local:8040`,
        regionId,
        i + 1,
      );
    }
    await db.admin(
      "INSERT INTO sentinels (id, workspace_id, project_id, environment_id, k8s_name, k8s_address, region_id, " +
        "image, desired_replicas, available_replicas, cpu_millicores, memory_mib, version, created_at) VALUES " +
        tuples.join(", "),
      values,
    );
  }
}
