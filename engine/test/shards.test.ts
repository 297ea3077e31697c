// A region base stack and two environment shards on one backend, the shards reading the base through a
// StackReference; then an environment moved from one shard to the other with `pulumi state move` (README,
// "Moving an environment between shards"): no object deleted or recreated, the row kept.
import * as assert from "assert";
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
  type ClusterState,
  type SentinelRow,
} from "../../tests/e2e/check";
import { LABELS, PROJECT } from "../../lib/constants";
import { checkedConfig, checkStack, prepareDatabase, tierStack, type TierStack } from "./stacks";
import { ENGINE_PHASE, noProblems } from "./assertions";
import { BASE_STACK_FILE, cli, stackFile, startTier, type Tier } from "./tier";

const ORG = "organization/sentinel-fleet";
const MOVED = "env_engine_preview";

type Env = Record<string, unknown> & { environmentId: string };

/** The base file's environments, each assigned to a shard. */
function environments(shardOf: (id: string) => string): Env[] {
  const c = (YAML.parse(fs.readFileSync(BASE_STACK_FILE, "utf8")) as { config: Record<string, unknown> })
    .config;
  return (c["sentinel-fleet:environments"] as Env[]).map((e) => ({ ...e, shard: shardOf(e.environmentId) }));
}

/** Every object the program manages in each region, by kind/name → uid. */
function objectUids(states: readonly ClusterState[]): Record<string, string> {
  const uids: Record<string, string> = {};
  for (const s of states) {
    for (const o of s.objects) {
      if (o.metadata.labels?.[LABELS.managedBy] !== PROJECT) continue;
      uids[`${s.region}/${o.kind}/${o.metadata.name}`] = (o.metadata as { uid?: string }).uid ?? "";
    }
  }
  return uids;
}

describe("a region base stack and two environment shards on the real engine", function () {
  this.timeout(15 * 60_000);
  let tier: Tier;
  let base: TierStack;
  const shards: Record<string, TierStack> = {};

  before(async () => {
    tier = await startTier();
    const logins = await prepareDatabase(tier);
    const before = environments((id) => (id === MOVED ? "b" : "a"));
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
      fleetProblems((id) => (id === MOVED ? "b" : "a")),
    );
  });

  it("moves an environment between shards with pulumi state move: nothing deleted or recreated, the row kept", async () => {
    checkStack(base);
    const cfg = checkedConfig();
    const uidsBefore = objectUids(clusters(cfg));
    const rowsBefore = queryRows(cfg);
    const urn = `urn:pulumi:${shards.b.name}::sentinel-fleet::sentinel-fleet:index:SentinelEnvironment::${MOVED}`;
    await cli(tier, [
      "state",
      "move",
      "--source",
      `${ORG}/${shards.b.name}`,
      "--dest",
      `${ORG}/${shards.a.name}`,
      urn,
      "--yes",
    ]);
    const after = environments(() => "a");
    for (const s of [base, shards.a, shards.b]) {
      const file = stackFile(s.name);
      const doc = YAML.parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
      doc.config["sentinel-fleet:environments"] = after;
      fs.writeFileSync(file, YAML.stringify(doc));
    }
    for (const s of [shards.a, shards.b]) {
      const preview = await s.stack.preview({ expectNoChanges: true });
      const changed = Object.entries(preview.changeSummary).filter(
        ([op, n]) => op !== "same" && (n ?? 0) > 0,
      );
      assert.deepStrictEqual(changed, [], `${s.name}: preview after the move`);
      await s.stack.up();
    }
    noProblems(
      "after the move",
      fleetProblems(() => "a"),
    );
    assert.deepStrictEqual(objectUids(clusters(cfg)), uidsBefore, "an object was deleted and recreated");
    const key = (r: SentinelRow) => `${r.id} ${r.environment_id} ${r.region_id}`;
    assert.deepStrictEqual(queryRows(cfg).map(key), rowsBefore.map(key), "a row was replaced");
  });

  it("destroy of the shards, then of the base, leaves the retained namespace alone", async () => {
    for (const s of [shards.a, shards.b, base]) await s.stack.destroy();
    checkStack(base);
    noProblems("destroy", await phase("destroy", ENGINE_PHASE));
  });
});
