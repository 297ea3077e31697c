// `database.logins: existing`: the stack file brings each deployed region's sentinel DSNs as secrets
// (`databaseLogins`), and the program declares no login, password or grant. A DSN is secret text: problems name
// the key and the part of the DSN that is wrong, never the value.
import { DSN_PARAMS } from "../constants";
import { quoteUntrusted } from "../redact";
import { SecretValue } from "../secret";
import { TOML_BREAKING, normalizeAddress } from "../validate";
import { ENCRYPTED, isRecord, key, show } from "./fields";
import { typed, type Found } from "./problems";

export const LOGIN_MODES = ["managed", "existing"] as const;
export type LoginMode = (typeof LOGIN_MODES)[number];

/** The DSN roles of a region: `replica` defaults to `primary`. */
export const DSN_ROLES = ["primary", "replica"] as const;

/** A region's DSNs in `existing` mode, secrets. */
export interface ExistingLogin {
  readonly primary: SecretValue;
  readonly replica: SecretValue;
}

/** The longest DSN accepted: a Secret value the pods read into their environment. */
export const MAX_DSN_LENGTH = 2048;

/** The Go MySQL driver's `tls` values the sentinel can use (a registered config name would not exist there). */
const DSN_TLS_VALUES = ["true", "false", "skip-verify", "preferred"];

/** The database keys that describe managed logins only. */
export const MANAGED_ONLY_KEYS = ["sentinelUserHost", "sentinelPrivileges", "credentialRotation"] as const;

/**
 * What is wrong with a Go MySQL driver DSN (`user:password@tcp(host:port)/database?params`) the pods read, every
 * problem at once; empty when nothing is. Messages never quote the DSN: it holds a password.
 */
export function dsnProblems(dsn: string, database: string | null): string[] {
  if (dsn.length > MAX_DSN_LENGTH) return [`is ${dsn.length} characters long, at most ${MAX_DSN_LENGTH}`];
  const problems: string[] = [];
  if (TOML_BREAKING.test(dsn)) {
    problems.push(
      "must not contain '\"', '\\' or control characters such as a newline: the sentinel expands it into its " +
        "TOML configuration",
    );
  }
  // The driver splits at the last '/' (the database), then at the last '@' before it (the credentials).
  const slash = dsn.lastIndexOf("/");
  const at = slash < 0 ? dsn.lastIndexOf("@") : dsn.lastIndexOf("@", slash);
  const credentials = at < 0 ? "" : dsn.slice(0, at);
  const colon = credentials.indexOf(":");
  if (at < 0) problems.push("has no credentials: expected user:password@tcp(host:port)/database");
  else if (colon <= 0) problems.push("has no user and password before '@' (user:password@...)");
  else if (colon === credentials.length - 1) problems.push("has an empty password");
  const network = slash < 0 ? dsn.slice(at + 1) : dsn.slice(at + 1, slash);
  const address = /^tcp\((.*)\)$/.exec(network)?.[1];
  if (address === undefined) problems.push("must name its server as tcp(host:port) after the credentials");
  else if (normalizeAddress(address) === null) {
    problems.push("has an address in tcp(...) that is not host, host:port, [IPv6] or [IPv6]:port");
  }
  if (slash < 0) return [...problems, "has no /database after the address"];
  const rest = dsn.slice(slash + 1);
  const q = rest.indexOf("?");
  const name = q < 0 ? rest : rest.slice(0, q);
  if (name === "") problems.push("has no database name after '/'");
  else if (database !== null && name !== database) {
    problems.push(`names another database than ${key("database")}.name (${show(database)})`);
  }
  const params = new Map<string, string>();
  const malformed: number[] = [];
  (q < 0 ? [] : rest.slice(q + 1).split("&")).forEach((pair, i) => {
    const eq = pair.indexOf("=");
    if (eq <= 0) malformed.push(i + 1);
    else params.set(pair.slice(0, eq), pair.slice(eq + 1));
  });
  if (malformed.length > 0) {
    problems.push(`has parameters that are not name=value (number ${malformed.join(", ")} after '?')`);
  }
  const needed = DSN_PARAMS.split("&").filter((p) => params.get(p.split("=")[0]) !== p.split("=")[1]);
  if (needed.length > 0) {
    problems.push(
      `must set ${needed.join(" and ")}, as the program's own DSNs do (the sentinel relies on them)`,
    );
  }
  const tls = params.get("tls");
  if (tls !== undefined && !DSN_TLS_VALUES.includes(tls)) {
    problems.push(
      `has a tls parameter the sentinel's driver does not know (known: ${DSN_TLS_VALUES.join(", ")})`,
    );
  }
  return problems;
}

/**
 * The rules of `databaseLogins` and `database.logins`: in `existing` mode every region this stack deploys has
 * a secret `primary` DSN (and optionally `replica`), each well-formed; in `managed` mode the key is not set, and
 * the keys that describe managed logins are not set in `existing` mode. `deployed` is null when this stack owns
 * no region's logins (an environment shard reads them from its region base stack).
 */
export function loginRules(
  raw: { readonly values: Readonly<Record<string, unknown>>; readonly secretKeys: readonly string[] },
  v: Record<string, unknown>,
  deployed: readonly string[] | null,
  known: readonly string[],
): { found: Found[]; logins: Record<string, ExistingLogin> | null } {
  const found: Found[] = [];
  const name = "databaseLogins";
  const full = key(name);
  const database = isRecord(v.database) ? v.database : {};
  const mode = database.logins ?? "managed";
  const value = raw.values[full];
  const set = value !== undefined && value !== null && value !== "";
  if (mode !== "existing") {
    if (set) found.push({ path: [name], message: `is only read with ${key("database")}.logins existing` });
    return { found, logins: null };
  }
  for (const k of MANAGED_ONLY_KEYS) {
    if (database[k] !== undefined) {
      found.push({
        path: ["database", k],
        message: "describes the logins the program creates: not used with logins existing, remove it",
      });
    }
  }
  if (deployed === null) return { found, logins: null };
  const setWith = `pulumi config set --secret --path '${name}["<region>"].primary' '<dsn>'`;
  if (!set) {
    found.push({
      path: [name],
      message: `is required with ${key("database")}.logins existing; set it with \`${setWith}\``,
    });
    return { found, logins: null };
  }
  if (!raw.secretKeys.includes(full)) {
    found.push({ path: [name], message: `is stored in plaintext; set each DSN with \`${setWith}\`` });
  }
  // Encrypted as a whole (`pulumi config set --secret databaseLogins '<json>'`): synth cannot look inside.
  if (value === ENCRYPTED) {
    const placeholder = (region: string, role: string) =>
      SecretValue.placeholderFor(`${full}.${region}.${role}`);
    return {
      found,
      logins: Object.fromEntries(
        deployed.map((r) => [r, { primary: placeholder(r, "primary"), replica: placeholder(r, "replica") }]),
      ),
    };
  }
  const map = typed(value);
  if (!isRecord(map)) {
    found.push({ path: [name], message: "must be a map of region name to { primary, replica? } DSNs" });
    return { found, logins: null };
  }
  const dbName = typeof database.name === "string" ? database.name : null;
  const logins: Record<string, ExistingLogin> = {};
  for (const [region, entry] of Object.entries(map)) {
    if (!known.includes(region)) {
      found.push({
        path: [name],
        message: `unknown region ${quoteUntrusted(region, [], 64)} (known: ${known.join(", ")})`,
      });
      continue;
    }
    if (!isRecord(entry)) {
      found.push({ path: [name, region], message: "must be { primary: <DSN>, replica?: <DSN> }" });
      continue;
    }
    for (const k of Object.keys(entry).filter((k) => !(DSN_ROLES as readonly string[]).includes(k))) {
      found.push({
        path: [name, region],
        message: `unknown key ${quoteUntrusted(k, [], 64)} (known: ${DSN_ROLES.join(", ")})`,
      });
    }
    const dsn = (role: (typeof DSN_ROLES)[number]): SecretValue | null => {
      const text = entry[role];
      if (text === undefined || text === null) return null;
      const at = `${full}.${region}.${role}`;
      if (text === ENCRYPTED) return SecretValue.placeholderFor(at);
      if (typeof text !== "string") {
        found.push({ path: [name, region, role], message: "[secret] must be a DSN string" });
        return null;
      }
      const problems = dsnProblems(text, dbName);
      for (const p of problems) found.push({ path: [name, region, role], message: `[secret] ${p}` });
      return problems.length > 0 ? null : new SecretValue(at, text);
    };
    const primary = dsn("primary");
    const replica = dsn("replica");
    if (entry.primary === undefined || entry.primary === null) {
      found.push({
        path: [name, region, "primary"],
        message: "is required: the DSN of the region's primary",
      });
    }
    if (primary !== null) logins[region] = { primary, replica: replica ?? primary };
  }
  const missing = deployed.filter((r) => !(r in map));
  if (missing.length > 0) {
    found.push({ path: [name], message: `has no DSNs for deployed regions: ${missing.join(", ")}` });
  }
  return { found, logins };
}
