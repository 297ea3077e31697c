// npm run synth: the offline evaluation of a stack file, end to end.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { Namespace, Secret, Service } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { rolloutTimeoutSeconds } from "../lib/kube";
import { proposeIdentity } from "../providers/identity";
import { syntheticConfig } from "./harness/syntheticFleet";
import { programNodeArgs } from "../synth/pulumiProject";
import { synthStack, type SynthResult } from "../synth";
import { main as synthCli } from "../scripts/synth";
import { ROOT, readStackFile } from "./support/fixtures";

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "sentinel-fleet-synth-"));
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Runs the command in this process (fast), capturing what it writes. */
async function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const status = await synthCli(args, { out: (l) => (stdout += `${l}\n`), err: (l) => (stderr += `${l}\n`) });
  return { status, stdout, stderr };
}

/** A user error is reported in words: no `    at file:line` frames. */
function assertNoStackTrace(stderr: string): void {
  assert.doesNotMatch(stderr, /^\s+at .+[:(]/m, stderr);
}

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

    it("writes every Secret's keys with redacted values, the database DSNs included", () => {
      const secrets = result.files.filter((f) => path.basename(f).startsWith("secret-"));
      assert.equal(secrets.length, 5);
      for (const file of secrets) {
        const object = YAML.parse(fs.readFileSync(file, "utf8"));
        assert.equal(typeof object.stringData, "object", file);
        assert.ok(Object.keys(object.stringData).length > 0, file);
        for (const value of Object.values(object.stringData)) assert.equal(value, "<redacted>");
      }
      // One Secret per environment and region, every key it holds written with a redacted value (evaluated as
      // an update: the mock engine generates passwords, so nothing is left unknown).
      const env = secrets.filter((f) => path.basename(f).startsWith("secret-sentinel-env-"));
      assert.equal(env.length, secrets.length);
      assert.ok(env.length > 0);
      for (const file of env) {
        const data = YAML.parse(fs.readFileSync(file, "utf8")).stringData as Record<string, string>;
        for (const key of [
          "UNKEY_DATABASE_PRIMARY",
          "UNKEY_DATABASE_REPLICA",
          "UNKEY_CLICKHOUSE_URL",
          "UNKEY_REDIS_URL",
        ]) {
          assert.equal(data[key], "<redacted>", `${file}: ${key}`);
        }
        assert.deepEqual(new Set(Object.values(data)), new Set(["<redacted>"]), file);
      }
      for (const file of result.files)
        assert.ok(!fs.readFileSync(file, "utf8").includes("known after apply"), file);
      assert.deepEqual(result.placeholders, [
        "sentinel-fleet:databasePassword",
        "sentinel-fleet:clickhouseUrl",
        "sentinel-fleet:redisUrl",
        "sentinel-fleet:prewarmToken",
      ]);
    });

    it("writes only valid Kubernetes objects (the OpenAPI schemas of kubernetes-models)", () => {
      const models: Record<string, new (data: any) => { validate(): void }> = {
        Namespace,
        Secret,
        Service,
        Deployment,
        PodDisruptionBudget,
      };
      const kinds = new Set<string>();
      for (const file of result.files) {
        const object = YAML.parse(fs.readFileSync(file, "utf8"));
        kinds.add(object.kind);
        if (object.kind === "CiliumNetworkPolicy") {
          // A CRD: kubernetes-models has no schema for it; its shape is tested with the builders.
          assert.equal(object.apiVersion, "cilium.io/v2");
          assert.match(object.metadata.name, /^[a-z0-9-]{1,63}$/);
          continue;
        }
        const Model = models[object.kind];
        assert.ok(Model !== undefined, `no model for ${object.kind}`);
        assert.doesNotThrow(() => new Model(object).validate(), file);
      }
      assert.deepEqual([...kinds].sort(), [
        "CiliumNetworkPolicy",
        "Deployment",
        "Namespace",
        "PodDisruptionBudget",
        "Secret",
        "Service",
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
      assert.match(
        result.summary,
        /^environment\s+region\s+sentinel\s+replicas\s+image\s+cpu\/memory\s+rollout timeout\s+after$/m,
      );
      // The rollout timeout covers the longer termination (lib/kube.ts); no waves: nothing waits.
      assert.match(
        result.summary,
        new RegExp(
          "^env_billing_staging\\s+eu-central-1\\s+[a-z0-9]{12}\\s+1\\s+ghcr\\.io/unkeyed/unkey:v2\\.0\\.31\\s+" +
            `500m/512Mi\\s+${rolloutTimeoutSeconds(1)}s\\s+-$`,
          "m",
        ),
      );
      assert.match(result.summary, /^5 sentinels; 32 Kubernetes objects: /m);
      assert.deepEqual(result.violations, []);
      // The example stack keeps the original's single health endpoint (the image has no other yet), and says so.
      assert.equal(result.advisories.length, 5);
      assert.deepEqual(
        result.advisories.map((a) => a.policy),
        Array(5).fill("sentinel-probe-paths-distinct"),
      );
      assert.deepEqual(result.notes, [
        "sentinel-probe-paths-distinct: the probes use /_unkey/internal/health, the one health endpoint the sentinel image serves today; set sentinel-fleet:probes.readinessPath to a readiness endpoint once the image has one",
      ]);
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
    assert.match(
      r.stdout,
      /^ {2}why: sentinel-probe-paths-distinct: the probes use \/_unkey\/internal\/health/m,
    );
  });

  it("shows each sentinel's rollout timeout and, with region waves, the wave it waits for", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = writeStack(dir, {
      ...readStackFile(),
      "sentinel-fleet:waves": [["us-east-1"], ["eu-central-1"]],
      "sentinel-fleet:pod": { preStopSeconds: 20, drainSeconds: 60 },
    });
    const r = await cli(["--stack", "test", "--file", file, "--out", dir]);
    assert.equal(r.status, 0, r.stderr);
    const timeout = (replicas: number) => `${rolloutTimeoutSeconds(replicas, 80)}s`;
    assert.match(r.stdout, new RegExp(`^env_storefront_prod\\s+us-east-1\\s.*\\s${timeout(3)}\\s+-$`, "m"));
    assert.match(
      r.stdout,
      new RegExp(`^env_storefront_prod\\s+eu-central-1\\s.*\\s${timeout(3)}\\s+us-east-1$`, "m"),
    );
    assert.match(
      r.stdout,
      new RegExp(`^env_billing_staging\\s+eu-central-1\\s.*\\s${timeout(1)}\\s+us-east-1$`, "m"),
    );
  });

  it("fails with exit code 3 and lists the violations when the config breaks a policy", () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = writeStack(dir, {
      ...readStackFile(),
      "sentinel-fleet:image": "ghcr.io/unkeyed/unkey:latest",
    });
    const r = runCli(["--stack", "test", "--file", file, "--out", dir]);
    assert.equal(r.status, 3, r.stderr);
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
    assertNoStackTrace(r.stderr);
    assert.ok(!fs.existsSync(path.join(dir, "test")), "nothing is written for an invalid config");
  });

  it("--help prints the usage: options, exit codes, examples", async () => {
    for (const flag of ["--help", "-h"]) {
      const r = await cli([flag]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(
        r.stdout,
        /^Usage: npm run synth -- \[--stack <name>\] \[--file <path>\] \[--out <dir>\]$/m,
      );
      for (const option of ["--stack <name>", "--file <path>", "--out <dir>", "--trace", "-h, --help"]) {
        assert.ok(r.stdout.includes(`  ${option}`), option);
      }
      assert.match(
        r.stdout,
        /^Exit codes:\n {2}0 +evaluated.*\n {2}1 +[\s\S]*\n {2}2 +usage.*\n {2}3 +mandatory policy violations/m,
      );
      assert.match(r.stdout, /^Examples:\n {2}npm run synth\n/m);
    }
  });

  it("prints the usage and exits 2 on an unknown option, a stray argument or a missing option value", async () => {
    for (const [args, message] of [
      [["--stak", "dev"], /Unknown option '--stak'/],
      [["dev"], /Unexpected argument 'dev'/],
      [["--stack"], /Option '--stack <value>' argument missing/],
      [["--stack", "dev", "--stack=e2e"], /Option '--stack' is given more than once/],
      [["--out="], /Option '--out' needs a path, got an empty one/],
      [["--file", ""], /Option '--file' needs a path, got an empty one/],
    ] as const) {
      const r = await cli([...args]);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.match(r.stderr, /^Usage: npm run synth/m);
      assertNoStackTrace(r.stderr);
      assert.equal(r.stdout, "");
    }
  });

  it("names the stacks that exist when the stack does not, and exits 2", async () => {
    const r = await cli(["--stack", "prod"]);
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /there is no stack "prod": no Pulumi\.prod\.yaml in .* \(stacks: dev, e2e, engine; or give the file with --file\)/,
    );
    assertNoStackTrace(r.stderr);
    const missing = await cli(["--file", "/nonexistent/Pulumi.x.yaml"]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /the stack file \/nonexistent\/Pulumi\.x\.yaml does not exist/);
    const dir = await cli(["--file", ROOT]);
    assert.equal(dir.status, 2);
    assert.match(dir.stderr, /the stack file .* is not a file/);
    assertNoStackTrace(dir.stderr);
  });

  it("names the file, line and column of a YAML error, and exits 1", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const file = path.join(dir, "Pulumi.broken.yaml");
    fs.writeFileSync(
      file,
      "config:\n  sentinel-fleet:platform: aws\n  sentinel-fleet:regions: [us-east-1\n  x: 1\n",
    );
    const r = await cli(["--stack", "broken", "--file", file, "--out", dir]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, new RegExp(`^synth: ${escape(file)}:4:3: `, "m"));
    assertNoStackTrace(r.stderr);
    fs.writeFileSync(file, "config:\n  - sentinel-fleet:platform\n");
    const list = await cli(["--stack", "broken", "--file", file, "--out", dir]);
    assert.equal(list.status, 1);
    assert.match(list.stderr, new RegExp(`^synth: ${escape(file)}:2:3: config: must be a mapping`, "m"));
    // The errors yaml raises only when it builds the values: an alias before its anchor, an alias bomb.
    fs.writeFileSync(file, "config:\n  sentinel-fleet:platform: aws\n  sentinel-fleet:image: *img\n");
    const alias = await cli(["--stack", "broken", "--file", file, "--out", dir]);
    assert.equal(alias.status, 1);
    assert.match(alias.stderr, new RegExp(`^synth: ${escape(file)}:3:25: Unresolved alias`, "m"));
    assertNoStackTrace(alias.stderr);
    const levels = ["  a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 8; i++)
      levels.push(
        `  a${i}: &a${i} [${Array(10)
          .fill(`*a${i > 1 ? i - 1 : ""}`)
          .join(", ")}]`,
      );
    fs.writeFileSync(file, `config:\n${levels.join("\n")}\n`);
    const bomb = await cli(["--stack", "broken", "--file", file, "--out", dir]);
    assert.equal(bomb.status, 1);
    assert.match(bomb.stderr, new RegExp(`^synth: ${escape(file)}:1:1: Excessive alias count`, "m"));
    assertNoStackTrace(bomb.stderr);
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
