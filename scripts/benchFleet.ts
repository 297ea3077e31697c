// npm run bench:fleet — what evaluating the program costs as the fleet grows. Prints figures; asserts nothing.
//
// For synthetic fleets of BENCH_SIZES environments (default 100,300,1000) x 3 regions, each measurement runs in
// a fresh process on the path `npm run synth` and `pulumi up` share: ts-node (transpile-only, as CI runs it),
// Pulumi.yaml's nodeargs, Pulumi's mock runtime in preview mode:
//   ours      index.ts
//   baseline  scripts/benchBaseline.ts: the same Kubernetes objects from the same builders and config,
//             registered directly as plain @pulumi/kubernetes resources, padded to the same resource count
// It prints resources, wall time, CPU time, peak RSS, the heap still live at the end, µs and KB per resource,
// and ours ÷ baseline. This machine's timings are noisy (shared cores): BENCH_REPEAT=n runs each measurement
// n times, alternating ours and baseline, and keeps each one's fastest run.
// Then, at the smallest size, the ways `pulumi up` can load the program (BENCH_PATHS=0 skips them).
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { programNodeArgs, PROJECT_ROOT } from "../synth/pulumiProject";
import type { SdkCounts } from "../tests/harness/sdkCounters";

interface Figures {
  envs: number;
  program: string;
  resources: number;
  wallMs: number;
  cpuMs: number;
  peakRssMb: number;
  retainedMb: number;
  counts: SdkCounts | null;
}

const SIZES = (process.env.BENCH_SIZES ?? "100,300,1000").split(",").map(Number);
const REPEAT = Math.max(1, Number(process.env.BENCH_REPEAT ?? 1));
const NODE_ARGS = programNodeArgs();
const TS_NODE = ["-r", "ts-node/register/transpile-only"];
const CHILD = "scripts/benchFleetChild.ts";

function measureOnce(args: string[], env: Record<string, string>, cwd = PROJECT_ROOT): Figures {
  // --expose-gc only lets the child measure what stays live after its last collection; it changes nothing else.
  const r = spawnSync(process.execPath, ["--expose-gc", ...args], {
    cwd,
    env: { ...process.env, ...env },
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !line.startsWith("{")) {
    throw new Error(`benchmark child failed (${r.status}): ${r.stderr.slice(-2000)}`);
  }
  return JSON.parse(line) as Figures;
}

/** The fastest of REPEAT runs: noise on a shared machine only ever adds time. */
function best(runs: Figures[]): Figures {
  return runs.reduce((a, b) => (b.wallMs < a.wallMs ? b : a));
}

function row(label: string, f: Figures, base?: Figures): string {
  const cells = [
    label.padEnd(30),
    String(f.envs).padStart(5),
    String(f.resources).padStart(9),
    (f.wallMs / 1000).toFixed(1).padStart(7),
    (f.cpuMs / 1000).toFixed(1).padStart(7),
    f.peakRssMb.toFixed(0).padStart(7),
    f.retainedMb.toFixed(0).padStart(7),
    ((f.wallMs * 1000) / f.resources).toFixed(0).padStart(7),
    ((f.peakRssMb * 1024) / f.resources).toFixed(0).padStart(7),
  ];
  if (base !== undefined) {
    cells.push(
      (f.wallMs / base.wallMs).toFixed(2).padStart(7),
      (f.cpuMs / base.cpuMs).toFixed(2).padStart(7),
      (f.peakRssMb / base.peakRssMb).toFixed(2).padStart(7),
      (f.retainedMb / base.retainedMb).toFixed(2).padStart(7),
    );
  }
  return cells.join(" ");
}

const HEADER =
  `${"program".padEnd(30)}  envs resources  wall s   cpu s  rss MB live MB  µs/res  KB/res` +
  "  wall÷b   cpu÷b   rss÷b  live÷b";

function printHeader(): void {
  console.log(HEADER);
  console.log("-".repeat(HEADER.length));
}

function scaling(): void {
  console.log(
    `ours vs baseline: ts-node transpile-only, node ${NODE_ARGS.join(" ") || "(no flags)"} (Pulumi.yaml ` +
      `nodeargs), best of ${REPEAT}\n`,
  );
  printHeader();
  const ours: Figures[] = [];
  for (const envs of SIZES) {
    const o: Figures[] = [];
    const b: Figures[] = [];
    for (let i = 0; i < REPEAT; i++) {
      const mine = measureOnce([...NODE_ARGS, ...TS_NODE, CHILD], {
        BENCH_ENVS: String(envs),
        BENCH_PROGRAM: "ours",
      });
      o.push(mine);
      b.push(
        measureOnce([...NODE_ARGS, ...TS_NODE, CHILD], {
          BENCH_ENVS: String(envs),
          BENCH_PROGRAM: "baseline",
          BENCH_TARGET_RESOURCES: String(mine.resources),
        }),
      );
    }
    console.log(row("ours", best(o), best(b)));
    console.log(row("baseline", best(b)));
    ours.push(best(o));
  }
  for (let i = 1; i < ours.length; i++) {
    const a = ours[i - 1];
    const b = ours[i];
    console.log(
      `growth ${a.envs} -> ${b.envs} environments (x${(b.envs / a.envs).toFixed(2)}): ` +
        `resources x${(b.resources / a.resources).toFixed(2)}, time x${(b.wallMs / a.wallMs).toFixed(2)}, ` +
        `peak RSS x${(b.peakRssMb / a.peakRssMb).toFixed(2)}, live heap x${(b.retainedMb / a.retainedMb).toFixed(2)}`,
    );
  }
}

/**
 * What each registered resource costs the SDK, counted rather than timed (tests/harness/sdkCounters.ts): the same on
 * every run and machine, where the timings above swing with this machine's load. At the smallest size, as the
 * counts per resource barely move with size.
 */
function sdkWork(): void {
  const envs = String(SIZES[0]);
  const args = [...NODE_ARGS, ...TS_NODE, CHILD];
  const ours = measureOnce(args, { BENCH_ENVS: envs, BENCH_PROGRAM: "ours", BENCH_COUNT: "1" });
  const base = measureOnce(args, {
    BENCH_ENVS: envs,
    BENCH_PROGRAM: "baseline",
    BENCH_TARGET_RESOURCES: String(ours.resources),
    BENCH_COUNT: "1",
  });
  const labels: Record<keyof SdkCounts, string> = {
    outputs: "Outputs constructed",
    promises: "SDK promises (a stack trace each)",
    serialized: "values serialized",
    stackFrames: "stack frames captured and mapped",
  };
  console.log(`
SDK work per registered resource, ${envs} environments (counted, not timed):
`);
  console.log(`${"".padEnd(36)}${"ours".padStart(8)}${"baseline".padStart(10)}${"ours÷b".padStart(8)}`);
  for (const key of Object.keys(labels) as (keyof SdkCounts)[]) {
    const o = ours.counts?.[key] ?? null;
    const b = base.counts?.[key] ?? null;
    const per = (n: number | null, f: Figures) => (n === null ? "n/a" : (n / f.resources).toFixed(1));
    const ratio = o === null || b === null || b === 0 ? "n/a" : (o / b).toFixed(2);
    console.log(
      `${labels[key].padEnd(36)}${per(o, ours).padStart(8)}${per(b, base).padStart(10)}${ratio.padStart(8)}`,
    );
  }
}

/**
 * How `pulumi up` can load the program, measured at the smallest size. Pulumi's runner (cmd/run) registers
 * source-map-support for every program and the SDK ships .js.map files, so even precompiled JavaScript pays for
 * mapping the stack frames the SDK captures; only the last row, which no Pulumi path takes, does not.
 */
function loadingPaths(): void {
  const envs = String(SIZES[0]);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "sentinel-fleet-bench-js-"));
  try {
    const tsc = require.resolve("typescript/bin/tsc");
    execFileSync(process.execPath, [tsc, "-p", PROJECT_ROOT, "--outDir", out, "--sourceMap", "false"], {
      stdio: "inherit",
    });
    fs.symlinkSync(path.join(PROJECT_ROOT, "node_modules"), path.join(out, "node_modules"));
    fs.copyFileSync(path.join(PROJECT_ROOT, "package.json"), path.join(out, "package.json"));
    fs.copyFileSync(path.join(PROJECT_ROOT, "Pulumi.yaml"), path.join(out, "Pulumi.yaml"));
    const js = path.join("scripts", "benchFleetChild.js");
    const env = { BENCH_ENVS: envs, BENCH_PROGRAM: "ours" };
    const sms = ["-r", "source-map-support/register"];
    const paths: [string, string[], string?][] = [
      ["ts-node type-check, no flags", ["-r", "ts-node/register", CHILD]],
      ["ts-node type-check + nodeargs", [...NODE_ARGS, "-r", "ts-node/register", CHILD]],
      ["ts-node transpile + nodeargs", [...NODE_ARGS, ...TS_NODE, CHILD]],
      ["JS + source maps + nodeargs", [...NODE_ARGS, ...sms, js], out],
      ["JS, no source maps, no flags", [js], out],
    ];
    console.log(`\nloading paths for ${envs} environments (ours), best of ${REPEAT}:\n`);
    printHeader();
    for (const [label, args, cwd] of paths) {
      const runs = Array.from({ length: REPEAT }, () => measureOnce(args, env, cwd));
      console.log(row(label, best(runs)));
    }
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

function main(): void {
  const cpu = os.cpus();
  const started = Date.now();
  console.log(
    `bench:fleet — ${cpu.length} cores (${cpu[0]?.model ?? "unknown"}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
      `node ${process.version}; synthetic fleets over 3 regions, evaluated in preview under Pulumi's mock runtime\n`,
  );
  scaling();
  sdkWork();
  if (process.env.BENCH_PATHS !== "0") loadingPaths();
  console.log(`\nbench:fleet took ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main();
