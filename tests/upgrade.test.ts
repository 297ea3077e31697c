// Upgrading a stack whose SentinelRecords were written by release 0.1.0, which stored the provider's whole
// serialized code in every record (tests/fixtures/provider-0.1.0.txt), to the stub that loads the provider from
// the project (providers/stub.ts). Everything goes through Pulumi's own dynamic-provider host over gRPC, with the
// requests the engine sends, against a real MariaDB: the old text creates the row, the new release's Check,
// Diff, Update and Delete follow, and the state's own `__provider` decides which code the host runs, as it does
// under `pulumi up`, `refresh` and `destroy`.
import { strict as assert } from "assert";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { providerTextChanged, SentinelRecordHostProvider } from "../providers/entry";
import { checkSentinelRecord, type SentinelRecordOutputs } from "../providers/sentinelRecord";
import { DYNAMIC_RESOURCE_TYPE, PROVIDER_ENTRY, SENTINEL_RECORD_PROVIDER_STUB } from "../providers/stub";
import { startDatabase, TEST_PASSWORD, type TestDatabase } from "./harness/mariadb";
import { startHostFor, startProviderHost, type Props, type ProviderHost } from "./harness/providerHost";
import { PROJECT_ROOT } from "../synth/pulumiProject";
import { LEAK_MARKERS, runExample, TEST_SECRETS } from "./support/fixtures";

const FIXTURES = path.join(__dirname, "fixtures");
/** Release 0.1.0's `__provider` text, as its program serialized it (tests/fixtures/README.md). */
const OLD_PROVIDER = fs.readFileSync(path.join(FIXTURES, "provider-0.1.0.txt"), "utf8");
/** One record's state right after a 0.1.0 Create, `__provider` replaced by a placeholder. */
const OLD_RECORD = JSON.parse(fs.readFileSync(path.join(FIXTURES, "record-0.1.0.json"), "utf8")) as {
  id: string;
  inputs: Props;
  outputs: Props;
};
const NEW_PROVIDER = SENTINEL_RECORD_PROVIDER_STUB;
/** The goal of issue 10: at most 2 KB of provider per record, which stores it twice (inputs and outputs). */
const MAX_STUB_BYTES = 1024;

const withoutProvider = ({ __provider: _provider, ...rest }: Props): Props => rest;

describe("upgrading SentinelRecords from release 0.1.0's inlined provider to the stub", function () {
  this.timeout(60_000);
  /** The SentinelRecords of the real program (the example stack), as the new release registers them. */
  let records: { name: string; inputs: Props }[];

  before(async () => {
    records = (await runExample(false)).resources.filter((r) => r.type === DYNAMIC_RESOURCE_TYPE);
  });

  describe("the provider texts", () => {
    it("every record of the real program carries exactly the stub, at most 1 KB", () => {
      assert.ok(records.length >= 2, `expected several SentinelRecords, got ${records.length}`);
      assert.deepEqual(
        records.filter((r) => r.inputs.__provider !== NEW_PROVIDER).map((r) => r.name),
        [],
      );
      const bytes = Buffer.byteLength(NEW_PROVIDER, "utf8");
      assert.ok(bytes <= MAX_STUB_BYTES, `the stub is ${bytes} bytes`);
      assert.ok(Buffer.byteLength(OLD_PROVIDER, "utf8") > 30 * bytes, "the 0.1.0 text is the inlined code");
    });

    it("the stub names only the project's entry module; neither it nor a fixture holds a secret", () => {
      const fixtures = fs.readdirSync(FIXTURES).map((f) => fs.readFileSync(path.join(FIXTURES, f), "utf8"));
      for (const text of [NEW_PROVIDER, ...fixtures]) {
        for (const value of [...Object.values(TEST_SECRETS), ...LEAK_MARKERS, TEST_PASSWORD]) {
          assert.ok(!text.includes(value), `a provider text contains ${JSON.stringify(value)}`);
        }
      }
      assert.ok(!NEW_PROVIDER.includes(PROJECT_ROOT), "no absolute path: state moves between machines");
      assert.ok(!NEW_PROVIDER.includes(os.homedir()), "no home directory");
      // The only module it loads from the project, and never a name from a request: handler() takes nothing.
      assert.match(NEW_PROVIDER, /path\.join\(root, "providers", "entry\.ts"\)/);
      assert.ok(fs.existsSync(path.join(PROJECT_ROOT, PROVIDER_ENTRY)), PROVIDER_ENTRY);
      assert.match(NEW_PROVIDER, /exports\.handler = function \(\) \{/);
      assert.ok(!/olds|news|props|inputs|argv|env/.test(NEW_PROVIDER), "reads nothing from requests or env");
    });

    it("the stub's text is pinned: a change makes the next `pulumi up` of every stack update every record", () => {
      // Deliberately a fixed hash: the text has to change on purpose, with the README's size updated, or not at all.
      const sha256 = crypto.createHash("sha256").update(NEW_PROVIDER).digest("hex");
      assert.equal(sha256, "190e4594d63ee7176fa186c7d0dfa9d6888d852388d189d8edf547455055a702");
      assert.equal(Buffer.byteLength(NEW_PROVIDER, "utf8"), 882);
    });

    it("the 0.1.0 fixture is that release's provider and reads its credentials from stack config", () => {
      assert.match(OLD_PROVIDER, /^exports\.handler = __f0;/);
      assert.ok(OLD_PROVIDER.includes("sentinel-fleet:databasePassword"));
      assert.equal(OLD_RECORD.outputs.__provider, "<provider-0.1.0.txt>");
      assert.equal(OLD_RECORD.outputs.version, 1);
    });
  });

  describe("the host provider's rule for a changed provider text (no database)", () => {
    // Not configured: any database call fails, so passing calls prove nothing touched the database.
    const provider = new SentinelRecordHostProvider();
    const oldState = { ...OLD_RECORD.outputs, __provider: OLD_PROVIDER } as unknown as SentinelRecordOutputs;
    const newInputs = (spec: Props = {}) => {
      const { inputs, failures } = checkSentinelRecord(OLD_RECORD.inputs, {
        spec: { ...OLD_RECORD.inputs.spec, ...spec },
        __provider: NEW_PROVIDER,
      });
      assert.deepEqual(failures, []);
      return inputs as never;
    };

    it("reports an in-place update when only the text changed, and nothing when it did not", async () => {
      assert.equal(providerTextChanged({ __provider: OLD_PROVIDER }, { __provider: NEW_PROVIDER }), true);
      assert.equal(providerTextChanged({ __provider: NEW_PROVIDER }, { __provider: NEW_PROVIDER }), false);
      assert.equal(providerTextChanged({ __provider: OLD_PROVIDER }, {}), false, "no text: nothing to say");
      assert.deepEqual(await provider.diff(OLD_RECORD.id, oldState, newInputs()), {
        changes: true,
        replaces: [],
        deleteBeforeReplace: false,
      });
      const settled = { ...oldState, __provider: NEW_PROVIDER };
      assert.equal((await provider.diff(OLD_RECORD.id, settled, newInputs())).changes, false);
    });

    it("keeps a replacement a replacement", async () => {
      const moved = await provider.diff(OLD_RECORD.id, oldState, newInputs({ regionId: "reg_euc1" }));
      assert.equal(moved.changes, true);
      assert.deepEqual(moved.replaces, ["spec.regionId"]);
    });

    it("updates a text-only change without the database, keeping every output", async () => {
      const { outs } = await provider.update(OLD_RECORD.id, oldState, newInputs());
      assert.deepEqual(withoutProvider(outs as Props), withoutProvider(oldState as unknown as Props));
      await assert.rejects(
        provider.update(OLD_RECORD.id, oldState, newInputs({ image: "ghcr.io/unkeyed/unkey:v2.0.32" })),
        /not configured/,
        "a real change does go to the database",
      );
    });
  });

  describe("through Pulumi's dynamic-provider host, against MariaDB", () => {
    let db: TestDatabase;
    let host: ProviderHost;
    /** The spec of the example's production us-east-1 sentinel, as 0.1.0 stored it. */
    const spec = OLD_RECORD.inputs.spec as Props;

    const row = async (id: string): Promise<Props | undefined> => {
      const found = (await db.admin("SELECT * FROM sentinels WHERE id = ?", [id])) as Props[];
      assert.ok(found.length <= 1);
      return found[0];
    };

    /** 0.1.0's `pulumi up` creating the record: check and create with the old text. */
    const createWithOldRelease = async (changes: Props = {}) => {
      const inputs = (
        await host.check({ olds: {}, news: { __provider: OLD_PROVIDER, spec: { ...spec, ...changes } } })
      ).inputs;
      assert.equal(inputs.__provider, OLD_PROVIDER);
      const created = await host.create({ properties: inputs });
      assert.equal(created.properties.__provider, OLD_PROVIDER, "0.1.0 state: the inlined code");
      return { id: created.id, inputs, state: created.properties };
    };

    /** The new release's check of the same sentinel: its inputs now carry the stub. */
    const checkWithNewRelease = async (oldInputs: Props, changes: Props = {}) => {
      const { inputs, failures } = await host.check({
        olds: oldInputs,
        news: { __provider: NEW_PROVIDER, spec: { ...spec, ...changes } },
      });
      assert.deepEqual(failures, []);
      assert.equal(inputs.__provider, NEW_PROVIDER);
      return inputs;
    };

    before(async () => {
      db = await startDatabase();
      // One host serves both texts, as the one host of a `pulumi up` does.
      host = await startHostFor(db);
    });
    after(async function () {
      this.timeout(30_000);
      await host?.stop();
      await db?.stop();
    });
    beforeEach(() => db.reset());

    it("a no-op `pulumi up` rewrites the state with the stub and leaves the row untouched", async () => {
      const old = await createWithOldRelease();
      const rowBefore = await row(old.id);
      assert.ok(rowBefore !== undefined);
      assert.equal(Number(rowBefore.version), 1);

      const inputs = await checkWithNewRelease(old.inputs);
      // A record from before incarnations keeps none (null): its Deployment gets no new annotation.
      assert.deepEqual(
        withoutProvider(inputs),
        withoutProvider({ ...old.inputs, row: { ...(old.inputs.row as Props), incarnation: null } }),
        "same identity and sizing",
      );
      const diff = await host.diff({ id: old.id, olds: old.state, news: inputs, oldInputs: old.inputs });
      assert.deepEqual(
        { changes: diff.changes, replaces: diff.replaces, deleteBeforeReplace: diff.deleteBeforeReplace },
        { changes: "some", replaces: [], deleteBeforeReplace: false },
        "an in-place update, never a replacement",
      );
      const updated = await host.update({ id: old.id, olds: old.state, news: inputs, oldInputs: old.inputs });
      assert.equal(updated.properties.__provider, NEW_PROVIDER, "the old code leaves the state");
      assert.deepEqual(withoutProvider(updated.properties), withoutProvider(old.state), "every output kept");
      assert.deepEqual(await row(old.id), rowBefore, "id, k8s_name, version and updated_at unchanged");
      const stateBytes = (props: Props) => Buffer.byteLength(JSON.stringify(props), "utf8");
      assert.ok(
        stateBytes(old.state) - stateBytes(updated.properties) > 30_000,
        `the record's outputs went from ${stateBytes(old.state)} to ${stateBytes(updated.properties)} bytes`,
      );

      // The next `pulumi up`: nothing to do.
      const again = await checkWithNewRelease(inputs);
      const settled = await host.diff({
        id: old.id,
        olds: updated.properties,
        news: again,
        oldInputs: inputs,
      });
      assert.equal(settled.changes, "none");

      // `pulumi refresh`, then `pulumi destroy`, with the state as the new release left it.
      const read = await host.read({ id: old.id, properties: updated.properties, inputs });
      assert.deepEqual(read.properties, {
        ...updated.properties,
        row: { ...(updated.properties.row as Props), incarnation: null },
      });
      await host.delete({ id: old.id, properties: updated.properties, oldInputs: inputs });
      assert.equal(await row(old.id), undefined, "the row is gone");
    });

    it("every sentinel of the example stack, created by 0.1.0, is upgraded with the table unchanged", async () => {
      // Every class of record the example has: production and not, sizing overrides, two regions.
      const created = await Promise.all(
        records.map(async (r) => {
          const inputs = (await host.check({ olds: {}, news: { ...r.inputs, __provider: OLD_PROVIDER } }))
            .inputs;
          const { id, properties } = await host.create({ name: r.name, properties: inputs });
          return { name: r.name, news: r.inputs, id, inputs, state: properties };
        }),
      );
      const table = async () => db.admin("SELECT * FROM sentinels ORDER BY pk");
      const before = await table();
      const upgraded = await Promise.all(
        created.map(async (c) => {
          const { inputs, failures } = await host.check({ name: c.name, olds: c.inputs, news: c.news });
          assert.deepEqual(failures, [], c.name);
          const diff = await host.diff({
            id: c.id,
            name: c.name,
            olds: c.state,
            news: inputs,
            oldInputs: c.inputs,
          });
          assert.deepEqual([diff.changes, diff.replaces], ["some", []], c.name);
          const { properties } = await host.update({
            id: c.id,
            name: c.name,
            olds: c.state,
            news: inputs,
            oldInputs: c.inputs,
          });
          assert.equal(properties.__provider, NEW_PROVIDER, c.name);
          assert.deepEqual(withoutProvider(properties), withoutProvider(c.state), c.name);
          return { ...c, inputs, state: properties };
        }),
      );
      assert.deepEqual(await table(), before, "no row written");
      await Promise.all(
        upgraded.map((u) =>
          host.delete({ id: u.id, name: u.name, properties: u.state, oldInputs: u.inputs }),
        ),
      );
      assert.deepEqual(await table(), [], "every row deleted through the stub");
    });

    it("a real change made with the upgrade updates the row in place, with a new version only", async () => {
      const old = await createWithOldRelease();
      const rowBefore = (await row(old.id)) as Props;
      const newImage = "ghcr.io/unkeyed/unkey:v2.0.32";
      const inputs = await checkWithNewRelease(old.inputs, { image: newImage, replicas: 5 });
      const diff = await host.diff({ id: old.id, olds: old.state, news: inputs, oldInputs: old.inputs });
      assert.deepEqual({ changes: diff.changes, replaces: diff.replaces }, { changes: "some", replaces: [] });
      const updated = await host.update({ id: old.id, olds: old.state, news: inputs, oldInputs: old.inputs });
      const rowAfter = (await row(old.id)) as Props;
      assert.deepEqual(
        [rowAfter.id, rowAfter.k8s_name, rowAfter.pk, rowAfter.image, rowAfter.desired_replicas],
        [rowBefore.id, rowBefore.k8s_name, rowBefore.pk, newImage, 5],
      );
      assert.ok(Number(rowAfter.version) > Number(rowBefore.version), "a new version for a real change");
      assert.equal(updated.properties.__provider, NEW_PROVIDER);
      assert.deepEqual(
        [updated.properties.sentinelId, updated.properties.k8sName, updated.properties.version],
        [old.state.sentinelId, old.state.k8sName, Number(rowAfter.version)],
      );
    });

    it("a record whose state still holds the old code is refreshed and deleted by that code", async () => {
      // E.g. `pulumi destroy`, or a sentinel removed from the config, before any `pulumi up` of the new release.
      const old = await createWithOldRelease();
      const read = await host.read({ id: old.id, properties: old.state, inputs: old.inputs });
      assert.equal(read.id, old.id);
      assert.equal(read.properties.__provider, OLD_PROVIDER, "refresh keeps the state's own provider");
      await host.delete({ id: old.id, properties: read.properties, oldInputs: old.inputs });
      assert.equal(await row(old.id), undefined, "the row is gone");
      // A destroy retried after a partial failure: already gone is success.
      await host.delete({ id: old.id, properties: old.state, oldInputs: old.inputs });
    });

    it("a replacement the upgrade does not cause stays one (another region: another row)", async () => {
      const old = await createWithOldRelease();
      const inputs = await checkWithNewRelease(old.inputs, { regionId: "reg_euc1" });
      assert.notEqual(inputs.sentinelId, old.state.sentinelId);
      const diff = await host.diff({ id: old.id, olds: old.state, news: inputs, oldInputs: old.inputs });
      assert.deepEqual(diff.replaces, ["spec.regionId"]);
      assert.equal(diff.deleteBeforeReplace, false);
      // The engine creates the replacement with the new provider and deletes the old row with the old one.
      const created = await host.create({ properties: inputs });
      await host.delete({ id: old.id, properties: old.state, oldInputs: old.inputs });
      assert.equal(await row(old.id), undefined);
      assert.equal((await row(created.id))?.region_id, "reg_euc1");
    });
  });

  describe("where the stub looks", () => {
    const dirs: string[] = [];
    const hosts: ProviderHost[] = [];
    /** A host started in a fresh folder holding `files` (path relative to it → content). */
    const hostIn = async (files: Record<string, string>, links: Record<string, string> = {}) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sentinel-fleet-stub-"));
      dirs.push(dir);
      for (const [file, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), text);
      }
      for (const [link, target] of Object.entries(links)) fs.symlinkSync(target, path.join(dir, link));
      const host = await startProviderHost({ cwd: dir });
      hosts.push(host);
      await host.configure({ config: {} });
      return { dir, host };
    };
    const check = (host: ProviderHost) =>
      host.check({ olds: {}, news: { __provider: NEW_PROVIDER, spec: OLD_RECORD.inputs.spec } });
    /** A module that answers check with where it was loaded from. */
    const marker = (from: string) =>
      `exports.provider = { check: (olds, news) => Promise.resolve({ inputs: { from: ${JSON.stringify(from)} } }) };\n`;

    after(async () => {
      await Promise.all(hosts.map((h) => h.stop()));
      for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("outside the project folder it loads nothing and says where it looked", async () => {
      const { dir, host } = await hostIn({});
      const err = (await check(host).then(
        () => assert.fail("check succeeded outside the project folder"),
        (e: unknown) => e,
      )) as grpc.ServiceError;
      assert.equal(err.code, grpc.status.UNKNOWN);
      const looked = [dir, fs.realpathSync(dir)].map((d) => path.join(d, "providers", "entry"));
      assert.ok(
        looked.some((p) => err.details.includes(p)),
        err.details,
      );
      assert.match(
        err.details,
        /sentinel-fleet: cannot load .*run Pulumi in the project folder after npm ci/,
      );
    });

    it("the TypeScript entry wins over any JavaScript beside it, so build output cannot shadow it", async () => {
      const { host } = await hostIn(
        {
          "providers/entry.ts": `export const provider = { check: () => Promise.resolve({ inputs: { from: "ts" as string } }) };\n`,
          "providers/entry.js": marker("stale js"),
          "tsconfig.json": fs.readFileSync(path.join(PROJECT_ROOT, "tsconfig.json"), "utf8"),
        },
        { node_modules: path.join(PROJECT_ROOT, "node_modules") },
      );
      assert.deepEqual((await check(host)).inputs, { from: "ts", __provider: NEW_PROVIDER });
    });

    it("the environment cannot redirect it: a planted ts-node on NODE_PATH, TS_NODE_PROJECT elsewhere", async () => {
      // The host inherits the engine's environment. The project's own ts-node (node_modules, after npm ci) is
      // found before NODE_PATH, and the stub names the project's tsconfig.json itself.
      const planted = fs.mkdtempSync(path.join(os.tmpdir(), "sentinel-fleet-planted-"));
      dirs.push(planted);
      fs.mkdirSync(path.join(planted, "ts-node"));
      fs.writeFileSync(
        path.join(planted, "ts-node", "index.js"),
        'throw new Error("planted ts-node loaded");\n',
      );
      fs.writeFileSync(
        path.join(planted, "tsconfig.json"),
        '{ "compilerOptions": { "module": "esnext" } }\n',
      );
      const saved = { ...process.env };
      let started: Promise<ProviderHost>;
      try {
        // startProviderHost spawns before its first await: the child gets this environment.
        Object.assign(process.env, {
          NODE_PATH: planted,
          TS_NODE_PROJECT: path.join(planted, "tsconfig.json"),
        });
        started = startProviderHost();
      } finally {
        process.env = saved;
      }
      const host = await started;
      hosts.push(host);
      await host.configure({ config: {} });
      const { inputs, failures } = await check(host);
      assert.deepEqual(failures, []);
      assert.equal(typeof OLD_RECORD.outputs.sentinelId, "string");
      assert.equal(inputs.sentinelId, OLD_RECORD.outputs.sentinelId, "the project's real provider answered");
    });

    it("a compiled copy of the project without its sources runs its compiled entry", async () => {
      const { host } = await hostIn({ "providers/entry.js": marker("compiled copy") });
      assert.deepEqual((await check(host)).inputs, { from: "compiled copy", __provider: NEW_PROVIDER });
    });
  });
});
