// Pulumi names that would collide: rejected before anything is declared, and only the collisions the engine
// would really see (a URN is the parent type chain, the type and the name).
import { strict as assert } from "assert";
import { FleetConfigError, parseFleetConfig, type FleetConfig } from "../lib/config";
import { declaredResources, nameCollisionProblems } from "../lib/names";
import type { ProgramRun } from "../synth/mockEngine";
import { exampleConfig, runExample } from "./support/fixtures";

const K = (name: string) => `sentinel-fleet:${name}`;
const env = (environmentId: string, regions: string[]) => ({
  workspaceId: "ws_x",
  projectId: "proj_x",
  appId: "app_x",
  environmentId,
  slug: "staging",
  regions,
});
const region = (name: string, i: number) => ({ id: `reg_${i}`, name });

function overrides(regions: string[], envs: ReturnType<typeof env>[], extra: Record<string, unknown> = {}) {
  return {
    [K("regions")]: regions.map(region),
    [K("environments")]: envs,
    [K("prewarm")]: undefined,
    [K("prewarmToken")]: undefined,
    ...extra,
  };
}
function config(regions: string[], envs: ReturnType<typeof env>[], extra: Record<string, unknown> = {}) {
  const { config: values, secretKeys } = exampleConfig(overrides(regions, envs, extra));
  const all: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) all[k] = typeof v === "string" ? v : JSON.stringify(v);
  return parseFleetConfig({ values: all, secretKeys });
}

/** URN-relevant parts of what the mock engine registered. Its monitor keeps only the nearest parent's type. */
function registered(run: ProgramRun): string[] {
  return run.resources
    .map((r) => `${r.urn.split("::")[2]}::${r.name}`)
    .filter((k) => !k.startsWith("pulumi:pulumi:Stack::"))
    .sort();
}
function declared(cfg: FleetConfig): string[] {
  return declaredResources(cfg)
    .map((r) => `${r.qualifiedType.split("$").slice(-2).join("$")}::${r.name}`)
    .sort();
}

describe("Pulumi names that collide", () => {
  it("rejects two (environment, region) pairs that join to the same names, naming both", () => {
    const cfg = config(["c", "b-c"], [env("a-b", ["c"]), env("a", ["b-c"])]);
    const problems = nameCollisionProblems(cfg);
    assert.equal(problems.length, 1, JSON.stringify(problems));
    assert.equal(problems[0].path, "sentinel-fleet:environments[1] (a)");
    assert.match(problems[0].message, /environment "a-b" in region "c" and environment "a" in region "b-c"/);
    assert.match(problems[0].message, /would both declare [^ ]+ "a-b-c-[a-z-]+"/);
  });

  it("reports every clash at once, each pair once", () => {
    const cfg = config(
      ["c", "b-c", "z", "y-z"],
      [env("a-b", ["c"]), env("a", ["b-c"]), env("x-y", ["z"]), env("x", ["y-z"]), env("ok", ["c", "z"])],
    );
    assert.deepEqual(
      nameCollisionProblems(cfg).map((p) => p.path),
      ["sentinel-fleet:environments[1] (a)", "sentinel-fleet:environments[3] (x)"],
    );
  });

  it("rejects a region whose name ends like another region's resource suffix, of the same type", () => {
    // region-x-namespace is both region x's namespace provider and region x-namespace's own provider.
    const problems = nameCollisionProblems(config(["x", "x-namespace"], [env("e", ["x"])]));
    assert.equal(problems.length, 1, JSON.stringify(problems));
    assert.equal(problems[0].path, "sentinel-fleet:regions[1] (x-namespace)");
    assert.match(
      problems[0].message,
      /region "x-namespace" and region "x"|region "x" and region "x-namespace"/,
    );
    assert.match(problems[0].message, /kubernetes "region-x-namespace"/);
  });

  it("accepts look-alike names of different types: their URNs differ", () => {
    // e-x-gossip is the gossip Service of (e, x) and the Sentinel of (e, x-gossip); e-x-db a Secret and a
    // Sentinel; region-x-sentinel-db a login of x and the provider of region x-sentinel-db.
    for (const regions of [
      ["x", "x-gossip"],
      ["x", "x-db"],
      ["x", "x-gossip-policy"],
      ["x", "x-sentinel-db"],
      ["x", "x-sentinel-db-b"],
    ]) {
      const cfg = config(regions, [env("e", regions)]);
      assert.deepEqual(nameCollisionProblems(cfg), [], regions.join(" + "));
    }
  });

  it("only counts what this stack declares: a clash outside deployRegions is another stack's", () => {
    const cfg = config(["c", "b-c"], [env("a-b", ["c"]), env("a", ["b-c"])], { [K("deployRegions")]: ["c"] });
    assert.deepEqual(nameCollisionProblems(cfg), []);
  });

  it("rejects regions whose MySQL logins would be one user, in any shard", () => {
    const cfg = config(["a-b", "a--b"], [env("e", ["a-b"])], { [K("deployRegions")]: ["a-b"] });
    const problems = nameCollisionProblems(cfg);
    assert.ok(problems.length >= 1);
    assert.match(problems[0].message, /regions "a-b" and "a--b" would share the MySQL login "sentinel_a_b"/);
    assert.equal(problems[0].path, "sentinel-fleet:regions[1] (a--b)");
  });

  it("lists exactly what the program registers (example stack, a region shard, no Cilium, no otel, a region base, look-alikes)", async function () {
    this.timeout(60_000);
    const variants: Record<string, unknown>[] = [
      {},
      { [K("deployRegions")]: ["eu-central-1"] },
      { [K("ciliumNetworkPolicies")]: false, [K("otel")]: undefined, [K("otelHeaders")]: undefined },
      // A region base stack declares only what the regions share.
      { [K("stackRole")]: "regionBase" },
      // Look-alike names of different types, all accepted: every one of them registered, none twice.
      overrides(
        ["x", "x-gossip", "x-env", "x-gossip-policy", "x-namespace-b", "x-sentinel-db", "x-sentinel-db-b"],
        [env("e", ["x", "x-gossip", "x-env", "x-gossip-policy", "x-sentinel-db", "x-sentinel-db-b"])],
      ),
    ];
    for (const extra of variants) {
      const { config: values, secretKeys } = exampleConfig(extra);
      const all: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(values)) all[k] = typeof v === "string" ? v : JSON.stringify(v);
      const cfg = parseFleetConfig({ values: all, secretKeys });
      assert.deepEqual(nameCollisionProblems(cfg), [], JSON.stringify(extra));
      const run = await runExample(true, extra);
      const names = registered(run);
      assert.deepEqual(declared(cfg), names, JSON.stringify(extra));
      // What the real engine would refuse ("Duplicate resource URN"): the mock engine does not check it.
      const urns = run.resources.map((r) => r.urn);
      assert.equal(new Set(urns).size, urns.length, JSON.stringify(extra));
    }
  });

  it("lists exactly what an environment shard registers (its StackReference, no shared objects)", async function () {
    this.timeout(60_000);
    const base = "acme/sentinel-fleet/sentinels-base";
    const environments = (exampleConfig().config[K("environments")] as Record<string, unknown>[]).map(
      (e, i) => ({ ...e, shard: i === 0 ? "a" : "b" }),
    );
    const fleet = { [K("shards")]: ["a", "b"], [K("environments")]: environments };
    const baseRun = await runExample(
      false,
      { ...fleet, [K("stackRole")]: "regionBase" },
      { stack: "sentinels-base" },
    );
    for (const shard of ["a", "b"]) {
      const extra = {
        ...fleet,
        [K("stackRole")]: "environmentShard",
        [K("regionBaseStack")]: base,
        [K("shard")]: shard,
      };
      const { config: values, secretKeys } = exampleConfig(extra);
      const all: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(values)) all[k] = typeof v === "string" ? v : JSON.stringify(v);
      const cfg = parseFleetConfig({ values: all, secretKeys });
      const run = await runExample(false, extra, {
        stack: `sentinels-${shard}`,
        stackReferences: { [base]: baseRun.exports },
      });
      const names = registered(run);
      assert.ok(names.includes("pulumi:pulumi:StackReference::region-base"), names.join("\n"));
      assert.ok(!names.some((n) => n.startsWith("kubernetes:core/v1:Namespace::")), names.join("\n"));
      assert.deepEqual(declared(cfg), names, shard);
      assert.equal(new Set(run.resources.map((r) => r.urn)).size, run.resources.length, shard);
    }
  });

  it("stops the program with one FleetConfigError before any resource is registered", async () => {
    let count = 0;
    await assert.rejects(
      runExample(false, overrides(["c", "b-c"], [env("a-b", ["c"]), env("a", ["b-c"])]), {
        onRegister: () => count++,
      }),
      (err: Error) => {
        assert.ok(err instanceof FleetConfigError, String(err));
        assert.match(err.message, /1 problem; nothing was created/);
        assert.match(err.message, /sentinel-fleet:environments\[1\] \(a\): environment "a-b" in region "c"/);
        return true;
      },
    );
    assert.equal(count, 0);
  });
});
