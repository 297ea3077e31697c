// Writes the stack files of a sharded region from its one fleet definition (fleet.yaml): each stack gets the
// shared keys and its own. Pulumi reads one stack file per stack; generating them keeps the region base
// stack and its shards on the same regions, environments, database and image.
//   npx ts-node --transpile-only examples/sharded/generate.ts [<fleet file>] [<output folder>]
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

interface FleetFile {
  readonly shared: Record<string, unknown>;
  readonly stacks: Record<string, Record<string, unknown>>;
}

/** Stack file name → its text, for every stack of the fleet file. */
export function stackFiles(fleetText: string, fleetName = "fleet.yaml"): Map<string, string> {
  const fleet = YAML.parse(fleetText) as FleetFile;
  const files = new Map<string, string>();
  for (const [stack, own] of Object.entries(fleet.stacks)) {
    const clash = Object.keys(own).filter((k) => k in fleet.shared);
    if (clash.length > 0)
      throw new Error(`${fleetName}: stack ${stack} sets shared keys: ${clash.join(", ")}`);
    const header =
      "# yaml-language-server: $schema=../../schema/stack-config.schema.json\n" +
      `# Generated from ${fleetName} by generate.ts: edit that file and run generate.ts again.\n`;
    files.set(
      `Pulumi.${stack}.yaml`,
      header + YAML.stringify({ config: { ...fleet.shared, ...own } }, { lineWidth: 0 }),
    );
  }
  return files;
}

if (require.main === module) {
  const fleetFile = process.argv[2] ?? path.join(__dirname, "fleet.yaml");
  const outDir = process.argv[3] ?? path.dirname(fleetFile);
  for (const [name, text] of stackFiles(fs.readFileSync(fleetFile, "utf8"), path.basename(fleetFile))) {
    fs.writeFileSync(path.join(outDir, name), text);
    process.stdout.write(`wrote ${path.join(outDir, name)}\n`);
  }
}
