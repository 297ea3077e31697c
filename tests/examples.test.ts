// examples/: every example stack runs through synth, and the sharded region's stack files are what its one
// fleet definition generates.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { synthStack } from "../synth";
import { stackFiles } from "../examples/sharded/generate";
import { ROOT } from "./support/fixtures";

const EXAMPLES = path.join(ROOT, "examples");

/** Every example stack file: examples/<example>/Pulumi.<stack>.yaml. */
function exampleStacks(): { example: string; stack: string; file: string }[] {
  return fs
    .readdirSync(EXAMPLES, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) =>
      fs
        .readdirSync(path.join(EXAMPLES, d.name))
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .map((stack) => ({
          example: d.name,
          stack,
          file: path.join(EXAMPLES, d.name, `Pulumi.${stack}.yaml`),
        })),
    )
    .sort((a, b) => a.file.localeCompare(b.file));
}

describe("examples", function () {
  this.timeout(120_000);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "sentinel-fleet-examples-"));
  after(() => fs.rmSync(out, { recursive: true, force: true }));

  it("finds the example stacks", () => {
    assert.deepEqual(
      exampleStacks().map((s) => `${s.example}/${s.stack}`),
      [
        "production/production",
        "sharded/sentinels-us-a",
        "sharded/sentinels-us-b",
        "sharded/sentinels-us-base",
      ],
    );
  });

  it("production: 3 regions and 40 environments on a managed MySQL over TLS, passing every policy", async () => {
    const r = await synthStack({
      stack: "production",
      file: path.join(EXAMPLES, "production", "Pulumi.production.yaml"),
      outDir: out,
    });
    assert.equal(r.review.environments, 40);
    assert.deepEqual(
      r.review.regions.map((l) => [l.region, l.wave]),
      [
        ["eu-central-1", 1],
        ["us-east-1", 2],
        ["ap-southeast-1", 3],
      ],
    );
    assert.equal(r.review.database?.tlsMode, "verify-identity");
    assert.match(r.summary, /TLS verify-identity/);
    assert.ok(r.placeholders.includes("sentinel-fleet:databaseCaCert"));
    assert.deepEqual(r.violations, []);
    assert.deepEqual(r.advisories, []);
  });

  it("sharded: the stack files are what fleet.yaml generates", () => {
    const dir = path.join(EXAMPLES, "sharded");
    const generated = stackFiles(fs.readFileSync(path.join(dir, "fleet.yaml"), "utf8"));
    assert.deepEqual(
      [...generated.keys()].sort(),
      fs
        .readdirSync(dir)
        .filter((f) => /^Pulumi\..+\.yaml$/.test(f))
        .sort(),
    );
    for (const [name, text] of generated)
      assert.equal(fs.readFileSync(path.join(dir, name), "utf8"), text, `${name} is stale: run generate.ts`);
  });

  it("sharded: a stack may not override a shared key", () => {
    assert.throws(
      () => stackFiles("shared:\n  a: 1\nstacks:\n  s:\n    a: 2\n"),
      /fleet\.yaml: stack s sets shared keys: a/,
    );
  });

  it("sharded: the base declares what the region shares, the shards every environment once between them", async () => {
    const run = async (stack: string) =>
      synthStack({ stack, file: path.join(EXAMPLES, "sharded", `Pulumi.${stack}.yaml`), outDir: out });
    const base = await run("sentinels-us-base");
    const a = await run("sentinels-us-a");
    const b = await run("sentinels-us-b");
    assert.equal(base.rows.length, 0);
    assert.deepEqual(base.counts, { Namespace: 1 });
    const count = (r: typeof base, type: string) =>
      r.review.resources.find((x) => x.type === type)?.count ?? 0;
    assert.equal(count(base, "mysql:index/user:User"), 2);
    for (const shard of [a, b]) {
      assert.equal(count(shard, "mysql:index/user:User"), 0);
      assert.equal(shard.counts.Namespace, undefined);
      assert.deepEqual(shard.violations, []);
    }
    const envs = [...a.rows, ...b.rows].map((r) => r.environment_id).sort();
    assert.equal(envs.length, 6);
    assert.equal(new Set(envs).size, 6);
  });
});
