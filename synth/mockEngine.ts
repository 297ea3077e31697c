// Runs the real program (index.ts) under Pulumi's mock runtime, with the mock monitor doing what the engine
// would do and nothing more:
// - custom resources come back with their inputs as outputs (what a preview shows, and what a create of
//   these Kubernetes objects returns), ids only outside preview;
// - dynamic resources go through their serialized provider's `check`, deserialized the way Pulumi's
//   dynamic-provider host does it, so previews show the provider's proposed names;
// - RandomPassword results are unknown in preview and generated otherwise, as the random provider does;
// - resource hooks are registered (the 3.270 mock monitor lacks `registerResourceHook`) and, outside preview,
//   fired after a create through the SDK's own callback server over gRPC, as the engine fires them;
// - a `pulumi.StackReference` is read as the engine's built-in provider reads one: a
//   `pulumi:pulumi:StackReference` resource whose outputs are `name`, `outputs` (the referenced stack's exports,
//   secrets as secrets) and `secretOutputNames` (the exports holding a secret), from the exports of a previous
//   mock run of that stack (`RunOptions.stackReferences`); an unknown stack fails as the engine's does.
// It records every registration (type, name, wire inputs with secret markers, options, hooks, the dependencies,
// source position and stack trace the engine keeps in state) and every read, for tests, synth and benchmarks.
import * as crypto from "crypto";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import * as pulumi from "@pulumi/pulumi";
import { PROJECT_ROOT } from "./pulumiProject";

/* eslint-disable @typescript-eslint/no-require-imports */
const mocksModule = require("@pulumi/pulumi/runtime/mocks") as {
  MockMonitor: { prototype: Record<string, any> };
};
const rpc = require("@pulumi/pulumi/runtime/rpc") as {
  serializeProperties(label: string, props: Record<string, unknown>): Promise<Record<string, unknown>>;
  deserializeProperties(struct: unknown, keepUnknowns?: boolean): Record<string, unknown>;
  unknownValue: string;
  specialSigKey: string;
  specialSecretSig: string;
};
const emptyproto = require("google-protobuf/google/protobuf/empty_pb");
const resproto = require("@pulumi/pulumi/proto/resource_pb");
const callbackpb = require("@pulumi/pulumi/proto/callback_pb");
const callbackgrpc = require("@pulumi/pulumi/proto/callback_grpc_pb");
const requireFromString = require("require-from-string") as (code: string) => { handler(): any };
/* eslint-enable @typescript-eslint/no-require-imports */

export const DYNAMIC_TYPE = "pulumi-nodejs:dynamic:Resource";
export const STACK_REFERENCE_TYPE = "pulumi:pulumi:StackReference";
export const UNKNOWN = rpc.unknownValue;
export const SECRET_SIG_KEY = rpc.specialSigKey;
export const SECRET_SIG = rpc.specialSecretSig;

export interface CapturedResource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly parent: string;
  readonly custom: boolean;
  readonly provider: string;
  /** Inputs as the SDK sent them, deserialized with secret envelopes and unknowns kept. */
  readonly inputs: Record<string, any>;
  /** The outputs the emulated engine returned. */
  readonly outputs: Record<string, any>;
  readonly id: string | undefined;
  readonly retainOnDelete: boolean;
  readonly deleteBeforeReplace: boolean;
  readonly customTimeouts: { create: string; update: string; delete: string } | null;
  readonly hooks: { afterCreate: string[]; afterUpdate: string[] };
  /** URNs the engine would create this resource after (from Output inputs and dependsOn alike). */
  readonly dependencies: string[];
  /** Per input property, the URNs its value came from (what the engine stores as propertyDependencies). */
  readonly propertyDependencies: Record<string, string[]>;
  /** The registration's source position and stack, as the SDK sent them (file URI, line, column); null: none. */
  readonly sourcePosition: SourceFrame | null;
  readonly stackTrace: (SourceFrame | null)[];
  /** True for a read (`get`, a StackReference) rather than a registration. */
  readonly read: boolean;
  /** What a component registered with registerOutputs (the engine stores them as its outputs); null: none. */
  componentOutputs: Record<string, any> | null;
}

export interface SourceFrame {
  readonly uri: string;
  readonly line: number;
  readonly column: number;
}

export interface RegisteredHook {
  readonly name: string;
  readonly onDryRun: boolean;
  readonly ignoreErrors: boolean;
  readonly token: string;
  readonly target: string;
}

export interface FiredHook {
  readonly hook: string;
  readonly urn: string;
  /** The hook's reported error; null when it succeeded. */
  readonly error: string | null;
}

export interface ProgramRun {
  readonly resources: CapturedResource[];
  readonly hooks: RegisteredHook[];
  readonly firedHooks: FiredHook[];
  /** The program's exports, resolved (secrets unwrapped into envelopes by serialization). */
  readonly exports: Record<string, unknown>;
  /** The program module's exports as it made them (Outputs, promises), before resolution. */
  readonly moduleExports: Record<string, unknown>;
  /** What the program logged (pulumi.log without an engine writes to the console). */
  readonly logs: { severity: "info" | "warning" | "error"; message: string }[];
}

export interface RunOptions {
  /** Stack config: full keys to values (objects are JSON-encoded as `pulumi config` stores them). */
  readonly config: Record<string, unknown>;
  /** Keys set with --secret. */
  readonly secretKeys?: readonly string[];
  readonly preview: boolean;
  readonly stack?: string;
  /** Program entry point; default the project's index.ts. */
  readonly program?: string;
  /** Fire after-create hooks outside preview (default true). */
  readonly fireHooks?: boolean;
  /** Called after each registration (progress for big fleets). */
  readonly onRegister?: (count: number) => void;
  /** Record every registration (default true); benchmarks turn it off to measure only the program and SDK. */
  readonly record?: boolean;
  /**
   * The inputs a dynamic resource has in the prior state, by resource name: what the engine passes to `check`
   * as `olds` when the resource already exists (default: none, a first deployment).
   */
  readonly priorInputs?: (name: string) => Record<string, unknown> | undefined;
  /** The previous deployment (a run's result), for what the engine keeps from state (see RandomPassword). */
  readonly previous?: ProgramRun;
  /**
   * The stacks a `pulumi.StackReference` may read: fully qualified stack name → that stack's exports as a
   * previous run resolved them (`ProgramRun.exports`, secrets as envelopes). Default: none.
   */
  readonly stackReferences?: Readonly<Record<string, Record<string, unknown>>>;
}

const DEFAULT_PROGRAM = path.join(PROJECT_ROOT, "index");

/** The mock monitor is one object per run; this records into whichever run is active. */
let active: Recorder | null = null;

interface Recorder {
  record: boolean;
  preview: boolean;
  fireHooks: boolean;
  priorInputs?: (name: string) => Record<string, unknown> | undefined;
  previous?: ProgramRun;
  resources: CapturedResource[];
  hooks: Map<string, RegisteredHook>;
  firedHooks: FiredHook[];
  pending: number;
  registered: number;
  onRegister?: (count: number) => void;
  errors: unknown[];
  stackReferences: Readonly<Record<string, Record<string, unknown>>>;
  byUrn: Map<string, CapturedResource>;
  pendingOutputs: Map<string, Record<string, any>>;
}

const providerCache = new Map<string, any>();

/** The dynamic provider as the host would load it: from its serialized text, once per distinct text. */
function loadDynamicProvider(text: string): any {
  let provider = providerCache.get(text);
  if (provider === undefined) {
    provider = requireFromString(text).handler();
    providerCache.set(text, provider);
  }
  return provider;
}

function patchMonitorOnce(): void {
  const proto = mocksModule.MockMonitor.prototype;
  if (proto.__sentinelFleetPatched === true) return;
  proto.__sentinelFleetPatched = true;

  proto.registerResourceHook = function (req: any, callback: (err: unknown, resp?: unknown) => void) {
    const cb = req.getCallback();
    active?.hooks.set(req.getName(), {
      name: req.getName(),
      onDryRun: req.getOnDryRun(),
      ignoreErrors: req.getIgnoreErrors(),
      token: cb.getToken(),
      target: cb.getTarget(),
    });
    callback(null, new emptyproto.Empty());
  };

  const originalRead = proto.readResource as (
    req: any,
    callback: (err: unknown, resp?: any) => void,
  ) => Promise<void>;
  proto.readResource = async function (
    this: unknown,
    req: any,
    callback: (err: unknown, resp?: any) => void,
  ) {
    const run = active;
    if (run === null) return originalRead.call(this, req, callback);
    run.pending++;
    let response: any;
    let error: unknown = null;
    await originalRead.call(this, req, (err: unknown, resp: any) => {
      error = err;
      response = resp;
    });
    if (run.record && error === null && response !== undefined) {
      capture(run, {
        type: req.getType(),
        name: req.getName(),
        urn: response.getUrn(),
        parent: req.getParent(),
        custom: true,
        provider: req.getProvider(),
        inputs: rpc.deserializeProperties(req.getProperties(), true),
        outputs: rpc.deserializeProperties(response.getProperties(), true),
        id: req.getId(),
        retainOnDelete: false,
        deleteBeforeReplace: false,
        customTimeouts: null,
        hooks: { afterCreate: [], afterUpdate: [] },
        dependencies: req.getDependenciesList(),
        propertyDependencies: {},
        sourcePosition: frame(req.getSourceposition()),
        stackTrace: frames(req.getStacktrace()),
        read: true,
        componentOutputs: null,
      });
    }
    run.pending--;
    callback(error, response);
  };

  const originalOutputs = proto.registerResourceOutputs as (
    req: any,
    callback: (err: unknown) => void,
  ) => void;
  proto.registerResourceOutputs = function (
    this: unknown,
    req: any,
    callback: (err: unknown, resp?: any) => void,
  ) {
    const run = active;
    if (run !== null && run.record) {
      const outputs = rpc.deserializeProperties(req.getOutputs(), true);
      const target = run.byUrn.get(req.getUrn());
      if (target === undefined) run.pendingOutputs.set(req.getUrn(), outputs);
      else target.componentOutputs = outputs;
    }
    return originalOutputs.call(this, req, callback);
  };

  const original = proto.registerResource as (
    req: any,
    callback: (err: unknown, resp?: any) => void,
  ) => Promise<void>;
  proto.registerResource = async function (
    this: unknown,
    req: any,
    callback: (err: unknown, resp?: any) => void,
  ) {
    const run = active;
    if (run === null) return original.call(this, req, callback);
    run.pending++;
    let response: any;
    let error: unknown = null;
    await original.call(this, req, (err: unknown, resp: any) => {
      error = err;
      response = resp;
    });
    try {
      if (run.record && error === null && response !== undefined) await record(run, req, response);
    } catch (err) {
      error = err;
    }
    run.pending--;
    run.registered++;
    run.onRegister?.(run.registered);
    callback(error, response);
  };
}

async function record(run: Recorder, req: any, response: any): Promise<void> {
  const hooks = req.getHooks();
  const timeouts = req.getCustomtimeouts();
  const resource: CapturedResource = {
    type: req.getType(),
    name: req.getName(),
    urn: response.getUrn(),
    parent: req.getParent(),
    custom: req.getCustom(),
    provider: req.getProvider(),
    inputs: rpc.deserializeProperties(req.getObject(), true),
    outputs: rpc.deserializeProperties(response.getObject(), true),
    id: response.getId() === "" ? undefined : response.getId(),
    retainOnDelete: req.getRetainondelete() === true,
    deleteBeforeReplace: req.getDeletebeforereplace() === true,
    customTimeouts:
      timeouts === undefined
        ? null
        : { create: timeouts.getCreate(), update: timeouts.getUpdate(), delete: timeouts.getDelete() },
    hooks: {
      afterCreate: hooks === undefined ? [] : hooks.getAfterCreateList(),
      afterUpdate: hooks === undefined ? [] : hooks.getAfterUpdateList(),
    },
    dependencies: req.getDependenciesList(),
    propertyDependencies: propertyDependencies(req.getPropertydependenciesMap()),
    sourcePosition: frame(req.getSourceposition()),
    stackTrace: frames(req.getStacktrace()),
    read: false,
    componentOutputs: null,
  };
  capture(run, resource);
  for (const name of resource.hooks.afterCreate) {
    const hook = run.hooks.get(name);
    if (hook === undefined) throw new Error(`resource ${resource.urn} names unregistered hook ${name}`);
    if (!run.fireHooks || (run.preview && !hook.onDryRun)) continue;
    const fired = await fireHook(hook, resource, req.getObject(), response.getObject());
    run.firedHooks.push(fired);
    if (fired.error !== null && !hook.ignoreErrors) {
      throw new Error(`after-create hook ${name} of ${resource.urn} failed: ${fired.error}`);
    }
  }
}

function capture(run: Recorder, resource: CapturedResource): void {
  run.resources.push(resource);
  run.byUrn.set(resource.urn, resource);
  const outputs = run.pendingOutputs.get(resource.urn);
  if (outputs !== undefined) {
    resource.componentOutputs = outputs;
    run.pendingOutputs.delete(resource.urn);
  }
}

function propertyDependencies(map: any): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  map.forEach((deps: any, key: string) => (out[key] = deps.getUrnsList()));
  return out;
}

function frame(pos: any): SourceFrame | null {
  return pos === undefined || pos === null
    ? null
    : { uri: pos.getUri(), line: pos.getLine(), column: pos.getColumn() };
}

function frames(trace: any): (SourceFrame | null)[] {
  if (trace === undefined || trace === null) return [];
  return trace.getFramesList().map((f: any) => frame(f.getPc()));
}

/** Invokes a hook the way the engine does: a CallbackInvokeRequest to the program's callback server. */
function fireHook(
  hook: RegisteredHook,
  resource: CapturedResource,
  inputs: unknown,
  outputs: unknown,
): Promise<FiredHook> {
  const request = new resproto.ResourceHookRequest();
  request.setUrn(resource.urn);
  request.setId(resource.id ?? "");
  request.setName(resource.name);
  request.setType(resource.type);
  request.setNewInputs(inputs);
  request.setNewOutputs(outputs);
  const invoke = new callbackpb.CallbackInvokeRequest();
  invoke.setToken(hook.token);
  invoke.setRequest(request.serializeBinary());
  const client = new callbackgrpc.CallbacksClient(hook.target, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.invoke(invoke, (err: Error | null, resp: any) => {
      client.close();
      if (err !== null) {
        resolve({ hook: hook.name, urn: resource.urn, error: err.message });
        return;
      }
      const hookResponse = resproto.ResourceHookResponse.deserializeBinary(resp.getResponse_asU8());
      const message = hookResponse.getError();
      resolve({ hook: hook.name, urn: resource.urn, error: message === "" ? null : message });
    });
  });
}

/** JSON with object keys sorted, to compare inputs regardless of key order. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    typeof v === "object" && v !== null && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

function mocksFor(run: Recorder): pulumi.runtime.Mocks {
  return {
    async newResource(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
      const inputs = args.inputs as Record<string, any>;
      if (!args.custom) return { id: undefined, state: {} };
      if (args.type === STACK_REFERENCE_TYPE) return readStackReference(run, String(inputs.name));
      if (args.type === DYNAMIC_TYPE) {
        const provider = loadDynamicProvider(String(inputs.__provider));
        const result = (await provider.check(run.priorInputs?.(args.name) ?? {}, inputs)) as {
          inputs: Record<string, unknown>;
          failures: any[];
        };
        if (result.failures.length > 0) {
          throw new Error(
            `check failed: ${result.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`,
          );
        }
        // Preview: the engine shows the checked inputs as the outputs. Up: create adopts the same identity.
        return { id: run.preview ? undefined : String(result.inputs.sentinelId), state: result.inputs };
      }
      const state = { ...inputs };
      if (args.type === "random:index/randomPassword:RandomPassword") {
        // Unknown until created, then a password of the requested shape (alphanumeric here). With a previous
        // deployment, a password whose inputs (keepers included) did not change keeps its result: the random
        // provider replaces a RandomPassword only when one of them changes.
        const length = Number(inputs.length ?? 16);
        const kept = run.previous?.resources.find((r) => r.type === args.type && r.name === args.name);
        const same = kept !== undefined && stableJson(kept.inputs) === stableJson(inputs);
        state.result = same
          ? kept.outputs.result
          : run.preview
            ? UNKNOWN
            : crypto
                .randomBytes(length * 2)
                .toString("base64")
                .replace(/[^A-Za-z0-9]/g, "")
                .slice(0, length);
      }
      if (run.preview) return { id: undefined, state };
      const meta = inputs.metadata as { name?: string; namespace?: string } | undefined;
      const id =
        meta?.name !== undefined
          ? [meta.namespace, meta.name].filter((x) => x !== undefined).join("/")
          : `${args.name}-id`;
      return { id, state };
    },
    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
      throw new Error(`the program made an unexpected invoke: ${args.token}`);
    },
  };
}

/**
 * What the engine's built-in provider returns for a StackReference: the stack's outputs, and the names of those
 * that hold a secret anywhere inside (the SDK marks exactly those Outputs secret).
 */
function readStackReference(run: Recorder, name: string): pulumi.runtime.MockResourceResult {
  const outputs = run.stackReferences[name];
  if (outputs === undefined) throw new Error(`unknown stack "${name}"`);
  const secretOutputNames = Object.keys(outputs)
    .filter((k) => containsSecret(outputs[k]))
    .sort();
  return { id: name, state: { name, outputs, secretOutputNames } };
}

function containsSecret(value: unknown): boolean {
  if (isSecretEnvelope(value)) return true;
  if (Array.isArray(value)) return value.some(containsSecret);
  if (typeof value === "object" && value !== null) return Object.values(value).some(containsSecret);
  return false;
}

function captureConsole(logs: ProgramRun["logs"]): () => void {
  const original = { log: console.log, warn: console.warn, error: console.error };
  const grab =
    (severity: "info" | "warning" | "error", fallback: (...a: unknown[]) => void) =>
    (...a: unknown[]) => {
      const text = a.map(String).join(" ");
      const m = /^(info|warning|error): \[runtime\] ([\s\S]*)$/.exec(text);
      if (m !== null) logs.push({ severity: m[1] as "info" | "warning" | "error", message: m[2] });
      else fallback(...a);
      void severity;
    };
  console.log = grab("info", original.log);
  console.warn = grab("warning", original.warn);
  console.error = grab("error", original.error);
  return () => Object.assign(console, original);
}

/** Waits until no registration is in flight for a few consecutive turns of the event loop. */
async function settle(run: Recorder): Promise<void> {
  let quiet = 0;
  while (quiet < 5) {
    await new Promise((r) => setImmediate(r));
    quiet = run.pending === 0 ? quiet + 1 : 0;
  }
}

async function resolveExports(mod: Record<string, unknown>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(mod)) {
    if (k === "__esModule") continue;
    out[k] = await rpc.serializeProperties(`export ${k}`, { v }).then((s) => s.v);
  }
  return out;
}

/** Runs the program once under mocks and returns everything it registered. */
export async function runProgram(options: RunOptions): Promise<ProgramRun> {
  patchMonitorOnce();
  const run: Recorder = {
    record: options.record ?? true,
    preview: options.preview,
    fireHooks: options.fireHooks ?? true,
    priorInputs: options.priorInputs,
    previous: options.previous,
    resources: [],
    hooks: new Map(),
    firedHooks: [],
    pending: 0,
    registered: 0,
    onRegister: options.onRegister,
    errors: [],
    stackReferences: options.stackReferences ?? {},
    byUrn: new Map(),
    pendingOutputs: new Map(),
  };
  const logs: ProgramRun["logs"] = [];
  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.config))
    config[k] = typeof v === "string" ? v : JSON.stringify(v);
  pulumi.runtime.setAllConfig(config, [...(options.secretKeys ?? [])]);
  await pulumi.runtime.setMocks(mocksFor(run), "sentinel-fleet", options.stack ?? "dev", options.preview);

  const onRejection = (err: unknown) => run.errors.push(err);
  process.on("unhandledRejection", onRejection);
  const restoreConsole = captureConsole(logs);
  active = run;
  const program = require.resolve(options.program ?? DEFAULT_PROGRAM);
  try {
    delete require.cache[program];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = require(program) as Record<string, unknown>;
    const exportsResolved = await resolveExports(mod);
    await settle(run);
    if (run.errors.length > 0) throw run.errors[0];
    return {
      resources: run.resources,
      hooks: [...run.hooks.values()],
      firedHooks: run.firedHooks,
      exports: exportsResolved,
      moduleExports: mod,
      logs,
    };
  } finally {
    active = null;
    restoreConsole();
    process.removeListener("unhandledRejection", onRejection);
  }
}

/** True when a value is a Pulumi secret envelope as it crosses the wire. */
export function isSecretEnvelope(value: unknown): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG
  );
}

/** True for a value not known yet: the wire marker string or the SDK's deserialized Unknown. */
export function isUnknownValue(value: unknown): boolean {
  return (
    value === UNKNOWN ||
    (typeof value === "object" && value !== null && (value as any).__pulumiUnknown === true)
  );
}

/** Replaces unknown values (a preview's not-yet-generated values) with a stand-in. */
export function fillUnknowns(value: unknown, standIn: unknown): unknown {
  if (isUnknownValue(value)) return standIn;
  if (Array.isArray(value)) return value.map((v) => fillUnknowns(v, standIn));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fillUnknowns(v, standIn)]));
  }
  return value;
}

/** Replaces secret envelopes by their values (for schema validation of objects that carry secrets). */
export function unwrapSecrets(value: unknown): unknown {
  if (isUnknownValue(value)) return value;
  if (isSecretEnvelope(value)) return unwrapSecrets((value as { value: unknown }).value);
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

/** Replaces secret envelopes by a marker, leaving everything else (what a reader of state would see). */
export function redactSecrets(value: unknown, marker = "[secret]"): unknown {
  if (isSecretEnvelope(value)) return marker;
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, marker));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactSecrets(v, marker)]));
  }
  return value;
}
