// Problems: each is a path below the project key and a message; all of them are sorted in schema order and
// reported at once in one FleetConfigError.
import type * as z from "zod";
import { PROJECT } from "../constants";
import { quoteUntrusted } from "../redact";
import type { ConfigProblem } from "./connection";
import { isRecord, scalar, show } from "./fields";
import { inputJsonSchema } from "./schema";

export class FleetConfigError extends Error {
  readonly problems: readonly ConfigProblem[];
  constructor(problems: readonly ConfigProblem[]) {
    const n = problems.length;
    super(
      `${PROJECT}: the stack configuration has ${n} problem${n === 1 ? "" : "s"}; nothing was created:\n` +
        problems.map((p) => `  - ${p.path}: ${p.message}`).join("\n"),
    );
    this.name = "FleetConfigError";
    this.problems = problems;
  }
}

export type Segment = string | number;
export interface Found {
  readonly path: readonly Segment[];
  readonly message: string;
  /** Cross-field findings about an element (duplicates) come after what is wrong inside it. */
  readonly late?: boolean;
  /** A key outside this project's namespace: shown as written, listed after every key of the project. */
  readonly foreignKey?: string;
}

let orderSchema: Record<string, unknown> | undefined;

/** The JSON Schema of the configuration as written (built once: problems are ranked and keys typed by it). */
export function writtenSchema(): Record<string, unknown> {
  orderSchema ??= inputJsonSchema();
  return orderSchema;
}

/** The keys the object at `path` (below the project key) knows, from the schema; none if it is not an object. */
export function knownKeysAt(path: readonly Segment[]): string[] {
  let node: Record<string, unknown> | undefined = writtenSchema();
  for (const seg of path) {
    if (typeof seg === "number") node = node?.items as Record<string, unknown> | undefined;
    else node = ((node?.properties ?? {}) as Record<string, Record<string, unknown>>)[seg];
  }
  return Object.keys(node?.properties ?? {});
}

/** Edit distance, case-insensitive; only for short words (key names), so quadratic in their length is fine. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let row = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const next = [i];
    for (let j = 1; j <= y.length; j++) {
      next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (x[i - 1] === y[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[y.length];
}

/** The known key a mistyped one most likely meant: within a third of its length in edits, else none. */
export function nearestKey(name: string, known: readonly string[]): string | undefined {
  if (name.length > 100) return undefined;
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const k of known) {
    const d = distance(name, k);
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

/** One message for an unknown key: the nearest known key when there is one, else every known key. */
export function unknownKeyMessage(name: string, known: readonly string[]): string {
  const near = nearestKey(name, known);
  return near !== undefined
    ? `unknown key; did you mean ${near}?`
    : `unknown key (known: ${known.join(", ")})`;
}

/** A key name as written in a path: plain names as they are, anything else quoted, bounded and escaped. */
const PLAIN_KEY = /^[A-Za-z0-9_$-]{1,80}$/;
export function keyText(name: string): string {
  return PLAIN_KEY.test(name) ? name : quoteUntrusted(name, [], 80);
}

/** A full configuration key (`<namespace>:<name>`) as a message shows it: each part plain, or quoted and escaped. */
export function configKeyText(full: string): string {
  const colon = full.indexOf(":");
  return colon < 0 ? keyText(full) : `${keyText(full.slice(0, colon))}:${keyText(full.slice(colon + 1))}`;
}

function rank(path: readonly Segment[], late: boolean): number[] {
  let node: Record<string, unknown> | undefined = writtenSchema();
  const ranks: number[] = [];
  path.forEach((seg, i) => {
    if (late && i === path.length - 1 && typeof seg === "string") ranks.push(Number.MAX_SAFE_INTEGER);
    if (typeof seg === "number") {
      ranks.push(seg);
      node = node?.items as Record<string, unknown> | undefined;
    } else {
      const props = (node?.properties ?? {}) as Record<string, Record<string, unknown>>;
      ranks.push(Object.keys(props).indexOf(seg));
      node = props[seg];
    }
  });
  return ranks;
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function renderPath(path: readonly Segment[], input: Record<string, unknown>): string {
  let out = `${PROJECT}:${keyText(String(path[0]))}`;
  let node: unknown = input[String(path[0])];
  path.slice(1).forEach((seg) => {
    const parentIsEnvironments = node === input.environments;
    out += typeof seg === "number" ? `[${seg}]` : `.${keyText(seg)}`;
    node = Array.isArray(node) || isRecord(node) ? (node as Record<string, unknown>)[seg] : undefined;
    if (
      parentIsEnvironments &&
      typeof seg === "number" &&
      isRecord(node) &&
      typeof node.environmentId === "string"
    ) {
      out += ` (${node.environmentId})`;
    }
  });
  return out;
}

/** For a check the schema gives no message of its own: still the key's value, in the same words. */
export function fallbackMessage(iss: { code?: string; expected?: unknown; input?: unknown }): string {
  const kinds: Record<string, string> = {
    string: "a string",
    number: "a number",
    int: "an integer",
    boolean: "true or false",
    object: "an object",
    array: "a list",
  };
  if (iss.code === "invalid_type") {
    return `must be ${kinds[scalar(iss.expected)] ?? scalar(iss.expected)}, got ${show(iss.input)}`;
  }
  return `is not valid, got ${show(iss.input)}`;
}

export function fromIssues(issues: readonly z.core.$ZodIssue[]): Found[] {
  return issues.flatMap((i): Found[] => {
    const path = i.path.map((p) => (typeof p === "number" ? p : String(p)));
    if (i.code === "unrecognized_keys") {
      const known = knownKeysAt(path);
      return i.keys.map((k) => ({ path: [...path, k], message: unknownKeyMessage(k, known) }));
    }
    return [{ path, message: i.message }];
  });
}

function valueAt(input: Record<string, unknown>, path: readonly Segment[]): unknown {
  let node: unknown = input;
  for (const seg of path)
    node = Array.isArray(node) || isRecord(node) ? (node as Record<string, unknown>)[seg] : undefined;
  return node;
}

/**
 * One problem per mistake: a mistyped key that stands for a key that is required and not set is reported once,
 * at the mistyped key, and the missing key's problem is dropped.
 */
export function oneProblemPerMistake(found: readonly Found[], input: Record<string, unknown>): Found[] {
  const missing = new Map<string, number>();
  found.forEach((f, i) => {
    if (f.foreignKey === undefined && valueAt(input, f.path) === undefined)
      missing.set(JSON.stringify(f.path), i);
  });
  const dropped = new Set<number>();
  const out = found.map((f) => {
    const near = /^unknown key; did you mean (.+)\?$/.exec(f.message)?.[1];
    if (near === undefined || f.foreignKey !== undefined) return f;
    const at = missing.get(JSON.stringify([...f.path.slice(0, -1), near]));
    if (at === undefined) return f;
    dropped.add(at);
    return { ...f, message: `unknown key; did you mean ${near}? (${near} is required and not set)` };
  });
  return out.filter((_, i) => !dropped.has(i));
}

/** Typed values arrive as JSON text from `pulumi config`; structured YAML values arrive parsed. */
export function typed(v: unknown): unknown {
  if (typeof v !== "string") return v;
  try {
    return JSON.parse(v) as unknown;
  } catch {
    return v;
  }
}

/** An absent optional and a YAML `key:` with nothing after it (null) mean the same. */
export function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (isRecord(v)) {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== null && x !== undefined)
        .map(([k, x]) => [k, withoutNulls(x)]),
    );
  }
  return v;
}

/** Every problem found, in schema order, each once. */
export function sortedProblems(found: readonly Found[], input: Record<string, unknown>): ConfigProblem[] {
  const ranked = found.map((f, i) => ({
    f,
    i,
    r: f.foreignKey === undefined ? rank(f.path, f.late === true) : [Number.MAX_SAFE_INTEGER],
  }));
  ranked.sort((a, b) => compareRanks(a.r, b.r) || a.i - b.i);
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  for (const { f } of ranked) {
    const p = {
      path: f.foreignKey === undefined ? renderPath(f.path, input) : configKeyText(f.foreignKey),
      message: f.message,
    };
    const id = `${p.path}\0${p.message}`;
    if (!seen.has(id)) problems.push(p);
    seen.add(id);
  }
  return problems;
}
