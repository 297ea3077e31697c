// synth: evaluates the program for a stack's config file under the mock engine, with no cluster, database,
// cloud credentials or Pulumi CLI, and writes what `pulumi up` would apply:
//   out/<stack>/<region>/<kind>-<name>.yaml  every Kubernetes object (Secret values redacted, keys kept)
//   out/<stack>/sentinels.json              the planned `sentinels` rows
// then runs the policy pack's rules over the objects.
//
// The program runs as in an update, not a preview: a preview of a new stack cannot know a generated password,
// and an Output that holds an unknown value anywhere is unknown as a whole, so a database Secret's
// `stringData` (DSNs that embed the password) would be one unknown value without its keys (@pulumi/kubernetes
// wraps the whole map in one secret Output). In an update the mock engine generates the password as the random
// provider would; every value is known and secret values are redacted before anything is written.
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { evaluatePolicies } from "../policy/policies";
import { CONFIG_KEYS, ENCRYPTED, parseFleetConfig, type FleetConfig } from "../lib/config";
import { DEFAULT_PROBE_PATH, PROJECT, ROWS } from "../lib/constants";
import {
  DYNAMIC_TYPE,
  fillUnknowns,
  isSecretEnvelope,
  isUnknownValue,
  runProgram,
  unwrapSecrets,
  type CapturedResource,
  type ProgramRun,
} from "./mockEngine";
import { PROJECT_ROOT } from "./pulumiProject";

export interface SynthOptions {
  /** Stack name: reads `Pulumi.<stack>.yaml`. */
  readonly stack: string;
  /** The stack file; default `<project root>/Pulumi.<stack>.yaml`. */
  readonly file?: string;
  /** Output root; default `<project root>/out`. */
  readonly outDir?: string;
  /** Progress and notices go here (stderr in the CLI). */
  readonly log?: (line: string) => void;
}

export interface PlannedRow {
  readonly id: string;
  readonly workspace_id: string;
  readonly project_id: string;
  readonly environment_id: string;
  readonly k8s_name: string;
  readonly k8s_address: string;
  readonly region_id: string;
  readonly image: string;
  readonly desired_state: string;
  readonly health: string;
  readonly desired_replicas: number;
  readonly available_replicas: number;
  readonly cpu_millicores: number;
  readonly memory_mib: number;
  /** Allocated by the database at `pulumi up`. */
  readonly version: null;
}

export interface PolicyFinding {
  readonly policy: string;
  readonly enforcementLevel: string;
  readonly urn: string;
  readonly message: string;
}

export interface SynthResult {
  readonly outDir: string;
  readonly files: string[];
  readonly rows: PlannedRow[];
  /** Objects by Kubernetes kind. */
  readonly counts: Record<string, number>;
  readonly violations: PolicyFinding[];
  readonly advisories: PolicyFinding[];
  /** Why advisories fire, where the configuration explains it. */
  readonly notes: string[];
  /** Secret keys that were encrypted in, or missing from, the stack file and so shown as placeholders. */
  readonly placeholders: string[];
  readonly summary: string;
  readonly resources: number;
}

/** Secrets a stack needs; synth stands in for the ones not set yet. */
const REQUIRED_SECRETS = CONFIG_KEYS.requiredSecret;
/** Above this many registrations synth reports progress. */
const PROGRESS_THRESHOLD = 500;

/** A mistake in how synth was called: an unknown stack, a file that does not exist (exit code 2). */
export class SynthUsageError extends Error {
  override name = "SynthUsageError";
}

/** A stack file that is not valid YAML or has no `config:` mapping, with file, line and column (exit code 1). */
export class StackFileError extends Error {
  override name = "StackFileError";
}

/** The stacks of the project: `Pulumi.<stack>.yaml` files beside Pulumi.yaml. */
export function projectStacks(root = PROJECT_ROOT): string[] {
  return fs
    .readdirSync(root)
    .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/** The stack file to read: `--file`, or the project's `Pulumi.<stack>.yaml`, which must exist. */
export function stackFile(stack: string, file?: string): string {
  if (file !== undefined) {
    if (!fs.existsSync(file)) throw new SynthUsageError(`the stack file ${file} does not exist`);
    if (!fs.statSync(file).isFile()) throw new SynthUsageError(`the stack file ${file} is not a file`);
    return file;
  }
  const candidate = path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`);
  if (!fs.existsSync(candidate)) {
    const stacks = projectStacks();
    throw new SynthUsageError(
      `there is no stack ${JSON.stringify(stack)}: no Pulumi.${stack}.yaml in ${PROJECT_ROOT} ` +
        `(stacks: ${stacks.length > 0 ? stacks.join(", ") : "none"}; or give the file with --file)`,
    );
  }
  return candidate;
}

function isExistingLogins(database: unknown): boolean {
  return (
    typeof database === "object" &&
    database !== null &&
    (database as { logins?: unknown }).logins === "existing"
  );
}

/**
 * A map with `{ secure: ... }` leaves: the map with those leaves as ENCRYPTED, and whether every leaf was one.
 * Null for anything else.
 */
function secureLeaves(value: unknown): { value: unknown; allSecure: boolean } | null {
  let secure = 0;
  let plain = 0;
  const walk = (v: unknown): unknown => {
    if (typeof v === "object" && v !== null && !Array.isArray(v)) {
      if ("secure" in v) {
        secure++;
        return ENCRYPTED;
      }
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    }
    plain++;
    return v;
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const mapped = walk(value);
  return secure === 0 ? null : { value: mapped, allSecure: plain === 0 };
}

/** Reads a stack file's config; `secure:` values become placeholders, missing required secrets too. */
export function loadStackConfig(file: string): {
  config: Record<string, unknown>;
  secretKeys: string[];
  placeholders: string[];
} {
  const lines = new YAML.LineCounter();
  const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"), { lineCounter: lines });
  const inProject = path.relative(PROJECT_ROOT, path.resolve(file));
  const where = inProject.startsWith("..") ? file : inProject;
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const at = e.linePos?.[0];
    const detail = e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
    throw new StackFileError(`${where}:${at?.line ?? 1}:${at?.col ?? 1}: ${detail}`);
  }
  let parsed: { config?: unknown };
  try {
    parsed = (doc.toJS() ?? {}) as { config?: unknown };
  } catch (e) {
    // Errors the parser leaves to toJS(): an alias whose anchor is not set before it, or more aliases than
    // yaml's limit (an alias bomb). Point at the first alias that does not resolve, else at the file.
    let offset: number | undefined;
    YAML.visit(doc, {
      Alias(_key, node) {
        if (offset === undefined && node.resolve(doc) === undefined) offset = node.range?.[0];
      },
    });
    const at = lines.linePos(offset ?? 0);
    throw new StackFileError(`${where}:${at.line}:${at.col}: ${(e as Error).message.split("\n")[0]}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new StackFileError(`${where}:1:1: a stack file is a mapping with a config: key`);
  }
  const raw = parsed.config ?? {};
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    const node = doc.get("config", true) as YAML.Node | undefined;
    const at = lines.linePos(node?.range?.[0] ?? 0);
    throw new StackFileError(`${where}:${at.line}:${at.col}: config: must be a mapping of keys to values`);
  }
  const config: Record<string, unknown> = {};
  const secretKeys: string[] = [];
  const placeholders: string[] = [];
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const secure = typeof value === "object" && value !== null && "secure" in value;
    // A map of secrets (`pulumi config set --secret --path`): secret only when every leaf is.
    const leaves = secure ? null : secureLeaves(value);
    config[key] = secure ? ENCRYPTED : (leaves?.value ?? value);
    if (secure || leaves?.allSecure === true) {
      secretKeys.push(key);
      placeholders.push(key);
    }
  }
  // Existing logins come from the stack's secrets, which synth cannot decrypt: stand in for them.
  const database = config[`${PROJECT}:database`];
  const logins = `${PROJECT}:databaseLogins`;
  if (isExistingLogins(database) && !(logins in config)) {
    config[logins] = ENCRYPTED;
    secretKeys.push(logins);
    placeholders.push(logins);
  }
  for (const key of REQUIRED_SECRETS) {
    if (!(key in config)) {
      config[key] = ENCRYPTED;
      secretKeys.push(key);
      placeholders.push(key);
    }
  }
  return { config, secretKeys, placeholders };
}

/**
 * Why an advisory fires, when the configuration explains it: the example stack keeps the original's single
 * health endpoint on purpose, because the sentinel image serves no other one yet.
 */
export function advisoryNotes(cfg: Pick<FleetConfig, "probes">, policies: readonly string[]): string[] {
  const notes: string[] = [];
  if (
    policies.includes("sentinel-probe-paths-distinct") &&
    cfg.probes.liveness === DEFAULT_PROBE_PATH &&
    cfg.probes.readiness === DEFAULT_PROBE_PATH
  ) {
    notes.push(
      `sentinel-probe-paths-distinct: the probes use ${DEFAULT_PROBE_PATH}, the one health endpoint the sentinel ` +
        "image serves today; set sentinel-fleet:probes.readinessPath to a readiness endpoint once the image has one",
    );
  }
  return notes;
}

const REDACTED = "<redacted>";
/** An update under the mock engine leaves nothing unknown (tested); were anything, it reads as this, not a UUID. */
const UNKNOWN_TEXT = "<known after apply>";

/** The object as a reviewer should see it: secret values redacted, Secret keys kept. */
function renderable(r: CapturedResource): Record<string, unknown> {
  const { apiVersion, kind, ...rest } = r.inputs as Record<string, unknown>;
  const body: Record<string, unknown> = { apiVersion, kind, ...rest };
  if (kind === "Secret") {
    for (const field of ["data", "stringData"]) {
      const v = body[field];
      if (v === undefined) continue;
      const inner = unwrapSecrets(v);
      // Keys are useful in review; values never leave the program.
      body[field] =
        typeof inner === "object" && inner !== null && !isUnknownValue(inner)
          ? Object.fromEntries(Object.keys(inner).map((k) => [k, REDACTED]))
          : REDACTED;
    }
  }
  return fillUnknowns(redactEnvelopes(body), UNKNOWN_TEXT) as Record<string, unknown>;
}

function redactEnvelopes(value: unknown): unknown {
  if (isSecretEnvelope(value)) return REDACTED;
  if (isUnknownValue(value)) return value;
  if (Array.isArray(value)) return value.map(redactEnvelopes);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactEnvelopes(v)]));
  }
  return value;
}

function regionOf(r: CapturedResource): string {
  return /::region-([a-z0-9-]+?)(-namespace)?::/.exec(r.provider)?.[1] ?? "unknown-region";
}

function plannedRows(run: ProgramRun): PlannedRow[] {
  return run.resources
    .filter((r) => r.type === DYNAMIC_TYPE)
    .map((r) => {
      const { spec, row } = r.outputs as { spec: Record<string, unknown>; row: Record<string, unknown> };
      return {
        id: String(row.sentinelId),
        workspace_id: String(spec.workspaceId),
        project_id: String(spec.projectId),
        environment_id: String(spec.environmentId),
        k8s_name: String(row.k8sName),
        k8s_address: String(row.k8sAddress),
        region_id: String(spec.regionId),
        image: String(row.image),
        desired_state: ROWS.initialDesiredState,
        health: ROWS.initialHealth,
        desired_replicas: Number(row.desiredReplicas),
        available_replicas: 0,
        cpu_millicores: Number(row.cpuMillicores),
        memory_mib: Number(row.memoryMib),
        version: null,
      };
    });
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}

export async function synthStack(options: SynthOptions): Promise<SynthResult> {
  const log = options.log ?? (() => undefined);
  const file = stackFile(options.stack, options.file);
  const outDir = path.join(options.outDir ?? path.join(PROJECT_ROOT, "out"), options.stack);
  const { config, secretKeys, placeholders } = loadStackConfig(file);
  if (placeholders.length > 0) {
    log(`secrets shown as placeholders (encrypted or not set): ${placeholders.join(", ")}`);
  }
  const envCount = Array.isArray(config["sentinel-fleet:environments"])
    ? config["sentinel-fleet:environments"].length
    : 0;
  let lastReport = 0;
  const run = await runProgram({
    config,
    secretKeys,
    // An update, not a preview: see the top of this file.
    preview: false,
    stack: options.stack,
    fireHooks: false,
    onRegister: (count) => {
      if (count >= PROGRESS_THRESHOLD && count - lastReport >= PROGRESS_THRESHOLD) {
        lastReport = count;
        log(`  evaluating: ${count} resources registered (${envCount} environments)`);
      }
    },
  });

  fs.rmSync(outDir, { recursive: true, force: true });
  const files: string[] = [];
  const counts: Record<string, number> = {};
  const kube = run.resources.filter((r) => r.type.startsWith("kubernetes:"));
  for (const r of kube) {
    const object = renderable(r);
    const kind = String(object.kind);
    const name = String((object.metadata as { name?: unknown }).name);
    counts[kind] = (counts[kind] ?? 0) + 1;
    const dir = path.join(outDir, regionOf(r));
    fs.mkdirSync(dir, { recursive: true });
    const target = path.join(dir, `${kind.toLowerCase()}-${name}.yaml`);
    fs.writeFileSync(target, YAML.stringify(object, { lineWidth: 0 }));
    files.push(target);
  }
  const rows = plannedRows(run);
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, "sentinels.json"), `${JSON.stringify(rows, null, 2)}\n`);

  const findings = evaluatePolicies(
    kube.map((r) => ({
      type: r.type,
      name: r.name,
      urn: r.urn,
      props: fillUnknowns(unwrapSecrets(r.inputs), undefined) as Record<string, unknown>,
    })),
  );
  const violations = findings.filter((f) => f.enforcementLevel === "mandatory");
  const advisories = findings.filter((f) => f.enforcementLevel !== "mandatory");
  // The program validated this configuration already; parsed again here only to explain advisories.
  const notes = advisoryNotes(parseFleetConfig({ values: config, secretKeys }), [
    ...new Set(advisories.map((a) => a.policy)),
  ]);

  const deployments = new Map(
    kube
      .filter((r) => r.type === "kubernetes:apps/v1:Deployment")
      .map((r) => [String(r.inputs.metadata.name), r]),
  );
  const byUrn = new Map([...deployments.values()].map((d) => [d.urn, d]));
  const sentinelTable = table([
    ["environment", "region", "sentinel", "replicas", "image", "cpu/memory", "rollout timeout", "after"],
    ...rows.map((row) => {
      const deployment = deployments.get(row.k8s_name);
      const container = deployment?.inputs.spec.template.spec.containers[0];
      const resources = container?.resources?.limits as { cpu?: string; memory?: string } | undefined;
      // The previous wave's Deployments this one waits for (region waves): their regions.
      const after = (deployment?.dependencies ?? []).flatMap((urn) => {
        const previous = byUrn.get(urn);
        return previous === undefined ? [] : [regionOf(previous)];
      });
      return [
        row.environment_id,
        deployment === undefined ? row.region_id : regionOf(deployment),
        row.k8s_name,
        String(row.desired_replicas),
        row.image,
        `${resources?.cpu ?? "?"}/${resources?.memory ?? "?"}`,
        deployment?.customTimeouts?.update || "?",
        [...new Set(after)].sort().join(",") || "-",
      ];
    }),
  ]);
  const countLine = Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, n]) => `${n} ${kind}`)
    .join(", ");
  const summary = `${sentinelTable}\n\n${rows.length} sentinels; ${kube.length} Kubernetes objects: ${countLine}`;
  return {
    outDir,
    files,
    rows,
    counts,
    violations,
    advisories,
    notes,
    placeholders,
    summary,
    resources: run.resources.length,
  };
}
