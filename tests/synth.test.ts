// npm run synth: the offline evaluation of a stack file, end to end.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { proposeIdentity } from "../providers/identity";
import { syntheticConfig } from "../tools/syntheticFleet";
import { programNodeArgs } from "../tools/pulumiProject";
import { synthStack, type SynthResult } from "../tools/synth";
import { ROOT, readStackFile } from "./support/fixtures";

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "sentinel-fleet-synth-"));
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

function writeStack(dir: string, config: Record<string, unknown>): string {
  const file = path.join(dir, "Pulumi.test.yaml");
  fs.writeFileSync(file, YAML.stringify({ config }));
  return file;
}

/** The command `npm run synth` runs, as package.json spells it. */
const SYNTH_SCRIPT = (
  JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    scripts: Record<string, string>;
  }
).scripts.synth;

/** Runs synth's CLI the way `npm run synth` does: Pulumi.yaml's node flags, ts-node without type-checking. */
function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(
    process.execPath,
    [...programNodeArgs(), "-r", "ts-node/register/transpile-only", "scripts/synth.ts", ...args],
    { cwd: ROOT, encoding: "utf8" },
  );
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("synth", function () {
  this.timeout(60_000);
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  describe("on the example stack", () => {
    let out: string;
    let result: SynthResult;
    before(async () => {
      out = tempDir();
      dirs.push(out);
      result = await synthStack({ stack: "dev", outDir: out });
    });

    it("writes every Kubernetes object as parseable YAML under its region", () => {
      assert.equal(result.outDir, path.join(out, "dev"));
      assert.deepEqual(fs.readdirSync(result.outDir).sort(), ["eu-central-1", "sentinels.json", "us-east-1"]);
      const files = ["us-east-1", "eu-central-1"].flatMap((region) =>
        fs.readdirSync(path.join(result.outDir, region)).map((f) => path.join(result.outDir, region, f)),
      );
      assert.equal(files.length, 32);
      assert.deepEqual(files.sort(), [...result.files].sort());
      for (const file of files) {
        const object = YAML.parse(fs.readFileSync(file, "utf8"));
        assert.equal(path.basename(file), `${object.kind.toLowerCase()}-${object.metadata.name}.yaml`);
        assert.ok(typeof object.apiVersion === "string");
      }
      assert.deepEqual(result.counts, {
        Namespace: 2,
        Secret: 5,
        Service: 10,
        CiliumNetworkPolicy: 5,
        Deployment: 5,
        PodDisruptionBudget: 5,
      });
      assert.equal(
        fs.readdirSync(path.join(result.outDir, "us-east-1")).filter((f) => f.startsWith("deployment-"))
          .length,
        3,
      );
    });

    it("redacts Secret data and marks values only known after apply", () => {
      const secrets = result.files.filter((f) => path.basename(f).startsWith("secret-"));
      for (const file of secrets) {
        const object = YAML.parse(fs.readFileSync(file, "utf8"));
        const data = object.stringData;
        if (typeof data === "string") assert.equal(data, "<redacted>");
        else for (const value of Object.values(data)) assert.equal(value, "<redacted>");
      }
      // One Secret per environment and region; a preview does not know the generated database password yet,
      // so its whole stringData is one unknown, shown redacted.
      const env = secrets.filter((f) => path.basename(f).startsWith("secret-sentinel-env-"));
      assert.equal(env.length, secrets.length);
      assert.ok(env.length > 0);
      assert.equal(YAML.parse(fs.readFileSync(env[0], "utf8")).stringData, "<redacted>");
      assert.deepEqual(result.placeholders, [
        "sentinel-fleet:databasePassword",
        "sentinel-fleet:clickhouseUrl",
        "sentinel-fleet:redisUrl",
        "sentinel-fleet:prewarmToken",
      ]);
    });

    it("writes the planned sentinels rows, naming the objects", () => {
      const rows = JSON.parse(fs.readFileSync(path.join(result.outDir, "sentinels.json"), "utf8"));
      assert.equal(rows.length, 5);
      for (const row of rows) {
        const { sentinelId, k8sName } = proposeIdentity(row.environment_id, row.region_id);
        assert.equal(row.id, sentinelId);
        assert.equal(row.k8s_name, k8sName);
        assert.equal(row.version, null);
        assert.equal(row.desired_state, "running");
        assert.ok(result.files.some((f) => f.endsWith(`deployment-${k8sName}.yaml`)));
      }
    });

    it("summarises environment by region and passes the mandatory policies", () => {
      assert.match(result.summary, /^environment\s+region\s+sentinel\s+replicas\s+image\s+cpu\/memory$/m);
      assert.match(
        result.summary,
        /^env_billing_staging\s+eu-central-1\s+[a-z0-9]{12}\s+1\s+ghcr\.io\/unkeyed\/unkey:v2\.0\.31\s+500m\/512Mi$/m,
      );
      assert.match(result.summary, /^5 sentinels; 32 Kubernetes objects: /m);
      assert.deepEqual(result.violations, []);
      // The example stack still uses the original's single health endpoint for both probes.
      assert.equal(result.advisories.length, 5);
    });
  });

  it("evaluates the program as pulumi up does: the node flags of Pulumi.yaml's nodeargs", () => {
    const flags = programNodeArgs();
    assert.ok(flags.length > 0, "Pulumi.yaml sets runtime.options.nodeargs");
    assert.equal(SYNTH_SCRIPT, `node ${flags.join(" ")} -r ts-node/register/transpile-only scripts/synth.ts`);
  });

  it("runs as the README's main command: npm run synth -- --stack dev", () => {
    const dir = tempDir();
    dirs.push(dir);
    const r = spawnSync("npm", ["run", "--silent", "synth", "--", "--stack", "dev", "--out", dir], {
      cwd: ROOT,
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^synth: evaluating stack dev under Pulumi's mock runtime/);
    assert.match(r.stdout, /^5 sentinels; 32 Kubernetes objects: /m);
    const written = ["us-east-1", "eu-central-1"].flatMap((region) =>
      fs.readdirSync(path.join(dir, "dev", region)),
    );
    assert.equal(written.length, 32);
    assert.match(r.stdout, new RegExp(`wrote 32 objects and sentinels.json to ${escape(dir)}/dev$`, "m"));
  });

  it("fails with exit code 2 and lists the violations when the config breaks a policy", () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = writeStack(dir, {
      ...readStackFile(),
      "sentinel-fleet:image": "ghcr.io/unkeyed/unkey:latest",
    });
    const r = runCli(["--stack", "test", "--file", file, "--out", dir]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stdout, /5 mandatory policy violation\(s\):/);
    assert.match(r.stdout, /sentinel-images-pinned: .*ghcr\.io\/unkeyed\/unkey:latest/);
    assert.match(r.stdout, new RegExp(`wrote 32 objects and sentinels.json to ${escape(dir)}/test`));
  });

  it("fails with exit code 1 and the configuration errors when the config is invalid", () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = writeStack(dir, { ...readStackFile(), "sentinel-fleet:namespace": "Not Valid" });
    const r = runCli(["--stack", "test", "--file", file, "--out", dir]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /sentinel-fleet:namespace: "Not Valid" is not a valid namespace name/);
    assert.ok(!fs.existsSync(path.join(dir, "test")), "nothing is written for an invalid config");
  });

  it("shows encrypted values as placeholders and reports progress on a large fleet", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const { config } = syntheticConfig(60);
    for (const key of Object.keys(config)) {
      if (/databasePassword|clickhouseUrl|redisUrl|prewarmToken/.test(key))
        config[key] = { secure: "v1:AAAA:BBBB" };
    }
    const lines: string[] = [];
    const result = await synthStack({
      stack: "big",
      file: writeStack(dir, config),
      outDir: dir,
      log: (l) => lines.push(l),
    });
    assert.equal(result.rows.length, 180);
    assert.equal(result.placeholders.length, 4);
    assert.match(lines[0], /^secrets shown as placeholders \(encrypted or not set\): /);
    const progress = lines.filter((l) => /evaluating: \d+ resources registered \(60 environments\)/.test(l));
    assert.ok(progress.length >= 3, lines.join("\n"));
    assert.deepEqual(result.violations, []);
  });
});
