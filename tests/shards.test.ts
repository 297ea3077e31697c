// Environment shards within a region: a region base stack and two environment shard stacks of one fleet,
// against the same fleet deployed by one stack, all under the mock engine (which answers the shards'
// StackReference from the base stack's exports of its own run, as the engine's built-in provider does).
import { strict as assert } from "assert";
import * as path from "path";
import { regionBaseExportProblems } from "../components/fleet";
import { loginResourceName } from "../components/regionDatabase";
import { RECORDS_PROVIDER_NAME, RESOURCE_TYPES, stackEnvironments } from "../lib/names";
import { parseFleetConfig } from "../lib/config";
import { parseConnectionSettings } from "../lib/config/connection";
import {
  DYNAMIC_TYPE,
  isSecretEnvelope,
  redactSecrets,
  STACK_REFERENCE_TYPE,
  unwrapSecrets,
  type CapturedResource,
  type ProgramRun,
} from "../synth/mockEngine";
import { exampleConfig, LEAK_MARKERS, runExample, strings } from "./support/fixtures";

const BASE = "acme/sentinel-fleet/sentinels-base";
const SHARDS: Record<string, string> = {
  env_storefront_prod: "a",
  env_storefront_preview: "b",
  env_billing_staging: "b",
};

/** The example fleet with two shards, every environment assigned to one; `extra` adds the stack's own keys. */
function sharded(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const environments = (
    exampleConfig().config["sentinel-fleet:environments"] as Record<string, unknown>[]
  ).map((e) => ({ ...e, shard: SHARDS[e.environmentId as string] }));
  return { "sentinel-fleet:shards": ["a", "b"], "sentinel-fleet:environments": environments, ...extra };
}

const shardKeys = (shard: string) =>
  sharded({
    "sentinel-fleet:stackRole": "environmentShard",
    "sentinel-fleet:regionBaseStack": BASE,
    "sentinel-fleet:shard": shard,
  });

const SHARED_TYPES = [
  "kubernetes:core/v1:Namespace",
  "mysql:index/user:User",
  "mysql:index/grant:Grant",
  "random:index/randomPassword:RandomPassword",
  "pulumi:providers:mysql",
];

const isK8sObject = (r: CapturedResource) => r.custom && r.type.startsWith("kubernetes:");
const regionOf = (r: CapturedResource) => /::region-([a-z0-9-]+?)(-namespace)?::/.exec(r.provider)?.[1];
/** A Kubernetes object's identity in its cluster. */
const objectKey = (r: CapturedResource) =>
  `${regionOf(r)}/${r.inputs.kind ?? r.type}/${r.inputs.metadata.namespace ?? ""}/${r.inputs.metadata.name}`;
const sentinelKeys = (run: ProgramRun) =>
  run.resources
    .filter((r) => r.type === DYNAMIC_TYPE)
    .map((r) => `${r.inputs.spec.environmentId}@${r.inputs.spec.regionId}`);
/** A URN without its stack: what `pulumi state move` keeps when it moves a resource to another stack. */
const stackless = (urn: string) => urn.replace(/^urn:pulumi:[^:]+::/, "urn:pulumi:*::");

describe("environment shards within a region", () => {
  let fleet: ProgramRun;
  let base: ProgramRun;
  let shards: ProgramRun[];

  before(async () => {
    fleet = await runExample(false, sharded());
    base = await runExample(false, sharded({ "sentinel-fleet:stackRole": "regionBase" }), {
      stack: "sentinels-base",
    });
    const stackReferences = { [BASE]: base.exports };
    shards = [];
    for (const shard of ["a", "b"]) {
      shards.push(
        await runExample(false, shardKeys(shard), { stack: `sentinels-${shard}`, stackReferences }),
      );
    }
  });

  it("selects each environment by its explicit shard", () => {
    const { config, secretKeys } = exampleConfig(shardKeys("b"));
    const cfg = parseFleetConfig({ values: config, secretKeys });
    assert.deepEqual(
      stackEnvironments(cfg).map((e) => e.environmentId),
      ["env_storefront_preview", "env_billing_staging"],
    );
    assert.deepEqual(stackEnvironments({ ...cfg, stackRole: "regionBase" }), []);
    assert.equal(stackEnvironments({ ...cfg, stackRole: "fleet" }).length, 3);
  });

  it("declares every sentinel of the fleet exactly once across the base and the shards", () => {
    const all = [base, ...shards].flatMap(sentinelKeys).sort();
    assert.equal(new Set(all).size, all.length, "no sentinel in two stacks");
    assert.deepEqual(all, sentinelKeys(fleet).sort());
    assert.equal(all.length, 5);
    assert.deepEqual(sentinelKeys(base), []);
    assert.deepEqual(
      shards.map((s) => sentinelKeys(s).length),
      [2, 3],
    );
  });

  it("declares every Kubernetes object of the fleet exactly once, the shared ones in the base only", () => {
    const all = [base, ...shards].flatMap((run) => run.resources.filter(isK8sObject).map(objectKey)).sort();
    assert.equal(new Set(all).size, all.length, "no object owned by two stacks");
    assert.deepEqual(all, fleet.resources.filter(isK8sObject).map(objectKey).sort());
    for (const shard of shards) {
      for (const r of shard.resources) {
        assert.ok(!SHARED_TYPES.includes(r.type), `a shard declares the shared ${r.type} ${r.name}`);
        assert.ok(!r.name.endsWith("-namespace"), `a shard declares ${r.urn}`);
      }
    }
    // The base: the shared objects and their providers, nothing of any environment.
    assert.deepEqual(
      [...new Set(base.resources.map((r) => r.type))].sort(),
      [...SHARED_TYPES, "pulumi:providers:kubernetes"].sort(),
    );
    for (const type of SHARED_TYPES) {
      assert.equal(
        base.resources.filter((r) => r.type === type).length,
        fleet.resources.filter((r) => r.type === type).length,
        type,
      );
    }
  });

  it("names every environment resource as the single-stack fleet does, so state can move between stacks", () => {
    const environmentUrns = (run: ProgramRun) =>
      run.resources
        .filter((r) => r.urn.includes("sentinel-fleet:index:SentinelEnvironment"))
        .map((r) => stackless(r.urn));
    const fromShards = shards.flatMap(environmentUrns).sort();
    assert.deepEqual(fromShards, environmentUrns(fleet).sort());
    // The region providers the moved resources reference exist, with the same inputs, in every shard.
    const providers = (run: ProgramRun) =>
      run.resources
        .filter((r) => r.type === "pulumi:providers:kubernetes" && !r.name.endsWith("-namespace"))
        .map((r) => JSON.stringify([stackless(r.urn), r.inputs]));
    for (const shard of shards) assert.deepEqual(providers(shard), providers(fleet));
  });

  it("gives every row the explicit rows' provider, identical in every stack, so state move can reuse it", () => {
    const recordsProviders = (run: ProgramRun) =>
      run.resources.filter((r) => r.type === RESOURCE_TYPES.recordsProvider);
    const view = (run: ProgramRun) =>
      recordsProviders(run).map((r) => JSON.stringify([stackless(r.urn), unwrapSecrets(r.inputs)]));
    assert.equal(recordsProviders(fleet).length, 1);
    assert.equal(recordsProviders(fleet)[0].name, RECORDS_PROVIDER_NAME);
    for (const shard of shards) assert.deepEqual(view(shard), view(fleet));
    // The base declares no row, so no rows' provider either.
    assert.deepEqual(recordsProviders(base), []);
    for (const run of [fleet, ...shards]) {
      const [provider] = recordsProviders(run);
      // The password goes in as a secret; no other stack configuration goes in at all.
      assert.ok(isSecretEnvelope(provider.inputs["sentinel-fleet:databasePassword"]));
      assert.deepEqual(Object.keys(provider.inputs).sort(), [
        "sentinel-fleet:database",
        "sentinel-fleet:databasePassword",
      ]);
      const records = run.resources.filter((r) => r.type === DYNAMIC_TYPE);
      assert.ok(records.length > 0);
      for (const r of records) assert.equal(r.provider, `${provider.urn}::${provider.id}`, r.urn);
    }
  });

  it("reads the base's DSNs through a StackReference, as secrets, into the shard's Secrets", () => {
    const exported = base.exports.regionBase as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(exported).sort(), ["eu-central-1", "us-east-1"]);
    for (const region of Object.values(exported)) {
      assert.equal(region.namespace, "sentinel");
      assert.ok(isSecretEnvelope(region.databasePrimaryDsn) && isSecretEnvelope(region.databaseReplicaDsn));
    }
    for (const shard of shards) {
      const refs = shard.resources.filter((r) => r.type === STACK_REFERENCE_TYPE);
      assert.equal(refs.length, 1);
      assert.equal(refs[0].id, BASE);
      assert.deepEqual(refs[0].outputs.secretOutputNames, ["regionBase"]);
      for (const secret of shard.resources.filter((r) => r.type === "kubernetes:core/v1:Secret")) {
        assert.ok(isSecretEnvelope(secret.inputs.stringData));
        const data = unwrapSecrets(secret.inputs.stringData) as Record<string, string>;
        const from = unwrapSecrets(exported[regionOf(secret) as string]) as Record<string, string>;
        assert.equal(data.UNKEY_DATABASE_PRIMARY, from.databasePrimaryDsn);
        assert.equal(data.UNKEY_DATABASE_REPLICA, from.databaseReplicaDsn);
        assert.ok(secret.dependencies.includes(refs[0].urn), "the Secret comes from the reference");
      }
      // No DSN password in plaintext anywhere in the shard: inputs, outputs (the reference's too), exports, logs.
      const passwords = Object.values(exported).map(
        (r) =>
          /:([A-Za-z0-9]{40})@/.exec(
            (unwrapSecrets(r) as { databasePrimaryDsn: string }).databasePrimaryDsn,
          )![1],
      );
      const visible = [
        ...shard.resources.flatMap((r) => [
          ...strings(redactSecrets(r.inputs)),
          ...strings(redactSecrets(r.outputs)),
        ]),
        ...strings(redactSecrets(shard.exports)),
        ...shard.logs.map((l) => ({ path: "log", value: l.message })),
      ];
      for (const { path: at, value } of visible) {
        for (const marker of [...passwords, ...LEAK_MARKERS])
          assert.ok(!value.includes(marker), `plaintext at ${at}`);
      }
    }
  });

  it("marks the values read from the base secret exactly where the base's output holds secrets", async () => {
    const run = await runExample(false, shardKeys("a"), {
      program: path.join(__dirname, "support", "regionBaseReader"),
      stackReferences: { [BASE]: base.exports },
    });
    assert.deepEqual(run.exports.secretness, {
      regionBase: true,
      sentinels: false,
      primary: true,
      replica: true,
    });
  });

  it("fails naming the region when the base stack does not export it, and an unknown base stack", async () => {
    const usOnly = await runExample(
      false,
      sharded({ "sentinel-fleet:stackRole": "regionBase", "sentinel-fleet:deployRegions": ["us-east-1"] }),
      { stack: "sentinels-base" },
    );
    await assert.rejects(
      runExample(false, shardKeys("a"), {
        stack: "sentinels-a",
        stackReferences: { [BASE]: usOnly.exports },
      }),
      /region base stack "acme\/sentinel-fleet\/sentinels-base" exports no region "eu-central-1" \(it exports: us-east-1\)/,
    );
    await assert.rejects(runExample(true, shardKeys("a"), { stack: "sentinels-a" }), /unknown stack/);
  });

  it("refuses an export without a DSN, or with an empty or non-string one, naming the stack, the region and the key", async () => {
    const exported = base.exports.regionBase as Record<string, Record<string, unknown>>;
    const broken = {
      ...base.exports,
      regionBase: {
        ...exported,
        "eu-central-1": {
          ...exported["eu-central-1"],
          databasePrimaryDsn: undefined,
          databaseReplicaDsn: "",
        },
      },
    };
    await assert.rejects(
      runExample(false, shardKeys("a"), { stack: "sentinels-a", stackReferences: { [BASE]: broken } }),
      (e: Error) => {
        assert.match(
          e.message,
          /the region base stack "acme\/sentinel-fleet\/sentinels-base", region "eu-central-1": databasePrimaryDsn is missing\n.*region "eu-central-1": databaseReplicaDsn is empty/,
        );
        return true;
      },
    );
  });
});

describe("what a shard reads from its region base stack (regionBaseExportProblems)", () => {
  const stack = "acme/sentinel-fleet/base";
  const good = {
    namespace: "sentinel",
    databasePrimaryDsn: "u:p@tcp(a)/d",
    databaseReplicaDsn: "u:p@tcp(b)/d",
  };
  const check = (entry: unknown) =>
    regionBaseExportProblems({ "us-east-1": entry }, "us-east-1", stack, "sentinel");
  const at = `the region base stack "${stack}", region "us-east-1"`;

  it("accepts a complete export", () => {
    assert.deepEqual(check(good), []);
  });

  it("names each missing, empty, null or non-string value, never echoing a DSN", () => {
    assert.deepEqual(
      check({ namespace: null, databasePrimaryDsn: 42, databaseReplicaDsn: { secret: "s3cr3t-LEAK" } }),
      [
        `${at}: namespace must be a string, got null`,
        `${at}: databasePrimaryDsn must be a string, got a number`,
        `${at}: databaseReplicaDsn must be a string, got an object`,
      ],
    );
    assert.deepEqual(check({ namespace: " ", databaseReplicaDsn: "" }), [
      `${at}: namespace is empty`,
      `${at}: databasePrimaryDsn is missing`,
      `${at}: databaseReplicaDsn is empty`,
    ]);
    assert.deepEqual(check({ ...good, databasePrimaryDsn: null }), [
      `${at}: databasePrimaryDsn must be a string, got null`,
    ]);
  });

  it("names a region entry or an export that is not an object, and a namespace of another stack, bounded", () => {
    assert.deepEqual(check(null), [`${at}: regionBase.us-east-1 is null, not an object`]);
    assert.deepEqual(check("dsn-LEAK"), [`${at}: regionBase.us-east-1 is a string, not an object`]);
    assert.deepEqual(regionBaseExportProblems(null, "us-east-1", stack, "sentinel"), [
      `the region base stack "${stack}" exports regionBase as null, not an object of regions`,
    ]);
    const [problem] = check({ ...good, namespace: `x\n${"y".repeat(100_000)}` });
    assert.match(problem, /runs in namespace "x\\nyyy+…" \(100002 characters\), this stack in "sentinel"$/);
    assert.ok(problem.length < 500);
  });

  it("lists a bounded number of the regions the base exports, escaped", () => {
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`r${i}`, good]));
    const [problem] = regionBaseExportProblems({ ...many, "a\nb": good }, "us-east-1", stack, "sentinel");
    assert.match(problem, /exports no region "us-east-1" \(it exports: r0, r1, .*r19, and 31 more\)/);
    const [escaped] = regionBaseExportProblems({ "a\nb": good }, "us-east-1", stack, "sentinel");
    assert.match(escaped, /it exports: "a\\nb"\)/);
  });
});

describe("a credential rotation of a sharded region (README, Sharding)", () => {
  const atGeneration = (generation: number, extra: Record<string, unknown>) => {
    const database = exampleConfig().config["sentinel-fleet:database"] as Record<string, unknown>;
    return { ...extra, "sentinel-fleet:database": { ...database, credentialRotation: generation } };
  };
  const dsnUsers = (run: ProgramRun) =>
    run.resources
      .filter((r) => r.type === "kubernetes:core/v1:Secret")
      .map((r) => {
        const data = unwrapSecrets(r.inputs.stringData) as Record<string, string>;
        return `${regionOf(r)}=${data.UNKEY_DATABASE_PRIMARY.split(":")[0]}`;
      });
  const keepers = (run: ProgramRun) =>
    Object.fromEntries(
      run.resources
        .filter((r) => r.type === "random:index/randomPassword:RandomPassword")
        .map((r) => [r.name, JSON.stringify(r.inputs.keepers)]),
    );

  it("the base switches its DSNs to the other login, the shard follows on its next up, the old login keeps its password", async () => {
    const baseRole = { "sentinel-fleet:stackRole": "regionBase" };
    const base0 = await runExample(false, atGeneration(0, sharded(baseRole)), { stack: "sentinels-base" });
    const base1 = await runExample(false, atGeneration(1, sharded(baseRole)), { stack: "sentinels-base" });
    const shardOf = async (base: ProgramRun) =>
      runExample(false, atGeneration(1, shardKeys("a")), {
        stack: "sentinels-a",
        stackReferences: { [BASE]: base.exports },
      });
    const before = await shardOf(base0);
    const after = await shardOf(base1);
    const users = (login: "sentinel" | "sentinelb") =>
      ["eu-central-1", "us-east-1"].map((r) => `${r}=${login}_${r.replace(/-/g, "_")}`);
    assert.deepEqual([...new Set(dsnUsers(before))].sort(), users("sentinel"), "generation 0: login A");
    assert.deepEqual([...new Set(dsnUsers(after))].sort(), users("sentinelb"), "generation 1: login B");
    // Between the base's up and the shard's, the shard's pods still use A: its password must not change.
    const [k0, k1] = [keepers(base0), keepers(base1)];
    const changed = Object.keys(k0)
      .filter((name) => k0[name] !== k1[name])
      .sort();
    assert.equal(Object.keys(k0).length, 4, "two logins in each of two regions");
    assert.deepEqual(
      changed,
      ["eu-central-1", "us-east-1"].map((r) => loginResourceName(r, "b")),
      "only login B, not in use at generation 0, gets a new password",
    );
    // The shard declares no login of its own: the rotation is entirely the base's.
    assert.equal(after.resources.filter((r) => r.type === "mysql:index/user:User").length, 0);
  });
});

describe("the rows' provider's configuration (providerConnectionText)", () => {
  const database = (extra: Record<string, unknown>) => {
    const raw = exampleConfig().config["sentinel-fleet:database"] as Record<string, unknown>;
    const { config, secretKeys } = exampleConfig({ "sentinel-fleet:database": { ...raw, ...extra } });
    return parseFleetConfig({ values: config, secretKeys }).database;
  };

  it("is what the provider reads back: the settings the program validated", () => {
    for (const extra of [{}, { tls: { mode: "required" } }, { port: 3307, operationTimeoutMs: 9000 }]) {
      const db = database(extra);
      const read = parseConnectionSettings(db.providerConnection);
      assert.deepEqual(read.problems, []);
      const { host, port, user, connectTimeoutMs, operationTimeoutMs, tls } = db;
      assert.deepEqual(read.settings, {
        host,
        port,
        user,
        database: db.database,
        connectTimeoutMs,
        operationTimeoutMs,
        tls,
      });
    }
  });

  it("leaves out the keys the provider does not read, and changes with the ones it does", () => {
    const plain = database({}).providerConnection;
    assert.equal(
      database({ credentialRotation: 4, sentinelPrivileges: ["SELECT", "INSERT"] }).providerConnection,
      plain,
    );
    assert.equal(database({ replicaAddress: "replica.example:3306" }).providerConnection, plain);
    assert.notEqual(database({ host: "db.example" }).providerConnection, plain);
    assert.notEqual(database({ tls: { mode: "verify-identity" } }).providerConnection, plain);
  });
});
