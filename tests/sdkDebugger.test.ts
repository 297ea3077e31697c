// The SDK's inspector Debugger, enabled to serialize the dynamic provider, is turned off once the provider is
// serialized, and turned back on for any later serialization (lib/sdkDebugger.ts).
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { sdkDebuggerActive } from "../lib/sdkDebugger";
import { runExample } from "./support/fixtures";

describe("the SDK's inspector Debugger", function () {
  this.timeout(60_000);

  it("is off once the program's dynamic provider is serialized", async () => {
    const run = await runExample(true);
    assert.ok(run.resources.some((r) => r.type === "pulumi-nodejs:dynamic:Resource"));
    assert.equal(await sdkDebuggerActive(), false);
  });

  it("comes back on for a later serialization, which still sees code loaded while it was off", async () => {
    await runExample(true);
    assert.equal(await sdkDebuggerActive(), false);
    // A module loaded while the Debugger is off: the serializer must still resolve its script.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sentinel-fleet-closure-"));
    const file = path.join(dir, "late.js");
    fs.writeFileSync(file, 'const greeting = "late-loaded";\nexports.greet = () => `${greeting}!`;\n');
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const late = require(file) as { greet(): string };
      const serialized = await pulumi.runtime.serializeFunction(() => late.greet());
      assert.match(serialized.text, /late-loaded/);
      assert.equal(await sdkDebuggerActive(), true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
