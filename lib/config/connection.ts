// The connection part of `sentinel-fleet:database`: its zod fields, cross-field rules and parser. The program's
// validation and the dynamic provider's configure() both read it, so it sits with the configuration, below
// the provider that imports it. It takes zod as an argument and loads `net` and zod lazily because the
// provider runs it in the dynamic-provider host too, where nothing is built at module load.
import type * as Fs from "fs";
import type * as Net from "net";
import type * as Zod from "zod";
import { PROJECT } from "../constants";
import { caBundleProblem, TLS_MODES, type TlsMode, type TlsSettings } from "../databaseTls";
import { quoteUntrusted, showValue as show } from "../redact";
/** Stack config keys the provider reads in `configure()`; fully qualified because the host has no project. */
export const DATABASE_CONFIG_KEY = `${PROJECT}:database`;
export const DATABASE_PASSWORD_CONFIG_KEY = `${PROJECT}:databasePassword`;
/** PEM text of the CA bundle that verifies the database server (a secret); exclusive with `tls.caFile`. */
export const DATABASE_CA_CERT_CONFIG_KEY = `${PROJECT}:databaseCaCert`;

export interface ConnectionSettings {
  /** Hostname, IPv4 or IPv6 literal; IPv6 without brackets. */
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  readonly connectTimeoutMs: number;
  /** The deadline of one provider operation: connect, every statement, lock waits and retries within it. */
  readonly operationTimeoutMs: number;
  readonly tls: TlsSettings;
}

export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

export const DEFAULT_DB_PORT = 3306;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
export const DEFAULT_OPERATION_TIMEOUT_MS = 30_000;

/** An unquoted MySQL database name. */
const IDENTIFIER = /^[A-Za-z0-9_$]{1,64}$/;
/** A DNS hostname: dot-separated RFC 1123 labels. */
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$/;

/** Whether a host is a hostname or an IP literal (IPv6 with or without brackets), or why not. */
export function hostProblem(text: string): string | null {
  // Required here: this runs in the dynamic-provider host, from serialized text.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const net = require("net") as typeof Net;
  const bare = /^\[(.*)\]$/.exec(text)?.[1];
  if (bare !== undefined) return net.isIPv6(bare) ? null : `${show(text)} is not an IPv6 address in brackets`;
  if (net.isIP(text) !== 0 || HOSTNAME.test(text)) return null;
  if (/^\[[^\]]*\]:\d*$/.test(text) || /^[^:]+:\d*$/.test(text)) {
    return `${show(text)} includes a port; set the port in ${DATABASE_CONFIG_KEY}.port`;
  }
  return `${show(text)} is not a hostname, an IPv4 address or an IPv6 address`;
}

/**
 * The connection part of `sentinel-fleet:database`, as zod schema fields. One description serves the
 * program's validation, the provider's configure(), the JSON Schema of the stack file and the README. It takes
 * zod as an argument because it runs inside the dynamic-provider host too, which loads zod with a plain
 * require (a schema built at module level would be serialized with the provider).
 */
export function connectionFields(z: typeof Zod.z) {
  const err = (f: (input: unknown) => string) => ({ error: (iss: { input?: unknown }) => f(iss.input) });
  const nonEmpty = () => {
    const e = err((v) => `must be a non-empty string, got ${show(v)}`);
    return z.string(e).regex(/\S/, { ...e, abort: true });
  };
  const int = (min: number, max: number) => {
    const e = err((v) => `must be an integer from ${min} to ${max}, got ${show(v)}`);
    return z
      .number(e)
      .int({ ...e, abort: true })
      .min(min, e)
      .max(max, e);
  };
  const tlsMode = () =>
    z.enum(
      TLS_MODES as [TlsMode, ...TlsMode[]],
      err((v) => `must be one of ${TLS_MODES.join(", ")}, got ${show(v)}`),
    );
  // Neither client takes a CA bundle: @pulumi/mysql 3.x has no CA argument, and the Go driver's DSN can only
  // name a TLS config registered in the sentinel's code. Both verify against their system roots.
  const clientTls = (who: string) =>
    z
      .strictObject(
        {
          mode: tlsMode().meta({
            description: "its TLS mode (the same four); it verifies against system roots",
          }),
        },
        {
          error: (iss: { code?: string; input?: unknown }) =>
            iss.code === "unrecognized_keys"
              ? "unknown key (known: mode)"
              : `must be { mode }, got ${show(iss.input)}`,
        },
      )
      .optional()
      .meta({ description: `TLS of ${who}`, "x-default": "`tls.mode`" });
  return {
    host: nonEmpty()
      .regex(
        /^[^\s/@]+$/,
        err((v) => hostProblem(String(v)) ?? `${show(v)} is not a host`),
      )
      .superRefine((v, ctx) => {
        const problem = hostProblem(v);
        if (problem !== null) ctx.addIssue({ code: "custom", message: problem, input: v });
      })
      .transform((v) => v.replace(/^\[(.*)\]$/, "$1"))
      .meta({
        description:
          "the platform database's host for the program's admin connection: a hostname, an IPv4 address or an " +
          "IPv6 address (`::1` or `[::1]`); without a port",
      }),
    user: nonEmpty().meta({
      description: "the admin login: inserts, updates and deletes `sentinels` rows, creates users and grants",
    }),
    name: nonEmpty()
      .regex(
        IDENTIFIER,
        err((v) => `is not a MySQL database name: ${show(v)}`),
      )
      .meta({ description: "the platform database (schema) name, an unquoted MySQL identifier" }),
    port: int(1, 65535).default(DEFAULT_DB_PORT).meta({ description: "the admin connection's port" }),
    connectTimeoutMs: int(100, 120_000)
      .default(DEFAULT_CONNECT_TIMEOUT_MS)
      .meta({ description: "the deadline of opening one connection, in milliseconds" }),
    // At least 3 s: a write starts only while the server's lock wait (whole seconds, ending 250 ms before the
    // client gives up) still fits in what is left, so a shorter deadline would refuse every write up front.
    operationTimeoutMs: int(3_000, 600_000)
      .default(DEFAULT_OPERATION_TIMEOUT_MS)
      .meta({
        description:
          "the deadline of one database operation of the provider (connect, every statement, lock waits and " +
          "retries, all within it), in milliseconds",
      }),
    tls: z
      .strictObject(
        {
          mode: tlsMode()
            .default("disabled")
            .meta({
              description:
                "`disabled`, `required` (encrypted, server not verified), `verify-ca` (the server's certificate " +
                "chains to the CA) or `verify-identity` (and names the host)",
            }),
          caFile: nonEmpty().optional().meta({
            description:
              "path of a PEM CA bundle (relative: the project directory); or set the secret `databaseCaCert`",
          }),
          mysqlProvider: clientTls("`@pulumi/mysql`'s admin connection (managed logins)"),
          pods: clientTls("the pods' DSNs (managed logins); also whether their logins `REQUIRE SSL`"),
        },
        err((v) => `must be an object, got ${show(v)}`),
      )
      .optional()
      .meta({
        description:
          "TLS to the platform database: `mode` and `caFile` are the provider's (rows, health write-back) and the " +
          "other clients' unless `mysqlProvider` or `pods` give their own mode",
        "x-default": "off (`disabled`)",
      }),
  };
}

/** A parsed connection part as ConnectionSettings. */
export function toConnectionSettings(v: {
  host: string;
  port: number;
  user: string;
  name: string;
  connectTimeoutMs: number;
  operationTimeoutMs: number;
  tls?: { mode: TlsMode; caFile?: string } | undefined;
}): ConnectionSettings {
  return {
    host: v.host,
    port: v.port,
    user: v.user,
    database: v.name,
    connectTimeoutMs: v.connectTimeoutMs,
    operationTimeoutMs: v.operationTimeoutMs,
    tls: { mode: v.tls?.mode ?? "disabled", caFile: v.tls?.caFile ?? null },
  };
}

/**
 * The connection part as the rows' provider is configured with it (`DATABASE_CONFIG_KEY`): only the keys
 * `connectionFields` reads, in a fixed order, as JSON. Keys the provider does not read (logins, rotation, the
 * pods' addresses) stay out, so stacks that reach one database (a region's shards) configure identical
 * providers, whatever else their `database` says.
 */
export function providerConnectionText(v: Parameters<typeof toConnectionSettings>[0]): string {
  return JSON.stringify({
    host: v.host,
    port: v.port,
    user: v.user,
    name: v.name,
    connectTimeoutMs: v.connectTimeoutMs,
    operationTimeoutMs: v.operationTimeoutMs,
    ...(v.tls === undefined
      ? {}
      : { tls: { mode: v.tls.mode, ...(v.tls.caFile === undefined ? {} : { caFile: v.tls.caFile }) } }),
  });
}

/** Cross-field rules of the connection part: problems as (path below the database key, message). */
export function connectionRules(v: {
  connectTimeoutMs?: unknown;
  operationTimeoutMs?: unknown;
  tls?: unknown;
}): { path: string[]; message: string }[] {
  const found: { path: string[]; message: string }[] = [];
  const connect = typeof v.connectTimeoutMs === "number" ? v.connectTimeoutMs : DEFAULT_CONNECT_TIMEOUT_MS;
  const operation = v.operationTimeoutMs;
  if (
    typeof operation === "number" &&
    Number.isInteger(operation) &&
    operation >= 1_000 &&
    operation < connect
  ) {
    found.push({
      path: ["operationTimeoutMs"],
      message: `must be at least connectTimeoutMs (${connect}): connecting is part of every operation, got ${operation}`,
    });
  }
  const tls = v.tls as { mode?: unknown; caFile?: unknown } | undefined;
  if (typeof tls === "object" && tls !== null && typeof tls.caFile === "string") {
    const mode = tls.mode ?? "disabled";
    if (mode !== "verify-ca" && mode !== "verify-identity") {
      found.push({
        path: ["tls", "caFile"],
        message: `a CA bundle verifies the server: it needs tls.mode verify-ca or verify-identity, got ${show(mode)}`,
      });
    }
  }
  return found;
}

/**
 * Parses the connection part of `sentinel-fleet:database`. The engine hands config to the provider either as
 * JSON text or as an object, so both are accepted; other keys of the object (the program's part) are ignored
 * here. Every problem is returned, with its key path and value.
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
  if (typeof value !== "object" || Array.isArray(value)) {
    return { settings: null, problems: [{ path: base, message: `must be an object, got ${show(value)}` }] };
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { z } = require("zod") as typeof Zod;
  const result = z.looseObject(connectionFields(z)).safeParse(value);
  const problems: ConfigProblem[] = result.success
    ? []
    : result.error.issues.map((i) => ({
        path: [base, ...i.path.map(String)].join("."),
        message: i.message,
      }));
  for (const r of connectionRules(value))
    problems.push({ path: [base, ...r.path].join("."), message: r.message });
  const unique = problems.filter(
    (p, i) => problems.findIndex((q) => q.path === p.path && q.message === p.message) === i,
  );
  if (!result.success || unique.length > 0) return { settings: null, problems: unique };
  return { settings: toConnectionSettings(result.data), problems: [] };
}

/**
 * What is wrong with `tls.caFile` before anything connects, or null: the file exists, is a file, and (for the
 * modes that verify) holds PEM certificates. Relative paths are from the working directory, the project
 * directory under `pulumi` and `npm run synth`, as the provider reads it.
 */
export function caFileProblem(file: string, mode: unknown): string | null {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require("fs") as typeof Fs;
  const named = quoteUntrusted(file, [], 120);
  let text: string;
  try {
    if (!fs.statSync(file).isFile()) return `${named} is not a file`;
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    return code === "ENOENT" ? `${named} does not exist` : `cannot read ${named} (${String(code)})`;
  }
  if (mode !== "verify-ca" && mode !== "verify-identity") return null;
  const found = caBundleProblem(text);
  return found === null ? null : `${named} ${found}; a CA bundle is one or more PEM certificates`;
}
