// The checkpoint model bench:state measures (tests/harness/stateModel.ts), on the example stack's mock `pulumi up`.
import { strict as assert } from "assert";
import { DYNAMIC_TYPE, SECRET_SIG_KEY, type ProgramRun } from "../synth/mockEngine";
import { checkpointEntry, ENVIRONMENT_TYPE, measureState, stackEntry } from "./harness/stateModel";
import { LEAK_MARKERS, runExample } from "./support/fixtures";

describe("the state model of bench:state", () => {
  let run: ProgramRun;
  before(async () => {
    run = await runExample(false);
  });

  it("counts the provider code where the engine stores it: each record's inputs and outputs", () => {
    const figures = measureState(run);
    const records = run.resources.filter((r) => r.type === DYNAMIC_TYPE);
    const code = records.reduce(
      (n, r) =>
        n +
        JSON.stringify({ __provider: r.inputs.__provider }).length -
        1 +
        JSON.stringify({ __provider: r.outputs.__provider }).length -
        1,
      0,
    );
    assert.ok(code > 0);
    assert.equal(figures.perEnvironment.providerCode, code);
    assert.equal(figures.shared.providerCode, 0);
    const { total, providerCode, kubernetes, otherValues, metadata } = figures.all;
    assert.equal(total, providerCode + kubernetes + otherValues + metadata);
  });

  it("attributes everything under an environment to its sentinels, and the rest to the stack", () => {
    const figures = measureState(run);
    assert.equal(figures.sentinels, 5);
    assert.equal(figures.perEnvironment.resources, 43); // 8.6 per sentinel (goal <= 9)
    assert.equal(figures.shared.resources + figures.perEnvironment.resources, run.resources.length + 1);
    assert.equal(run.resources.filter((r) => r.type === ENVIRONMENT_TYPE).length, 3);
  });

  it("stores secrets as ciphertext, never in plaintext, and the engine's fields of each entry", () => {
    const entries = [...run.resources.map(checkpointEntry), stackEntry(run, "dev")];
    const text = JSON.stringify(entries);
    for (const marker of LEAK_MARKERS) assert.ok(!text.includes(marker));
    assert.ok(text.includes(`"${SECRET_SIG_KEY}"`) && text.includes('"ciphertext":"v1:'));
    const deployment = entries.find((e) => e.type === "kubernetes:apps/v1:Deployment") as Record<string, any>;
    for (const field of [
      "urn",
      "id",
      "parent",
      "dependencies",
      "provider",
      "propertyDependencies",
      "stackTrace",
    ]) {
      assert.ok(deployment[field] !== undefined, field);
    }
    assert.match(deployment.sourcePosition as string, /^project:\/\/\/components\/sentinel\.ts#\d+,\d+$/);
  });

  it("gives the same figures on every run", async () => {
    assert.deepEqual(measureState(await runExample(false)), measureState(run));
  });
});
