// Problems: each is a path below the project key and a message; all of them are sorted in schema order and
// reported at once in one FleetConfigError.
import type * as z from "zod";
import { PROJECT } from "../constants";
import type { ConfigProblem } from "./connection";
import { isRecord, key, scalar, show } from "./fields";
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
}

let orderSchema: Record<string, unknown> | undefined;

function rank(path: readonly Segment[], late: boolean): number[] {
  orderSchema ??= inputJsonSchema();
  let node: Record<string, unknown> | undefined = orderSchema;
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
  let out = key(String(path[0]));
  let node: unknown = input[String(path[0])];
  path.slice(1).forEach((seg) => {
    const parentIsEnvironments = node === input.environments;
    out += typeof seg === "number" ? `[${seg}]` : `.${seg}`;
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
    if (i.code === "unrecognized_keys")
      return i.keys.map((k) => ({ path: [...path, k], message: i.message }));
    return [{ path, message: i.message }];
  });
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
  const ranked = found.map((f, i) => ({ f, i, r: rank(f.path, f.late === true) }));
  ranked.sort((a, b) => compareRanks(a.r, b.r) || a.i - b.i);
  const problems: ConfigProblem[] = [];
  for (const { f } of ranked) {
    const p = { path: renderPath(f.path, input), message: f.message };
    if (!problems.some((q) => q.path === p.path && q.message === p.message)) problems.push(p);
  }
  return problems;
}
