// A region base stack and two environment shards on one backend, the shards reading the base's DSNs through a
// StackReference (README, "Environment shards within a region"); an environment moved from one shard to the
// other with `pulumi state move` (docs/operations.md): no object deleted or recreated, the row kept. First, rows
// registered under the stack's default dynamic provider (older releases) move to the explicit rows' provider
// in place.
import * as assert from "assert";
import * as fs from "fs";
import * as YAML from "yaml";
import * as pulumiSdk from "@pulumi/pulumi";
import type { EngineEvent, PulumiFn } from "@pulumi/pulumi/automation";
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
import { readStackConfig } from "../../lib/config";
import { LABELS, PROJECT } from "../../lib/constants";
import { RECORDS_PROVIDER_NAME, RESOURCE_TYPES } from "../../lib/names";
import { SentinelRecord, SentinelRecordsProvider } from "../../providers/sentinelRecord";
import { checkedConfig, checkStack, prepareDatabase, tierStack, type TierStack } from "./stacks";
import { ENGINE_PHASE, noProblems } from "./assertions";
import { BASE_STACK_FILE, cli, secret, stackFile, startTier, type Tier } from "./tier";

const ORG = "organization/sentinel-fleet";
/** Shard b's environments (every other one is in shard a); the first moves to shard a, the other stays. */
const IN_SHARD_B = "env_engine_preview";
const STAYS_IN_B = "env_engine_staging";

type Env = Record<string, unknown> & { environmentId: string };

/** The base file's environments, each assigned to a shard. */
function environments(shardOf: (id: string) => string): Env[] {
  const c = (YAML.parse(fs.readFileSync(BASE_STACK_FILE, "utf8")) as { config: Record<string, unknown> })
    .config;
  const listed = c["sentinel-fleet:environments"] as Env[];
  const staging = { ...listed[listed.length - 1], environmentId: STAYS_IN_B, slug: "staging" };
  return [...listed, staging].map((e) => ({ ...e, shard: shardOf(e.environmentId) }));
}

const inShards = (id: string) => ([IN_SHARD_B, STAYS_IN_B].includes(id) ? "b" : "a");
const movedShards = (id: string) => (id === STAYS_IN_B ? "b" : "a");

/** The uid of every object the program manages, by cluster, kind and name: a recreated object gets a new one. */
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

/** The step the engine plans for each resource (`type::name`), from an operation's events. */
function stepRecorder(): [Record<string, string>, (e: EngineEvent) => void] {
  const ops: Record<string, string> = {};
  return [
    ops,
    (e) => {
      const m = e.resourcePreEvent?.metadata;
      if (m !== undefined) ops[`${m.type}::${m.urn.split("::").pop()}`] = m.op;
    },
  ];
}

const rowKey = (r: SentinelRow) => `${r.id} ${r.environment_id} ${r.region_id} ${r.k8s_name}`;

/** One row, declared as older releases did (the stack's default dynamic provider) or under the explicit one. */
function oneRecord(explicit: boolean): PulumiFn {
  return () => {
    const cfg = readStackConfig();
    const region = cfg.regions[0];
    const provider = explicit
      ? new SentinelRecordsProvider(RECORDS_PROVIDER_NAME, {
          connection: cfg.database.providerConnection,
          password: cfg.database.password.toOutput(),
        })
      : undefined;
    const record = new SentinelRecord(
      `env_engine_upgrade-${region.name}`,
      {
        workspaceId: "ws_engine",
        projectId: "proj_engine",
        environmentId: "env_engine_upgrade",
        environmentSlug: "preview",
        regionId: region.id,
        namespace: cfg.namespace,
        image: cfg.image,
      },
      { provider },
    );
    return Promise.resolve({ sentinelId: record.sentinelId, urn: pulumiSdk.output(record.urn) });
  };
}

describe("a region base stack and two environment shards on the real engine", function () {
  this.timeout(15 * 60_000);
  let tier: Tier;
  let base: TierStack;
  const shards: Record<string, TierStack> = {};
  let logins: Awaited<ReturnType<typeof prepareDatabase>>;

  before(async () => {
    tier = await startTier();
    logins = await prepareDatabase(tier);
    const before = environments(inShards);
    base = await tierStack(tier, "base", logins, {
      stackRole: "regionBase",
      shards: ["a", "b"],
      environments: before,
    });
    // What a fleet's stacks share besides the base's DSNs: the pods' other secrets.
    const fleetSecrets = {
      clickhouseUrl: `clickhouse://default:${secret()}@clickhouse.engine.invalid:9000/unkey`,
      redisUrl: `redis://:${secret()}@redis.engine.invalid:6379`,
    };
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
        fleetSecrets,
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
    noProblems("shards up", fleetProblems(inShards));
  });

  it("moves rows from the default dynamic provider to the explicit one in place: same row, no replacement", async () => {
    const s = await tierStack(tier, "rows-upgrade", logins, { stackRole: "fleet" });
    let cfg: ReturnType<typeof checkedConfig> | undefined;
    try {
      const first = await s.stack.up({ program: oneRecord(false) });
      const id = first.outputs.sentinelId.value as string;
      const [ops, onEvent] = stepRecorder();
      await s.stack.preview({ program: oneRecord(true), onEvent });
      assert.deepStrictEqual(
        ops,
        {
          [`${RESOURCE_TYPES.recordsProvider}::${RECORDS_PROVIDER_NAME}`]: "create",
          [`${RESOURCE_TYPES.record}::env_engine_upgrade-us-east-1`]: "same",
          [`${RESOURCE_TYPES.recordsProvider}::default`]: "delete",
          "pulumi:pulumi:Stack::sentinel-fleet-engine-t-rows-upgrade": "same",
        },
        "the preview of the move",
      );
      const second = await s.stack.up({ program: oneRecord(true) });
      assert.strictEqual(second.outputs.sentinelId.value, id, "the record's id changed");
      const state = (await s.stack.exportStack()).deployment as {
        resources: { type: string; urn: string; provider?: string }[];
      };
      const record = state.resources.find((r) => r.type === RESOURCE_TYPES.record);
      assert.match(record?.provider ?? "", /::pulumi:providers:pulumi-nodejs::sentinel-records::/);
      assert.ok(!state.resources.some((r) => r.urn.endsWith("::pulumi:providers:pulumi-nodejs::default")));
      checkStack(s);
      cfg = checkedConfig();
      const rows = queryRows(cfg).filter((r) => r.environment_id === "env_engine_upgrade");
      assert.deepStrictEqual(
        rows.map((r) => r.id),
        [id],
        "one row, the same",
      );
    } finally {
      await s.stack.destroy();
      await s.stack.workspace.removeStack(s.stack.name);
      fs.rmSync(stackFile(s.name), { force: true });
    }
    assert.ok(cfg !== undefined);
    assert.deepStrictEqual(
      queryRows(cfg).filter((r) => r.environment_id === "env_engine_upgrade"),
      [],
      "destroy left the row",
    );
  });

  it("moves an environment between shards with pulumi state move: nothing deleted or recreated, the row kept", async () => {
    checkStack(base);
    const cfg = checkedConfig();
    const uidsBefore = objectUids(clusters(cfg));
    const rowsBefore = queryRows(cfg).map(rowKey);
    const urn = `urn:pulumi:${shards.b.name}::sentinel-fleet::sentinel-fleet:index:SentinelEnvironment::${IN_SHARD_B}`;
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
    const after = environments(movedShards);
    for (const s of [base, shards.a, shards.b]) {
      const file = stackFile(s.name);
      const doc = YAML.parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
      doc.config["sentinel-fleet:environments"] = after;
      fs.writeFileSync(file, YAML.stringify(doc));
    }
    for (const s of [shards.a, shards.b]) {
      const [ops, onEvent] = stepRecorder();
      await s.stack.preview({ onEvent });
      // Every resource the same; the StackReference reads the base stack on every run.
      const changed = Object.entries(ops).filter(
        ([key, op]) =>
          op !== "same" && !(key === "pulumi:pulumi:StackReference::region-base" && op === "read"),
      );
      assert.deepStrictEqual(changed, [], `${s.name}: the preview after the move`);
      await s.stack.up();
    }
    noProblems("after the move", fleetProblems(movedShards));
    assert.deepStrictEqual(objectUids(clusters(cfg)), uidsBefore, "an object was deleted and recreated");
    assert.deepStrictEqual(queryRows(cfg).map(rowKey), rowsBefore, "a row was replaced");
  });

  it("destroy of the shards, then of the base, leaves the retained namespace alone", async () => {
    for (const s of [shards.a, shards.b, base]) await s.stack.destroy();
    checkStack(base);
    noProblems("destroy", await phase("destroy", ENGINE_PHASE));
  });
});
