// The Go MySQL driver's DSN, which the sentinel reads from its Secret, and the host:port forms that go into it.
// Pure: the components and the tests call these directly.
import { isIPv6 } from "net";
import { DSN_PARAMS } from "./constants";
import { showValue } from "./redact";

/** MySQL's default port: what the Go driver would assume; written out so every DSN is explicit. */
export const MYSQL_DEFAULT_PORT = 3306;

/** One address, split: `host` never has brackets; `port` is null when the address named none. */
export interface HostPort {
  readonly host: string;
  readonly port: number | null;
}

/**
 * Splits `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 literal (`::1`). Throws naming the value when
 * it is none of these: a DSN built from it would point somewhere else.
 */
export function splitHostPort(address: string): HostPort {
  const bad = (why: string) => new Error(`database address ${showValue(address)} ${why}`);
  const bracketed = /^\[([^\]]*)\](?::([0-9]+))?$/.exec(address);
  let host: string;
  let portText: string | undefined;
  if (bracketed !== null) {
    host = bracketed[1];
    portText = bracketed[2];
    if (!host.includes(":")) throw bad("has brackets around something that is not an IPv6 address");
  } else if (address.split(":").length > 2) {
    // Two or more colons and no brackets: a bare IPv6 literal, which cannot carry a port.
    host = address;
  } else {
    [host, portText] = address.split(":");
  }
  if (host === "") throw bad("has no host");
  if (!/^[A-Za-z0-9.:%_-]+$/.test(host)) throw bad("has a character no host name or IP address has");
  if (host.includes(":") && !isIPv6(host)) {
    throw bad("is not a valid IPv6 address");
  }
  if (portText === undefined) return { host, port: null };
  const port = Number(portText);
  if (!/^[0-9]{1,5}$/.test(portText) || port < 1 || port > 65535) throw bad("has a port outside 1..65535");
  return { host, port };
}

/** `host:port`, with an IPv6 host in brackets (`[::1]:3306`), as Go's net.JoinHostPort writes it. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** An address as a DSN's `tcp(...)` needs it: brackets around IPv6, and always a port. */
export function dsnAddress(address: string): string {
  const { host, port } = splitHostPort(address);
  return joinHostPort(host, port ?? MYSQL_DEFAULT_PORT);
}

export interface DsnParts {
  /** MySQL user: letters, digits and `_` (lib/names.ts builds it). */
  readonly user: string;
  /** Alphanumeric: the DSN has no escaping for `@`, `/`, `(` or `:` inside a password. */
  readonly password: string;
  /** `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 literal. */
  readonly address: string;
  readonly database: string;
  /**
   * The driver's `tls` parameter (`true`, `skip-verify`, `preferred` or a registered config name); null: the
   * parameter is left out (plaintext). Filled from lib/databaseTls.ts.
   */
  readonly tls: string | null;
}

/**
 * `user:password@tcp(host:port)/database?params`, the Go MySQL driver's DSN. Throws naming the field when a
 * part would change how the driver splits the DSN (the password is never echoed).
 */
export function mysqlDsn(parts: DsnParts): string {
  if (!/^[A-Za-z0-9_]+$/.test(parts.user)) {
    throw new Error(`DSN user ${showValue(parts.user)} must be letters, digits and '_'`);
  }
  if (!/^[A-Za-z0-9]+$/.test(parts.password)) {
    throw new Error(`DSN password for ${parts.user} must be letters and digits (it is not escaped in a DSN)`);
  }
  if (!/^[A-Za-z0-9_$-]+$/.test(parts.database)) {
    throw new Error(`DSN database ${showValue(parts.database)} must be letters, digits, '_', '$' and '-'`);
  }
  if (parts.tls !== null && !/^[A-Za-z0-9_.-]+$/.test(parts.tls)) {
    throw new Error(`DSN tls parameter ${showValue(parts.tls)} must be letters, digits, '_', '.' and '-'`);
  }
  const params = parts.tls === null ? DSN_PARAMS : `${DSN_PARAMS}&tls=${parts.tls}`;
  return `${parts.user}:${parts.password}@tcp(${dsnAddress(parts.address)})/${parts.database}?${params}`;
}
