// npm run bench:state — what the fleet costs in Pulumi state and engine steps. Prints counted figures (the same
// on every run); asserts nothing.
//
// The state is built from mock `pulumi up` runs as the engine writes its checkpoint (tests/harness/stateModel.ts): per
// resource its inputs and outputs (the dynamic provider's `__provider` text counted where it sits, in both),
// and the entry around them (urn, parent, dependencies, provider reference, times, stack trace). Per sentinel
// means: everything under a SentinelEnvironment (the environment's components, its Secret, gossip Service and
// policy, each sentinel's record, Deployment, Service and PodDisruptionBudget) and the sentinel's stack export,
// divided by the sentinels; what a stack holds once or once per region (providers, namespace, database logins,
// the stack itself, a StackReference) is counted apart as its fixed part.
//
// The synthetic fleets (tests/harness/syntheticFleet.ts: N environments x 3 regions) are evaluated at BENCH_STATE_EVAL
// (default 100, 1000 and 3000 environments, the sizes: several minutes, most of it the 9,000 sentinels
// of the largest), so every figure per sentinel and every single-stack total printed for them is counted from a
// run of that size. Sizes not evaluated (a quicker BENCH_STATE_EVAL=10,100, say) are projected from the largest
// one evaluated, sentinels x bytes per sentinel + the fixed part, and marked so. Sharded: a region base stack
// and environment shards (BENCH_STATE_SHARD sentinels at most per shard, default 1000), measured from a base
// and a shard run of BENCH_STATE_SHARD_EVAL environments (default: the largest evaluated size, at most 1000)
// and projected to shards of that size; the per-region column is projected too.
import type { ProgramRun } from "../synth/mockEngine";
import { runProgram } from "../synth/mockEngine";
import { measureState, type StateFigures, type StateSplit } from "../tests/harness/stateModel";
import { syntheticConfig } from "../tests/harness/syntheticFleet";
import { exampleConfig } from "../tests/support/fixtures";

const PROJECT_SIZES = [100, 1000, 3000];
const EVAL_SIZES = (process.env.BENCH_STATE_EVAL ?? PROJECT_SIZES.join(",")).split(",").map(Number);
const SHARD_SENTINELS = Number(process.env.BENCH_STATE_SHARD ?? 1000);
const SHARD_EVAL = Number(process.env.BENCH_STATE_SHARD_EVAL ?? Math.min(Math.max(...EVAL_SIZES), 1000));
const REGIONS = 3;
const BASE = "bench/sentinel-fleet/base";

function run(
  config: Record<string, unknown>,
  secretKeys: string[],
  stack: string,
  refs = {},
): Promise<ProgramRun> {
  return runProgram({ config, secretKeys, preview: false, fireHooks: false, stack, stackReferences: refs });
}

const kb = (bytes: number) => (bytes / 1024).toFixed(2);
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const per = (split: StateSplit, sentinels: number) => ({
  total: split.total / sentinels,
  providerCode: split.providerCode / sentinels,
  kubernetes: split.kubernetes / sentinels,
  otherValues: split.otherValues / sentinels,
  metadata: split.metadata / sentinels,
  resources: split.resources / sentinels,
});

function perSentinelTable(columns: [string, StateFigures][]): void {
  const rows: [string, (p: ReturnType<typeof per>) => string][] = [
    ["provider code (__provider, inputs + outputs)", (p) => kb(p.providerCode)],
    ["Kubernetes objects (inputs + outputs)", (p) => kb(p.kubernetes)],
    ["other inputs + outputs (row, export)", (p) => kb(p.otherValues)],
    ["entry metadata (urn, deps, stack trace...)", (p) => kb(p.metadata)],
    ["total", (p) => kb(p.total)],
    ["total without the provider code", (p) => kb(p.total - p.providerCode)],
    ["resources (engine steps)", (p) => p.resources.toFixed(2)],
    [
      "inputs+outputs / Kubernetes objects",
      (p) => ((p.kubernetes + p.otherValues + p.providerCode) / p.kubernetes).toFixed(2),
    ],
    [
      "  the same without the provider code",
      (p) => ((p.kubernetes + p.otherValues) / p.kubernetes).toFixed(2),
    ],
    ["whole entries / Kubernetes objects", (p) => (p.total / p.kubernetes).toFixed(2)],
    ["  the same without the provider code", (p) => ((p.total - p.providerCode) / p.kubernetes).toFixed(2)],
  ];
  console.log(`${"KB per sentinel".padEnd(46)}${columns.map(([label]) => label.padStart(16)).join("")}`);
  for (const [label, cell] of rows) {
    const cells = columns.map(([, f]) => cell(per(f.perEnvironment, f.sentinels)).padStart(16));
    console.log(`${label.padEnd(46)}${cells.join("")}`);
  }
}

/** Projected bytes of a stack of `sentinels` sentinels, from measured figures per sentinel and fixed. */
function project(f: StateFigures, sentinels: number, withCode: boolean): number {
  const p = per(f.perEnvironment, f.sentinels);
  return sentinels * (withCode ? p.total : p.total - p.providerCode) + f.shared.total - f.shared.providerCode;
}

async function main(): Promise<void> {
  const started = Date.now();
  console.log(
    "bench:state — Pulumi state and engine steps per sentinel, counted from mock `pulumi up` runs " +
      "(tests/harness/stateModel.ts: the checkpoint as the engine writes it, compact JSON)\n",
  );

  const example = exampleConfig();
  const exampleRun = measureState(await run(example.config, example.secretKeys, "dev"), "dev");
  const evaluated: [string, StateFigures][] = [["Pulumi.dev.yaml", exampleRun]];
  const bySize = new Map<number, StateFigures>();
  for (const envs of EVAL_SIZES) {
    const { config, secretKeys } = syntheticConfig(envs, REGIONS);
    const figures = measureState(await run(config, secretKeys, "bench"), "bench");
    bySize.set(envs, figures);
    evaluated.push([`${envs} envs x ${REGIONS}`, figures]);
  }
  console.log(
    `example stack: ${exampleRun.sentinels} sentinels, ${exampleRun.perEnvironment.resources} resources under ` +
      `environments (${(exampleRun.perEnvironment.resources / exampleRun.sentinels).toFixed(2)} per sentinel; ` +
      `goal <= 9), ${exampleRun.shared.resources} shared\n`,
  );
  perSentinelTable(evaluated);

  // Sharded: one region base stack for the regions, environment shards reading it.
  const largest = SHARD_EVAL;
  const base = syntheticConfig(largest, REGIONS, 2, { "sentinel-fleet:stackRole": "regionBase" });
  const baseRun = await run(base.config, base.secretKeys, "base");
  const shard = syntheticConfig(largest, REGIONS, 2, {
    "sentinel-fleet:stackRole": "environmentShard",
    "sentinel-fleet:regionBaseStack": BASE,
    "sentinel-fleet:shard": "s0",
  });
  const shardFigures = measureState(
    await run(shard.config, shard.secretKeys, "shard-s0", { [BASE]: baseRun.exports }),
    "shard-s0",
  );
  const baseFigures = measureState(baseRun, "base");
  console.log(`\nsharded (${largest} envs x ${REGIONS}, 2 shards), shard s0:`);
  perSentinelTable([["one shard", shardFigures]]);
  console.log(
    `fixed part: one stack ${kb(evaluated[evaluated.length - 1][1].shared.total)} KB; region base stack ` +
      `${kb(baseFigures.all.total)} KB (${baseFigures.all.resources} resources for ${REGIONS} regions); ` +
      `a shard ${kb(shardFigures.shared.total)} KB`,
  );

  const largestEvaluated = Math.max(...EVAL_SIZES);
  const single = bySize.get(largestEvaluated) as StateFigures;
  console.log(
    `\nstate of the whole fleet (MB; "no code": without the provider code, the stub's share; "one stack": ` +
      `counted from the run of that size where "basis" says so, else projected from ${largestEvaluated} ` +
      `environments; "per region": projected from the same figures; shards of at most ${SHARD_SENTINELS} ` +
      `sentinels + one region base stack, projected from the ${largest}-environment shard run)\n`,
  );
  const header = [
    "envs",
    "basis",
    "sentinels",
    "resources",
    "one stack",
    "no code",
    "per region",
    "no code",
    "shards",
    "per shard",
    "no code",
  ];
  console.log(header.map((h, i) => (i === 0 ? h.padStart(6) : h.padStart(11))).join(""));
  for (const envs of PROJECT_SIZES) {
    const counted = bySize.get(envs);
    const own = counted ?? single;
    const sentinels = counted?.sentinels ?? envs * REGIONS;
    const shards = Math.ceil(sentinels / SHARD_SENTINELS);
    const inShard = Math.ceil(sentinels / shards);
    const resources =
      counted?.all.resources ??
      sentinels * (single.perEnvironment.resources / single.sentinels) + single.shared.resources;
    const oneStack = (withCode: boolean) =>
      counted === undefined
        ? project(single, sentinels, withCode)
        : counted.all.total - (withCode ? 0 : counted.all.providerCode);
    const perRegion = (withCode: boolean) =>
      project(own, sentinels / REGIONS, withCode) -
      ((REGIONS - 1) / REGIONS) * (own.shared.total - own.shared.providerCode);
    const cells = [
      String(envs).padStart(6),
      (counted === undefined ? "projected" : "counted").padStart(11),
      String(sentinels).padStart(11),
      resources.toFixed(0).padStart(11),
      mb(oneStack(true)).padStart(11),
      mb(oneStack(false)).padStart(11),
      mb(perRegion(true)).padStart(11),
      mb(perRegion(false)).padStart(11),
      String(shards).padStart(11),
      mb(project(shardFigures, inShard, true)).padStart(11),
      mb(project(shardFigures, inShard, false)).padStart(11),
    ];
    console.log(cells.join(""));
  }
  console.log(`\nbench:state took ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
