// SentinelRecord on the path `pulumi up` takes: the provider text the real program serializes, run by Pulumi's
// own dynamic-provider host (a child process), driven over gRPC the way the engine drives it, against a real
// MariaDB. Only the engine's role is emulated: the order of calls and what each request carries.
import * as assert from "assert";
import * as net from "net";
import * as grpc from "@grpc/grpc-js";
import { startDatabase, type TestDatabase } from "./harness/mariadb";
import {
  databaseConfig,
  DYNAMIC_TYPE,
  secret,
  startConfiguredHost,
  type Props,
  type ProviderHost,
} from "./harness/providerHost";
import { LEAK_MARKERS, runExample, TEST_SECRETS } from "./support/fixtures";
import { refusedPort } from "./support/net";
import { SENTINEL_COLUMNS } from "./support/sentinelsTable";

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const DATABASE_KEY = "sentinel-fleet:database";
const PASSWORD_KEY = "sentinel-fleet:databasePassword";
/** Spec section 1: `<k8s_name>.<namespace>.svc.cluster.local:8040`, k8s_name a 12-character RFC 1035 label. */
const K8S_NAME = /^[a-z][a-z0-9-]{10}[a-z0-9]$/;
const SENTINEL_ID = /^s_[a-z0-9]+$/;
/** Spec section 1 defaults. */
const DEFAULT_CPU = 256;
const DEFAULT_MEMORY = 256;
const replicasFor = (slug: string) => (slug === "production" ? 3 : 1);

/** The keys a created SentinelRecord's state must carry (every output, and the provider for later calls). */
const OUTPUT_KEYS = [
  "__provider",
  "createdAt",
  "k8sAddress",
  "k8sName",
  "row",
  "sentinelId",
  "spec",
  "updatedAt",
  "version",
];

function withoutProvider(props: Props): Props {
  const { __provider: _provider, ...rest } = props;
  return rest;
}

/** A TCP server that accepts connections and never says a word (a hung database or a black-holing proxy). */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  return {
    port: (srv.address() as net.AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  };
}

/** Runs a call that must fail; returns the gRPC error. */
async function rejection(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  assert.fail("the call succeeded; it was expected to fail");
}

describe("SentinelRecord through Pulumi's dynamic-provider host over gRPC", function () {
  let db: TestDatabase;
  /** The provider text of the real program's SentinelRecords. */
  let providerText: string;
  /** Every SentinelRecord's provider text, by resource name. */
  let providerTexts: Map<string, string>;
  /** The real program's inputs of its production us-east-1 sentinel, `__provider` included. */
  let news: Props;
  /** Its spec (the resource's one input property). */
  let spec: Props;
  let otherNews: Props[];
  /** The production sentinel's inputs with some spec fields changed. */
  const withSpec = (changes: Props): Props => ({ ...news, spec: { ...spec, ...changes } });

  const rows = async (where = "1 = 1", values: unknown[] = []): Promise<Props[]> =>
    (await db.admin(`SELECT * FROM sentinels WHERE ${where}`, values)) as Props[];

  const testDatabaseConfig = (): Props => databaseConfig(db);

  before(async function () {
    this.timeout(60_000);
    const [database, run] = await Promise.all([startDatabase(), runExample(false)]);
    db = database;
    const records = run.resources.filter((r) => r.type === DYNAMIC_TYPE);
    assert.ok(records.length >= 2, `expected several SentinelRecords, got ${records.length}`);
    providerTexts = new Map(records.map((r) => [r.name, String(r.inputs.__provider)]));
    const production = records.find(
      (r) => r.inputs.spec.environmentSlug === "production" && r.inputs.spec.regionId === "reg_use1",
    );
    assert.ok(production !== undefined, "the example stack has a production sentinel in reg_use1");
    providerText = String(production.inputs.__provider);
    news = { ...production.inputs };
    spec = news.spec as Props;
    // Check needs no database, so the other sentinels keep their own regions.
    otherNews = records.filter((r) => r !== production).map((r) => ({ ...r.inputs }));
  });

  after(async function () {
    this.timeout(30_000);
    await db?.stop();
  });

  it("serializes one shared provider that carries no credentials", () => {
    assert.ok(providerText.includes("exports.handler"), "the __provider input is a serialized provider");
    assert.deepStrictEqual(
      [...providerTexts].filter(([, text]) => text !== providerText).map(([name]) => name),
      [],
      "every SentinelRecord carries the same provider text (one shared provider instance)",
    );
    const forbidden = [db.password, ...Object.values(TEST_SECRETS), ...LEAK_MARKERS];
    for (const value of forbidden) {
      assert.ok(!providerText.includes(value), `the serialized provider contains ${JSON.stringify(value)}`);
    }
  });

  describe("configured with the test database", () => {
    let host: ProviderHost;

    before(async () => {
      host = await startConfiguredHost(testDatabaseConfig());
    });
    after(async () => {
      await host?.stop();
    });
    beforeEach(() => db.reset());

    it("check fills the defaults and proposes the sentinel's identity and address", async () => {
      const { inputs, failures } = await host.check({ olds: {}, news });
      assert.deepStrictEqual(failures, []);
      assert.strictEqual(inputs.__provider, providerText);
      for (const key of [
        "workspaceId",
        "projectId",
        "environmentId",
        "environmentSlug",
        "regionId",
        "image",
      ]) {
        assert.strictEqual(inputs.spec[key], spec[key], key);
      }
      assert.match(inputs.sentinelId, SENTINEL_ID);
      assert.match(inputs.k8sName, K8S_NAME);
      assert.strictEqual(inputs.k8sAddress, `${inputs.k8sName}.${spec.namespace}.svc.cluster.local:8040`);
      assert.strictEqual(spec.replicas, undefined, "the example's production environment sets no replicas");
      assert.strictEqual(inputs.row.desiredReplicas, replicasFor(spec.environmentSlug));
      assert.strictEqual(inputs.row.desiredReplicas, 3);
      assert.deepStrictEqual(
        [inputs.spec.cpuMillicores, inputs.row.cpuMillicores],
        [DEFAULT_CPU, DEFAULT_CPU],
      );
      assert.deepStrictEqual([inputs.spec.memoryMib, inputs.row.memoryMib], [DEFAULT_MEMORY, DEFAULT_MEMORY]);
      assert.deepStrictEqual(
        [inputs.row.sentinelId, inputs.row.k8sName, inputs.row.k8sAddress, inputs.row.image],
        [inputs.sentinelId, inputs.k8sName, inputs.k8sAddress, spec.image],
      );

      // The identity is a function of (environment, region): stable across checks, distinct elsewhere. The
      // incarnation is new for every create (no olds) and kept while the record is in the state.
      const again = await host.check({ olds: {}, news });
      const withoutIncarnation = (i: Props) => ({ ...i, row: { ...i.row, incarnation: "" } });
      assert.deepStrictEqual(withoutIncarnation(again.inputs), withoutIncarnation(inputs));
      assert.match(inputs.row.incarnation, /^\d{13}$/, "a create's incarnation: when it was checked, in ms");
      const kept = await host.check({ olds: inputs, news });
      assert.deepStrictEqual(kept.inputs, inputs);
      const elsewhere = await host.check({ olds: {}, news: withSpec({ regionId: "reg_euc1" }) });
      assert.notStrictEqual(elsewhere.inputs.sentinelId, inputs.sentinelId);
      assert.notStrictEqual(elsewhere.inputs.k8sName, inputs.k8sName);

      // The other sentinels of the real program: replicas by slug unless overridden, sizing as declared.
      for (const other of otherNews) {
        const checked = await host.check({ olds: {}, news: other });
        const o = other.spec as Props;
        assert.deepStrictEqual(checked.failures, [], o.environmentId);
        const wantReplicas = o.replicas ?? replicasFor(o.environmentSlug);
        assert.strictEqual(checked.inputs.row.desiredReplicas, wantReplicas, o.environmentId);
        assert.strictEqual(checked.inputs.row.cpuMillicores, o.cpuMillicores ?? DEFAULT_CPU, o.environmentId);
        assert.strictEqual(checked.inputs.row.memoryMib, o.memoryMib ?? DEFAULT_MEMORY, o.environmentId);
        assert.notStrictEqual(checked.inputs.k8sName, inputs.k8sName, o.environmentId);
      }
      assert.deepStrictEqual(await rows(), [], "check never writes");
    });

    it("diff of checked inputs against themselves shows no changes", async () => {
      const { inputs } = await host.check({ olds: {}, news });
      const diff = await host.diff({ id: "", olds: inputs, news: inputs, oldInputs: inputs });
      assert.deepStrictEqual(
        { changes: diff.changes, replaces: diff.replaces },
        { changes: "none", replaces: [] },
      );
    });

    it("runs a sentinel's whole life: create, read, diff, update, delete, refresh after delete", async () => {
      // pulumi up (create): check, then create with the checked inputs.
      const checked = (await host.check({ olds: {}, news })).inputs;
      const before = Date.now();
      const created = await host.create({ properties: checked });
      const after = Date.now();
      assert.strictEqual(created.id, checked.sentinelId);

      const [row, ...extra] = await rows("id = ?", [created.id]);
      assert.deepStrictEqual(extra, [], "one row");
      assert.ok(row !== undefined, "the row exists");
      assert.deepStrictEqual(Object.keys(row).sort(), [...SENTINEL_COLUMNS].sort());
      const createdAt = Number(row.created_at);
      assert.ok(createdAt >= before && createdAt <= after, `created_at ${createdAt} is now (ms)`);
      const { pk: _pk, ...columns } = row;
      assert.ok(Number(row.version) >= before * 1000, `version ${row.version}: the database clock in µs`);
      assert.deepStrictEqual(
        { ...columns, version: Number(row.version), created_at: createdAt },
        {
          id: checked.sentinelId,
          workspace_id: spec.workspaceId,
          project_id: spec.projectId,
          environment_id: spec.environmentId,
          k8s_name: checked.k8sName,
          k8s_address: checked.k8sAddress,
          region_id: "reg_use1",
          image: spec.image,
          desired_state: "running",
          health: "unknown",
          desired_replicas: 3,
          available_replicas: 0,
          cpu_millicores: DEFAULT_CPU,
          memory_mib: DEFAULT_MEMORY,
          version: Number(row.version),
          created_at: createdAt,
          updated_at: null,
        },
      );

      const state = created.properties;
      assert.deepStrictEqual(Object.keys(state).sort(), [...OUTPUT_KEYS].sort());
      assert.deepStrictEqual(
        Object.entries(state)
          .filter(([, v]) => v === undefined)
          .map(([k]) => k),
        [],
      );
      assert.strictEqual(state.__provider, providerText, "state keeps the provider for later calls");
      assert.deepStrictEqual(withoutProvider(state), {
        ...withoutProvider(checked),
        version: Number(row.version),
        createdAt,
        updatedAt: null,
      });

      // pulumi refresh: read by id with the state's outputs.
      const read = await host.read({ id: created.id, properties: state, inputs: checked });
      assert.strictEqual(read.id, created.id);
      assert.deepStrictEqual(read.properties, state, "the row matches the state");
      assert.ok(read.inputs !== null, "read returns inputs for later diffs");
      assert.deepStrictEqual(withoutProvider(read.inputs), withoutProvider(checked));

      // pulumi up with nothing changed.
      const same = await host.diff({ id: created.id, olds: state, news: checked, oldInputs: checked });
      assert.strictEqual(same.changes, "none");

      // A new image: an in-place update. A new environment id: a replacement.
      const newImage = "ghcr.io/unkeyed/unkey:v2.0.32";
      const imageChecked = (await host.check({ olds: checked, news: withSpec({ image: newImage }) })).inputs;
      const imageDiff = await host.diff({
        id: created.id,
        olds: state,
        news: imageChecked,
        oldInputs: checked,
      });
      assert.deepStrictEqual(
        { changes: imageDiff.changes, replaces: imageDiff.replaces },
        { changes: "some", replaces: [] },
      );
      const envChecked = (await host.check({ olds: checked, news: withSpec({ environmentId: "env_other" }) }))
        .inputs;
      assert.notStrictEqual(envChecked.sentinelId, checked.sentinelId, "another environment, another row");
      const envDiff = await host.diff({ id: created.id, olds: state, news: envChecked, oldInputs: checked });
      assert.strictEqual(envDiff.changes, "some");
      assert.ok(envDiff.replaces.includes("spec.environmentId"), `replaces: ${envDiff.replaces.join(", ")}`);
      assert.strictEqual(envDiff.deleteBeforeReplace, false);

      // pulumi up with a new image and replicas: check, diff, update.
      const updatedNews = withSpec({ image: newImage, replicas: 5 });
      const updChecked = (await host.check({ olds: checked, news: updatedNews })).inputs;
      assert.strictEqual(updChecked.sentinelId, checked.sentinelId, "same row");
      const updDiff = await host.diff({ id: created.id, olds: state, news: updChecked, oldInputs: checked });
      assert.deepStrictEqual(
        { changes: updDiff.changes, replaces: updDiff.replaces },
        { changes: "some", replaces: [] },
      );
      const updStart = Date.now();
      const updated = await host.update({
        id: created.id,
        olds: state,
        news: updChecked,
        oldInputs: checked,
      });
      const updEnd = Date.now();
      const [updRow] = await rows("id = ?", [created.id]);
      assert.strictEqual(updRow.image, newImage);
      assert.strictEqual(updRow.desired_replicas, 5);
      assert.ok(Number(updRow.version) > 1, `version increased: ${updRow.version}`);
      const updatedAt = Number(updRow.updated_at);
      assert.ok(updatedAt >= updStart && updatedAt <= updEnd, `updated_at ${updRow.updated_at} is now (ms)`);
      assert.strictEqual(Number(updRow.created_at), createdAt, "created_at is kept");
      assert.strictEqual(updRow.k8s_name, checked.k8sName);
      const updState = updated.properties;
      assert.strictEqual(updState.__provider, providerText);
      assert.deepStrictEqual(
        {
          image: updState.row.image,
          replicas: updState.spec.replicas,
          desiredReplicas: updState.row.desiredReplicas,
          version: updState.version,
          updatedAt: updState.updatedAt,
          createdAt: updState.createdAt,
        },
        {
          image: newImage,
          replicas: 5,
          desiredReplicas: 5,
          version: Number(updRow.version),
          updatedAt,
          createdAt,
        },
      );
      const settled = await host.diff({
        id: created.id,
        olds: updState,
        news: updChecked,
        oldInputs: updChecked,
      });
      assert.strictEqual(settled.changes, "none", "after the update the next up has nothing to do");

      // pulumi destroy, then a refresh of the (now stale) state.
      await host.delete({ id: created.id, properties: updState, oldInputs: updChecked });
      assert.deepStrictEqual(await rows("id = ?", [created.id]), [], "the row is gone");
      const gone = await host.read({ id: created.id, properties: updState, inputs: updChecked });
      assert.strictEqual(gone.id, "", "an empty id: the engine drops the resource from state");
      // A delete of a row that is already gone succeeds (a destroy retried after a partial failure).
      await host.delete({ id: created.id, properties: updState });
    });

    it("creates every sentinel of the real program in parallel, as `pulumi up` does", async () => {
      const all = [news, ...otherNews];
      const checked = await Promise.all(all.map((n) => host.check({ olds: {}, news: n })));
      assert.deepStrictEqual(
        checked.flatMap((c) => c.failures),
        [],
      );
      const serverConnections = async () =>
        Number(((await db.admin("SHOW GLOBAL STATUS LIKE 'Connections'")) as Props[])[0].Value);
      const connectionsBefore = await serverConnections();
      const created = await Promise.all(
        checked.map((c, i) => host.create({ name: `sentinel-${i}`, properties: c.inputs })),
      );
      // The host's pool: a few connections for all of them, not one per create (the host may already hold
      // some from earlier tests, so this counts new ones: at most the pool's limit of 8).
      const opened = (await serverConnections()) - connectionsBefore;
      assert.ok(opened <= 8, `${opened} new connections for ${created.length} creates`);
      // Another round (each create adopts its row) reuses those connections: none is opened.
      const again = await serverConnections();
      await Promise.all(checked.map((c, i) => host.create({ name: `sentinel-${i}`, properties: c.inputs })));
      assert.equal((await serverConnections()) - again, 0, "the pool's connections were reused");
      const stored = await rows();
      assert.deepStrictEqual(
        stored.map((r) => r.id).sort(),
        created.map((c) => c.id).sort(),
        "one row per sentinel",
      );
      // Versions are unique per region and rise in the order the rows were written (spec:
      // unique_version_per_region; README "Versions that only go up"), and are above the clock at the start.
      const byRegion = new Map<string, number[]>();
      for (const r of [...stored].sort((a, b) => Number(a.pk) - Number(b.pk)))
        byRegion.set(r.region_id, [...(byRegion.get(r.region_id) ?? []), Number(r.version)]);
      for (const [region, versions] of byRegion) {
        const sorted = [...versions].sort((a, b) => a - b);
        assert.deepStrictEqual(sorted, versions, region);
      }
      for (const c of created) {
        const row = stored.find((r) => r.id === c.id);
        assert.strictEqual(c.properties.version, Number(row?.version), c.id);
        assert.strictEqual(c.properties.k8sName, row?.k8s_name, c.id);
      }
    });

    it("check names every missing required input", async () => {
      const { inputs, failures } = await host.check({
        olds: {},
        news: { __provider: providerText, spec: { workspaceId: spec.workspaceId, image: "" } },
      });
      const failed = failures.map((f) => f.property).sort();
      assert.deepStrictEqual(failed, [
        "spec.environmentId",
        "spec.environmentSlug",
        "spec.image",
        "spec.namespace",
        "spec.projectId",
        "spec.regionId",
      ]);
      for (const f of failures) {
        assert.ok(
          f.reason.includes(f.property.replace(/^spec\./, "")),
          `reason names the input: ${f.reason}`,
        );
      }
      assert.strictEqual(inputs.__provider, providerText);
    });

    it("check tolerates unknown inputs (preview) and makes what derives from them unknown", async () => {
      const { inputs, failures } = await host.check({ olds: {}, news: withSpec({ environmentId: UNKNOWN }) });
      assert.deepStrictEqual(failures, []);
      assert.strictEqual(inputs.spec.environmentId, UNKNOWN);
      assert.strictEqual(inputs.sentinelId, UNKNOWN);
      assert.strictEqual(inputs.k8sName, UNKNOWN);
      assert.strictEqual(inputs.k8sAddress, UNKNOWN);
      assert.strictEqual(inputs.row.desiredReplicas, 3, "known inputs still resolve");

      const unknownReplicas = await host.check({ olds: {}, news: withSpec({ replicas: UNKNOWN }) });
      assert.deepStrictEqual(unknownReplicas.failures, []);
      assert.strictEqual(unknownReplicas.inputs.row.desiredReplicas, UNKNOWN);
      assert.match(unknownReplicas.inputs.k8sName, K8S_NAME, "the identity does not depend on replicas");

      // Diff of an existing sentinel against unknown new inputs: a possible replacement, shown as such.
      const checked = (await host.check({ olds: {}, news })).inputs;
      const diff = await host.diff({
        id: checked.sentinelId,
        olds: { ...checked, version: 1 },
        news: inputs,
      });
      assert.strictEqual(diff.changes, "some");
      assert.ok(diff.replaces.includes("spec.environmentId"), `replaces: ${diff.replaces.join(", ")}`);
    });

    it("create in a region missing from the regions table fails naming it and writes nothing", async () => {
      const { inputs, failures } = await host.check({ olds: {}, news: withSpec({ regionId: "reg_mars1" }) });
      assert.deepStrictEqual(failures, [], "check cannot know the regions table");
      const err = await rejection(host.create({ properties: inputs }));
      assert.strictEqual(err.code, grpc.status.UNKNOWN);
      assert.match(err.details, /reg_mars1/);
      assert.ok(!err.details.includes(db.password), "no password in the error");
      assert.deepStrictEqual(await rows(), [], "nothing was written");
    });
  });

  describe("configured with a database port that refuses connections", () => {
    let host: ProviderHost;
    let port: number;
    const timeoutMs = 250;

    before(async () => {
      port = await refusedPort();
      // As JSON text this time (the engine hands structured config over either way), the password in plaintext.
      host = await startConfiguredHost({
        [DATABASE_KEY]: JSON.stringify({
          host: "127.0.0.1",
          port,
          user: db.user,
          name: db.database,
          connectTimeoutMs: timeoutMs,
        }),
        [PASSWORD_KEY]: db.password,
      });
    });
    after(async () => {
      await host?.stop();
    });

    it("fails every database call quickly, naming host:port and never the password", async () => {
      const { inputs } = await host.check({ olds: {}, news });
      const started = Date.now();
      const createErr = await rejection(host.create({ properties: inputs }));
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 5_000, `create failed after ${elapsed} ms`);
      assert.strictEqual(createErr.code, grpc.status.UNKNOWN);
      assert.ok(createErr.details.includes(`127.0.0.1:${port}`), createErr.details);

      const state = { ...inputs, version: 1, createdAt: Date.now(), updatedAt: null };
      const readErr = await rejection(host.read({ id: inputs.sentinelId, properties: state }));
      const deleteErr = await rejection(host.delete({ id: inputs.sentinelId, properties: state }));
      for (const err of [createErr, readErr, deleteErr]) {
        assert.ok(err.details.includes(`127.0.0.1:${port}`), err.details);
        assert.ok(!err.details.includes(db.password), `password in: ${err.details}`);
        assert.ok(!err.message.includes(db.password), `password in: ${err.message}`);
      }
      assert.ok(!host.stderr().includes(db.password), "the host logged the password");
    });

    it("still answers check and diff (previews need no database)", async () => {
      const { inputs, failures } = await host.check({ olds: {}, news });
      assert.deepStrictEqual(failures, []);
      assert.match(inputs.k8sName, K8S_NAME);
      const state = { ...inputs, version: 1, createdAt: Date.now(), updatedAt: null };
      const changed = (await host.check({ olds: inputs, news: withSpec({ image: "ghcr.io/x/y:z" }) })).inputs;
      const diff = await host.diff({ id: inputs.sentinelId, olds: state, news: changed });
      assert.deepStrictEqual(
        { changes: diff.changes, replaces: diff.replaces },
        { changes: "some", replaces: [] },
      );
    });
  });

  describe("configured with a database that accepts connections and never answers", () => {
    let host: ProviderHost;
    let server: { port: number; close(): Promise<void> };
    const timeoutMs = 300;

    before(async () => {
      server = await silentServer();
      host = await startConfiguredHost({
        [DATABASE_KEY]: {
          host: "127.0.0.1",
          port: server.port,
          user: db.user,
          name: db.database,
          connectTimeoutMs: timeoutMs,
        },
        [PASSWORD_KEY]: secret(db.password),
      });
    });
    after(async () => {
      await host?.stop();
      await server?.close();
    });

    it("fails create within connectTimeoutMs, naming host:port", async () => {
      const { inputs } = await host.check({ olds: {}, news });
      const started = Date.now();
      const err = await rejection(host.create({ properties: inputs }));
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= timeoutMs - 50 && elapsed < timeoutMs + 3_000, `failed after ${elapsed} ms`);
      assert.ok(err.details.includes(`127.0.0.1:${server.port}`), err.details);
      assert.ok(!err.details.includes(db.password), `password in: ${err.details}`);
    });
  });

  describe("configured without any database settings", () => {
    let host: ProviderHost;

    before(async () => {
      host = await startConfiguredHost({});
    });
    after(async () => {
      await host?.stop();
    });

    it("answers check and diff, and fails create naming the missing config keys", async () => {
      const { inputs, failures } = await host.check({ olds: {}, news });
      assert.deepStrictEqual(failures, []);
      assert.match(inputs.sentinelId, SENTINEL_ID);
      const diff = await host.diff({ id: inputs.sentinelId, olds: inputs, news: inputs });
      assert.strictEqual(diff.changes, "none");
      const err = await rejection(host.create({ properties: inputs }));
      assert.ok(err.details.includes(DATABASE_KEY), err.details);
      assert.ok(err.details.includes(PASSWORD_KEY), err.details);
    });
  });
});
