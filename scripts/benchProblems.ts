// npm run bench:problems — what listing the problems of a large invalid fleet costs. For fleets of N invalid
// environments (two problems each) prints the problems listed, the Array work counted while parsing
// (tests/support/workCounter.ts: callback calls, elements scanned, sort comparisons: the same on every run),
// that work per problem, and the wall time. Work per problem that stays flat as N grows is linear listing.
// Asserts nothing.
import { FleetConfigError, parseFleetConfig } from "../lib/config";
import { exampleConfig, TEST_SECRETS } from "../tests/support/fixtures";
import { countArrayWork } from "../tests/support/workCounter";

const SIZES = (process.env.BENCH_PROBLEMS ?? "7500,15000,30000").split(",").map(Number);

const { config } = exampleConfig();
const template = (config["sentinel-fleet:environments"] as Record<string, unknown>[])[0];

console.log("environments  problems   array work  work/problem  ms");
for (const n of SIZES) {
  const environments = Array.from({ length: n }, (_, i) => ({
    ...template,
    environmentId: `env_${i}`,
    slug: `s${i}`,
    replicas: -1,
    cpuMillicores: -1,
  }));
  const values = { ...config, "sentinel-fleet:environments": JSON.stringify(environments) };
  let problems = 0;
  const started = process.hrtime.bigint();
  const work = countArrayWork(() => {
    try {
      parseFleetConfig({ values, secretKeys: Object.keys(TEST_SECRETS) });
    } catch (e) {
      if (!(e instanceof FleetConfigError)) throw e;
      problems = e.problems.length;
    }
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  console.log(
    `${String(n).padStart(12)}  ${String(problems).padStart(8)}  ${String(work).padStart(11)}  ` +
      `${(work / Math.max(problems, 1)).toFixed(1).padStart(12)}  ${ms.toFixed(0)}`,
  );
}
