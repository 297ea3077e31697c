// synth: evaluates the program for a stack's config file under the mock engine, with no cluster, database,
// cloud credentials or Pulumi CLI, and writes what `pulumi up` would apply:
//   out/<stack>/<region>/<environment id>/<kind>-<name>.yaml  an environment's Kubernetes objects (Secret
//                                                             values redacted, keys kept)
//   out/<stack>/<region>/<kind>-<name>.yaml                   the region's shared objects (the namespace)
//   out/<stack>/sentinels.json                                the planned `sentinels` rows
//   out/<stack>/resources.json                                the other resources: logins, grants, passwords,
//                                                             providers (secret values redacted)
//   out/<stack>/summary.json                                  the summary (synth/review.ts)
// then runs the policy pack's rules over the objects. The folder is written whole and swapped into place
// (synth/output.ts).
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
import { CONFIG_KEYS, configKeyText, ENCRYPTED, parseFleetConfig, type FleetConfig } from "../lib/config";
import { ANNOTATIONS, DEFAULT_PROBE_PATH, LABELS, PROJECT, ROWS } from "../lib/constants";
import { engineConfig, EngineConfigError, resolveAsYamlV3, type EngineConfig } from "./engineConfig";
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
import { assertReplaceable, freshFolder, swapIntoPlace } from "./output";
import { PROJECT_ROOT } from "./pulumiProject";
import {
  countTypes,
  diffOutputs,
  readOutput,
  renderSummary,
  type DatabaseView,
  type RegionLine,
  type SentinelLine,
  type SynthDiff,
  type SynthSummary,
} from "./review";

export interface SynthOptions {
  /** Stack name: reads `Pulumi.<stack>.yaml`. */
  readonly stack: string;
  /** The stack file; default `<project root>/Pulumi.<stack>.yaml`. */
  readonly file?: string;
  /** Output root; default `<project root>/out`. */
  readonly outDir?: string;
  /** Progress and notices go here (stderr in the CLI). */
  readonly log?: (line: string) => void;
  /** An earlier output folder (`<out>/<stack>`) to compare with. */
  readonly previous?: string;
  /** The summary lists every sentinel. */
  readonly verbose?: boolean;
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
  /** The summary as text. */
  readonly summary: string;
  /** The summary as data (`--json`, and summary.json in the output folder). */
  readonly review: SynthSummary;
  /** The changes against `previous`, when given. */
  readonly diff: SynthDiff | null;
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

/** Whether `database` (its JSON text) selects existing logins. */
function isExistingLogins(databaseText: string | undefined): boolean {
  try {
    const database = JSON.parse(databaseText ?? "null") as unknown;
    return (
      typeof database === "object" &&
      database !== null &&
      (database as { logins?: unknown }).logins === "existing"
    );
  } catch {
    return false;
  }
}

/** Whether a value (its JSON text) is a mapping with a string leaf that is not a `secure:` placeholder. */
function hasPlaintextLeaf(text: string): boolean {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return false;
  }
  const plain = (v: unknown): boolean =>
    typeof v === "object" && v !== null
      ? Object.values(v).some(plain)
      : v !== ENCRYPTED && v !== null && v !== undefined;
  return typeof value === "object" && value !== null && plain(value);
}

/**
 * Reads a stack file's config as the Pulumi CLI hands it to the program (synth/engineConfig.ts): every value a
 * string, `secure:` values placeholders, and so are required secrets that are missing.
 */
export function loadStackConfig(file: string): {
  config: Record<string, string>;
  secretKeys: string[];
  placeholders: string[];
} {
  const lines = new YAML.LineCounter();
  // The failsafe schema keeps every scalar as written; resolveAsYamlV3 then reads them as yaml.v3 does.
  const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"), {
    lineCounter: lines,
    schema: "failsafe",
    merge: true,
  });
  const inProject = path.relative(PROJECT_ROOT, path.resolve(file));
  const where = inProject.startsWith("..") ? file : inProject;
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const at = e.linePos?.[0];
    const detail = e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
    throw new StackFileError(`${where}:${at?.line ?? 1}:${at?.col ?? 1}: ${detail}`);
  }
  resolveAsYamlV3(doc);
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
  const configNode = () => {
    const node = doc.get("config", true) as YAML.Node | undefined;
    return lines.linePos(node?.range?.[0] ?? 0);
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    const at = configNode();
    throw new StackFileError(`${where}:${at.line}:${at.col}: config: must be a mapping of keys to values`);
  }
  let read: EngineConfig;
  try {
    read = engineConfig(raw as Record<string, unknown>, PROJECT);
  } catch (e) {
    if (!(e instanceof EngineConfigError)) throw e;
    const at = configNode();
    throw new StackFileError(`${where}:${at.line}:${at.col}: ${e.message}`);
  }
  const config = read.values;
  const secretKeys = [...read.secretKeys];
  const placeholders = [...read.secretKeys];
  // `databaseLogins`, set leaf by leaf (`pulumi config set --secret --path`), is secret as a whole to the engine,
  // but a DSN written without `secure:` sits in the stack file in plaintext: synth treats that map as plaintext
  // so the secret rules refuse it.
  const logins = `${PROJECT}:databaseLogins`;
  if (secretKeys.includes(logins) && hasPlaintextLeaf(config[logins])) {
    secretKeys.splice(secretKeys.indexOf(logins), 1);
  }
  // Existing logins come from the stack's secrets, which synth cannot decrypt: stand in for them.
  if (isExistingLogins(config[`${PROJECT}:database`]) && !(logins in config)) {
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

/** How many entries a list value holds (its JSON text, as the engine hands it over); 0 if it is not one. */
function listLength(text: string | undefined): number {
  try {
    const v = JSON.parse(text ?? "[]") as unknown;
    return Array.isArray(v) ? v.length : 0;
  } catch {
    return 0;
  }
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

/** Where an object goes in the output folder: `<region>/[<environment id>/]<kind>-<name>.yaml`. */
export function objectPath(region: string, object: Record<string, unknown>): string {
  const metadata = (object.metadata ?? {}) as { name?: unknown; labels?: Record<string, unknown> };
  const env = metadata.labels?.[LABELS.environmentId];
  const file = `${String(object.kind).toLowerCase()}-${String(metadata.name)}.yaml`;
  return typeof env === "string" ? `${region}/${env}/${file}` : `${region}/${file}`;
}

/** A resource that is neither a Kubernetes object nor a row, as a reviewer may see it: secrets redacted. */
function otherResource(r: CapturedResource): { type: string; name: string; inputs: unknown } {
  const inputs = redactEnvelopes(r.inputs) as Record<string, unknown>;
  return { type: r.type, name: r.name, inputs: fillUnknowns(inputs, UNKNOWN_TEXT) };
}

/** The database connection's settings a reviewer may see: everything but the password. */
function databaseView(cfg: FleetConfig): DatabaseView | null {
  const d = cfg.database as unknown as Record<string, unknown> | undefined;
  if (d === undefined) return null;
  const tls = (d.tls ?? {}) as { mode?: unknown; caFile?: unknown };
  const text = (v: unknown) => (typeof v === "string" || typeof v === "number" ? String(v) : "?");
  const host = text(d.host);
  return {
    endpoint: `${host.includes(":") ? `[${host}]` : host}:${text(d.port)}`,
    database: text(d.database),
    user: text(d.user),
    tlsMode: tls.mode === undefined ? "disabled" : text(tls.mode),
    caFile: typeof tls.caFile === "string" ? tls.caFile : null,
    primaryAddress: text(d.primaryAddress),
    replicaAddress: text(d.replicaAddress),
  };
}

/**
 * The exports an environment shard's StackReference reads: its region base stack, evaluated from the stack
 * file beside the shard's (`Pulumi.<last part of regionBaseStack>.yaml`), as `pulumi up` of the base would.
 */
async function baseStackExports(
  shardFile: string,
  config: Record<string, unknown>,
): Promise<Record<string, Record<string, unknown>>> {
  if (config["sentinel-fleet:stackRole"] !== "environmentShard") return {};
  const ref = config["sentinel-fleet:regionBaseStack"];
  if (typeof ref !== "string") return {};
  const baseStack = ref.split("/").pop() as string;
  const baseFile = path.join(path.dirname(shardFile), `Pulumi.${baseStack}.yaml`);
  if (!fs.existsSync(baseFile)) {
    throw new SynthUsageError(
      `the environment shard reads the region base stack ${ref}: synth evaluates it from ${baseFile}, which does not exist`,
    );
  }
  const base = loadStackConfig(baseFile);
  const run = await runProgram({
    config: base.config,
    secretKeys: base.secretKeys,
    preview: false,
    stack: baseStack,
    fireHooks: false,
  });
  return { [ref]: run.exports };
}

/** The value the row's incarnation annotation gets in review: the real one is the time of the row's insert. */
const INCARNATION_TEXT = "<set when the row is inserted>";

export async function synthStack(options: SynthOptions): Promise<SynthResult> {
  const log = options.log ?? (() => undefined);
  const file = stackFile(options.stack, options.file);
  const outDir = path.join(options.outDir ?? path.join(PROJECT_ROOT, "out"), options.stack);
  // Before any work: a folder synth may not replace is a mistake in the command.
  assertReplaceable(outDir);
  if (options.previous !== undefined) assertPrevious(options.previous);
  const { config, secretKeys, placeholders } = loadStackConfig(file);
  if (placeholders.length > 0) {
    log(
      `secrets shown as placeholders (encrypted or not set): ${placeholders.map(configKeyText).join(", ")}`,
    );
  }
  const envCount = listLength(config[`${PROJECT}:environments`]);
  let lastReport = 0;
  const run = await runProgram({
    config,
    secretKeys,
    // An update, not a preview: see the top of this file.
    preview: false,
    stack: options.stack,
    fireHooks: false,
    stackReferences: await baseStackExports(file, config),
    onRegister: (count) => {
      if (count >= PROGRESS_THRESHOLD && count - lastReport >= PROGRESS_THRESHOLD) {
        lastReport = count;
        log(`  evaluating: ${count} resources registered (${envCount} environments)`);
      }
    },
  });
  // The program validated this configuration already; parsed again here for the summary.
  const cfg = parseFleetConfig({ values: config, secretKeys });

  const fresh = freshFolder(outDir);
  try {
    const relative: string[] = [];
    const counts: Record<string, number> = {};
    const kube = run.resources.filter((r) => r.type.startsWith("kubernetes:"));
    for (const r of kube) {
      const object = renderable(r);
      const annotations = (object.metadata as { annotations?: Record<string, unknown> }).annotations;
      if (annotations?.[ANNOTATIONS.rowIncarnation] !== undefined)
        annotations[ANNOTATIONS.rowIncarnation] = INCARNATION_TEXT;
      counts[String(object.kind)] = (counts[String(object.kind)] ?? 0) + 1;
      const rel = objectPath(regionOf(r), object);
      fs.mkdirSync(path.dirname(path.join(fresh, rel)), { recursive: true });
      fs.writeFileSync(path.join(fresh, rel), YAML.stringify(object, { lineWidth: 0 }));
      relative.push(rel);
    }
    const rows = plannedRows(run);
    fs.writeFileSync(path.join(fresh, "sentinels.json"), `${JSON.stringify(rows, null, 2)}\n`);
    const others = run.resources
      .filter((r) => r.custom && !r.type.startsWith("kubernetes:") && r.type !== DYNAMIC_TYPE)
      .map(otherResource)
      .sort((a, b) => `${a.type} ${a.name}`.localeCompare(`${b.type} ${b.name}`));
    fs.writeFileSync(path.join(fresh, "resources.json"), `${JSON.stringify(others, null, 2)}\n`);

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
    const notes = advisoryNotes(cfg, [...new Set(advisories.map((a) => a.policy))]);

    const sentinelLines = sentinelTable(kube, rows);
    const summary: SynthSummary = {
      stack: options.stack,
      stackRole: String(cfg.stackRole),
      environments: new Set(rows.map((r) => r.environment_id)).size,
      sentinels: rows.length,
      regions: regionLines(cfg, kube, sentinelLines),
      resources: countTypes(run.resources.map((r) => r.type)),
      database: databaseView(cfg),
      placeholders,
      policy: {
        violations: violations.map(({ policy, message }) => ({ policy, message })),
        advisories: advisories.map(({ policy, message }) => ({ policy, message })),
        notes,
      },
      sentinelLines,
    };
    fs.writeFileSync(path.join(fresh, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
    const diff =
      options.previous === undefined ? null : diffOutputs(readOutput(options.previous), readOutput(fresh));
    swapIntoPlace(fresh, outDir);

    const countLine = Object.entries(counts)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, n]) => `${n} ${kind}`)
      .join(", ");
    const text = `${renderSummary(summary, options.verbose === true)}\n\n${rows.length} sentinels; ${kube.length} Kubernetes objects: ${countLine}`;
    return {
      outDir,
      files: relative.map((rel) => path.join(outDir, rel)),
      rows,
      counts,
      violations,
      advisories,
      notes,
      placeholders,
      summary: text,
      review: summary,
      diff,
      resources: run.resources.length,
    };
  } catch (e) {
    fs.rmSync(fresh, { recursive: true, force: true });
    throw e;
  }
}

/** A `--diff` folder: an earlier output of synth. */
function assertPrevious(dir: string): void {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new SynthUsageError(`--diff ${dir}: there is no such folder`);
  if (!fs.existsSync(path.join(dir, "sentinels.json")))
    throw new SynthUsageError(`--diff ${dir}: not an output folder of synth (no sentinels.json)`);
}

/** One line per sentinel: its row, its Deployment's sizing and timeout, the regions its wave waits for. */
function sentinelTable(kube: readonly CapturedResource[], rows: readonly PlannedRow[]): SentinelLine[] {
  const deployments = new Map(
    kube
      .filter((r) => r.type === "kubernetes:apps/v1:Deployment")
      .map((r) => [String(r.inputs.metadata.name), r]),
  );
  const byUrn = new Map([...deployments.values()].map((d) => [d.urn, d]));
  return rows.map((row) => {
    const deployment = deployments.get(row.k8s_name);
    const container = deployment?.inputs.spec.template.spec.containers[0];
    const resources = container?.resources?.limits as { cpu?: string; memory?: string } | undefined;
    // The previous wave's Deployments this one waits for (region waves): their regions.
    const after = (deployment?.dependencies ?? []).flatMap((urn) => {
      const previous = byUrn.get(urn);
      return previous === undefined ? [] : [regionOf(previous)];
    });
    return {
      environment: row.environment_id,
      region: deployment === undefined ? row.region_id : regionOf(deployment),
      sentinel: row.k8s_name,
      replicas: row.desired_replicas,
      image: row.image,
      cpuMemory: `${resources?.cpu ?? "?"}/${resources?.memory ?? "?"}`,
      rolloutTimeout: deployment?.customTimeouts?.update || "?",
      after: [...new Set(after)].sort(),
    };
  });
}

/** Per region of this stack, in the configured order: its wave, environments, sentinels and objects. */
function regionLines(
  cfg: FleetConfig,
  kube: readonly CapturedResource[],
  lines: readonly SentinelLine[],
): RegionLine[] {
  const objects = new Map<string, number>();
  for (const r of kube) objects.set(regionOf(r), (objects.get(regionOf(r)) ?? 0) + 1);
  const names = [...cfg.regions.map((r) => r.name), ...objects.keys()].filter(
    (n, i, all) => all.indexOf(n) === i && objects.has(n),
  );
  const waveOf = (name: string) => {
    const i = cfg.waves?.findIndex((w) => w.includes(name)) ?? -1;
    return i < 0 ? null : i + 1;
  };
  return names
    .map((region) => {
      const mine = lines.filter((l) => l.region === region);
      return {
        region,
        wave: waveOf(region),
        environments: new Set(mine.map((l) => l.environment)).size,
        sentinels: mine.length,
        objects: objects.get(region) ?? 0,
      };
    })
    .sort((a, b) => (a.wave ?? 0) - (b.wave ?? 0));
}

export { MARKER_FILE, OutputFolderError } from "./output";
export type { SynthDiff, SynthSummary } from "./review";
