// The platform database connection: parsed from stack config (by the program's validation and by the dynamic
// provider's configure), opened inside each provider method. Plain functions: they are serialized with the
// provider and run in the dynamic-provider host.
import type * as Mysql from "mysql2/promise";
import type { Connection } from "mysql2/promise";
import { PROJECT } from "../lib/constants";

/** Stack config keys the provider reads in `configure()`; fully qualified because the host has no project. */
export const DATABASE_CONFIG_KEY = `${PROJECT}:database`;
export const DATABASE_PASSWORD_CONFIG_KEY = `${PROJECT}:databasePassword`;

export interface ConnectionSettings {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  readonly connectTimeoutMs: number;
}

export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

export const DEFAULT_DB_PORT = 3306;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

const IDENTIFIER = /^[A-Za-z0-9_$]{1,64}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/**
 * Parses the connection part of `sentinel-fleet:database`. The engine hands config to the provider either as
 * JSON text or as an object, so both are accepted. Every problem is returned, with its key path and value.
 */
export function parseConnectionSettings(raw: unknown): {
  settings: ConnectionSettings | null;
  problems: ConfigProblem[];
} {
  const base = DATABASE_CONFIG_KEY;
  let value = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw) as unknown;
    } catch {
      return { settings: null, problems: [{ path: base, message: `is not valid JSON: ${show(raw)}` }] };
    }
  }
  if (value === undefined || value === null) {
    return { settings: null, problems: [{ path: base, message: "is required (host, user, name)" }] };
  }
  if (!isRecord(value)) {
    return { settings: null, problems: [{ path: base, message: `must be an object, got ${show(value)}` }] };
  }
  const problems: ConfigProblem[] = [];
  const str = (key: string): string => {
    const v = value[key];
    if (typeof v !== "string" || v.trim() === "") {
      problems.push({ path: `${base}.${key}`, message: `must be a non-empty string, got ${show(v)}` });
      return "";
    }
    return v;
  };
  const int = (key: string, fallback: number, min: number, max: number): number => {
    const v = value[key];
    if (v === undefined) return fallback;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      problems.push({
        path: `${base}.${key}`,
        message: `must be an integer from ${min} to ${max}, got ${show(v)}`,
      });
      return fallback;
    }
    return v;
  };
  const host = str("host");
  const user = str("user");
  const database = str("name");
  if (database !== "" && !IDENTIFIER.test(database)) {
    problems.push({ path: `${base}.name`, message: `is not a MySQL database name: ${show(database)}` });
  }
  const port = int("port", DEFAULT_DB_PORT, 1, 65535);
  const connectTimeoutMs = int("connectTimeoutMs", DEFAULT_CONNECT_TIMEOUT_MS, 100, 120_000);
  if (problems.length > 0) return { settings: null, problems };
  return { settings: { host, port, user, database, connectTimeoutMs }, problems };
}

/** Removes every occurrence of the password from a message before it leaves the provider. */
export function redact(message: string, password: string): string {
  return password === "" ? message : message.split(password).join("[redacted]");
}

/**
 * Opens one connection. Options are an object, never a URI, so passwords with `@`, `:` or `/` need no escaping.
 * A connection failure names host:port and is bounded by connectTimeoutMs.
 */
export async function openConnection(settings: ConnectionSettings, password: string): Promise<Connection> {
  // Required here, not at the top: this runs in the dynamic-provider host, from serialized text.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mysql = require("mysql2/promise") as typeof Mysql;
  try {
    return await mysql.createConnection({
      host: settings.host,
      port: settings.port,
      user: settings.user,
      password,
      database: settings.database,
      connectTimeout: settings.connectTimeoutMs,
      // ensureSentinel sends its statements as one batch (one round trip); every value in them is a `?`.
      multipleStatements: true,
      supportBigNumbers: true,
      // version is BIGINT UNSIGNED; numbers stay numbers until they pass 2^53.
      bigNumberStrings: false,
    });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    const detail = [e.code, e.message].filter((part) => part !== undefined && part !== "").join(": ");
    const reason = redact(detail === "" ? String(err) : detail, password);
    throw new Error(
      `cannot connect to the platform database at ${settings.host}:${settings.port} ` +
        `(database ${settings.database}, user ${settings.user}): ${reason}`,
    );
  }
}
