import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
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
