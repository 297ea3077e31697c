// Region waves: the pure ordering, and the dependencies the program reports to the engine under mocks.
import { strict as assert } from "assert";
import * as path from "path";
import { FleetConfigError, type FleetConfig } from "../lib/config";
import { orderByWave } from "../lib/waves";
import type { ProgramRun } from "../synth/mockEngine";
import { runExample } from "./support/fixtures";
import { withOverride } from "./support/overrides";

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const OVERRIDDEN_PROGRAM = path.join(__dirname, "support", "overriddenProgram");
const K = (name: string) => `sentinel-fleet:${name}`;
const r = (name: string) => ({ name });

/** Deployment name (`<environment>-<region>`) → the Deployment names it waits for. */
function deploymentDependencies(run: ProgramRun): Map<string, string[]> {
  const deployments = run.resources.filter((x) => x.type === DEPLOYMENT);
  const nameOf = new Map(deployments.map((d) => [d.urn, d.name]));
  return new Map(
    deployments.map((d) => [d.name, d.dependencies.flatMap((urn) => nameOf.get(urn) ?? []).sort()]),
  );
}

function runWithWaves(
  waves: FleetConfig["waves"],
  preview: boolean,
  overrides: Record<string, unknown> = {},
): Promise<ProgramRun> {
  return withOverride(
    (cfg) => ({ ...cfg, waves }),
    () => runExample(preview, overrides, { program: OVERRIDDEN_PROGRAM }),
  );
}

describe("region waves: the order", () => {
  it("puts every region in wave 0 without waves, in the given order", () => {
    assert.deepEqual(
      orderByWave([r("b"), r("a")], null).map((s) => [s.region.name, s.wave]),
      [
        ["b", 0],
        ["a", 0],
      ],
    );
  });

  it("groups an environment's regions by the configured waves, keeping the region order inside a wave", () => {
    const waves = [["a"], ["c", "b"]];
    assert.deepEqual(
      orderByWave([r("c"), r("a"), r("b")], waves).map((s) => [s.region.name, s.wave]),
      [
        ["a", 0],
        ["c", 1],
        ["b", 1],
      ],
    );
  });

  it("skips waves the environment has no region in, so it waits for its own previous wave", () => {
    const waves = [["a"], ["b"], ["c"]];
    assert.deepEqual(
      orderByWave([r("a"), r("c")], waves).map((s) => [s.region.name, s.wave]),
      [
        ["a", 0],
        ["c", 1],
      ],
    );
    assert.deepEqual(
      orderByWave([r("b"), r("c")], waves).map((s) => s.wave),
      [0, 1],
    );
    assert.deepEqual(
      orderByWave([r("c")], waves).map((s) => s.wave),
      [0],
    );
  });

  it("names a region that is in no wave", () => {
    assert.throws(() => orderByWave([r("a"), r("z")], [["a"]]), /waves: region "z" is in no wave/);
  });
});

describe("region waves under the mock engine", function () {
  this.timeout(120_000);

  it("holds back a later wave's row too, so its image and version change only after the previous wave", async () => {
    const run = await runWithWaves([["us-east-1"], ["eu-central-1"]], true);
    const urnOf = (type: string, name: string) =>
      run.resources.find((x) => x.type === type && x.name === name)!.urn;
    const record = run.resources.find(
      (x) => x.type === "pulumi-nodejs:dynamic:Resource" && x.name === "env_storefront_prod-eu-central-1",
    )!;
    assert.ok(record.dependencies.includes(urnOf(DEPLOYMENT, "env_storefront_prod-us-east-1")));
    const first = run.resources.find(
      (x) => x.type === "pulumi-nodejs:dynamic:Resource" && x.name === "env_storefront_prod-us-east-1",
    )!;
    assert.ok(!first.dependencies.some((d) => d.includes(DEPLOYMENT)));
  });

  it("without waves, no Deployment waits for another", async () => {
    const deps = deploymentDependencies(await runExample(true));
    assert.equal(deps.size, 5);
    for (const [name, on] of deps) assert.deepEqual(on, [], name);
  });

  for (const preview of [true, false]) {
    it(`a wave-2 Deployment waits for its own environment's wave-1 Deployments only (${preview ? "preview" : "up"})`, async () => {
      const deps = deploymentDependencies(await runWithWaves([["us-east-1"], ["eu-central-1"]], preview));
      assert.deepEqual(Object.fromEntries(deps), {
        "env_storefront_prod-us-east-1": [],
        "env_storefront_prod-eu-central-1": ["env_storefront_prod-us-east-1"],
        "env_storefront_preview-us-east-1": [],
        "env_billing_staging-us-east-1": [],
        "env_billing_staging-eu-central-1": ["env_billing_staging-us-east-1"],
      });
    });
  }

  it("follows the configured order, not the order of regions, and introduces no cross-environment dependency", async () => {
    const regions = [
      { id: "reg_use1", name: "us-east-1" },
      { id: "reg_euc1", name: "eu-central-1" },
      { id: "reg_apse1", name: "ap-southeast-1" },
    ];
    const env = (environmentId: string, names: string[]) => ({
      workspaceId: "ws_x",
      projectId: "proj_x",
      appId: "app_x",
      environmentId,
      slug: "staging",
      regions: names,
    });
    const run = await runWithWaves([["ap-southeast-1"], ["us-east-1"], ["eu-central-1"]], true, {
      [K("regions")]: regions,
      [K("prewarm")]: undefined,
      [K("prewarmToken")]: undefined,
      [K("environments")]: [
        env("env_all", ["us-east-1", "eu-central-1", "ap-southeast-1"]),
        env("env_late", ["us-east-1", "eu-central-1"]),
        env("env_gap", ["eu-central-1", "ap-southeast-1"]),
        env("env_one", ["eu-central-1"]),
      ],
    });
    const deps = deploymentDependencies(run);
    assert.deepEqual(Object.fromEntries([...deps].sort(([a], [b]) => a.localeCompare(b))), {
      "env_all-ap-southeast-1": [],
      "env_all-eu-central-1": ["env_all-us-east-1"],
      "env_all-us-east-1": ["env_all-ap-southeast-1"],
      "env_gap-ap-southeast-1": [],
      // env_gap is not in the us-east-1 wave: its eu-central-1 waits for its own previous wave.
      "env_gap-eu-central-1": ["env_gap-ap-southeast-1"],
      "env_late-eu-central-1": ["env_late-us-east-1"],
      "env_late-us-east-1": [],
      "env_one-eu-central-1": [],
    });
    // No resource of one environment depends on any resource of another.
    const envOf = new Map(
      run.resources.map((x) => [
        x.urn,
        /^(env_[a-z]+)-/.exec(x.name)?.[1] ?? (x.name.startsWith("env_") ? x.name : null),
      ]),
    );
    for (const x of run.resources) {
      const own = envOf.get(x.urn);
      if (own === null || own === undefined) continue;
      for (const dep of x.dependencies) {
        const other = envOf.get(dep);
        assert.ok(other === null || other === undefined || other === own, `${x.urn} depends on ${dep}`);
      }
    }
  });
});

describe("region waves with deployRegions, from the stack configuration (the parser and the program agree)", function () {
  this.timeout(120_000);
  const regions = [
    { id: "reg_use1", name: "us-east-1" },
    { id: "reg_euc1", name: "eu-central-1" },
    { id: "reg_apse1", name: "ap-southeast-1" },
  ];
  const stack = (waves: string[][], deployRegions: string[]) => ({
    [K("regions")]: regions,
    [K("deployRegions")]: deployRegions,
    [K("waves")]: waves,
    [K("prewarm")]: undefined,
    [K("prewarmToken")]: undefined,
    [K("environments")]: [
      {
        workspaceId: "ws_x",
        projectId: "proj_x",
        appId: "app_x",
        environmentId: "env_all",
        slug: "staging",
        regions: ["us-east-1", "eu-central-1", "ap-southeast-1"],
      },
    ],
  });

  it("skips a wave whose regions another stack deploys: the next deployed wave waits for the one before", async () => {
    const run = await runExample(
      true,
      stack([["ap-southeast-1"], ["us-east-1"], ["eu-central-1"]], ["ap-southeast-1", "eu-central-1"]),
    );
    assert.deepEqual(Object.fromEntries(deploymentDependencies(run)), {
      "env_all-ap-southeast-1": [],
      "env_all-eu-central-1": ["env_all-ap-southeast-1"],
    });
  });

  it("accepts waves that leave out a region this stack does not deploy", async () => {
    const run = await runExample(
      true,
      stack([["us-east-1"], ["eu-central-1"]], ["us-east-1", "eu-central-1"]),
    );
    assert.deepEqual(Object.fromEntries(deploymentDependencies(run)), {
      "env_all-us-east-1": [],
      "env_all-eu-central-1": ["env_all-us-east-1"],
    });
  });

  it("rejects a deployed region in no wave before anything is registered", async () => {
    let count = 0;
    await assert.rejects(
      runExample(false, stack([["us-east-1"]], ["us-east-1", "eu-central-1"]), { onRegister: () => count++ }),
      (err: Error) => {
        assert.ok(err instanceof FleetConfigError, String(err));
        assert.match(
          err.message,
          /sentinel-fleet:waves: must place every region of deployRegions in a wave; in none: eu-central-1/,
        );
        return true;
      },
    );
    assert.equal(count, 0);
  });
});
