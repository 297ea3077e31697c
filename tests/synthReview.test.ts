// Synth as a review tool: the summary, --json, --diff and its exit codes, determinism, the help's examples,
// and an output folder synth may replace only when it wrote it.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { main as synthCli, USAGE } from "../scripts/synth";
import { MARKER_FILE, outputFiles } from "../synth/output";
import { changedFields, diffOutputs, renderDiff } from "../synth/review";
import { programNodeArgs } from "../synth/pulumiProject";
import { ROOT, readStackFile } from "./support/fixtures";

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "sentinel-fleet-review-"));
}

async function cli(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const status = await synthCli(args, { out: (l) => (stdout += `${l}\n`), err: (l) => (stderr += `${l}\n`) });
  return { status, stdout, stderr };
}

function writeStack(dir: string, config: Record<string, unknown>, name = "test"): string {
  const file = path.join(dir, `Pulumi.${name}.yaml`);
  fs.writeFileSync(file, YAML.stringify({ config }));
  return file;
}

/** Every file of a folder with its bytes. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(outputFiles(dir).map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]));
}

describe("synth for review", function () {
  this.timeout(120_000);
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
  const fresh = () => {
    const d = tempDir();
    dirs.push(d);
    return d;
  };

  describe("the summary", () => {
    let text: string;
    let json: Record<string, any>;
    before(async () => {
      const out = fresh();
      const r = await cli(["--out", out]);
      assert.equal(r.status, 0, r.stderr);
      text = r.stdout;
      const j = await cli(["--out", out, "--json"]);
      assert.equal(j.status, 0, j.stderr);
      json = JSON.parse(j.stdout);
    });

    it("counts per region and wave, and by resource type: rows, logins, grants and passwords included", () => {
      assert.match(text, /^Stack dev \(fleet\): 3 environments, 5 sentinels in 2 regions$/m);
      assert.match(text, /^ {4}region +wave +environments +sentinels +objects$/m);
      assert.match(text, /^ {4}us-east-1 +- +3 +3 +19$/m);
      assert.match(text, /^ {4}eu-central-1 +- +2 +2 +13$/m);
      for (const [n, type, what] of [
        [5, "pulumi-nodejs:dynamic:Resource", "rows of the sentinels table"],
        [4, "mysql:index/user:User", "database logins"],
        [4, "mysql:index/grant:Grant", "database grants"],
        [4, "random:index/randomPassword:RandomPassword", "passwords of the logins"],
        [5, "kubernetes:apps/v1:Deployment", "Deployment objects"],
      ] as const)
        assert.match(
          text,
          new RegExp(`^ +${n} +${type.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")} +${what}$`, "m"),
        );
    });

    it("lists no sentinel one by one without --verbose; the JSON has every one", () => {
      assert.doesNotMatch(text, /^Sentinels:$/m);
      assert.doesNotMatch(text, /env_storefront_prod/);
      assert.equal(json.sentinelLines.length, 5);
      assert.deepEqual(Object.keys(json.sentinelLines[0]).sort(), [
        "after",
        "cpuMemory",
        "environment",
        "image",
        "region",
        "replicas",
        "rolloutTimeout",
        "sentinel",
      ]);
    });

    it("shows the database's host and TLS mode, never a secret", () => {
      assert.match(text, /^ {4}127\.0\.0\.1:3306, database unkey, user root, TLS disabled$/m);
      assert.deepEqual(json.database, {
        endpoint: "127.0.0.1:3306",
        database: "unkey",
        user: "root",
        tlsMode: "disabled",
        caFile: null,
        primaryAddress: "mysql.platform.svc.cluster.local:3306",
        replicaAddress: "mysql-replica.platform.svc.cluster.local:3306",
      });
      const resources = JSON.parse(fs.readFileSync(path.join(json.outDir, "resources.json"), "utf8"));
      const users = resources.filter((r: { type: string }) => r.type === "mysql:index/user:User");
      assert.equal(users.length, 4);
      for (const u of users) assert.equal(u.inputs.plaintextPassword, "<redacted>");
      const provider = resources.find((r: { type: string }) => r.type === "pulumi:providers:mysql");
      assert.equal(provider.inputs.endpoint, "127.0.0.1:3306");
      assert.equal(provider.inputs.password, "<redacted>");
    });

    it("the JSON is the summary.json synth writes beside the objects", () => {
      const written = JSON.parse(fs.readFileSync(path.join(json.outDir, "summary.json"), "utf8"));
      const { outDir: _o, diff: _d, ...summary } = json;
      assert.deepEqual(written, summary);
    });
  });

  it("writes the same bytes twice for the same input, and --diff then reports no changes (exit 0)", async () => {
    const a = fresh();
    const b = fresh();
    assert.equal((await cli(["--out", a])).status, 0);
    const r = await cli(["--out", b, "--diff", path.join(a, "dev")]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(`^No changes against ${a.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}/dev\\.$`, "m"),
    );
    assert.deepEqual(snapshot(path.join(b, "dev")), snapshot(path.join(a, "dev")));
  });

  it("--diff lists objects added, changed with their fields, and removed, and exits 4", async () => {
    const base = fresh();
    assert.equal((await cli(["--out", base])).status, 0);
    const config = readStackFile();
    const environments = (config["sentinel-fleet:environments"] as Record<string, unknown>[]).filter(
      (e) => e.environmentId !== "env_storefront_preview",
    );
    environments.push({ ...environments[0], environmentId: "env_new", slug: "staging" });
    const file = writeStack(fresh(), {
      ...config,
      "sentinel-fleet:image": "ghcr.io/unkeyed/unkey:v2.0.32",
      "sentinel-fleet:environments": environments,
    });
    const out = fresh();
    const r = await cli(["--stack", "dev", "--file", file, "--out", out, "--diff", path.join(base, "dev")]);
    assert.equal(r.status, 4, r.stderr);
    assert.match(r.stdout, /^ {4}\+ us-east-1\/env_new\/deployment-[a-z0-9]{12}\.yaml$/m);
    assert.match(r.stdout, /^ {4}- us-east-1\/env_storefront_preview\/deployment-[a-z0-9]{12}\.yaml$/m);
    assert.match(
      r.stdout,
      /^ {4}~ eu-central-1\/env_billing_staging\/deployment-[a-z0-9]{12}\.yaml: spec\.template\.spec\.containers\[0\]\.image$/m,
    );
    assert.match(r.stdout, /^ {4}~ sentinels row s_[a-z0-9]+: image$/m);
    assert.match(r.stdout, /^ {4}\d+ to add, \d+ to change, \d+ to remove$/m);
    const json = await cli([
      "--stack",
      "dev",
      "--file",
      file,
      "--out",
      fresh(),
      "--diff",
      path.join(base, "dev"),
      "--json",
    ]);
    assert.equal(json.status, 4);
    const diff = JSON.parse(json.stdout).diff;
    assert.ok(diff.added.some((k: string) => k.startsWith("sentinels row ")));
    assert.ok(diff.removed.some((k: string) => k.includes("env_storefront_preview")));
    assert.ok(diff.changed.length > 0);
  });

  it("compares field by field: nested keys, list items, values that appear or go", () => {
    assert.deepEqual(changedFields({ a: { b: [1, 2] }, c: 1 }, { a: { b: [1, 3] }, c: 1 }), ["a.b[1]"]);
    assert.deepEqual(changedFields({ a: 1 }, { a: 1, b: 2 }), ["b"]);
    assert.deepEqual(changedFields({ a: [1] }, { a: { 0: 1 } }), ["a"]);
    assert.deepEqual(changedFields("x", "x"), []);
    const d = diffOutputs(
      new Map<string, unknown>([
        ["k", { a: 1 }],
        ["gone", 1],
      ]),
      new Map<string, unknown>([
        ["k", { a: 2 }],
        ["new", 1],
      ]),
    );
    assert.deepEqual(d, { added: ["new"], removed: ["gone"], changed: [{ key: "k", fields: ["a"] }] });
    assert.match(
      renderDiff(d, "old"),
      /^Changes against old:\n {4}\+ new\n {4}~ k: a\n {4}- gone\n {4}1 to add, 1 to change, 1 to remove$/,
    );
  });

  it("--diff of a folder that is not synth's output is a usage error (exit 2)", async () => {
    for (const dir of ["/nonexistent/out/dev", fresh()]) {
      const r = await cli(["--out", fresh(), "--diff", dir]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /^synth: --diff .*\(see npm run synth -- --help\)$/m);
    }
  });

  describe("the output folder (synth removes only what it wrote)", () => {
    it("--out . with a stack named like a source folder deletes nothing and exits 2", () => {
      const project = fresh();
      fs.mkdirSync(path.join(project, "lib"));
      fs.writeFileSync(path.join(project, "lib", "keep.ts"), "export {};\n");
      const r = spawnSync(
        process.execPath,
        [
          ...programNodeArgs(),
          "-r",
          require.resolve("ts-node/register/transpile-only"),
          path.join(ROOT, "scripts", "synth.ts"),
          "--out",
          ".",
          "--stack",
          "lib",
          "--file",
          path.join(ROOT, "Pulumi.dev.yaml"),
        ],
        {
          cwd: project,
          encoding: "utf8",
          env: { ...process.env, TS_NODE_PROJECT: path.join(ROOT, "tsconfig.json") },
        },
      );
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /synth will not replace lib: it holds files synth did not write/);
      assert.deepEqual(fs.readdirSync(project).sort(), ["lib"]);
      assert.equal(fs.readFileSync(path.join(project, "lib", "keep.ts"), "utf8"), "export {};\n");
    });

    it("refuses a folder with foreign files, or a file in its place, before evaluating", async () => {
      const out = fresh();
      fs.mkdirSync(path.join(out, "dev"));
      fs.writeFileSync(path.join(out, "dev", "notes.txt"), "mine");
      const r = await cli(["--out", out]);
      assert.equal(r.status, 2);
      assert.match(
        r.stderr,
        /no \.synth-output\); give --out a folder of its own \(see npm run synth -- --help\)$/m,
      );
      assert.doesNotMatch(r.stderr, /evaluating: /);
      assert.deepEqual(fs.readdirSync(out).sort(), ["dev"]);
      assert.equal(fs.readFileSync(path.join(out, "dev", "notes.txt"), "utf8"), "mine");
      const asFile = fresh();
      fs.writeFileSync(path.join(asFile, "dev"), "a file");
      assert.equal((await cli(["--out", asFile])).status, 2);
      assert.equal(fs.readFileSync(path.join(asFile, "dev"), "utf8"), "a file");
    });

    it("replaces its own output whole (a stale file goes) and an empty folder, leaving nothing beside", async () => {
      const out = fresh();
      fs.mkdirSync(path.join(out, "dev"));
      assert.equal((await cli(["--out", out])).status, 0);
      assert.ok(fs.existsSync(path.join(out, "dev", MARKER_FILE)));
      fs.writeFileSync(path.join(out, "dev", "us-east-1", "stale.yaml"), "kind: Stale\n");
      const again = await cli(["--out", out, "--diff", path.join(out, "dev")]);
      // The stale object was in the previous output and is not in this one.
      assert.equal(again.status, 4, again.stderr);
      assert.match(again.stdout, /^ {4}- us-east-1\/stale\.yaml$/m);
      assert.ok(!fs.existsSync(path.join(out, "dev", "us-east-1", "stale.yaml")));
      assert.deepEqual(fs.readdirSync(out), ["dev"]);
      assert.equal((await cli(["--out", out, "--diff", path.join(out, "dev")])).status, 0);
    });

    it("leaves the previous output in place when the configuration is invalid", async () => {
      const out = fresh();
      assert.equal((await cli(["--out", out])).status, 0);
      const before = snapshot(path.join(out, "dev"));
      const file = writeStack(
        fresh(),
        { ...readStackFile(), "sentinel-fleet:namespace": "Not Valid" },
        "dev",
      );
      assert.equal((await cli(["--file", file, "--out", out])).status, 1);
      assert.deepEqual(snapshot(path.join(out, "dev")), before);
      assert.deepEqual(fs.readdirSync(out), ["dev"]);
    });
  });

  it("the help's examples run as written", async () => {
    const examples = USAGE.slice(USAGE.indexOf("Examples:\n"))
      .split("\n")
      .slice(1)
      .map((l) => l.trim())
      .filter((l) => l.startsWith("npm run synth"));
    assert.ok(examples.length >= 4, examples.join("\n"));
    const written = new Set<string>();
    try {
      for (const example of examples) {
        const args = example.split(" ").slice(4);
        const out = args[args.indexOf("--out") + 1];
        if (args.includes("--out")) written.add(out);
        const r = await cli(args);
        assert.equal(r.status, 0, `${example}: ${r.stderr}`);
      }
    } finally {
      for (const dir of written) if (path.isAbsolute(dir)) fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
