// engine/versions.env pins what the engine tier builds; it must stay a CLI and plugins the program supports, and
// the CLI the workflows install.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { MINIMUM_VERSIONS } from "../lib/constants";
import { ROOT } from "./support/fixtures";

type Version = [number, number, number];

function parseVersion(text: string): Version {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (m === null) throw new Error(`not a version: ${JSON.stringify(text)}`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Negative, zero or positive as a is older, equal or newer than b. */
function compareVersions(a: string, b: string): number {
  const [x, y] = [parseVersion(a), parseVersion(b)];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

/** KEY=VALUE lines of a shell file, comments and blank lines left out. */
function parseEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)=(\S*)$/.exec(line.trim());
    if (m !== null) values[m[1]] = m[2];
  }
  return values;
}

const pins = parseEnvFile(fs.readFileSync(path.join(ROOT, "engine", "versions.env"), "utf8"));
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  dependencies: Record<string, string>;
};
/** The lowest version a `^x.y.z` or `~x.y.z` range of package.json admits. */
const rangeMinimum = (range: string) => range.replace(/^[\^~]/, "");

describe("engine/versions.env", () => {
  it("parses its own pins and compares versions numerically", () => {
    assert.deepEqual(parseEnvFile("# c\nA=1\n\nB_2=x-y # no\n  C=3.4.5\n"), { A: "1", C: "3.4.5" });
    assert.ok(compareVersions("3.276.0", "3.38.0") > 0);
    assert.ok(compareVersions("3.9.1", "3.10.0") < 0);
    assert.equal(compareVersions("4.25.0", "4.25.0"), 0);
  });

  it("pins a Pulumi CLI no older than the program's minimum CLI and the SDK package.json asks for", () => {
    const cli = pins.PULUMI_VERSION;
    assert.ok(cli !== undefined, "PULUMI_VERSION is not set");
    assert.ok(
      compareVersions(cli, MINIMUM_VERSIONS.pulumiCli) >= 0,
      `${cli} < minimum ${MINIMUM_VERSIONS.pulumiCli}`,
    );
    const sdk = rangeMinimum(pkg.dependencies["@pulumi/pulumi"]);
    assert.ok(
      compareVersions(cli, sdk) >= 0,
      `CLI ${cli} is older than the SDK package.json asks for (${sdk})`,
    );
  });

  it("the README's minimum CLI is lib/constants.ts's", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const row = /^\| Pulumi CLI +\| (\d+\.\d+\.\d+) +\|/m.exec(readme);
    assert.ok(row !== null, "README.md has no minimum-versions row for the Pulumi CLI");
    assert.equal(row[1], MINIMUM_VERSIONS.pulumiCli);
  });

  it("pins the CLI the workflows install", () => {
    const dir = path.join(ROOT, ".github", "workflows");
    const installed = fs
      .readdirSync(dir)
      .flatMap((f) =>
        [...fs.readFileSync(path.join(dir, f), "utf8").matchAll(/pulumi-version: *(\S+)/g)].map((m) => [
          f,
          m[1],
        ]),
      );
    assert.ok(installed.length > 0, "no workflow installs a Pulumi CLI");
    for (const [file, version] of installed) assert.equal(version, pins.PULUMI_VERSION, file);
  });

  it("builds a Kubernetes plugin release no newer than the SDK package.json asks for", () => {
    const release = pins.PULUMI_KUBERNETES_PROVIDER_RELEASE;
    const sdk = rangeMinimum(pkg.dependencies["@pulumi/kubernetes"]);
    assert.ok(release !== undefined, "PULUMI_KUBERNETES_PROVIDER_RELEASE is not set");
    // The plugin is installed under the SDK's version; a newer release under an older number would mislead.
    assert.ok(compareVersions(release, sdk) <= 0, `plugin release ${release} is newer than the SDK ${sdk}`);
    assert.match(pins.PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION ?? "", /^v4\.0\.0-\d{14}-[0-9a-f]{12}$/);
  });
});
