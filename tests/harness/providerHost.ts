// Pulumi's own dynamic-provider host (the process `pulumi up` launches for every dynamic resource), started as
// the engine starts it and driven over gRPC as the engine drives it: a child `node .../dynamic-provider
// <engine>` that prints its port, then Configure once, then Check/Diff/Create/Read/Update/Delete with the
// serialized provider travelling in each request's `__provider` property.
//
// Requests and responses are plain JS here; the protobuf Structs are built and read with google-protobuf's
// Struct.fromJavaScript / toJavaScript, which is also what the host uses on its side.
//
// Known gaps of the @pulumi/pulumi 3.270 host this works around:
// - a Configure without `args` throws inside an async handler and never answers: `configure` always sends
//   `args` (and the legacy `variables` map as well);
// - `undefined` anywhere in a provider's outputs makes the host's Struct.fromJavaScript throw, so the call
//   fails: nothing to work around here (the provider must return `null`), but it is why tests check outputs.
// Every call also has a deadline, so a host that never answers fails a test instead of hanging it.
import { spawn, type ChildProcess } from "child_process";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { PROJECT_ROOT } from "../../synth/pulumiProject";

/* eslint-disable @typescript-eslint/no-require-imports */
const provproto = require("@pulumi/pulumi/proto/provider_pb");
const provrpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const rpc = require("@pulumi/pulumi/runtime/rpc") as { specialSigKey: string; specialSecretSig: string };
/* eslint-enable @typescript-eslint/no-require-imports */

export const HOST_SCRIPT = path.join(
  PROJECT_ROOT,
  "node_modules",
  "@pulumi",
  "pulumi",
  "cmd",
  "dynamic-provider",
  "index.js",
);
export const DYNAMIC_TYPE = "pulumi-nodejs:dynamic:Resource";
/** The engine address argument: required by the host, unused unless the provider calls back (ours does not). */
const ENGINE_ADDRESS = "127.0.0.1:1";

export type Props = Record<string, any>;

export interface ConfigureRequest {
  /**
   * Stack config, full keys ("sentinel-fleet:database") to values: objects stay objects in `args`; wrap a value
   * with `secret()` to send it as the engine sends secret config.
   */
  readonly config: Props;
}
export interface ConfigureResponse {
  readonly acceptSecrets: boolean;
  readonly supportsPreview: boolean;
}

export interface CheckRequest {
  readonly name?: string;
  readonly olds: Props;
  readonly news: Props;
}
export interface CheckResponse {
  readonly inputs: Props;
  readonly failures: { property: string; reason: string }[];
}

export interface DiffRequest {
  readonly id: string;
  readonly name?: string;
  /** The resource's current outputs (state). */
  readonly olds: Props;
  /** The checked new inputs. */
  readonly news: Props;
  readonly oldInputs?: Props;
}
export interface DiffResponse {
  readonly changes: "unknown" | "none" | "some";
  readonly replaces: string[];
  readonly stables: string[];
  readonly deleteBeforeReplace: boolean;
}

export interface CreateRequest {
  readonly name?: string;
  /** The checked inputs. */
  readonly properties: Props;
  readonly preview?: boolean;
}
export interface CreateResponse {
  readonly id: string;
  readonly properties: Props;
}

export interface ReadRequest {
  readonly id: string;
  readonly name?: string;
  /** The state's outputs (refresh); empty for a `get`, in which case `inputs` are used. */
  readonly properties: Props;
  readonly inputs?: Props;
}
export interface ReadResponse {
  /** Empty when the resource no longer exists. */
  readonly id: string;
  readonly properties: Props;
  readonly inputs: Props | null;
}

export interface UpdateRequest {
  readonly id: string;
  readonly name?: string;
  readonly olds: Props;
  readonly news: Props;
  readonly oldInputs?: Props;
}
export interface UpdateResponse {
  readonly properties: Props;
}

export interface DeleteRequest {
  readonly id: string;
  readonly name?: string;
  readonly properties: Props;
  readonly oldInputs?: Props;
}

export interface ProviderMethods {
  configure: [ConfigureRequest, ConfigureResponse];
  check: [CheckRequest, CheckResponse];
  diff: [DiffRequest, DiffResponse];
  create: [CreateRequest, CreateResponse];
  read: [ReadRequest, ReadResponse];
  update: [UpdateRequest, UpdateResponse];
  delete: [DeleteRequest, Record<string, never>];
}
export type ProviderMethod = keyof ProviderMethods;

/** A gRPC failure as the engine sees it: `code` (grpc.status) and `details` (the provider's message). */
export type HostError = grpc.ServiceError;

export interface ProviderHost {
  /** The raw `ResourceProviderClient`. */
  readonly client: any;
  /** The host's port on 127.0.0.1. */
  readonly port: number;
  /** Calls one method with a plain request; resolves to the plain response, rejects with a gRPC error. */
  call<M extends ProviderMethod>(method: M, request: ProviderMethods[M][0]): Promise<ProviderMethods[M][1]>;
  configure(request: ConfigureRequest): Promise<ConfigureResponse>;
  check(request: CheckRequest): Promise<CheckResponse>;
  diff(request: DiffRequest): Promise<DiffResponse>;
  create(request: CreateRequest): Promise<CreateResponse>;
  read(request: ReadRequest): Promise<ReadResponse>;
  update(request: UpdateRequest): Promise<UpdateResponse>;
  delete(request: DeleteRequest): Promise<Record<string, never>>;
  /** What the host wrote to stderr so far (it logs stack traces of failed calls there). */
  stderr(): string;
  /** Kills the host and closes the client. Idempotent. */
  stop(): Promise<void>;
}

export interface HostOptions {
  /** Deadline of every call (default 15 s): a host that never answers fails the call instead of hanging. */
  readonly callTimeoutMs?: number;
  /** How long to wait for the host to print its port (default 15 s). */
  readonly startTimeoutMs?: number;
  /** The stack name used in URNs (default "dev"). */
  readonly stack?: string;
  /** The project name used in URNs (default "sentinel-fleet"). */
  readonly project?: string;
  /** The host's working directory (default: the project root, where the engine starts it). */
  readonly cwd?: string;
}

/** A value wrapped as a secret, the way the engine sends secret config when the request accepts secrets. */
export function secret(value: unknown): Props {
  return { [rpc.specialSigKey]: rpc.specialSecretSig, value };
}

function isSecret(value: unknown): value is { value: unknown } {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Props)[rpc.specialSigKey] === rpc.specialSecretSig
  );
}

const struct = (value: Props | undefined): Struct => Struct.fromJavaScript(value ?? {});
const plain = (value: Struct | undefined): Props => (value === undefined ? {} : value.toJavaScript());

const CHANGES: Record<number, DiffResponse["changes"]> = {
  [provproto.DiffResponse.DiffChanges.DIFF_UNKNOWN]: "unknown",
  [provproto.DiffResponse.DiffChanges.DIFF_NONE]: "none",
  [provproto.DiffResponse.DiffChanges.DIFF_SOME]: "some",
};

/**
 * A request about one resource: its id (for the methods that take one), URN, name and the dynamic type, then
 * each struct by its setter; the `optional` ones only when given.
 */
function resourceRequest(
  Message: new () => any,
  req: { readonly id?: string; readonly name?: string },
  urn: (name?: string) => string,
  structs: Record<string, Props | undefined>,
  optional: Record<string, Props | undefined> = {},
): any {
  const msg = new Message();
  if (req.id !== undefined) msg.setId(req.id);
  msg.setUrn(urn(req.name));
  msg.setName(req.name ?? "sentinel");
  msg.setType(DYNAMIC_TYPE);
  for (const [setter, value] of Object.entries(structs)) msg[setter](struct(value));
  for (const [setter, value] of Object.entries(optional)) if (value !== undefined) msg[setter](struct(value));
  return msg;
}

/** Diff and Update: the old outputs, the new inputs and, when given, the old inputs. */
const oldsAndNews =
  (Message: new () => any) =>
  (
    req: { id?: string; name?: string; olds: Props; news: Props; oldInputs?: Props },
    urn: (name?: string) => string,
  ) =>
    resourceRequest(
      Message,
      req,
      urn,
      { setOlds: req.olds, setNews: req.news },
      { setOldInputs: req.oldInputs },
    );

interface Codec<Req, Res> {
  /** The client's method name. */
  readonly rpc: string;
  encode(request: Req, urn: (name?: string) => string): any;
  decode(response: any): Res;
}

type Codecs = { [M in ProviderMethod]: Codec<ProviderMethods[M][0], ProviderMethods[M][1]> };

const CODECS: Codecs = {
  configure: {
    rpc: "configure",
    encode: (req) => {
      const msg = new provproto.ConfigureRequest();
      msg.setArgs(struct(req.config));
      const variables = msg.getVariablesMap();
      // The legacy map holds plaintext strings (objects as JSON text, as `pulumi config` stores them).
      for (const [k, raw] of Object.entries(req.config)) {
        const v = isSecret(raw) ? raw.value : raw;
        variables.set(k, typeof v === "string" ? v : JSON.stringify(v));
      }
      msg.setAcceptsecrets(true);
      msg.setAcceptresources(true);
      return msg;
    },
    decode: (res) => ({ acceptSecrets: res.getAcceptsecrets(), supportsPreview: res.getSupportspreview() }),
  },
  check: {
    rpc: "check",
    encode: (req, urn) =>
      resourceRequest(provproto.CheckRequest, req, urn, { setOlds: req.olds, setNews: req.news }),
    decode: (res) => ({
      inputs: plain(res.getInputs()),
      failures: res.getFailuresList().map((f: any) => ({ property: f.getProperty(), reason: f.getReason() })),
    }),
  },
  diff: {
    rpc: "diff",
    encode: oldsAndNews(provproto.DiffRequest),
    decode: (res) => ({
      changes: CHANGES[res.getChanges()] ?? "unknown",
      replaces: res.getReplacesList(),
      stables: res.getStablesList(),
      deleteBeforeReplace: res.getDeletebeforereplace(),
    }),
  },
  create: {
    rpc: "create",
    encode: (req, urn) => {
      const msg = resourceRequest(provproto.CreateRequest, req, urn, { setProperties: req.properties });
      msg.setPreview(req.preview ?? false);
      return msg;
    },
    decode: (res) => ({ id: res.getId(), properties: plain(res.getProperties()) }),
  },
  read: {
    rpc: "read",
    encode: (req, urn) =>
      resourceRequest(
        provproto.ReadRequest,
        req,
        urn,
        { setProperties: req.properties },
        { setInputs: req.inputs },
      ),
    decode: (res) => ({
      id: res.getId(),
      properties: plain(res.getProperties()),
      inputs: res.getInputs() === undefined ? null : plain(res.getInputs()),
    }),
  },
  update: {
    rpc: "update",
    encode: oldsAndNews(provproto.UpdateRequest),
    decode: (res) => ({ properties: plain(res.getProperties()) }),
  },
  delete: {
    rpc: "delete",
    encode: (req, urn) =>
      resourceRequest(
        provproto.DeleteRequest,
        req,
        urn,
        { setProperties: req.properties },
        { setOldInputs: req.oldInputs },
      ),
    decode: () => ({}),
  },
};

/** Waits for the first line on the child's stdout: the port the host listens on. */
function readPort(child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = "";
    const fail = (why: string) => {
      cleanup();
      reject(
        new Error(`the dynamic-provider host ${why}; stdout: ${out.trim()}; stderr: ${stderr().trim()}`),
      );
    };
    const onData = (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const newline = out.indexOf("\n");
      if (newline < 0) return;
      const port = Number(out.slice(0, newline).trim());
      if (!Number.isInteger(port) || port <= 0) {
        fail("printed no port");
        return;
      }
      cleanup();
      resolve(port);
    };
    const onExit = (code: number | null, signal: string | null) =>
      fail(`exited before printing its port (code ${code}, signal ${signal})`);
    const onError = (err: Error) => fail(`could not be started: ${err.message}`);
    const timer = setTimeout(() => fail(`printed no port within ${timeoutMs} ms`), timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
      child.off("error", onError);
    };
    child.stdout?.on("data", onData);
    child.once("exit", onExit);
    child.once("error", onError);
  });
}

/**
 * Starts `node node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js <engine>` in the project root (so the
 * serialized provider's `require`s resolve against the project's node_modules) and connects a client to it.
 */
export async function startProviderHost(options: HostOptions = {}): Promise<ProviderHost> {
  const callTimeoutMs = options.callTimeoutMs ?? 15_000;
  const stack = options.stack ?? "dev";
  const project = options.project ?? "sentinel-fleet";
  const child = spawn(process.execPath, [HOST_SCRIPT, ENGINE_ADDRESS], {
    cwd: options.cwd ?? PROJECT_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let exited = false;
  child.once("exit", () => (exited = true));
  let errText = "";
  child.stderr?.on("data", (chunk: Buffer) => (errText += chunk.toString("utf8")));
  // If the test process dies without stop(), do not leave a host behind.
  const killOnExit = () => {
    if (!exited) child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);

  const killChild = async (): Promise<void> => {
    process.removeListener("exit", killOnExit);
    if (exited) return;
    let timer: NodeJS.Timeout | undefined;
    const done = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await Promise.race([done, new Promise((resolve) => (timer = setTimeout(resolve, 5_000)))]);
    clearTimeout(timer);
    if (!exited) child.kill("SIGKILL");
  };

  let port: number;
  try {
    port = await readPort(child, options.startTimeoutMs ?? 15_000, () => errText);
  } catch (err) {
    await killChild();
    throw err;
  }
  const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const stop = async (): Promise<void> => {
    client.close();
    await killChild();
  };
  const urn = (name = "sentinel") => `urn:pulumi:${stack}::${project}::${DYNAMIC_TYPE}::${name}`;

  const call = <M extends ProviderMethod>(
    method: M,
    request: ProviderMethods[M][0],
  ): Promise<ProviderMethods[M][1]> => {
    const codec = CODECS[method];
    return new Promise((resolve, reject) => {
      // An encoding failure (e.g. `undefined` in a Struct) throws here and rejects the promise.
      client[codec.rpc](
        codec.encode(request, urn),
        new grpc.Metadata(),
        { deadline: Date.now() + callTimeoutMs },
        (err: grpc.ServiceError | null, response: unknown) => {
          if (err !== null && err !== undefined) reject(err);
          else resolve(codec.decode(response));
        },
      );
    });
  };

  return {
    client,
    port,
    call,
    configure: (request) => call("configure", request),
    check: (request) => call("check", request),
    diff: (request) => call("diff", request),
    create: (request) => call("create", request),
    read: (request) => call("read", request),
    update: (request) => call("update", request),
    delete: (request) => call("delete", request),
    stderr: () => errText,
    stop,
  };
}

/** Where the provider finds a database: its host, port, admin login and schema. */
export interface DatabaseAddress {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  readonly password: string;
}

/**
 * The stack configuration the engine hands the provider for `db` (the password as a secret), `connection`'s
 * settings added to `sentinel-fleet:database`.
 */
export function databaseConfig(db: DatabaseAddress, connection: Props = {}): Props {
  return {
    "sentinel-fleet:database": {
      host: db.host,
      port: db.port,
      user: db.user,
      name: db.database,
      ...connection,
    },
    "sentinel-fleet:databasePassword": secret(db.password),
  };
}

/** A host configured with `config`, stopped again when configure fails. */
export async function startConfiguredHost(config: Props, options: HostOptions = {}): Promise<ProviderHost> {
  const host = await startProviderHost(options);
  try {
    await host.configure({ config });
  } catch (err) {
    await host.stop();
    throw err;
  }
  return host;
}

/** A host configured for the test database `db`. */
export function startHostFor(db: DatabaseAddress): Promise<ProviderHost> {
  return startConfiguredHost(databaseConfig(db));
}
