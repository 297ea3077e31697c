// npm run bench:engine — what `pulumi preview`, `up`, `refresh` and `destroy` cost on the real engine at fleet
// scale. Prints figures; asserts nothing. Run it under the engine tier's clusters:
//
//   engine/build.sh && engine/cluster.sh run npm run bench:engine
//
// For BENCH_ENGINE_SIZES environments (default 50,200), each in both regions of Pulumi.e2e.yaml (the clusters'
// contexts), it runs a stack's whole lifecycle: preview of the empty stack, up from empty, a no-op up, an up
// after a one-line change (the image), refresh, destroy. Per operation: wall time, CPU time (the program's
// process, and the CLI with the plugins it started, from the children's rusage), engine steps (the engine's
// resource events), peak RSS of the CLI, the program and the plugins (the process tree sampled from /proc), the
// reads both API servers answered and their bytes (their metrics); after the first up, the checkpoint's bytes
// per sentinel.
//   ours      index.ts as an inline program: components, the dynamic provider's rows (a throwaway MariaDB),
//             the hooks (a prewarm receiver on 127.0.0.1), existing database logins
//   baseline  the same Kubernetes objects (the program evaluated under the mock runtime, as `npm run synth`
//             writes them), declared as plain @pulumi/kubernetes resources with the same providers and options,
//             at the top level: no components, rows or hooks
// Both run in this process, on the same CLI and clusters, alternating. A figure is the median of
// BENCH_ENGINE_RUNS runs (default 3); a size whose lifecycle takes over 5 minutes (predicted from the previous size,
// or found in its first run) runs once. When that is known before it starts, or BENCH_ENGINE_RUNS=1, its preview
// and no-op up run BENCH_ENGINE_QUICK_REPEAT times within the run (default 1; 3 gives them a median of three at
// about 4 more minutes at 200 environments). Also per operation: the reads (GET, LIST) both API servers answered
// and the bytes they sent.
//
// Settings: BENCH_ENGINE_PARALLEL (--parallel of every operation; default 1000, more than the 400 Deployments of
// the largest default fleet, each of which waits for its rollout: the CLI's default, 4 × the cores, queues those
// waits in batches), BENCH_ENGINE_REFRESH_PARALLEL (--parallel of refresh, default 50: a refresh waits for no
// rollout, and 1000 reads in flight took each Kubernetes plugin past 9 GB at 200 environments),
// BENCH_ENGINE_VARIANTS (ours,baseline), BENCH_ENGINE_REFRESH_KINDS (refresh only the resources of these
// Kubernetes kinds, e.g. Deployment: --target). The CLI's own environment passes through; PULUMI_SKIP_CHECKPOINTS
// defaults to true here (set it to false to measure the checkpoints): the file backend rewrites the whole
// snapshot twice per changed resource, which at 200 environments alone would take hours (docs/performance.md).
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import type { Server } from "http";
import type { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { EngineEvent, PulumiFn, Stack } from "@pulumi/pulumi/automation";
import {
  checkpointFile,
  createInlineStack,
  engineCommand,
  projectProgram,
  randomSecret,
  ROOT,
  stackFile,
} from "../engine/driver";
import { isSecretEnvelope, type CapturedResource } from "../synth/mockEngine";
import { prewarmReceiver } from "../tests/e2e/receiver";
import { startDatabase, type TestDatabase } from "../tests/harness/mariadb";
import { syntheticConfig } from "../tests/harness/syntheticFleet";

const SIZES = (process.env.BENCH_ENGINE_SIZES ?? "50,200").split(",").map(Number);
const RUNS = Math.max(1, Number(process.env.BENCH_ENGINE_RUNS ?? 3));
const PARALLEL = Number(process.env.BENCH_ENGINE_PARALLEL ?? 1000);
const REFRESH_PARALLEL = Number(process.env.BENCH_ENGINE_REFRESH_PARALLEL ?? 50);
const VARIANTS = (process.env.BENCH_ENGINE_VARIANTS ?? "ours,baseline").split(",") as Variant[];
const REFRESH_KINDS = (process.env.BENCH_ENGINE_REFRESH_KINDS ?? "").split(",").filter((k) => k !== "");
const SINGLE_RUN_MS = 5 * 60_000;
const QUICK_REPEAT = Math.max(1, Number(process.env.BENCH_ENGINE_QUICK_REPEAT ?? 1));
const SAMPLE_MS = 250;
const IMAGES = ["ghcr.io/unkeyed/unkey:v2.0.31", "ghcr.io/unkeyed/unkey:v2.0.32"];
const CLOCK_TICK_MS = 1000 / Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());

type Variant = "ours" | "baseline";
const OPS = ["preview", "up", "no-op up", "image up", "refresh", "destroy"] as const;
type Op = (typeof OPS)[number];

interface OpFigures {
  wallMs: number;
  programCpuMs: number;
  engineCpuMs: number;
  steps: number;
  cliRssMb: number;
  programRssMb: number;
  pluginsRssMb: number;
  apiReads: number;
  apiReadBytes: number;
}

interface Lifecycle {
  ops: Record<Op, OpFigures>;
  checkpointBytesPerSentinel: number;
  totalMs: number;
}

// --- the stacks ------------------------------------------------------------------------------------------------

interface Region {
  readonly id: string;
  readonly name: string;
  readonly kubeContext: string;
}

const E2E = (
  YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.e2e.yaml"), "utf8")) as { config: Record<string, any> }
).config;
const REGIONS = E2E["sentinel-fleet:regions"] as Region[];
const PLATFORM = E2E["sentinel-fleet:platform"] as string;
const NAMESPACE = E2E["sentinel-fleet:namespace"] as string;

interface Services {
  readonly db: TestDatabase;
  readonly prewarmUrl: string;
  readonly prewarmToken: string;
}

/** The stack's plain config and its secrets (full keys; `databaseLogins.<region>.primary` set by path). */
function fleetConfig(
  envs: number,
  image: string,
  s: Services,
): { config: Record<string, unknown>; secrets: Record<string, string> } {
  const config: Record<string, unknown> = {
    ...Object.fromEntries(Object.entries(E2E).filter(([k]) => !k.startsWith("sentinel-fleet:environments"))),
    "sentinel-fleet:image": image,
    // The clusters carry the CiliumNetworkPolicy CRD (engine/manifests/), so the fleet declares what production does.
    "sentinel-fleet:ciliumNetworkPolicies": true,
    "sentinel-fleet:environments": (
      syntheticConfig(envs).config["sentinel-fleet:environments"] as object[]
    ).map(
      // One pod each: an image change surges one more per Deployment, within the kwok nodes' capacity
      // (engine/cluster.sh: 3 × ENGINE_CLUSTER_NODE_PODS per region).
      (e) => ({ ...e, replicas: 1, cpuMillicores: 50, memoryMib: 32 }),
    ),
    "sentinel-fleet:database": {
      // Less the privileges of managed logins: the operator's logins are not the program's to describe.
      ...Object.fromEntries(
        Object.entries(E2E["sentinel-fleet:database"] as object).filter(([k]) => k !== "sentinelPrivileges"),
      ),
      host: s.db.host,
      port: s.db.port,
      user: s.db.user,
      name: s.db.database,
      logins: "existing",
    },
    "sentinel-fleet:prewarm": {
      ...(E2E["sentinel-fleet:prewarm"] as object),
      urlTemplate: `${s.prewarmUrl}/prewarm/{region}/{k8sName}`,
    },
  };
  const secrets: Record<string, string> = {
    "sentinel-fleet:databasePassword": s.db.password,
    "sentinel-fleet:clickhouseUrl": `clickhouse://default:${randomSecret()}@clickhouse.bench.invalid:9000/unkey`,
    "sentinel-fleet:redisUrl": `redis://:${randomSecret()}@redis.bench.invalid:6379`,
    "sentinel-fleet:prewarmToken": s.prewarmToken,
  };
  for (const r of REGIONS) {
    // What the pods would dial; nothing dials it (kwok runs no container).
    secrets[`sentinel-fleet:databaseLogins.${r.name}.primary`] =
      `sentinel_bench:${randomSecret()}@tcp(mysql.bench.invalid:3306)/${s.db.database}?parseTime=true&interpolateParams=true`;
  }
  return { config, secrets };
}

// --- the baseline --------------------------------------------------------------------------------------------

/**
 * The program's Kubernetes objects and providers for a config, from the mock runtime in a child process (the mock
 * runtime is process-wide state the engine's inline programs must not inherit).
 */
function captureObjects(config: Record<string, unknown>, secretKeys: string[]): CapturedResource[] {
  const file = path.join(os.tmpdir(), `bench-engine-capture-${process.pid}.json`);
  fs.writeFileSync(file, JSON.stringify({ config, secretKeys }), { mode: 0o600 });
  try {
    const r = spawnSync(
      process.execPath,
      ["--stack-trace-limit=1", "-r", "ts-node/register/transpile-only", __filename, "--capture", file],
      {
        cwd: ROOT,
        encoding: "utf8",
        maxBuffer: 1024 * 1024 * 1024,
        // The mock evaluation of the largest default fleet takes well under a minute.
        timeout: 10 * 60_000,
        env: { ...process.env, BENCH_ENGINE_CAPTURE: "1" },
      },
    );
    if (r.status !== 0) throw new Error(`capturing the baseline's objects failed: ${r.stderr.slice(-3000)}`);
    return JSON.parse(fs.readFileSync(file, "utf8")) as CapturedResource[];
  } finally {
    fs.rmSync(file, { force: true });
  }
}

async function captureChild(file: string): Promise<void> {
  const { runProgram } = await import("../synth/mockEngine");
  const { config, secretKeys } = JSON.parse(fs.readFileSync(file, "utf8")) as {
    config: Record<string, unknown>;
    secretKeys: string[];
  };
  // An update, as synth evaluates it: every value known.
  const run = await runProgram({ config, secretKeys, preview: false, fireHooks: false, stack: "bench" });
  const kube = run.resources.filter(
    (r) => r.type.startsWith("kubernetes:") || r.type === "pulumi:providers:kubernetes",
  );
  fs.writeFileSync(file, JSON.stringify(kube));
}

/** Wire values back into program values: secret envelopes become secret Outputs. */
function programValue(value: unknown): any {
  if (Array.isArray(value)) return value.map(programValue);
  if (typeof value === "object" && value !== null) {
    const o = value as Record<string, unknown>;
    if (isSecretEnvelope(o)) return pulumi.secret(programValue(o.value));
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, programValue(v)]));
  }
  return value;
}

const urnOfReference = (ref: string) => ref.slice(0, ref.lastIndexOf("::"));

/** The @pulumi/kubernetes class of a type token (`kubernetes:apps/v1:Deployment`); none for custom resources. */
function kubeClass(
  type: string,
): (new (name: string, args: any, opts: pulumi.CustomResourceOptions) => unknown) | null {
  const m = /^kubernetes:([^/]+)\/([^:]+):(.+)$/.exec(type);
  if (m === null) return null;
  const [, group, version, kind] = m;
  return ((k8s as any)[group]?.[version]?.[kind] as never) ?? null;
}

/** The baseline's program: `objects()` (the current capture) as plain resources at the top level. */
function baselineProgram(objects: () => CapturedResource[]): PulumiFn {
  return () => {
    const all = objects();
    const providers = new Map<string, pulumi.ProviderResource>();
    for (const p of all.filter((r) => r.type === "pulumi:providers:kubernetes")) {
      providers.set(p.urn, new k8s.Provider(p.name, providerArgs(p.inputs)));
    }
    // Namespaced objects wait for their cluster's namespace, as a plain program's `namespace: ns.metadata.name` would.
    const namespaces = new Map<string, pulumi.Resource>();
    const kube = all.filter((r) => r.type.startsWith("kubernetes:"));
    for (const r of kube.filter((o) => o.type === "kubernetes:core/v1:Namespace")) {
      namespaces.set(clusterOf(r, all), declare(r, providers, []));
    }
    for (const r of kube.filter((o) => o.type !== "kubernetes:core/v1:Namespace")) {
      const ns = namespaces.get(clusterOf(r, all));
      declare(r, providers, ns === undefined ? [] : [ns]);
    }
    return Promise.resolve({});
  };
}

/** Provider inputs come off the wire JSON-encoded; @pulumi/kubernetes's Provider encodes them again. */
function providerArgs(inputs: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(inputs)
      .filter(([k]) => k !== "version")
      .map(([k, v]) => {
        if (
          typeof v !== "string" ||
          k === "context" ||
          k === "namespace" ||
          k === "kubeconfig" ||
          k === "cluster"
        )
          return [k, v];
        try {
          return [k, JSON.parse(v)];
        } catch {
          return [k, v];
        }
      }),
  );
}

function clusterOf(r: CapturedResource, all: CapturedResource[]): string {
  const provider = all.find((p) => p.urn === urnOfReference(r.provider));
  return String(provider?.inputs.context ?? "");
}

function declare(
  r: CapturedResource,
  providers: Map<string, pulumi.ProviderResource>,
  dependsOn: pulumi.Resource[],
): pulumi.Resource {
  const opts: pulumi.CustomResourceOptions = {
    provider: providers.get(urnOfReference(r.provider)),
    dependsOn,
    retainOnDelete: r.retainOnDelete,
    deleteBeforeReplace: r.deleteBeforeReplace,
    ...(r.customTimeouts === null ? {} : { customTimeouts: r.customTimeouts }),
  };
  const args = programValue(r.inputs);
  const Class = kubeClass(r.type);
  if (Class !== null) return new Class(r.name, args, opts) as pulumi.Resource;
  return new k8s.apiextensions.CustomResource(r.name, args, opts);
}

// --- measuring -----------------------------------------------------------------------------------------------

interface ProcStat {
  pid: number;
  ppid: number;
  comm: string;
  rssMb: number;
}

const PAGE_MB = Number(execFileSync("getconf", ["PAGESIZE"], { encoding: "utf8" }).trim()) / (1024 * 1024);

function readStat(pid: number | "self"): { comm: string; fields: string[] } | null {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = s.lastIndexOf(")");
    return { comm: s.slice(s.indexOf("(") + 1, close), fields: s.slice(close + 2).split(" ") };
  } catch {
    return null;
  }
}

function processes(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    const st = readStat(Number(d));
    if (st === null) continue;
    out.push({
      pid: Number(d),
      ppid: Number(st.fields[1]),
      comm: st.comm,
      rssMb: Number(st.fields[21]) * PAGE_MB,
    });
  }
  return out;
}

/** CPU of this process's waited-for children (the CLI and, through it, its plugins), from /proc/self/stat. */
function childrenCpuMs(): number {
  const st = readStat("self");
  if (st === null) return 0;
  return (Number(st.fields[13]) + Number(st.fields[14])) * CLOCK_TICK_MS;
}

/** Peak RSS of the CLI (`pulumi` children of this process), its descendants (plugins) and this process. */
function startSampler(): () => { cliRssMb: number; programRssMb: number; pluginsRssMb: number } {
  const peak = { cliRssMb: 0, programRssMb: 0, pluginsRssMb: 0 };
  const sample = () => {
    const all = processes();
    const children = new Map<number, ProcStat[]>();
    for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
    const clis = (children.get(process.pid) ?? []).filter((p) => p.comm === "pulumi");
    let plugins = 0;
    const walk = (pid: number) => {
      for (const c of children.get(pid) ?? []) {
        plugins += c.rssMb;
        walk(c.pid);
      }
    };
    clis.forEach((c) => walk(c.pid));
    peak.cliRssMb = Math.max(
      peak.cliRssMb,
      clis.reduce((a, c) => a + c.rssMb, 0),
    );
    peak.pluginsRssMb = Math.max(peak.pluginsRssMb, plugins);
    peak.programRssMb = Math.max(peak.programRssMb, process.memoryUsage.rss() / (1024 * 1024));
  };
  const timer = setInterval(sample, SAMPLE_MS);
  sample();
  return () => {
    clearInterval(timer);
    sample();
    return peak;
  };
}

/**
 * Reads (GET and LIST of API resources) both API servers have answered since they started, and the bytes of
 * their responses, from each server's own metrics. During an operation these are mostly the Kubernetes plugins'
 * reads: the controllers and kwok watch rather than read (steady in a refresh, a preview or a no-op up).
 */
function apiReadCounters(): { reads: number; bytes: number } {
  let reads = 0;
  let bytes = 0;
  const resourceRead = /[{,]resource="[^"]+"/;
  const readVerb = /[{,]verb="(GET|LIST)"/;
  for (const r of REGIONS) {
    const text = kubectl(["--context", r.kubeContext, "get", "--raw", "/metrics"]);
    for (const line of text.split("\n")) {
      const counter = line.startsWith("apiserver_request_total{")
        ? "reads"
        : line.startsWith("apiserver_response_sizes_sum{")
          ? "bytes"
          : null;
      if (counter === null || !resourceRead.test(line) || !readVerb.test(line)) continue;
      const value = Number(line.slice(line.lastIndexOf(" ") + 1));
      if (counter === "reads") reads += value;
      else bytes += value;
    }
  }
  return { reads, bytes };
}

async function measure(run: (onEvent: (e: EngineEvent) => void) => Promise<unknown>): Promise<OpFigures> {
  let steps = 0;
  const onEvent = (e: EngineEvent) => {
    if (e.resourcePreEvent !== undefined) steps++;
  };
  const api0 = apiReadCounters();
  const stop = startSampler();
  const cpu0 = process.cpuUsage();
  const children0 = childrenCpuMs();
  const t0 = performance.now();
  await run(onEvent);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const rss = stop();
  const api = apiReadCounters();
  return {
    wallMs,
    programCpuMs: (cpu.user + cpu.system) / 1000,
    engineCpuMs: childrenCpuMs() - children0,
    steps,
    ...rss,
    apiReads: api.reads - api0.reads,
    apiReadBytes: api.bytes - api0.bytes,
  };
}

/** kubectl's output; its errors reach the caller's error. */
function kubectl(args: string[]): string {
  return execFileSync("kubectl", args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    maxBuffer: 256 * 1024 * 1024,
    timeout: 180_000,
  });
}

/** Both clusters without the namespace (ours retains it on destroy; the baseline copies that). */
function removeNamespaces(): void {
  for (const r of REGIONS) {
    kubectl([
      "--context",
      r.kubeContext,
      "delete",
      "namespace",
      NAMESPACE,
      "--ignore-not-found",
      "--wait",
      "--timeout=170s",
    ]);
  }
}

async function lifecycle(
  variant: Variant,
  envs: number,
  run: number,
  s: Services,
  pulumiCmd: Awaited<ReturnType<typeof engineCommand>>,
  stateDir: string,
  repeat: number,
): Promise<Lifecycle> {
  const name = `bench-${variant}-${envs}-${run}`;
  const [first, second] = IMAGES.map((image) => fleetConfig(envs, image, s));
  let stack: Stack;
  let setImage: () => Promise<void>;
  if (variant === "ours") {
    await s.db.reset(REGIONS.map((r) => ({ id: r.id, name: r.name, platform: PLATFORM })));
    stack = await createInlineStack(pulumiCmd, name, projectProgram(), first.config, first.secrets);
    setImage = () => stack.setConfig("sentinel-fleet:image", { value: IMAGES[1] });
  } else {
    const secretKeys = Object.keys(first.secrets).filter((k) => !k.includes("databaseLogins"));
    const withLogins = (c: typeof first) => ({
      ...c.config,
      ...Object.fromEntries(secretKeys.map((k) => [k, c.secrets[k]])),
      "sentinel-fleet:databaseLogins": Object.fromEntries(
        REGIONS.map((r) => [
          r.name,
          { primary: c.secrets[`sentinel-fleet:databaseLogins.${r.name}.primary`] },
        ]),
      ),
    });
    const keys = [...secretKeys, "sentinel-fleet:databaseLogins"];
    const captures = [captureObjects(withLogins(first), keys), captureObjects(withLogins(second), keys)];
    let current = captures[0];
    stack = await createInlineStack(
      pulumiCmd,
      name,
      baselineProgram(() => current),
      {},
    );
    setImage = () => {
      current = captures[1];
      return Promise.resolve();
    };
  }
  const parallel = { parallel: PARALLEL };
  const started = performance.now();
  const ops = {} as Record<Op, OpFigures>;
  try {
    ops.preview = await medianOf(repeat, () => measure((onEvent) => stack.preview({ onEvent, ...parallel })));
    ops.up = await measure((onEvent) => stack.up({ onEvent, ...parallel }));
    const checkpointBytes = fs.statSync(checkpointFile(stateDir, name)).size;
    ops["no-op up"] = await medianOf(repeat, () => measure((onEvent) => stack.up({ onEvent, ...parallel })));
    await setImage();
    ops["image up"] = await measure((onEvent) => stack.up({ onEvent, ...parallel }));
    const target = REFRESH_KINDS.length === 0 ? {} : { target: await urnsOfKinds(stack, REFRESH_KINDS) };
    ops.refresh = await measure((onEvent) =>
      stack.refresh({ onEvent, parallel: REFRESH_PARALLEL, ...target }),
    );
    ops.destroy = await measure((onEvent) => stack.destroy({ onEvent, ...parallel }));
    return {
      ops,
      checkpointBytesPerSentinel: checkpointBytes / (envs * REGIONS.length),
      totalMs: performance.now() - started,
    };
  } finally {
    await stack.workspace.removeStack(name, { force: true }).catch(() => undefined);
    fs.rmSync(stackFile(name), { force: true });
    removeNamespaces();
  }
}

/** The repetition with the median wall time, of `n` that change nothing (preview, no-op up). */
async function medianOf(n: number, op: () => Promise<OpFigures>): Promise<OpFigures> {
  const all: OpFigures[] = [];
  for (let i = 0; i < n; i++) all.push(await op());
  return [...all].sort((a, b) => a.wallMs - b.wallMs)[(n - 1) >> 1];
}

async function urnsOfKinds(stack: Stack, kinds: string[]): Promise<string[]> {
  const state = await stack.exportStack();
  const resources = (state.deployment as { resources?: { urn: string; type: string }[] }).resources ?? [];
  return resources.filter((r) => kinds.some((k) => r.type.endsWith(`:${k}`))).map((r) => r.urn);
}

// --- report --------------------------------------------------------------------------------------------------

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Figure name -> value, for one lifecycle. */
function figures(l: Lifecycle): Map<string, number> {
  const f = new Map<string, number>();
  for (const op of OPS) {
    const o = l.ops[op];
    f.set(`${op} wall s`, o.wallMs / 1000);
    f.set(`${op} CPU s`, (o.programCpuMs + o.engineCpuMs) / 1000);
  }
  for (const op of OPS) f.set(`${op} engine steps`, l.ops[op].steps);
  for (const op of OPS) f.set(`${op} API reads`, l.ops[op].apiReads);
  for (const op of OPS) f.set(`${op} API read MB`, l.ops[op].apiReadBytes / (1024 * 1024));
  for (const op of OPS) {
    f.set(`${op} CPU s, program`, l.ops[op].programCpuMs / 1000);
    f.set(`${op} CPU s, CLI and plugins`, l.ops[op].engineCpuMs / 1000);
  }
  f.set("checkpoint bytes per sentinel", l.checkpointBytesPerSentinel);
  const peak = (k: "cliRssMb" | "programRssMb" | "pluginsRssMb") =>
    Math.max(...OPS.map((op) => l.ops[op][k]));
  f.set("peak RSS MB, CLI", peak("cliRssMb"));
  f.set("peak RSS MB, program", peak("programRssMb"));
  f.set("peak RSS MB, plugins", peak("pluginsRssMb"));
  return f;
}

const fmt = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

async function main(): Promise<void> {
  process.env.PULUMI_SKIP_CHECKPOINTS ??= "true";
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "bench-engine-"));
  const stateDir = path.join(work, "state");
  const pulumiCmd = await engineCommand(stateDir);
  const db = await startDatabase();
  const prewarmToken = randomSecret();
  const server: Server = prewarmReceiver(prewarmToken, () => undefined);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const services: Services = {
    db,
    prewarmToken,
    prewarmUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  };
  const lines: string[] = [];
  const cpus = os.cpus();
  console.log(
    `bench:engine: Pulumi CLI ${pulumiCmd.version?.toString() ?? "?"}, ${cpus.length} × ${cpus[0]?.model ?? "?"}, ` +
      `load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(" ")}; sizes ${SIZES.join(", ")} environments × ` +
      `${REGIONS.length} regions; ${RUNS} run(s); parallel ${PARALLEL} (refresh ${REFRESH_PARALLEL}); ` +
      `PULUMI_SKIP_CHECKPOINTS=${process.env.PULUMI_SKIP_CHECKPOINTS}` +
      (process.env.PULUMI_PARALLEL_DIFF ? `; PULUMI_PARALLEL_DIFF=${process.env.PULUMI_PARALLEL_DIFF}` : "") +
      (REFRESH_KINDS.length > 0 ? `; refresh --target ${REFRESH_KINDS.join(",")}` : ""),
  );
  try {
    removeNamespaces();
    // The longest lifecycle of the last size run.
    let previousEnvs = 0;
    let previousMs = 0;
    for (const envs of SIZES) {
      const results: Record<Variant, Lifecycle[]> = { ours: [], baseline: [] };
      // A size run once (BENCH_ENGINE_RUNS=1, or a lifecycle the previous size predicts, linearly, to take over 5
      // minutes) repeats its quick operations (preview, no-op up) QUICK_REPEAT times, so they still have a median.
      const predictedSingle = previousEnvs > 0 && (previousMs * envs) / previousEnvs > SINGLE_RUN_MS;
      let runs = predictedSingle ? 1 : RUNS;
      const repeat = runs === 1 ? QUICK_REPEAT : 1;
      for (let run = 0; run < runs; run++) {
        for (const variant of run % 2 === 0 ? VARIANTS : [...VARIANTS].reverse()) {
          const l = await lifecycle(variant, envs, run, services, pulumiCmd, stateDir, repeat);
          results[variant].push(l);
          previousMs = previousEnvs === envs ? Math.max(previousMs, l.totalMs) : l.totalMs;
          previousEnvs = envs;
          console.log(
            `  ${envs} environments, run ${run + 1}, ${variant}: ` +
              OPS.map((op) => `${op} ${fmt(l.ops[op].wallMs / 1000)} s`).join(", ") +
              ` (load ${os.loadavg()[0].toFixed(1)})`,
          );
          if (run === 0 && l.totalMs > SINGLE_RUN_MS) runs = 1;
        }
      }
      const med = (v: Variant) => {
        const per = results[v].map(figures);
        return new Map([...(per[0]?.keys() ?? [])].map((k) => [k, median(per.map((p) => p.get(k) ?? NaN))]));
      };
      const ours = med("ours");
      const base = med("baseline");
      console.log(
        `\n${envs} environments × ${REGIONS.length} regions (${envs * REGIONS.length} sentinels), ` +
          (runs === 1
            ? "a single run (a lifecycle took over 5 minutes or BENCH_ENGINE_RUNS=1)" +
              (repeat > 1 ? `; preview and no-op up: the median of ${repeat} within it` : "")
            : `median of ${runs} runs`),
      );
      console.log(
        `${"figure".padEnd(36)} ${"ours".padStart(10)} ${"baseline".padStart(10)} ${"ours÷base".padStart(10)}`,
      );
      for (const k of new Set([...ours.keys(), ...base.keys()])) {
        const o = ours.get(k);
        const b = base.get(k);
        const ratio = o !== undefined && b !== undefined && b > 0 ? o / b : undefined;
        console.log(
          `${k.padEnd(36)} ${(o === undefined ? "-" : fmt(o)).padStart(10)} ${(b === undefined ? "-" : fmt(b)).padStart(10)} ` +
            `${(ratio === undefined ? "-" : ratio.toFixed(2)).padStart(10)}`,
        );
        if (ratio !== undefined)
          lines.push(`${k} at ${envs} environments: ours÷baseline ${ratio.toFixed(2)}`);
      }
    }
    console.log("");
    for (const l of lines) console.log(l);
  } finally {
    server.close();
    await db.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--capture") {
  captureChild(process.argv[3]).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  });
}
