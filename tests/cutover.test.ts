// The cutover from the original agent: a region's provider that takes over existing objects while the opt-in is
// on, and the whole sequence of a sentinel whose row the original platform wrote: adopt it (create), then
// preview an image change, through Pulumi's dynamic-provider host against the real database and under mocks.
import { strict as assert } from "assert";
import * as path from "path";
import { startDatabase, type TestDatabase } from "./harness/mariadb";
import { DYNAMIC_TYPE, type CapturedResource, type ProgramRun } from "../synth/mockEngine";
import {
  databaseConfig,
  startConfiguredHost,
  startProviderHost,
  type Props,
  type ProviderHost,
} from "./harness/providerHost";
import { proposeIdentity } from "../providers/identity";
import { checkSentinelRecord, diffSentinelRecord, UNKNOWN } from "../providers/sentinelRecord";
import { exampleConfig, runExample } from "./support/fixtures";
import { withOverride } from "./support/overrides";
import { refusedPort } from "./support/net";
import { SAMPLE_SPEC } from "./support/sentinels";

const OVERRIDDEN_PROGRAM = path.join(__dirname, "support", "overriddenProgram");
const K8S_PROVIDER = "pulumi:providers:kubernetes";
const RECORD_NAME = "env_storefront_prod-us-east-1";
const NEW_IMAGE = "ghcr.io/unkeyed/unkey:v2.0.32";
/** The row the original platform wrote: its own id and 8-character name, not the ones this program proposes. */
const ORIGINAL = { id: "s_orig00000000000000001", k8sName: "q7x2k9ab" };

const providersOf = (run: ProgramRun) =>
  Object.fromEntries(run.resources.filter((r) => r.type === K8S_PROVIDER).map((r) => [r.name, r.inputs]));

function withCutover(regions: string[], preview: boolean, overrides: Record<string, unknown> = {}) {
  return withOverride(
    (cfg) => ({ ...cfg, regions: cfg.regions.map((r) => ({ ...r, cutover: regions.includes(r.name) })) }),
    () => runExample(preview, overrides, { program: OVERRIDDEN_PROGRAM }),
  );
}

describe("cutover: the region's Kubernetes provider", function () {
  this.timeout(60_000);

  it("takes over existing objects, fields owned by the old agent included, only in the cutover region", async () => {
    const [on, off] = [await withCutover(["us-east-1"], true), await runExample(true)];
    const cut = providersOf(on);
    const normal = providersOf(off);
    assert.equal(cut["region-us-east-1"].upsertExistingObjects, "true");
    assert.equal(cut["region-us-east-1"].enablePatchForce, "true");
    assert.deepEqual(cut["region-eu-central-1"], normal["region-eu-central-1"]);
    for (const p of Object.values(normal)) assert.equal(p.enablePatchForce, undefined);
    assert.equal(normal["region-us-east-1"].upsertExistingObjects, undefined);
    // The records of the cutover region ask check to adopt existing rows' identities; the others send nothing.
    for (const r of on.resources.filter((x) => x.type === DYNAMIC_TYPE)) {
      const inCutover = r.inputs.spec.regionId === "reg_use1";
      assert.equal(r.inputs.spec.adoptExisting, inCutover ? true : undefined, r.name);
    }
    for (const r of off.resources.filter((x) => x.type === DYNAMIC_TYPE)) {
      assert.equal("adoptExisting" in r.inputs.spec, false, r.name);
    }
    // The namespace provider is the same either way.
    assert.deepEqual(cut["region-us-east-1-namespace"], normal["region-us-east-1-namespace"]);
    // Turning the opt-in on or off changes only those two keys: not the context (nor cluster or kubeconfig),
    // which are what pulumi-kubernetes' DiffConfig would replace the provider (and so every object) for.
    const { upsertExistingObjects: _u, enablePatchForce: _f, ...rest } = cut["region-us-east-1"];
    assert.deepEqual(rest, normal["region-us-east-1"]);
  });
});

describe("cutover: adopt a row, then preview an image change", function () {
  this.timeout(120_000);
  let db: TestDatabase;
  let host: ProviderHost;
  let news: Props;
  /**
   * The program's preview of NEW_IMAGE for the record's environment, the record's prior inputs `inputs` (the
   * mock engine passes them to check): the Kubernetes objects of the record's sentinel.
   */
  const previewImageChange = async (inputs: Props): Promise<CapturedResource[]> => {
    const { config } = exampleConfig();
    const envs = (config["sentinel-fleet:environments"] as Props[]).map((e) =>
      e.environmentId === news.spec.environmentId ? { ...e, image: NEW_IMAGE } : e,
    );
    const priorInputs = (name: string) => (name === RECORD_NAME ? inputs : undefined);
    const preview = await runExample(true, { "sentinel-fleet:environments": envs }, { priorInputs });
    const record = preview.resources.find((r) => r.type === DYNAMIC_TYPE && r.name === RECORD_NAME)!;
    return preview.resources.filter((r) => r.parent === record.parent && r.type.startsWith("kubernetes:"));
  };
  /** What a preview's diff says against a record's state: checked news against its old outputs and inputs. */
  const diffAgainst = (state: { id: string; inputs: Props; outputs: Props }, checkedNews: Props) =>
    host.diff({ id: state.id, olds: state.outputs, news: checkedNews, oldInputs: state.inputs });

  before(async function () {
    const [database, run] = await Promise.all([startDatabase(), runExample(false)]);
    db = database;
    const record = run.resources.find((r) => r.type === DYNAMIC_TYPE && r.name === RECORD_NAME);
    assert.ok(record !== undefined, `the example stack declares ${RECORD_NAME}`);
    news = { ...record.inputs };
    host = await startConfiguredHost(databaseConfig(db));
  });
  after(async function () {
    this.timeout(30_000);
    await host?.stop();
    await db?.stop();
  });

  /** The row the original platform wrote, as its agent left it. */
  const insertOriginal = () =>
    db.admin(
      "INSERT INTO sentinels (id, workspace_id, project_id, environment_id, k8s_name, k8s_address, region_id, image, " +
        "desired_replicas, available_replicas, cpu_millicores, memory_mib, version, created_at) " +
        "VALUES (?, ?, ?, ?, ?, ?, 'reg_use1', ?, 3, 3, 256, 256, 41, 1700000000000)",
      [
        ORIGINAL.id,
        news.spec.workspaceId,
        news.spec.projectId,
        news.spec.environmentId,
        ORIGINAL.k8sName,
        `${ORIGINAL.k8sName}.sentinel.svc.cluster.local:8040`,
        news.spec.image,
      ],
    );

  it("with the cutover opt-in, previews and the adopting up carry the row's own names: no rename, no refresh", async () => {
    await db.reset();
    await insertOriginal();
    const address = `${ORIGINAL.k8sName}.sentinel.svc.cluster.local:8040`;
    const cutover = { ...news, spec: { ...news.spec, adoptExisting: true } };

    // pulumi preview / up with regions[].cutover: check reads the existing row and proposes its identity.
    const checked = (await host.check({ olds: {}, news: cutover })).inputs;
    assert.deepEqual(
      [checked.sentinelId, checked.k8sName, checked.k8sAddress, checked.row.sentinelId, checked.row.k8sName],
      [ORIGINAL.id, ORIGINAL.k8sName, address, ORIGINAL.id, ORIGINAL.k8sName],
    );
    const created = await host.create({ properties: checked });
    assert.deepEqual(
      [created.id, created.properties.k8sName, created.properties.version],
      [ORIGINAL.id, ORIGINAL.k8sName, 41],
    );
    // The engine stores the checked inputs: they already hold the adopted identity.
    const state = { id: created.id, inputs: checked, outputs: created.properties };

    // Cutover off, then an image change: check keeps the recorded identity, diff is an in-place update.
    const changed = { ...news, spec: { ...news.spec, image: NEW_IMAGE } };
    const next = (await host.check({ olds: state.inputs, news: changed })).inputs;
    assert.deepEqual(
      [next.sentinelId, next.k8sName, next.row.k8sName, next.row.image],
      [ORIGINAL.id, ORIGINAL.k8sName, ORIGINAL.k8sName, NEW_IMAGE],
    );
    const diff = await diffAgainst(state, next);
    assert.deepEqual([diff.changes, diff.replaces], ["some", []]);
    // Turning the opt-in off alone changes nothing.
    const off = (await host.check({ olds: state.inputs, news })).inputs;
    const quiet = await diffAgainst(state, off);
    assert.equal(quiet.changes, "none");

    // The program's preview of that image change with this state: the objects keep the original names.
    const objects = await previewImageChange(state.inputs);
    assert.equal(objects.length, 3);
    for (const o of objects) assert.equal(o.inputs.metadata.name, ORIGINAL.k8sName, o.type);

    // A sentinel the original platform never had in the cutover region keeps the proposed identity.
    await db.reset();
    const fresh = (await host.check({ olds: {}, news: cutover })).inputs;
    assert.equal(fresh.k8sName, proposeIdentity(news.spec.environmentId as string, "reg_use1").k8sName);
    // A row that matches only under the collation is not adopted, at check time either.
    await db.admin(
      "INSERT INTO sentinels (id, workspace_id, project_id, environment_id, k8s_name, k8s_address, region_id, image, " +
        "desired_replicas, available_replicas, cpu_millicores, memory_mib, version, created_at) " +
        "VALUES ('s_case', 'w', 'p', ?, 'caseclash000', 'caseclash000.sentinel.svc.cluster.local:8040', 'reg_use1', 'i', 1, 0, 1, 1, 1, 1)",
      [String(news.spec.environmentId).toUpperCase()],
    );
    const clash = await host.check({ olds: {}, news: cutover }).then(
      () => null,
      (err: { details?: string }) => String(err.details),
    );
    assert.match(
      clash ?? "",
      /belongs to environment "ENV_STOREFRONT_PROD".*they differ in environment, .*byte for byte/,
    );
  });

  it("with the cutover opt-in and the database out of reach, check fails naming the database", async () => {
    const unreachable = await startConfiguredHost(
      databaseConfig(
        { ...db, host: "127.0.0.1", port: await refusedPort() },
        { connectTimeoutMs: 500, operationTimeoutMs: 3000 },
      ),
    );
    try {
      const cutover = { ...news, spec: { ...news.spec, adoptExisting: true } };
      await assert.rejects(unreachable.check({ olds: {}, news: cutover }), (err: { details?: string }) => {
        assert.match(
          String(err.details),
          /cutover lookup of the sentinel of environment env_storefront_prod in region reg_use1/,
        );
        assert.match(String(err.details), /127\.0\.0\.1:\d+/);
        assert.ok(!String(err.details).includes(db.password), "no password in the error");
        return true;
      });
      // Without the opt-in, check needs no database.
      const plain = await unreachable.check({ olds: {}, news });
      assert.deepEqual(plain.failures, []);
    } finally {
      await unreachable.stop();
    }
  });

  it("without the opt-in (a row adopted by a plain create), keeps the adopted names once a refresh has recorded them", async () => {
    await db.reset();
    await insertOriginal();
    const proposed = proposeIdentity(news.spec.environmentId as string, "reg_use1");
    const changed = { ...news, spec: { ...news.spec, image: NEW_IMAGE } };

    // The engine runs no provider preview for a dynamic resource: the host does not claim to support one, so a
    // preview of an update shows the checked inputs as the outputs.
    const configured = await startProviderHost();
    try {
      const reply = await configured.configure({ config: {} });
      assert.equal(reply.supportsPreview, false);
    } finally {
      await configured.stop();
    }

    // pulumi up with cutover: check proposes, create adopts the original row. State: inputs = the checked
    // inputs, outputs = what create returned.
    const checked = (await host.check({ olds: {}, news })).inputs;
    assert.equal(checked.k8sName, proposed.k8sName);
    const created = await host.create({ properties: checked });
    assert.equal(created.id, ORIGINAL.id);
    assert.equal(created.properties.k8sName, ORIGINAL.k8sName);
    let state = { id: created.id, inputs: checked, outputs: created.properties };

    // A preview with nothing changed: diff says no changes, the engine keeps the old outputs (the adopted names).
    const same = (await host.check({ olds: state.inputs, news })).inputs;
    const sameDiff = await diffAgainst(state, same);
    assert.equal(sameDiff.changes, "none");

    // A preview of an image change before any refresh: check only sees the old inputs (the proposed identity),
    // so the preview would show the proposed names as the outputs, a rename of every object. diff says so.
    const stale = (await host.check({ olds: state.inputs, news: changed })).inputs;
    assert.equal(stale.row.k8sName, proposed.k8sName, "what the preview would have shown");
    await assert.rejects(diffAgainst(state, stale), (err: { details?: string }) => {
      assert.match(String(err.details), /adopted an existing row \(id s_orig0+1, k8s_name q7x2k9ab\)/);
      assert.match(String(err.details), new RegExp(`proposed identity \\(id ${proposed.sentinelId}`));
      assert.match(String(err.details), /Run `pulumi refresh` once \(or pass --refresh\)/);
      return true;
    });

    // pulumi refresh (or up --refresh): read returns the row's identity as the inputs too.
    const read = await host.read({ id: state.id, properties: state.outputs, inputs: state.inputs });
    assert.equal(read.id, ORIGINAL.id);
    assert.ok(read.inputs !== null, "read returns inputs");
    assert.equal(read.inputs.k8sName, ORIGINAL.k8sName);
    state = { id: read.id, inputs: read.inputs, outputs: read.properties };

    // Runbook step 5: with nothing changed, the preview after the refresh shows no changes either (the
    // inputs read returns are what check keeps, not a diff of their own).
    const refreshed = (await host.check({ olds: state.inputs, news })).inputs;
    assert.deepEqual(refreshed, state.inputs);
    const quietAfterRefresh = await diffAgainst(state, refreshed);
    assert.equal(quietAfterRefresh.changes, "none");

    // The preview of the image change now: an in-place update whose outputs keep the adopted names.
    const next = (await host.check({ olds: state.inputs, news: changed })).inputs;
    const diff = await diffAgainst(state, next);
    assert.deepEqual([diff.changes, diff.replaces], ["some", []]);
    assert.deepEqual(
      [next.sentinelId, next.k8sName, next.k8sAddress, next.row.k8sName, next.row.image],
      [
        ORIGINAL.id,
        ORIGINAL.k8sName,
        `${ORIGINAL.k8sName}.sentinel.svc.cluster.local:8040`,
        ORIGINAL.k8sName,
        NEW_IMAGE,
      ],
    );

    // The program previewed with those inputs as the record's prior state (the mock engine passes them to
    // check, and shows the checked inputs as the outputs, as the engine does): the sentinel's objects keep
    // the original names and get the new image; nothing else is renamed.
    const objects = await previewImageChange(state.inputs);
    assert.deepEqual(objects.map((o) => o.type).sort(), [
      "kubernetes:apps/v1:Deployment",
      "kubernetes:core/v1:Service",
      "kubernetes:policy/v1:PodDisruptionBudget",
    ]);
    for (const o of objects) assert.equal(o.inputs.metadata.name, ORIGINAL.k8sName, o.type);
    const deployment = objects.find((o) => o.type === "kubernetes:apps/v1:Deployment")!;
    assert.equal(deployment.inputs.spec.template.spec.containers[0].image, NEW_IMAGE);
    assert.equal(deployment.inputs.metadata.labels["unkey.com/sentinel.id"], ORIGINAL.id);

    // pulumi up: the update writes the new image into the original row, which keeps its identity.
    const updated = await host.update({
      id: state.id,
      olds: state.outputs,
      news: next,
      oldInputs: state.inputs,
    });
    assert.deepEqual(
      [updated.properties.k8sName, updated.properties.row.image, updated.properties.version > 41],
      [ORIGINAL.k8sName, NEW_IMAGE, true],
    );
    const rows = (await db.admin("SELECT id, k8s_name, image FROM sentinels")) as Props[];
    assert.deepEqual(
      rows.map((r) => ({ ...r })),
      [{ id: ORIGINAL.id, k8s_name: ORIGINAL.k8sName, image: NEW_IMAGE }],
    );

    // And the next preview without changes shows nothing.
    const after = (await host.check({ olds: next, news: changed })).inputs;
    const quiet = await host.diff({ id: state.id, olds: updated.properties, news: after, oldInputs: next });
    assert.equal(quiet.changes, "none");
  });
});

describe("cutover: when diff refuses a stale adopted identity", () => {
  const spec = { ...SAMPLE_SPEC, image: "ghcr.io/unkeyed/unkey:v1" };
  const checked = (changes: Props = {}) =>
    checkSentinelRecord({}, { spec: { ...spec, ...changes } }).inputs as Props;
  const adopted = {
    ...checked(),
    sentinelId: ORIGINAL.id,
    k8sName: ORIGINAL.k8sName,
    row: { ...checked().row, sentinelId: ORIGINAL.id, k8sName: ORIGINAL.k8sName },
    version: 42,
    createdAt: 1,
    updatedAt: null,
  };

  it("only for an in-place change of a row whose recorded identity differs from the inputs", () => {
    const image = checked({ image: "ghcr.io/unkeyed/unkey:v2" });
    assert.throws(() => diffSentinelRecord(adopted, image), /adopted an existing row/);
    // No change: the engine keeps the old outputs. A move to another row: a new identity is expected.
    assert.equal(diffSentinelRecord(adopted, checked()).changes, false);
    assert.deepEqual(diffSentinelRecord(adopted, checked({ regionId: "reg_euc1" })).replaces, [
      "spec.regionId",
    ]);
    // An identity not known yet (preview with unknown inputs) is not a mismatch.
    assert.equal(
      diffSentinelRecord(adopted, { ...image, sentinelId: UNKNOWN, k8sName: UNKNOWN }).changes,
      true,
    );
    // The proposed identity that create kept (no adoption) never trips it.
    const own = { ...checked(), version: 1, createdAt: 1, updatedAt: null };
    assert.equal(diffSentinelRecord(own, image).changes, true);
  });
});
