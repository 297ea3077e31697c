// A stack file's `config:` as the Pulumi CLI hands it to the program (docs/configuration-reading.md): the CLI
// reads the file with Go's yaml.v3 into untyped values (merge keys applied), namespaces keys that have no
// `<namespace>:` with the project's name, writes that back as YAML and reads each value into a string. So a
// scalar reaches the program as text (`"1"` and `1` alike as `1`, `0x10` as `16`, `yes` as `yes`, `key:` with
// nothing after it as the empty string), a mapping or a list as its JSON text, and `secure:` values as secrets.
// Synth reproduces that here so that the program parses what it would parse under `pulumi up`.
import * as YAML from "yaml";
import { ENCRYPTED } from "../lib/config";

/** A stack file that Pulumi would refuse, with the key it is about (line and column are the caller's). */
export class EngineConfigError extends Error {
  override name = "EngineConfigError";
}

const YAML_NULLS = new Set(["", "~", "null", "Null", "NULL"]);
const YAML_BOOLS: Readonly<Record<string, boolean>> = {
  true: true,
  True: true,
  TRUE: true,
  false: false,
  False: false,
  FALSE: false,
};
const YAML_FLOATS: Readonly<Record<string, number>> = {
  ".nan": NaN,
  ".NaN": NaN,
  ".NAN": NaN,
  ".inf": Infinity,
  ".Inf": Infinity,
  ".INF": Infinity,
  "+.inf": Infinity,
  "+.Inf": Infinity,
  "+.INF": Infinity,
  "-.inf": -Infinity,
  "-.Inf": -Infinity,
  "-.INF": -Infinity,
};
/** yaml.v3's float syntax (resolve.go `yamlStyleFloat`). */
const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
/** Go's strconv.ParseInt with base 0: a sign, then hex, octal (0o or a leading 0), binary or decimal digits. */
const GO_INT = /^([+-]?)(?:0[xX]([0-9a-fA-F]+)|0[oO]([0-7]+)|0[bB]([01]+)|0([0-7]*)|([1-9][0-9]*))$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** A date-only timestamp, which yaml.v3 reads as a time.Time at midnight UTC. */
const DATE_ONLY = /^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$/;

/** A date as yaml.v3 reads it: Go's time.Time, written as its String() at the top level and RFC 3339 in JSON. */
export class YamlDate {
  constructor(
    readonly goText: string,
    readonly json: string,
  ) {}
}

function goInt(text: string): bigint | undefined {
  const m = GO_INT.exec(text);
  if (m === null) return undefined;
  const [, sign, hex, octal, binary, legacyOctal, decimal] = m;
  const digits =
    hex !== undefined
      ? `0x${hex}`
      : octal !== undefined
        ? `0o${octal}`
        : binary !== undefined
          ? `0b${binary}`
          : legacyOctal !== undefined
            ? `0o${legacyOctal || "0"}`
            : decimal;
  const value = sign === "-" ? -BigInt(digits) : BigInt(digits);
  if (value >= INT64_MIN && value <= INT64_MAX) return value;
  // strconv.ParseUint takes no sign.
  return sign === "" && value <= UINT64_MAX ? value : undefined;
}

/** What yaml.v3 resolves an untagged plain scalar to (resolve.go `resolve`). */
export function resolvePlainScalar(text: string): null | boolean | number | bigint | string | YamlDate {
  if (YAML_NULLS.has(text)) return null;
  if (text in YAML_BOOLS) return YAML_BOOLS[text];
  if (text in YAML_FLOATS) return YAML_FLOATS[text];
  const first = text[0];
  if (first === ".") return YAML_STYLE_FLOAT.test(text) ? Number(text) : text;
  if (!/[-+0-9]/.test(first)) return text;
  const date = DATE_ONLY.exec(text);
  if (date !== null) {
    const day = `${date[1]}-${date[2].padStart(2, "0")}-${date[3].padStart(2, "0")}`;
    return new YamlDate(`${day} 00:00:00 +0000 UTC`, `${day}T00:00:00Z`);
  }
  const plain = text.split("_").join("");
  const int = goInt(plain);
  if (int !== undefined) return int;
  return YAML_STYLE_FLOAT.test(plain) ? Number(plain) : text;
}

/** yaml.v3's name for a float JSON cannot hold. */
function nonFiniteText(f: number): string {
  return Number.isNaN(f) ? ".nan" : f > 0 ? ".inf" : "-.inf";
}

/**
 * A scalar as the program receives it. The CLI passes the file's values through Go's JSON encoder on the way,
 * so a float reads as JSON writes it (the shortest form, exponents only from 1e21 and below 1e-6, which is
 * also how JavaScript writes a number), a date as Go's time.Time text, and null as the empty string.
 */
function scalarText(v: null | boolean | number | bigint | string | YamlDate, key: string): string {
  if (v === null) return "";
  if (typeof v === "number") {
    if (!Number.isFinite(v)) {
      throw new EngineConfigError(
        `${key}: Pulumi refuses ${nonFiniteText(v)} (its JSON encoder has no NaN or infinity)`,
      );
    }
    return String(v);
  }
  if (v instanceof YamlDate) return v.goText;
  return String(v);
}

/** A structured value's JSON, as Go's json.Marshal writes it: keys sorted, no NaN or infinities. */
function toJson(value: unknown, key: string): unknown {
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "number" && !Number.isFinite(value)) {
    throw new EngineConfigError(
      `${key}: Pulumi refuses ${nonFiniteText(value)} (its JSON encoder has no NaN or infinity)`,
    );
  }
  if (value instanceof YamlDate) return value.json;
  if (Array.isArray(value)) return value.map((v) => toJson(v, key));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, toJson((value as Record<string, unknown>)[k], key)]),
    );
  }
  return value;
}

function isSecure(value: unknown): boolean {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return (
    keys.length === 1 && keys[0] === "secure" && typeof (value as { secure: unknown }).secure === "string"
  );
}

/** Replaces every `secure:` value inside a structured value with the placeholder; whether it held one. */
function withoutCiphertexts(value: unknown): { value: unknown; secret: boolean } {
  if (isSecure(value)) return { value: ENCRYPTED, secret: true };
  if (value instanceof YamlDate) return { value, secret: false };
  let secret = false;
  const inner = (v: unknown) => {
    const r = withoutCiphertexts(v);
    secret ||= r.secret;
    return r.value;
  };
  if (Array.isArray(value)) return { value: value.map(inner), secret };
  if (typeof value === "object" && value !== null) {
    const out = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, inner(v)]));
    return { value: out, secret };
  }
  return { value, secret };
}

/**
 * Applies yaml.v3's scalar resolution to a document parsed with the failsafe schema (every scalar a string):
 * plain scalars become what yaml.v3 makes of them, quoted and block scalars stay strings.
 */
export function resolveAsYamlV3(doc: YAML.Document): void {
  YAML.visit(doc, {
    Scalar(key, node) {
      if (key === "key" || typeof node.value !== "string") return;
      if (node.type === "PLAIN" && (node.tag === undefined || node.tag === "!")) {
        node.value = resolvePlainScalar(node.value);
      } else if (node.tag === "tag:yaml.org,2002:int" || node.tag === "tag:yaml.org,2002:float") {
        node.value = resolvePlainScalar(node.value);
      }
    },
  });
}

export interface EngineConfig {
  /** Full keys (`sentinel-fleet:namespace`) to the text the program receives. */
  readonly values: Record<string, string>;
  /** Keys whose value is, or holds, a `secure:` value (shown as placeholders: synth does not decrypt). */
  readonly secretKeys: string[];
}

/**
 * The program's configuration from a stack file's `config:` mapping, already resolved by `resolveAsYamlV3`
 * and turned into plain values (mappings as objects with string keys).
 */
export function engineConfig(config: Readonly<Record<string, unknown>>, project: string): EngineConfig {
  const values: Record<string, string> = {};
  const secretKeys: string[] = [];
  const written = new Map<string, string>();
  for (const [key, value] of Object.entries(config)) {
    const parts = key.split(":");
    let full: string;
    if (parts.length === 1) full = `${project}:${key}`;
    else if (parts.length === 2) full = key;
    else if (parts.length === 3 && parts[1] === "config") full = `${parts[0]}:${parts[2]}`;
    else {
      throw new EngineConfigError(
        `${key}: not a configuration key Pulumi can parse (keys are <namespace>:<name>, or a name for this project)`,
      );
    }
    const earlier = written.get(full);
    if (earlier !== undefined) {
      throw new EngineConfigError(
        `${key}: the same key as ${earlier} (${full}); Pulumi would keep only one of them`,
      );
    }
    written.set(full, key);
    if (isSecure(value)) {
      values[full] = ENCRYPTED;
      secretKeys.push(full);
    } else if (typeof value === "object" && value !== null && !(value instanceof YamlDate)) {
      const { value: plain, secret } = withoutCiphertexts(value);
      values[full] = JSON.stringify(toJson(plain, key));
      if (secret) secretKeys.push(full);
    } else {
      values[full] = scalarText(value as null | boolean | number | bigint | string | YamlDate, key);
    }
  }
  return { values, secretKeys };
}
