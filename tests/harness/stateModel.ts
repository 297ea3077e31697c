// The Pulumi state a mock run would leave, built as the engine writes its checkpoint (pkg/resource/stack,
// apitype.ResourceV3, compact JSON as the DIY backends write it) and measured in bytes. For bench:state.
//
// Per resource: urn, custom, id, type, inputs, outputs, parent, dependencies, provider reference,
// propertyDependencies, customTimeouts, retainOnDelete, created/modified times, sourcePosition and stackTrace
// (project-relative, as the engine rewrites them), resourceHooks. Secrets become what the passphrase secrets
// manager writes: the secret signature and `v1:<nonce>:<AES-GCM ciphertext>`, as long as the real ciphertext
// of that plaintext. Every value the run cannot know as the engine would (ids, times, the ciphertext's bytes)
// is a stand-in of the real length, so the figures are the same on every run.
import * as fs from "fs";
import * as path from "path";
import {
  isSecretEnvelope,
  SECRET_SIG,
  SECRET_SIG_KEY,
  type CapturedResource,
  type ProgramRun,
  type SourceFrame,
} from "../../synth/mockEngine";
import { PROJECT_ROOT } from "../../synth/pulumiProject";

export const ENVIRONMENT_TYPE = "sentinel-fleet:index:SentinelEnvironment";
const PROVIDER_KEY = "__provider";
/** RFC 3339 with nanoseconds, as Go's time.Time marshals: the length of every created/modified stamp. */
const TIMESTAMP = "2026-01-01T00:00:00.000000000Z";
/** A provider's id in a provider reference is a UUID. */
const PROVIDER_ID = "00000000-0000-0000-0000-000000000000";

export interface StateSplit {
  /** Every byte of the resources' checkpoint entries. */
  total: number;
  /** The dynamic provider's serialized code (`__provider`, in inputs and outputs alike, with its key). */
  providerCode: number;
  /** The inputs and outputs of Kubernetes objects (kubernetes:* custom resources, not providers). */
  kubernetes: number;
  /** The other resources' inputs and outputs without the provider code: rows, logins, providers, exports. */
  otherValues: number;
  /** The rest of every entry: urn, type, id, parent, dependencies, provider reference, times, stack trace. */
  metadata: number;
  resources: number;
}

export interface StateFigures {
  sentinels: number;
  /** What belongs to environments (a SentinelEnvironment and everything under it), summed. */
  perEnvironment: StateSplit;
  /** What the stack holds once or once per region (providers, namespace, logins, stack, references). */
  shared: StateSplit;
  /** The whole checkpoint's resources. */
  all: StateSplit;
}

const empty = (): StateSplit => ({
  total: 0,
  providerCode: 0,
  kubernetes: 0,
  otherValues: 0,
  metadata: 0,
  resources: 0,
});

function base64Length(bytes: number): number {
  return 4 * Math.ceil(bytes / 3);
}

/** `v1:` + base64(12-byte nonce) + `:` + base64(ciphertext + 16-byte tag) of the JSON plaintext. */
function ciphertextStandIn(value: unknown): string {
  const plaintext = Buffer.byteLength(JSON.stringify(value ?? null));
  return `v1:${"n".repeat(base64Length(12))}:${"c".repeat(base64Length(plaintext + 16))}`;
}

/** A value as the checkpoint stores it: secrets encrypted (unknowns cannot occur after an update). */
export function stateValue(value: unknown): unknown {
  if (isSecretEnvelope(value)) {
    return {
      [SECRET_SIG_KEY]: SECRET_SIG,
      ciphertext: ciphertextStandIn((value as { value: unknown }).value),
    };
  }
  if (Array.isArray(value)) return value.map(stateValue);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, stateValue(v)]));
  }
  return value;
}

/** node_modules may be a link (a worktree sharing an install): its files are the project's, as after npm ci. */
const MODULES = fs.realpathSync(path.join(PROJECT_ROOT, "node_modules"));

/** The engine's rewrite of a source position: `project:///<path relative to the project>#line,column`. */
function position(frame: SourceFrame | null): string | undefined {
  if (frame === null || !frame.uri.startsWith("file://")) return undefined;
  let file = new URL(frame.uri).pathname;
  if (file.startsWith(MODULES + path.sep))
    file = path.join(PROJECT_ROOT, "node_modules", path.relative(MODULES, file));
  const rel = path.relative(PROJECT_ROOT, file).split(path.sep).join("/");
  return `project:///${rel}#${frame.line}${frame.column !== 0 ? `,${frame.column}` : ""}`;
}

function providerReference(ref: string): string | undefined {
  if (ref === "") return undefined;
  const at = ref.lastIndexOf("::");
  return `${ref.slice(0, at)}::${PROVIDER_ID}`;
}

const nonEmpty = <T>(v: T[] | undefined): T[] | undefined =>
  v === undefined || v.length === 0 ? undefined : v;
const nonEmptyObject = (o: Record<string, unknown>): Record<string, unknown> | undefined =>
  Object.keys(o).length === 0 ? undefined : o;

/** One resource's checkpoint entry (apitype.ResourceV3, omitempty fields left out as Go leaves them out). */
export function checkpointEntry(r: CapturedResource): Record<string, unknown> {
  const outputs = r.custom ? r.outputs : (r.componentOutputs ?? {});
  const timeouts = r.customTimeouts;
  const hooks: Record<string, string[]> = {};
  if (r.hooks.afterCreate.length > 0) hooks.afterCreate = r.hooks.afterCreate;
  if (r.hooks.afterUpdate.length > 0) hooks.afterUpdate = r.hooks.afterUpdate;
  const entry: Record<string, unknown> = {
    urn: r.urn,
    custom: r.custom,
    id: r.custom ? (r.id ?? `${r.name}-id`) : undefined,
    type: r.type,
    inputs: nonEmptyObject(stateValue(r.inputs) as Record<string, unknown>),
    outputs: nonEmptyObject(stateValue(outputs) as Record<string, unknown>),
    parent: r.parent === "" ? undefined : r.parent,
    external: r.read ? true : undefined,
    dependencies: nonEmpty(r.dependencies),
    provider: r.custom && !r.type.startsWith("pulumi:providers:") ? providerReference(r.provider) : undefined,
    propertyDependencies: nonEmptyObject(r.propertyDependencies),
    customTimeouts:
      timeouts === null || (timeouts.create === "" && timeouts.update === "" && timeouts.delete === "")
        ? undefined
        : timeouts,
    retainOnDelete: r.retainOnDelete ? true : undefined,
    created: TIMESTAMP,
    modified: TIMESTAMP,
    sourcePosition: position(r.sourcePosition),
    stackTrace: nonEmpty(r.stackTrace.map((f) => ({ sourcePosition: position(f) }))),
    resourceHooks: nonEmptyObject(hooks),
  };
  return entry;
}

/** The root stack resource: its outputs are the program's exports. */
export function stackEntry(run: ProgramRun, stack: string): Record<string, unknown> {
  return {
    urn: `urn:pulumi:${stack}::sentinel-fleet::pulumi:pulumi:Stack::sentinel-fleet-${stack}`,
    custom: false,
    type: "pulumi:pulumi:Stack",
    outputs: stateValue(run.exports),
    created: TIMESTAMP,
    modified: TIMESTAMP,
  };
}

const bytes = (v: unknown): number => (v === undefined ? 0 : Buffer.byteLength(JSON.stringify(v)));

/** Bytes of the `"__provider":"..."` members of an object (with the comma that separates a member). */
function providerBytes(values: unknown): number {
  if (typeof values !== "object" || values === null || !(PROVIDER_KEY in values)) return 0;
  return bytes({ [PROVIDER_KEY]: (values as Record<string, unknown>)[PROVIDER_KEY] }) - 2 + 1;
}

function add(split: StateSplit, entry: Record<string, unknown>, kubernetes: boolean): void {
  const total = bytes(entry) + 1; // the comma between entries of the resources array
  const code = providerBytes(entry.inputs) + providerBytes(entry.outputs);
  const values = bytes(entry.inputs) + bytes(entry.outputs);
  split.total += total;
  split.providerCode += code;
  if (kubernetes) split.kubernetes += values;
  else split.otherValues += values - code;
  split.metadata += total - values;
  split.resources += 1;
}

/** Measures the checkpoint of one run: per environment (everything under a SentinelEnvironment) and shared. */
export function measureState(run: ProgramRun, stack = "dev"): StateFigures {
  const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
  const underEnvironment = (r: CapturedResource): boolean => {
    for (let at: CapturedResource | undefined = r; at !== undefined; at = byUrn.get(at.parent)) {
      if (at.type === ENVIRONMENT_TYPE) return true;
    }
    return false;
  };
  const figures: StateFigures = {
    sentinels: run.resources.filter((r) => r.type === "pulumi-nodejs:dynamic:Resource").length,
    perEnvironment: empty(),
    shared: empty(),
    all: empty(),
  };
  for (const r of run.resources) {
    const entry = checkpointEntry(r);
    const kubernetes = r.custom && r.type.startsWith("kubernetes:");
    add(underEnvironment(r) ? figures.perEnvironment : figures.shared, entry, kubernetes);
    add(figures.all, entry, kubernetes);
  }
  // The stack's own entry is shared; its outputs (one identity per sentinel) grow with the environments.
  const root = stackEntry(run, stack);
  const bare = { ...root, outputs: undefined };
  add(figures.shared, bare, false);
  const exported = bytes(root) - bytes(bare);
  (figures.sentinels > 0 ? figures.perEnvironment : figures.shared).total += exported;
  (figures.sentinels > 0 ? figures.perEnvironment : figures.shared).otherValues += exported;
  add(figures.all, root, false);
  return figures;
}
