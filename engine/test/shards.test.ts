// A region base stack and two environment shards on one backend, the shards reading the base's DSNs through a
// StackReference (README, "Environment shards within a region").
import * as fs from "fs";
import * as YAML from "yaml";
import {
  clusterProblems,
  clusters,
  expectedSentinels,
  outputProblems,
  phase,
  pulumi,
  queryRows,
  rowProblems,
} from "../../tests/e2e/check";
import { checkedConfig, checkStack, prepareDatabase, tierStack, type TierStack } from "./stacks";
import { ENGINE_PHASE, noProblems } from "./assertions";
import { BASE_STACK_FILE, startTier, type Tier } from "./tier";

const ORG = "organization/sentinel-fleet";
/** The environment of shard b; every other one is in shard a. */
const IN_SHARD_B = "env_engine_preview";

type Env = Record<string, unknown> & { environmentId: string };

/** The base file's environments, each assigned to a shard. */
function environments(shardOf: (id: string) => string): Env[] {
  const c = (YAML.parse(fs.readFileSync(BASE_STACK_FILE, "utf8")) as { config: Record<string, unknown> })
    .config;
  return (c["sentinel-fleet:environments"] as Env[]).map((e) => ({ ...e, shard: shardOf(e.environmentId) }));
}

describe("a region base stack and two environment shards on the real engine", function () {
  this.timeout(15 * 60_000);
  let tier: Tier;
  let base: TierStack;
  const shards: Record<string, TierStack> = {};

  before(async () => {
    tier = await startTier();
    const logins = await prepareDatabase(tier);
    const before = environments((id) => (id === IN_SHARD_B ? "b" : "a"));
    base = await tierStack(tier, "base", logins, {
      stackRole: "regionBase",
      shards: ["a", "b"],
      environments: before,
    });
    for (const shard of ["a", "b"]) {
      shards[shard] = await tierStack(
        tier,
        `shard-${shard}`,
        {},
        {
          stackRole: "environmentShard",
          regionBaseStack: `${ORG}/${base.name}`,
          shards: ["a", "b"],
          shard,
          environments: before,
        },
      );
    }
  });
  after(async () => {
    await tier?.stop();
  });

  /** The whole fleet as the three stacks deploy it, checked as one: rows, clusters, each shard's outputs. */
  function fleetProblems(shardOf: (id: string) => string): string[] {
    checkStack(base);
    const cfg = checkedConfig();
    const expected = expectedSentinels(cfg);
    const problems = [
      ...rowProblems(expected, queryRows(cfg)),
      ...clusters(cfg).flatMap((c) =>
        clusterProblems(
          expected.filter((s) => s.regionName === c.region),
          c,
          cfg.nodeClass,
        ),
      ),
    ];
    for (const [shard, s] of Object.entries(shards)) {
      checkStack(s);
      const output = JSON.parse(pulumi(["stack", "output", "sentinels", "--json"])) as unknown;
      problems.push(
        ...outputProblems(
          expected.filter((e) => shardOf(e.environmentId) === shard),
          output,
        ).map((p) => `shard ${shard}: ${p}`),
      );
    }
    return problems;
  }

  it("the base, then each shard: every sentinel once, the shards reading the base's DSNs", async () => {
    await base.stack.up();
    for (const s of Object.values(shards)) await s.stack.up();
    noProblems(
      "shards up",
      fleetProblems((id) => (id === IN_SHARD_B ? "b" : "a")),
    );
  });

  it("destroy of the shards, then of the base, leaves the retained namespace alone", async () => {
    for (const s of [shards.a, shards.b, base]) await s.stack.destroy();
    checkStack(base);
    noProblems("destroy", await phase("destroy", ENGINE_PHASE));
  });
});
