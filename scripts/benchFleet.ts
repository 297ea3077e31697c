// npm run bench:fleet — what evaluating the program costs as the fleet grows. Prints figures; asserts nothing.
//
// For synthetic fleets of BENCH_SIZES environments (default 100,300,1000) x 3 regions, each measurement runs
// in a fresh process on the path `npm run synth` takes (ts-node, transpile-only, Pulumi's mock runtime, preview):
//   ours      index.ts
//   baseline  scripts/benchBaseline.ts: the same Kubernetes objects from the same builders and config,
//             registered directly as plain @pulumi/kubernetes resources, padded to the same resource count
// and prints resources, wall time, CPU time, peak RSS, µs and KB per resource, and ours ÷ baseline.
// Then, at the smallest size, the ways `pulumi up` could load the program (BENCH_PATHS=0 skips them).
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

interface Figures {
  envs: number;
  program: string;
  resources: number;
  wallMs: number;
  cpuMs: number;
  peakRssMb: number;
}

const ROOT = path.resolve(__dirname, "..");
const SIZES = (process.env.BENCH_SIZES ?? "100,300,1000").split(",").map(Number);
const HEAP_MB = Math.max(4096, Math.floor((os.totalmem() / 1024 / 1024) * 0.8));

function measure(args: string[], env: Record<string, string>, cwd = ROOT): Figures {
  const r = spawnSync(process.execPath, [`--max-old-space-size=${HEAP_MB}`, ...args], {
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

const TS_CHILD = ["-r", "ts-node/register/transpile-only", "scripts/benchFleetChild.ts"];

function row(label: string, f: Figures, base?: Figures): string {
  const cells = [
    label.padEnd(22),
    String(f.envs).padStart(6),
    String(f.resources).padStart(7),
    (f.wallMs / 1000).toFixed(1).padStart(7),
    (f.cpuMs / 1000).toFixed(1).padStart(7),
    f.peakRssMb.toFixed(0).padStart(8),
    ((f.wallMs * 1000) / f.resources).toFixed(0).padStart(7),
    ((f.peakRssMb * 1024) / f.resources).toFixed(0).padStart(7),
  ];
  if (base !== undefined) {
    cells.push(
      (f.wallMs / base.wallMs).toFixed(2).padStart(7),
      (f.peakRssMb / base.peakRssMb).toFixed(2).padStart(7),
    );
  }
  return cells.join(" ");
}

const HEADER =
  "program                  envs resources  wall s   cpu s  rss MB  µs/res  KB/res  time÷b   rss÷b\n" +
  "-".repeat(98);

function main(): void {
  const cpu = os.cpus();
  console.log(
    `bench:fleet — ${cpu.length} cores (${cpu[0]?.model ?? "unknown"}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
      `node ${process.version}; 3 regions; preview under Pulumi's mock runtime (the synth path)\n`,
  );
  console.log(HEADER);
  const ours: Figures[] = [];
  for (const envs of SIZES) {
    const o = measure(TS_CHILD, { BENCH_ENVS: String(envs), BENCH_PROGRAM: "ours" });
    const b = measure(TS_CHILD, {
      BENCH_ENVS: String(envs),
      BENCH_PROGRAM: "baseline",
      BENCH_TARGET_RESOURCES: String(o.resources),
    });
    console.log(row("ours", o, b));
    console.log(row("baseline", b));
    ours.push(o);
  }
  for (let i = 1; i < ours.length; i++) {
    const a = ours[i - 1];
    const b = ours[i];
    const size = b.envs / a.envs;
    console.log(
      `growth ${a.envs} -> ${b.envs} environments (x${size.toFixed(2)}): time x${(b.wallMs / a.wallMs).toFixed(2)}, ` +
        `memory x${(b.peakRssMb / a.peakRssMb).toFixed(2)}, resources x${(b.resources / a.resources).toFixed(2)}`,
    );
  }

  if (process.env.BENCH_PATHS === "0") return;
  // How `pulumi up` could load the program, at the smallest size. Pulumi's runner registers
  // source-map-support for every program (cmd/run/index.js), and the SDK ships .js.map files, so a
  // precompiled program still pays for mapping every stack frame the SDK captures.
  const envs = String(SIZES[0]);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "sentinel-fleet-bench-js-"));
  try {
    execFileSync(
      process.execPath,
      [require.resolve("typescript/bin/tsc"), "-p", ROOT, "--outDir", out, "--sourceMap", "false"],
      {
        stdio: "inherit",
      },
    );
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(out, "node_modules"));
    fs.copyFileSync(path.join(ROOT, "package.json"), path.join(out, "package.json"));
    const js = path.join("scripts", "benchFleetChild.js");
    const env = { BENCH_ENVS: envs, BENCH_PROGRAM: "ours" };
    console.log(`\nloading paths for ${envs} environments (ours):`);
    console.log(HEADER);
    console.log(row("ts-node transpile-only", measure(TS_CHILD, env)));
    console.log(
      row("ts-node type-checking", measure(["-r", "ts-node/register", "scripts/benchFleetChild.ts"], env)),
    );
    console.log(row("JS + source-map-support", measure(["-r", "source-map-support/register", js], env, out)));
    console.log(row("JS, no source maps", measure([js], env, out)));
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

main();
