// The engine check (lib/engine.ts): the real program under the mock engine, answering SupportsFeature as the
// current engine does and as an engine older than 3.182.0 does (which does not know "resourceHooks", or, older
// still, does not implement SupportsFeature at all).
import { strict as assert } from "assert";
import { MINIMUM_VERSIONS } from "../lib/constants";
import {
  EngineTooOldError,
  monitorSupports,
  requireSupportedEngine,
  type FeatureMonitor,
} from "../lib/engine";
import { runExample } from "./support/fixtures";

/* eslint-disable @typescript-eslint/no-require-imports */
const mocksModule = require("@pulumi/pulumi/runtime/mocks") as {
  MockMonitor: { prototype: Record<string, any> };
};
/* eslint-enable @typescript-eslint/no-require-imports */

type Answer = (id: string) => { err: (Error & { code: number }) | null; has: boolean };

/** A gRPC error as the client reports it: an Error with the status code. */
const grpcError = (code: number) => Object.assign(new Error(`gRPC status ${code}`), { code });

/** A monitor that answers SupportsFeature as told, recording what it was asked. */
function monitor(answer: Answer, asked: string[] = []): FeatureMonitor {
  return {
    supportsFeature(req, callback) {
      const id = (req as { getId(): string }).getId();
      asked.push(id);
      const { err, has } = answer(id);
      callback(err, err === null ? { getHassupport: () => has } : undefined);
    },
  };
}

const current: Answer = () => ({ err: null, has: true });
const before3182: Answer = (id) => ({ err: null, has: id !== "resourceHooks" });
const unimplemented: Answer = () => ({ err: grpcError(12), has: false });

describe("engine check", () => {
  it("asks the monitor for resource hooks and passes a current engine", async () => {
    const asked: string[] = [];
    await requireSupportedEngine(monitor(current, asked));
    assert.deepEqual(asked, ["resourceHooks"]);
    assert.equal(await monitorSupports(monitor(current), "resourceHooks"), true);
  });

  it("rejects an engine without resource hooks, or without SupportsFeature, naming the minimum version", async () => {
    for (const answer of [before3182, unimplemented]) {
      await assert.rejects(requireSupportedEngine(monitor(answer)), (err: Error) => {
        assert.ok(err instanceof EngineTooOldError);
        assert.equal(
          err.message,
          `sentinel-fleet needs Pulumi CLI ${MINIMUM_VERSIONS.pulumiCli} or later: this engine does not support ` +
            "resource hooks (the router prewarm and row-health hooks). Upgrade the Pulumi CLI (pulumi version shows the one in " +
            "use); nothing was created.",
        );
        return true;
      });
    }
    assert.equal(MINIMUM_VERSIONS.pulumiCli, "3.238.0");
  });

  it("asks the engine for 3.238.0 or later (after-hooks that fail the update), and rejects an older one", async () => {
    const ranges: string[] = [];
    await requireSupportedEngine(monitor(current), (range) => {
      ranges.push(range);
      return Promise.resolve();
    });
    assert.deepEqual(ranges, [">=3.238.0"]);
    // What the SDK reports for an engine between 3.216.0 and 3.237 (its version out of range) and for one
    // before 3.216.0 (no RequirePulumiVersion RPC): either way the program stops, naming the minimum.
    for (const engineSays of [
      'Pulumi CLI version 3.230.0 does not satisfy the version range ">=3.238.0"',
      "The installed version of the CLI does not support the `RequirePulumiVersion` RPC. Please upgrade the Pulumi CLI.",
    ]) {
      await assert.rejects(
        requireSupportedEngine(monitor(current), () => Promise.reject(new Error(engineSays))),
        (err: Error) => {
          assert.ok(err instanceof EngineTooOldError);
          assert.match(
            err.message,
            /^sentinel-fleet needs Pulumi CLI 3\.238\.0 or later: this engine does not support after-hooks whose failure fails the update/,
          );
          assert.ok(err.message.includes(JSON.stringify(engineSays)), err.message);
          return true;
        },
      );
    }
  });

  it("passes other monitor errors on, and resolves with no engine at all", async () => {
    const broken = monitor(() => ({ err: grpcError(14), has: false }));
    await assert.rejects(requireSupportedEngine(broken), (err: { code?: number }) => err.code === 14);
    await requireSupportedEngine(undefined);
  });

  describe("the program under the mock engine", function () {
    this.timeout(60_000);
    const proto = mocksModule.MockMonitor.prototype;
    const original = proto.supportsFeature;
    afterEach(() => {
      proto.supportsFeature = original;
    });

    it("runs on the mock monitor as it answers (a current engine)", async () => {
      let registered = 0;
      const run = await runExample(true, {}, { onRegister: (n) => (registered = n) });
      assert.ok(run.resources.length > 0);
      // The count the failing cases below rely on does move when resources are registered.
      assert.ok(registered > 0);
    });

    for (const [what, answer] of [
      ["an engine before 3.182.0", before3182],
      ["an engine without SupportsFeature", unimplemented],
    ] as const) {
      it(`fails at the start on ${what}, declaring nothing`, async () => {
        // Emulating the older engine's answer, and nothing else.
        proto.supportsFeature = function (req: any, callback: (err: unknown, resp?: unknown) => void) {
          const { err, has } = answer(req.getId());
          callback(err, err === null ? { getHassupport: () => has } : undefined);
        };
        let registered = -1;
        await assert.rejects(
          runExample(true, {}, { onRegister: (n) => (registered = n) }),
          /needs Pulumi CLI 3\.238\.0 or later: this engine does not support resource hooks/,
        );
        assert.equal(registered, -1, "a resource was registered before the check failed");
      });
    }
  });
});
