// The platform database connection: parsed from stack config (by the program's validation and by the dynamic
// provider's configure), then used through a small pool per process (the dynamic-provider host, or the program
// for the health hook) with every operation bounded by one deadline. Plain functions: they are serialized with
// the provider and run in the dynamic-provider host, so live state (the pools) hangs off `globalThis`, created
// at run time, never captured in the serialized text.
import type * as Crypto from "crypto";
import type * as Fs from "fs";
import type * as Mysql from "mysql2/promise";
import type { PoolConnection } from "mysql2/promise";
import { mysql2Ssl, type TlsMode } from "../lib/databaseTls";
import {
  DATABASE_CA_CERT_CONFIG_KEY,
  DATABASE_CONFIG_KEY,
  type ConnectionSettings,
} from "../lib/config/connection";
import { quoteUntrusted, withoutSecrets } from "../lib/redact";

// What the provider reads at configure(), from the configuration it shares with the program.
export {
  DATABASE_CA_CERT_CONFIG_KEY,
  DATABASE_CONFIG_KEY,
  DATABASE_PASSWORD_CONFIG_KEY,
  parseConnectionSettings,
} from "../lib/config/connection";

/** Everything needed to reach the database: the settings, the password, and the CA bundle's PEM text. */
export interface DatabaseTarget {
  readonly settings: ConnectionSettings;
  readonly password: string;
  /** PEM CA bundle (from `databaseCaCert` or `tls.caFile`); null: none (Node's default roots). */
  readonly caCert: string | null;
}

/** The secret values of a target: removed from every message that leaves an operation. */
export function targetSecrets(target: DatabaseTarget): string[] {
  return [target.password, target.caCert ?? ""];
}

/**
 * The CA bundle for a target: the secret's PEM text, or the file `tls.caFile` names (relative paths from the
 * working directory, the project directory under `pulumi`). Read once, when the provider is configured.
 */
export function resolveCaCert(settings: ConnectionSettings, secretPem: string | null): string | null {
  if (secretPem !== null && secretPem !== "") {
    return checkedCaBundle(secretPem, settings.tls.mode, DATABASE_CA_CERT_CONFIG_KEY);
  }
  const file = settings.tls.caFile;
  if (file === null) return null;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require("fs") as typeof Fs;
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new Error(
      `${DATABASE_CONFIG_KEY}.tls.caFile: cannot read ${JSON.stringify(file)}: ${(err as Error).message}`,
    );
  }
  return checkedCaBundle(
    text,
    settings.tls.mode,
    `${DATABASE_CONFIG_KEY}.tls.caFile (${JSON.stringify(file)})`,
  );
}

/**
 * Node ignores whatever in a `ca` bundle is not a certificate, so a bundle of garbage would only show later as
 * "self-signed certificate in certificate chain". A bundle the verifying modes use must be PEM certificates,
 * each parsing; the problem names the key and the block, never the text (a secret, or a private key pasted by
 * mistake). The modes that verify nothing ignore the bundle, so it is not checked for them.
 */
export function checkedCaBundle(text: string, mode: TlsMode, key: string): string {
  if (mode !== "verify-ca" && mode !== "verify-identity") return text;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const crypto = require("crypto") as typeof Crypto;
  const blocks = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)];
  const problem = (what: string) =>
    new Error(
      `${key} ${what}; a CA bundle for tls.mode ${mode} is one or more PEM certificates ` +
        "(-----BEGIN CERTIFICATE-----); its text is not shown",
    );
  if (blocks.length === 0) throw problem("holds no PEM block");
  blocks.forEach((b, i) => {
    if (b[1] !== "CERTIFICATE") throw problem(`holds a ${b[1]} block (block ${i + 1} of ${blocks.length})`);
    try {
      new crypto.X509Certificate(b[0]);
    } catch {
      throw problem(`holds a certificate that does not parse (block ${i + 1} of ${blocks.length})`);
    }
  });
  return text;
}

/** Pool bounds: a few connections per process; `pulumi up` runs up to --parallel creates at once. */
export const POOL = {
  connectionLimit: 8,
  /**
   * Once no operation has run for this long the whole pool is ended (every idle connection with it). Between
   * operations, up to connectionLimit connections stay open (maxIdle), so a burst of creates reuses them.
   */
  idleMs: 2_000,
  /** Attempts of one operation after deadlocks or lost races, within its deadline. */
  maxAttempts: 10,
} as const;

/** What a process counts about its database use (read by `npm run bench:db`). */
export interface DatabaseStats {
  connectionsOpened: number;
  roundTrips: number;
}

interface PoolEntry {
  readonly pool: Mysql.Pool;
  inFlight: number;
  idleTimer: ReturnType<typeof setTimeout> | null;
}

interface Registry {
  readonly pools: Map<string, PoolEntry>;
  /** Per connection: the lock-wait seconds its session is set to (undefined: not set up yet). */
  readonly sessions: WeakMap<object, number>;
  readonly stats: DatabaseStats;
}

/**
 * The process's pools. On `globalThis`, created on first use: the provider is serialized as code, and a
 * module-level Map would be captured (empty, but still) into every SentinelRecord's state.
 */
function registry(): Registry {
  const g = globalThis as unknown as { __sentinelFleetDatabase?: Registry };
  g.__sentinelFleetDatabase ??= {
    pools: new Map(),
    sessions: new WeakMap(),
    stats: { connectionsOpened: 0, roundTrips: 0 },
  };
  return g.__sentinelFleetDatabase;
}

export function databaseStats(): DatabaseStats {
  return registry().stats;
}

/** Ends every pool of this process (tests, benchmarks; the idle close does it on its own otherwise). */
export async function closeDatabasePools(): Promise<void> {
  const { pools } = registry();
  const entries = [...pools.values()];
  pools.clear();
  await Promise.all(
    entries.map(async (e) => {
      if (e.idleTimer !== null) clearTimeout(e.idleTimer);
      await e.pool.end().catch(() => undefined);
    }),
  );
}

function poolKey(target: DatabaseTarget): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const crypto = require("crypto") as typeof Crypto;
  const secret = crypto
    .createHash("sha256")
    .update(`${target.password}\0${target.caCert ?? ""}`)
    .digest("hex");
  return `${JSON.stringify(target.settings)}\0${secret}`;
}

function poolFor(target: DatabaseTarget): PoolEntry {
  const reg = registry();
  const key = poolKey(target);
  const existing = reg.pools.get(key);
  if (existing !== undefined) return existing;
  // Required here, not at the top: this runs in the dynamic-provider host, from serialized text.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mysql = require("mysql2/promise") as typeof Mysql;
  const { settings } = target;
  const ssl = mysql2Ssl(settings.tls.mode, target.caCert);
  const pool = mysql.createPool({
    host: settings.host,
    port: settings.port,
    user: settings.user,
    // Options are an object, never a URI: passwords with `@`, `:` or `/` need no escaping.
    password: target.password,
    database: settings.database,
    connectTimeout: Math.min(settings.connectTimeoutMs, settings.operationTimeoutMs),
    ...(ssl === undefined ? {} : { ssl: { ...ssl } }),
    // One statement per round trip, on every server and proxy (Vitess refuses batches).
    multipleStatements: false,
    supportBigNumbers: true,
    // version is BIGINT UNSIGNED; numbers stay numbers until they pass 2^53.
    bigNumberStrings: false,
    connectionLimit: POOL.connectionLimit,
    maxIdle: POOL.connectionLimit,
    idleTimeout: POOL.idleMs,
    queueLimit: 0,
  });
  pool.pool.on("connection", () => {
    reg.stats.connectionsOpened++;
  });
  const entry: PoolEntry = { pool, inFlight: 0, idleTimer: null };
  reg.pools.set(key, entry);
  return entry;
}

/** Once nothing has used the pool for POOL.idleMs it is ended, so the process can exit; unref'd, it never
 * keeps the process alive by itself. */
function armIdleClose(target: DatabaseTarget, entry: PoolEntry): void {
  if (entry.inFlight > 0) return;
  if (entry.idleTimer !== null) clearTimeout(entry.idleTimer);
  entry.idleTimer = setTimeout(() => {
    const reg = registry();
    const key = poolKey(target);
    if (reg.pools.get(key) === entry && entry.inFlight === 0) {
      reg.pools.delete(key);
      void entry.pool.end().catch(() => undefined);
    }
  }, POOL.idleMs);
  entry.idleTimer.unref();
}

/**
 * A database failure, its message naming the operation and host:port, never the password; `errno` is the
 * MySQL error number when the server sent one. A plain Error, not a subclass: serialized with the provider,
 * an Error subclass reached the engine from the dynamic-provider host without its message (tested there).
 */
export function databaseError(message: string, errno?: number): Error & { errno?: number } {
  const err = new Error(message) as Error & { errno?: number };
  if (errno !== undefined) err.errno = errno;
  return err;
}

function isDeadlineError(err: unknown): boolean {
  return err instanceof Error && (err as { fromDeadline?: boolean }).fromDeadline === true;
}

/**
 * What the driver or the server said about a failure: the driver's error code as it is (a constant of the
 * driver or of Node), the message, which the server writes, as untrusted text.
 */
function detail(err: unknown, secrets: readonly string[]): string {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === "string" && /^[A-Z][A-Z0-9_]{0,63}$/.test(e.code) ? e.code : null;
  const message = typeof e.message === "string" && e.message !== "" ? e.message : null;
  if (message === null) return code ?? quoteUntrusted(String(err), secrets);
  return `${code === null ? "" : `${code}: `}${quoteUntrusted(message, secrets)}`;
}

const ER_LOCK_WAIT_TIMEOUT = 1205;

/** What the server's lock waits leave of an operation's deadline to the client, at least. */
export const LOCK_WAIT_MARGIN_MS = 250;

/**
 * What became of a statement the client stopped waiting for (a timeout or a lost connection); its connection
 * is destroyed either way. The server does not notice a closed connection while a statement runs, so a write
 * that had reached it can still finish there: inside a transaction that is harmless (the server rolls back
 * what a closed connection left open), but an autocommitted write, or a COMMIT already sent, may take effect.
 * No client can rule that out; the provider's writes are idempotent by (environment, region), so the next
 * `pulumi up` reads the row as it is and adopts or converges it.
 */
export function outcomeWhenCutOff(sql: string, inTransaction: boolean): string {
  if (/^\s*COMMIT\b/i.test(sql)) {
    return (
      "its COMMIT had been sent, so whether the change took effect is unknown (the connection was closed); " +
      "the next `pulumi up` reads the row as it is and converges it"
    );
  }
  if (inTransaction) return "its connection was closed, so its transaction is rolled back, never committed";
  if (/^\s*(INSERT|UPDATE|DELETE)\b/i.test(sql)) {
    return (
      "its autocommitted write had reached the server and may still complete there (the connection was closed); " +
      "a row it leaves is whole, and the next `pulumi up` adopts it"
    );
  }
  return "the statement in flight only read (the connection was closed)";
}

/**
 * One operation's use of the database: statements on one pooled connection, each bounded by what is left of
 * the operation's deadline. Lock waits are bounded on the server too (session `innodb_lock_wait_timeout` and
 * `lock_wait_timeout`, whole seconds, at most half the time left each: a statement may wait for a metadata
 * lock and then a row lock), so a statement the client gave up on never runs on afterwards and commits.
 */
export class DatabaseSession {
  // TypeScript-private, not `#private`: Pulumi's closure serializer cannot serialize `#` fields.
  private conn: PoolConnection;
  private broken = false;
  private inTransaction = false;
  private readonly target: DatabaseTarget;
  private readonly deadline: number;
  private readonly operation: string;

  constructor(conn: PoolConnection, target: DatabaseTarget, deadline: number, operation: string) {
    this.conn = conn;
    this.target = target;
    this.deadline = deadline;
    this.operation = operation;
  }

  get where(): string {
    return `the platform database at ${this.target.settings.host}:${this.target.settings.port}`;
  }

  remainingMs(): number {
    return this.deadline - Date.now();
  }

  /** One statement, one round trip. Writes start only while their lock waits fit in the deadline. */
  async query(sql: string, values: unknown[] = []): Promise<[unknown, unknown]> {
    const write = /^\s*(INSERT|UPDATE|DELETE)\b/i.test(sql) && !this.inTransaction;
    await this.prepare(write);
    return this.send(sql, values);
  }

  /**
   * Runs `work` in a transaction. On a failure it is rolled back (so a deadlock's retry can run on the same
   * connection); when the connection itself failed — a timeout, a lost connection, or the ROLLBACK — it is
   * destroyed instead of released: the server rolls back what a dead connection left open, so a transaction
   * this side gave up on can never commit later.
   */
  async transaction<T>(work: (tx: DatabaseSession) => Promise<T>): Promise<T> {
    await this.prepare(false);
    await this.send("START TRANSACTION", []);
    this.inTransaction = true;
    try {
      const result = await work(this);
      await this.send("COMMIT", []);
      this.inTransaction = false;
      return result;
    } catch (err) {
      if (!this.broken && this.inTransaction) {
        await this.send("ROLLBACK", []).catch(() => {
          this.broken = true;
        });
      }
      this.inTransaction = false;
      throw err;
    }
  }

  private async prepare(write: boolean): Promise<void> {
    const remaining = this.remainingMs();
    if (remaining <= 0) throw this.gaveUp();
    // Two waits (a metadata lock, then a row lock) end at least LOCK_WAIT_MARGIN_MS before the client gives up.
    const seconds = Math.floor((remaining - LOCK_WAIT_MARGIN_MS) / 2000);
    if (seconds < 1 && write) {
      throw databaseError(
        `${this.operation} gave up at ${this.where}: less than ${(2000 + LOCK_WAIT_MARGIN_MS) / 1000} s of its ` +
          "deadline left for a statement that may wait for locks (MySQL counts lock waits in whole seconds)",
      );
    }
    const wanted = Math.max(1, seconds);
    const { sessions } = registry();
    // mysql2/promise wraps the same pooled connection in a new object on every getConnection.
    const core = (this.conn as unknown as { connection?: object }).connection ?? this.conn;
    const current = sessions.get(core);
    // Set on a fresh connection, and again only when the session's bound no longer fits (or is far tighter
    // than needed): on a pooled connection that is rarely, so most operations pay no extra round trip.
    if (current === undefined || current > wanted || current < wanted / 2) {
      await this.send(
        "SET SESSION time_zone = '+00:00', innodb_lock_wait_timeout = ?, lock_wait_timeout = ?",
        [wanted, wanted],
      );
      sessions.set(core, wanted);
    }
  }

  private async send(sql: string, values: unknown[]): Promise<[unknown, unknown]> {
    const remaining = this.remainingMs();
    if (remaining <= 0) throw this.gaveUp();
    registry().stats.roundTrips++;
    try {
      return await this.conn.query({ sql, values, timeout: remaining });
    } catch (err) {
      const e = err as { code?: string; errno?: number; fatal?: boolean; sqlState?: string };
      if (e.code === "PROTOCOL_SEQUENCE_TIMEOUT") {
        this.broken = true;
        throw this.gaveUp(sql);
      }
      // A server error leaves the connection usable; anything else (a lost connection) does not.
      if (e.fatal === true || e.sqlState === undefined) this.broken = true;
      if (e.errno === ER_LOCK_WAIT_TIMEOUT) {
        throw databaseError(
          `${this.operation} gave up at ${this.where}: a lock held by another session was not released ` +
            `in time (${detail(err, targetSecrets(this.target))})`,
          e.errno,
        );
      }
      if (e.sqlState === undefined) {
        throw databaseError(
          `${this.operation} failed at ${this.where}: ${detail(err, targetSecrets(this.target))}; ` +
            outcomeWhenCutOff(sql, this.inTransaction),
          e.errno,
        );
      }
      // The server's own words may quote what it was sent: never passed on as they are.
      throw databaseError(
        `${this.operation} failed at ${this.where}: ${detail(err, targetSecrets(this.target))}`,
        e.errno,
      );
    }
  }

  /** `sent`: the statement in flight when the deadline passed; null: none (the deadline passed between them). */
  private gaveUp(sent: string | null = null): Error {
    return databaseError(
      `${this.operation} gave up at ${this.where}: no answer within its deadline of ` +
        `${this.target.settings.operationTimeoutMs} ms (sentinel-fleet:database.operationTimeoutMs); ` +
        (sent === null
          ? this.inTransaction
            ? "its transaction is rolled back, never committed"
            : "no statement of it was in flight"
          : outcomeWhenCutOff(sent, this.inTransaction)),
    );
  }

  /** Back to the pool, or destroyed when its state is unknown. */
  finish(): void {
    if (this.broken || this.inTransaction) this.conn.destroy();
    else this.conn.release();
  }
}

/**
 * Runs one database operation on a pooled connection within `settings.operationTimeoutMs`: waiting for a
 * connection, connecting, every statement and every retry count against the same deadline. Errors name the
 * operation and host:port, never the password.
 */
export async function withDatabase<T>(
  target: DatabaseTarget,
  operation: string,
  work: (db: DatabaseSession) => Promise<T>,
): Promise<T> {
  const { settings } = target;
  const deadline = Date.now() + settings.operationTimeoutMs;
  const entry = poolFor(target);
  entry.inFlight++;
  if (entry.idleTimer !== null) {
    clearTimeout(entry.idleTimer);
    entry.idleTimer = null;
  }
  try {
    const conn = await acquire(entry, target, deadline, operation);
    const session = new DatabaseSession(conn, target, deadline, operation);
    try {
      return await work(session);
    } finally {
      session.finish();
    }
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    const named = message.includes(`${settings.host}:${settings.port}`)
      ? message
      : `${operation} at the platform database ${settings.host}:${settings.port}: ${message}`;
    throw databaseError(withoutSecrets(named, targetSecrets(target)), (err as { errno?: number }).errno);
  } finally {
    entry.inFlight--;
    armIdleClose(target, entry);
  }
}

const ER_ACCESS_DENIED = 1045;
const ER_SECURE_TRANSPORT_REQUIRED = 3159;

/**
 * A server that requires TLS refuses a plaintext login: MySQL says so (3159), MariaDB 10.11 only says
 * "access denied" (1045), which reads like a wrong password. Say what else it may mean.
 */
function plaintextHint(mode: TlsMode, errno: number | undefined): string {
  if (mode !== "disabled") return "";
  if (errno === ER_SECURE_TRANSPORT_REQUIRED) {
    return `; the server requires TLS: set ${DATABASE_CONFIG_KEY}.tls.mode`;
  }
  if (errno === ER_ACCESS_DENIED) {
    return (
      `; the connection was plaintext (${DATABASE_CONFIG_KEY}.tls.mode is disabled): if the server requires ` +
      "secure transport (MariaDB reports that as access denied), set tls.mode"
    );
  }
  return "";
}

/** A pooled connection, or a clear error when none comes within the deadline (a late one goes back). */
async function acquire(
  entry: PoolEntry,
  target: DatabaseTarget,
  deadline: number,
  operation: string,
): Promise<PoolConnection> {
  const { settings } = target;
  const where = `${settings.host}:${settings.port}`;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let late = false;
  const pending = entry.pool.getConnection();
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => {
        late = true;
        const err = databaseError(
          `${operation}: cannot connect to the platform database at ${where}: no connection within the ` +
            `operation's deadline of ${settings.operationTimeoutMs} ms`,
        );
        (err as { fromDeadline?: boolean }).fromDeadline = true;
        reject(err);
      },
      Math.max(0, deadline - Date.now()),
    );
  });
  pending.then(
    (conn) => {
      if (late) conn.release();
    },
    () => undefined,
  );
  try {
    return await Promise.race([pending, timeout]);
  } catch (err) {
    if (isDeadlineError(err)) throw err;
    const code = (err as { errno?: number }).errno;
    throw databaseError(
      `${operation}: cannot connect to the platform database at ${where} ` +
        `(database ${settings.database}, user ${settings.user}, tls ${settings.tls.mode}): ` +
        detail(err, targetSecrets(target)) +
        plaintextHint(settings.tls.mode, code),
      code,
    );
  } finally {
    clearTimeout(timer);
  }
}
