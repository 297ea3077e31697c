// Stack exports that carry values without pinning the resources they came from.
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { exportable, type OutputConstructor } from "../lib/exportable";
import { runExample } from "./support/fixtures";

/** The SDK-internal view of an Output: what serialization reads when it exports one. */
interface OutputView<T> {
  resources(): Set<pulumi.Resource>;
  allResources(): Promise<Set<pulumi.Resource>>;
  promise(withUnknowns?: boolean): Promise<T>;
  isKnown: Promise<boolean>;
  isSecret: Promise<boolean>;
}
const view = <T>(o: pulumi.Output<T>) => o as unknown as OutputView<T>;

const Impl = pulumi.Output as unknown as OutputConstructor;
const fakeResource = { urn: pulumi.output("urn:pulumi:dev::p::t::r") } as unknown as pulumi.Resource;

describe("exportable", () => {
  it("keeps the value and drops the resources", async () => {
    const source = new Impl(
      new Set([fakeResource]),
      Promise.resolve("s_abc"),
      Promise.resolve(true),
      Promise.resolve(false),
      Promise.resolve(new Set([fakeResource])),
    );
    const out = view(exportable(source));
    assert.equal(await out.promise(), "s_abc");
    assert.equal(await out.isKnown, true);
    assert.equal(await out.isSecret, false);
    assert.equal(out.resources().size, 0);
    assert.equal((await out.allResources()).size, 0);
    assert.equal(view(source).resources().size, 1, "the source keeps its own");
  });

  it("keeps a secret secret and an unknown unknown", async () => {
    assert.equal(await view(exportable(pulumi.secret("pw"))).isSecret, true);
    const unknown = new Impl(
      new Set(),
      Promise.resolve(undefined),
      Promise.resolve(false),
      Promise.resolve(false),
      Promise.resolve(new Set()),
    );
    assert.equal(await view(exportable(unknown)).isKnown, false);
  });

  it("passes through a value that is not the SDK's Output", () => {
    const odd = { apply: () => undefined } as unknown as pulumi.Output<string>;
    assert.equal(exportable(odd), odd);
  });

  it("leaves the program's stack exports holding no resource", async () => {
    const run = await runExample(true);
    const fleet = (await run.moduleExports.sentinels) as Record<
      string,
      Record<string, pulumi.Output<Record<string, string>>>
    >;
    const outputs = Object.values(fleet).flatMap((regions) => Object.values(regions));
    assert.equal(outputs.length, 5); // one per sentinel
    for (const o of outputs) {
      assert.ok(pulumi.Output.isInstance(o));
      assert.equal(view(o).resources().size, 0);
      assert.equal((await view(o).allResources()).size, 0);
      assert.deepEqual(Object.keys(await view(o).promise()).sort(), ["address", "k8sName", "sentinelId"]);
    }
  });
});
