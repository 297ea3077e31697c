// One benchmark measurement in a fresh process: evaluates a program for a synthetic fleet under the mock
// engine in preview mode (the path synth takes) and prints one JSON line of figures.
import { installSdkCounters, type SdkCounts } from "../tests/harness/sdkCounters";
// Before anything loads @pulumi/pulumi: the counters are added as the SDK's files are compiled.
const counting: SdkCounts | null = process.env.BENCH_COUNT === "1" ? installSdkCounters() : null;
import { performance } from "perf_hooks";
import * as path from "path";
import type * as MockEngine from "../synth/mockEngine";
import { syntheticConfig } from "../tests/harness/syntheticFleet";

async function main(): Promise<void> {
  const envs = Number(process.env.BENCH_ENVS ?? 100);
  const program =
    process.env.BENCH_PROGRAM === "baseline"
      ? path.join(__dirname, "benchBaseline")
      : path.join(__dirname, "..", "index");
  // Load the libraries first: the figures are the evaluation, not node_modules start-up (same for both).
  /* eslint-disable @typescript-eslint/no-require-imports */
  require("@pulumi/pulumi");
  require("@pulumi/kubernetes");
  require("@pulumi/mysql");
  require("@pulumi/random");
  const { runProgram } = require("../synth/mockEngine") as typeof MockEngine;
  /* eslint-enable @typescript-eslint/no-require-imports */
  const { config, secretKeys } = syntheticConfig(envs);
  let resources = 0;
  const counted0 = counting === null ? null : { ...counting };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await runProgram({
    config,
    secretKeys,
    preview: true,
    fireHooks: false,
    record: false,
    program,
    onRegister: (n) => (resources = n),
  });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  // Retained memory: what the evaluated program keeps alive, after a full collection (run with --expose-gc).
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const retainedMb = gc === undefined ? null : process.memoryUsage().heapUsed / 2 ** 20;
  console.log(
    JSON.stringify({
      envs,
      program: process.env.BENCH_PROGRAM ?? "ours",
      resources,
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      retainedMb,
      // What the evaluation itself caused: the counts less what loading the libraries did.
      counts:
        counting === null || counted0 === null
          ? null
          : Object.fromEntries(
              Object.entries(counting).map(([k, v]) => {
                const before = counted0[k as keyof SdkCounts];
                return [k, v === null || before === null ? null : v - before];
              }),
            ),
    }),
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
