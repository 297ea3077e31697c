// What a reviewer reads of a synth run: a summary in the shape of `pulumi preview`'s `Resources:` block, and the
// changes against an earlier output folder. Pure functions over plain values; synth/index.ts gathers them.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { outputFiles } from "./output";

/** One sentinel as the verbose table and the JSON show it. */
export interface SentinelLine {
  readonly environment: string;
  readonly region: string;
  readonly sentinel: string;
  readonly replicas: number;
  readonly image: string;
  readonly cpuMemory: string;
  readonly rolloutTimeout: string;
  /** Regions of the previous wave this sentinel's Deployment waits for. */
  readonly after: string[];
}

export interface RegionLine {
  readonly region: string;
  /** 1-based position among the configured waves; null without waves. */
  readonly wave: number | null;
  readonly environments: number;
  readonly sentinels: number;
  readonly objects: number;
}

export interface ResourceCount {
  readonly type: string;
  /** What it is, in the words of this project. */
  readonly what: string;
  readonly count: number;
}

/** The database connection as a reviewer may see it: every setting but the password. */
export interface DatabaseView {
  readonly endpoint: string;
  readonly database: string;
  readonly user: string;
  readonly tlsMode: string;
  readonly caFile: string | null;
  readonly primaryAddress: string;
  readonly replicaAddress: string;
}

export interface PolicyView {
  readonly violations: { policy: string; message: string }[];
  readonly advisories: { policy: string; message: string }[];
  readonly notes: string[];
}

export interface SynthSummary {
  readonly stack: string;
  readonly stackRole: string;
  readonly environments: number;
  readonly sentinels: number;
  readonly regions: RegionLine[];
  readonly resources: ResourceCount[];
  readonly database: DatabaseView | null;
  readonly placeholders: string[];
  readonly policy: PolicyView;
  readonly sentinelLines: SentinelLine[];
}

const WHAT: Record<string, string> = {
  "pulumi-nodejs:dynamic:Resource": "rows of the sentinels table",
  "mysql:index/user:User": "database logins",
  "mysql:index/grant:Grant": "database grants",
  "random:index/randomPassword:RandomPassword": "passwords of the logins",
  "pulumi:providers:mysql": "database connections",
  "pulumi:providers:kubernetes": "cluster connections",
  "pulumi:pulumi:StackReference": "reads of the region base stack",
  "sentinel-fleet:index:SentinelEnvironment": "environments (components)",
  "sentinel-fleet:index:Sentinel": "sentinels (components)",
};

/** What a resource type is: the project's word for it, or the Kubernetes kind. */
export function describeType(type: string): string {
  return WHAT[type] ?? (type.startsWith("kubernetes:") ? `${type.split(":").pop()} objects` : type);
}

/** Counts by type, sorted by type. */
export function countTypes(types: readonly string[]): ResourceCount[] {
  const counts = new Map<string, number>();
  for (const t of types) counts.set(t, (counts.get(t) ?? 0) + 1);
  return [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([type, count]) => ({ type, what: describeType(type), count }));
}

/** Left-aligned columns, numbers right-aligned, separated by two spaces, each line indented. */
export function table(rows: string[][], indent = ""): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const numeric = rows[0].map((_, i) => rows.slice(1).every((r) => /^[0-9]+$/.test(r[i])) && rows.length > 1);
  const line = (r: string[]) =>
    indent +
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [line(rows[0]), ...rows.slice(1).map(line)].join("\n");
}

/** The summary as text: the stack, the database, regions and waves, resources by type. */
export function renderSummary(s: SynthSummary, verbose: boolean): string {
  const out: string[] = [];
  const regionCount = s.regions.length;
  out.push(
    `Stack ${s.stack} (${s.stackRole}): ${s.environments} environments, ${s.sentinels} sentinels in ` +
      `${regionCount} region${regionCount === 1 ? "" : "s"}`,
  );
  if (s.database !== null) {
    const d = s.database;
    out.push(
      "",
      "Database:",
      `    ${d.endpoint}, database ${d.database}, user ${d.user}, TLS ${d.tlsMode}` +
        (d.caFile === null ? "" : ` (CA ${d.caFile})`),
      `    the pods dial ${d.primaryAddress} (primary) and ${d.replicaAddress} (replica); passwords redacted`,
    );
  }
  out.push(
    "",
    "Regions:",
    table(
      [
        ["region", "wave", "environments", "sentinels", "objects"],
        ...s.regions.map((r) => [
          r.region,
          r.wave === null ? "-" : String(r.wave),
          String(r.environments),
          String(r.sentinels),
          String(r.objects),
        ]),
      ],
      "    ",
    ),
  );
  out.push(
    "",
    "Resources:",
    table([["count", "type", "what"], ...s.resources.map((r) => [String(r.count), r.type, r.what])], "    "),
    `    ${s.resources.reduce((n, r) => n + r.count, 0)} resources`,
  );
  if (verbose) {
    out.push(
      "",
      "Sentinels:",
      table(
        [
          [
            "environment",
            "region",
            "sentinel",
            "replicas",
            "image",
            "cpu/memory",
            "rollout timeout",
            "after",
          ],
          ...s.sentinelLines.map((l) => [
            l.environment,
            l.region,
            l.sentinel,
            String(l.replicas),
            l.image,
            l.cpuMemory,
            l.rolloutTimeout,
            l.after.join(",") || "-",
          ]),
        ],
        "    ",
      ),
    );
  }
  return out.join("\n");
}

/** One object of an output folder: a Kubernetes object, a row, or another resource. */
type Entries = Map<string, unknown>;

/** Reads an output folder into comparable entries: objects by path, rows by id, other resources by name. */
export function readOutput(dir: string): Entries {
  const entries: Entries = new Map();
  for (const rel of outputFiles(dir)) {
    const text = fs.readFileSync(path.join(dir, rel), "utf8");
    if (rel === "sentinels.json") {
      for (const row of JSON.parse(text) as { id: string }[]) entries.set(`sentinels row ${row.id}`, row);
    } else if (rel === "resources.json") {
      for (const r of JSON.parse(text) as { type: string; name: string }[])
        entries.set(`${r.type} ${r.name}`, r);
    } else if (rel.endsWith(".yaml")) {
      entries.set(rel, YAML.parse(text));
    }
  }
  return entries;
}

/** The paths of the fields that differ between two values (`a.b[0].c`), sorted. */
export function changedFields(a: unknown, b: unknown, at = ""): string[] {
  const bothObjects =
    typeof a === "object" &&
    a !== null &&
    typeof b === "object" &&
    b !== null &&
    Array.isArray(a) === Array.isArray(b);
  if (!bothObjects) return JSON.stringify(a) === JSON.stringify(b) ? [] : [at || "(whole)"];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.flatMap((k) =>
    changedFields(
      (a as Record<string, unknown>)[k],
      (b as Record<string, unknown>)[k],
      Array.isArray(a) ? `${at}[${k}]` : at === "" ? k : `${at}.${k}`,
    ),
  );
}

export interface SynthDiff {
  readonly added: string[];
  readonly removed: string[];
  readonly changed: { key: string; fields: string[] }[];
}

export function diffOutputs(previous: Entries, next: Entries): SynthDiff {
  const added = [...next.keys()].filter((k) => !previous.has(k)).sort();
  const removed = [...previous.keys()].filter((k) => !next.has(k)).sort();
  const changed = [...next.keys()]
    .filter((k) => previous.has(k))
    .sort()
    .map((key) => ({ key, fields: changedFields(previous.get(key), next.get(key)) }))
    .filter((c) => c.fields.length > 0);
  return { added, removed, changed };
}

export const hasChanges = (d: SynthDiff): boolean => d.added.length + d.removed.length + d.changed.length > 0;

/** Most fields a changed object lists before "and N more". */
const FIELDS_SHOWN = 8;

export function renderDiff(d: SynthDiff, against: string): string {
  if (!hasChanges(d)) return `No changes against ${against}.`;
  const lines = [`Changes against ${against}:`];
  for (const k of d.added) lines.push(`    + ${k}`);
  for (const c of d.changed) {
    const more = c.fields.length > FIELDS_SHOWN ? `, and ${c.fields.length - FIELDS_SHOWN} more` : "";
    lines.push(`    ~ ${c.key}: ${c.fields.slice(0, FIELDS_SHOWN).join(", ")}${more}`);
  }
  for (const k of d.removed) lines.push(`    - ${k}`);
  lines.push(`    ${d.added.length} to add, ${d.changed.length} to change, ${d.removed.length} to remove`);
  return lines.join("\n");
}
