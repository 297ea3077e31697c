// What Pulumi.yaml tells Pulumi's Node.js runner, for the tools that must evaluate the program the same way
// (synth's tests, the fleet benchmark).
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";

export const PROJECT_ROOT = path.resolve(__dirname, "..");

interface ProjectFile {
  runtime?: { name?: string; options?: { nodeargs?: string; typescript?: boolean } };
}

/** The node flags `runtime.options.nodeargs` passes to the program's process (Pulumi splits them on spaces). */
export function programNodeArgs(root = PROJECT_ROOT): string[] {
  const project = YAML.parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as ProjectFile;
  const args = project.runtime?.options?.nodeargs ?? "";
  return args.split(/\s+/).filter((a) => a !== "");
}
