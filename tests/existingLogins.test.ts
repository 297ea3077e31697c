// `database.logins: existing`: the stack file brings each region's DSNs as secrets; the program declares no
// login, password or grant.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseFleetConfig, stackFileJsonSchema, type FleetConfig } from "../lib/config";
import { dsnProblems, MAX_DSN_LENGTH } from "../lib/config/logins";
import { ANNOTATIONS, ENV_VARS } from "../lib/constants";
import {
  isSecretEnvelope,
  redactSecrets,
  runProgram,
  unwrapSecrets,
  type ProgramRun,
} from "../synth/mockEngine";
import { loadStackConfig } from "../synth";
import { configProblems, exampleConfig, ROOT, TEST_SECRETS } from "./support/fixtures";

const K = (name: string) => `sentinel-fleet:${name}`;
const LOGINS = K("databaseLogins");

/** Distinctive passwords, so a DSN echoed anywhere is found by a substring search. */
const dsn = (user: string, password: string, host = "aws.connect.psdb.cloud", extra = "") =>
  `${user}:${password}@tcp(${host}:3306)/unkey?parseTime=true&interpolateParams=true&tls=true${extra}`;
const USE1 = {
  primary: dsn("use1rw", "pscale_pw_LEAKCHECKuse1"),
  replica: dsn("use1ro", "pscale_pw_LEAKCHECKuse1r"),
};
const EUC1 = { primary: dsn("euc1rw", "pscale_pw_LEAKCHECKeuc1") };

/** The example stack with existing logins; `logins` null: databaseLogins not set. */
function existing(logins: unknown = { "us-east-1": USE1, "eu-central-1": EUC1 }, database: object = {}) {
  // The example's keys of managed logins go: they have no meaning here.
  const { sentinelPrivileges, credentialRotation, sentinelUserHost, ...base } = exampleConfig().config[
    K("database")
  ] as Record<string, unknown>;
  void [sentinelPrivileges, credentialRotation, sentinelUserHost];
  return {
    [K("database")]: { ...base, logins: "existing", ...database },
    [LOGINS]: logins === null ? undefined : JSON.stringify(logins),
  };
}

function parse(overrides: Record<string, unknown>, secret = true): FleetConfig {
  const { config, secretKeys } = exampleConfig(overrides);
  return parseFleetConfig({ values: config, secretKeys: secret ? [...secretKeys, LOGINS] : secretKeys });
}

function problems(overrides: Record<string, unknown>, secret = true): string[] {
  return configProblems(() => parse(overrides, secret));
}

describe("existing logins (database.logins: existing)", () => {
  it("are off by default: managed logins, and databaseLogins is then refused", () => {
    assert.equal(parse({}).database.logins, "managed");
    assert.equal(parse({}).database.existingLogins, null);
    assert.deepEqual(problems({ [LOGINS]: JSON.stringify({ "us-east-1": USE1 }) }), [
      `${LOGINS}: is only read with sentinel-fleet:database.logins existing`,
    ]);
  });

  it("reads every region's DSNs as secrets; replica defaults to primary", () => {
    const cfg = parse(existing());
    const logins = cfg.database.existingLogins;
    assert.ok(logins !== null);
    assert.equal(logins["us-east-1"].primary.reveal(), USE1.primary);
    assert.equal(logins["us-east-1"].replica.reveal(), USE1.replica);
    assert.equal(logins["eu-central-1"].replica.reveal(), EUC1.primary);
    assert.doesNotMatch(JSON.stringify(logins), /LEAKCHECK/);
    // A structured value (a YAML map with decrypted leaves) reads the same as the JSON text pulumi gives.
    const structured = { ...existing(), [LOGINS]: { "us-east-1": USE1, "eu-central-1": EUC1 } };
    assert.equal(parse(structured).database.existingLogins?.["eu-central-1"].primary.reveal(), EUC1.primary);
  });

  it("needs DSNs only for the regions this stack deploys", () => {
    const cfg = parse({ ...existing({ "eu-central-1": EUC1 }), [K("deployRegions")]: ["eu-central-1"] });
    assert.deepEqual(Object.keys(cfg.database.existingLogins ?? {}), ["eu-central-1"]);
  });

  it("refuses a plaintext map, a missing one, uncovered and unknown regions, all at once", () => {
    assert.deepEqual(problems(existing(null)), [
      `${LOGINS}: is required with sentinel-fleet:database.logins existing; set it with ` +
        "`pulumi config set --secret --path 'databaseLogins[\"<region>\"].primary' '<dsn>'`",
    ]);
    const found = problems(existing({ "us-east-1": USE1, ['x"y\n'.repeat(30)]: EUC1 }), false);
    assert.ok(
      found.some((p) => p.startsWith(`${LOGINS}: is stored in plaintext`)),
      found.join("\n"),
    );
    assert.ok(found.includes(`${LOGINS}: has no DSNs for deployed regions: eu-central-1`), found.join("\n"));
    const unknown = found.find((p) => p.includes("unknown region"));
    assert.ok(unknown !== undefined, found.join("\n"));
    // Bounded and escaped: no raw newline or quote from the key, and the length of what was cut.
    assert.match(
      unknown,
      /unknown region "x\\"y\\n.*…" \(120 characters\) \(known: us-east-1, eu-central-1\)$/,
    );
    assert.doesNotMatch(found.join("\n"), /LEAKCHECK/);
  });

  it("names each malformed DSN by its key and part, never quoting it", () => {
    const cases: [string, unknown, RegExp][] = [
      ["no credentials", "tcp(db:3306)/unkey?parseTime=true&interpolateParams=true", /has no credentials/],
      ["no password", dsn("u", "").replace("u:@", "u@"), /has no user and password/],
      ["empty password", dsn("u", ""), /has an empty password/],
      [
        "unix socket",
        "u:LEAKCHECKpw@unix(/run/mysql.sock)/unkey?parseTime=true&interpolateParams=true",
        /tcp\(host:port\)/,
      ],
      ["bad address", dsn("u", "LEAKCHECKpw", "db:99999"), /address in tcp\(\.\.\.\)/],
      [
        "other database",
        dsn("u", "LEAKCHECKpw").replace("/unkey?", "/other?"),
        /names another database than .*\("unkey", or Vitess/,
      ],
      ["no database", "u:LEAKCHECKpw@tcp(db:3306)", /has no \/database/],
      [
        "missing parameters",
        "u:LEAKCHECKpw@tcp(db:3306)/unkey?tls=true",
        /must set parseTime=true and interpolateParams=true/,
      ],
      ["malformed parameter", `${dsn("u", "LEAKCHECKpw")}&junk`, /not name=value \(number 4 after/],
      ["unknown tls", dsn("u", "LEAKCHECKpw").replace("tls=true", "tls=custom"), /tls parameter/],
      ["TOML-breaking", dsn("u", 'LEAKCHECK"pw'), /must not contain '"'/],
      ["too long", dsn("u", "LEAKCHECK".repeat(300)), new RegExp(`at most ${MAX_DSN_LENGTH}`)],
      ["not a string", 42, /must be a DSN string/],
    ];
    for (const [what, value, expected] of cases) {
      const found = problems(existing({ "us-east-1": { primary: value }, "eu-central-1": EUC1 }));
      assert.equal(found.length, 1, `${what}: ${found.join("\n")}`);
      assert.ok(found[0].startsWith(`${LOGINS}.us-east-1.primary: [secret] `), `${what}: ${found[0]}`);
      assert.match(found[0], expected, what);
      assert.doesNotMatch(found[0], /LEAKCHECK/, what);
    }
    // Several problems of one DSN, and of several DSNs, are all listed.
    const many = problems(
      existing({
        "us-east-1": { primary: "u:LEAKCHECK@tcp(db:x)/other", replica: "nope" },
        "eu-central-1": {},
      }),
    );
    assert.deepEqual(
      many.map((p) => p.split(": [secret]")[0].split(": ")[0]),
      [
        ...Array(3).fill(`${LOGINS}.us-east-1.primary`),
        ...Array(3).fill(`${LOGINS}.us-east-1.replica`),
        `${LOGINS}.eu-central-1.primary`,
      ],
      many.join("\n"),
    );
  });

  it("refuses unknown keys in a region's entry and the keys of managed logins", () => {
    const found = problems(
      existing(
        { "us-east-1": { ...USE1, password: "x" }, "eu-central-1": EUC1 },
        { credentialRotation: 1, sentinelUserHost: "%" },
      ),
    );
    assert.deepEqual(found, [
      "sentinel-fleet:database.sentinelUserHost: describes the logins the program creates: not used with logins existing, remove it",
      "sentinel-fleet:database.credentialRotation: describes the logins the program creates: not used with logins existing, remove it",
      `${LOGINS}.us-east-1: unknown key "password" (known: primary, replica)`,
    ]);
  });

  it("an environment shard reads the DSNs from its region base stack, so it needs none", () => {
    const cfg = parse({
      ...existing(null),
      [K("stackRole")]: "environmentShard",
      [K("regionBaseStack")]: "acme/sentinel-fleet/base",
    });
    assert.equal(cfg.database.existingLogins, null);
  });

  it("accepts the DSN forms the Go driver reads, checks them alone too", () => {
    assert.deepEqual(dsnProblems(dsn("u", "p@ss:w/rd"), "unkey"), []);
    assert.deepEqual(dsnProblems(dsn("u", "p", "[::1]"), "unkey"), []);
    assert.deepEqual(dsnProblems(dsn("u", "p", "10.0.0.7"), null), []);
    // Vitess (PlanetScale) routes reads to replicas by the database's tablet type.
    assert.deepEqual(dsnProblems(dsn("u", "p").replace("/unkey?", "/unkey@replica?"), "unkey"), []);
    assert.equal(dsnProblems(dsn("u", "p").replace("/unkey?", "/unkey@nope?"), "unkey").length, 1);
  });
});

describe("existing logins in the program", () => {
  const runExisting = (logins: unknown, preview = false): Promise<ProgramRun> => {
    const { config, secretKeys } = exampleConfig(existing(logins));
    return runProgram({ config, secretKeys: [...secretKeys, LOGINS], preview, fireHooks: false });
  };
  let run: ProgramRun;
  before(async () => {
    run = await runExisting({ "us-east-1": USE1, "eu-central-1": EUC1 });
  });

  it("registers no @pulumi/mysql or @pulumi/random resource, nor their providers", () => {
    const theirs = run.resources.filter((r) =>
      /^(mysql|random):|^pulumi:providers:(mysql|random)$/.test(r.type),
    );
    assert.deepEqual(
      theirs.map((r) => r.type),
      [],
    );
    // The fleet is all there: every Secret, Deployment and SentinelRecord.
    assert.equal(run.resources.filter((r) => r.type === "kubernetes:apps/v1:Deployment").length, 5);
    const managed = exampleConfig();
    return runProgram({ ...managed, preview: false, fireHooks: false }).then((m) => {
      // The same check finds them in managed mode: it can fail.
      assert.ok(m.resources.some((r) => /^(mysql|random):/.test(r.type)));
    });
  });

  it("puts each region's DSNs into its Secrets, as secrets", () => {
    const secrets = run.resources.filter((r) => r.type === "kubernetes:core/v1:Secret");
    assert.equal(secrets.length, 5);
    for (const s of secrets) {
      assert.ok(isSecretEnvelope(s.inputs.stringData));
      const data = unwrapSecrets(s.inputs.stringData) as Record<string, string>;
      const login = s.name.includes("us-east-1") ? USE1 : { ...EUC1, replica: EUC1.primary };
      assert.equal(data[ENV_VARS.databasePrimary], login.primary, s.name);
      assert.equal(data[ENV_VARS.databaseReplica], login.replica, s.name);
    }
    // Secret envelopes anywhere (the Secrets' data, the rows' provider's password) are checked above or elsewhere.
    const plain = run.resources.flatMap((r) => JSON.stringify(redactSecrets(r.inputs)));
    assert.doesNotMatch(plain.join("\n"), /LEAKCHECK/);
  });

  it("rotates by a new secret value: the Secrets change in place, Reloader rolls the pods", async () => {
    const rotated = await runExisting({
      "us-east-1": { ...USE1, primary: dsn("use1rw", "pscale_pw_LEAKCHECKnew") },
      "eu-central-1": EUC1,
    });
    const byUrn = (r: ProgramRun) => new Map(r.resources.map((x) => [x.urn, x]));
    const before = byUrn(run);
    // The row incarnation is a planning timestamp of each run, not something the rotation changes.
    const inputs = (r: { inputs: Record<string, unknown> } | undefined) =>
      JSON.stringify(unwrapSecrets(r?.inputs), (k, v: unknown) =>
        k === ANNOTATIONS.rowIncarnation ? undefined : v,
      );
    const changed = rotated.resources
      .filter((r) => inputs(r) !== inputs(before.get(r.urn)))
      .map((r) => `${r.type} ${r.name}`);
    // Only the us-east-1 Secrets: same URNs (named Secrets on a provider with enableSecretMutable update in place).
    assert.deepEqual(changed, [
      "kubernetes:core/v1:Secret env_storefront_prod-us-east-1-env",
      "kubernetes:core/v1:Secret env_storefront_preview-us-east-1-env",
      "kubernetes:core/v1:Secret env_billing_staging-us-east-1-env",
    ]);
    for (const d of rotated.resources.filter((r) => r.type === "kubernetes:apps/v1:Deployment")) {
      const template = (d.inputs.spec as { template: { metadata: { annotations: Record<string, string> } } })
        .template;
      assert.equal(template.metadata.annotations["reloader.stakater.com/auto"], "true", d.name);
    }
  });
});

describe("existing logins in stack files (synth)", () => {
  const write = (config: Record<string, unknown>): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "logins-"));
    const file = path.join(dir, "Pulumi.t.yaml");
    fs.writeFileSync(file, JSON.stringify({ config }));
    return file;
  };
  const secure = { secure: "v1:AAAA" };
  const base = () => {
    const c = exampleConfig(existing(null)).config;
    for (const k of Object.keys(TEST_SECRETS)) delete c[k];
    return c;
  };
  const parseFile = (file: string) => {
    const { config, secretKeys } = loadStackConfig(file);
    return parseFleetConfig({ values: config, secretKeys });
  };

  it("the engine stack runs in this mode and synth stands in for its DSNs", () => {
    const { config, placeholders } = loadStackConfig(path.join(ROOT, "Pulumi.engine.yaml"));
    assert.equal((JSON.parse(config[K("database")]) as { logins: string }).logins, "existing");
    assert.ok(placeholders.includes(LOGINS));
    const cfg = parseFile(path.join(ROOT, "Pulumi.engine.yaml"));
    assert.deepEqual(Object.keys(cfg.database.existingLogins ?? {}), ["us-east-1", "eu-central-1"]);
    assert.ok(cfg.database.existingLogins?.["us-east-1"].primary.placeholder);
  });

  it("the editor's JSON Schema takes a map of secure leaves or one secure value, not plaintext", () => {
    // ajv is installed for eslint, not a dependency of this project (as in config.test.ts).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Ajv = require("ajv") as new (opts: object) => {
      compile(schema: object): (data: unknown) => boolean;
    };
    const validate = new Ajv({ allErrors: true }).compile(stackFileJsonSchema());
    const file = (logins: unknown) => ({ config: { ...base(), [LOGINS]: logins } });
    assert.ok(
      validate(
        file({ "us-east-1": { primary: secure, replica: secure }, "eu-central-1": { primary: secure } }),
      ),
    );
    assert.ok(validate(file(secure)));
    assert.ok(!validate(file({ "us-east-1": { primary: dsn("u", "p") } })), "a plaintext leaf");
    assert.ok(!validate(file({ "us-east-1": { replica: secure } })), "no primary");
    assert.ok(!validate(file({ "us-east-1": { primary: secure, other: secure } })), "an unknown key");
  });

  it("reads a map of secure leaves, and refuses one with a plaintext leaf", () => {
    const leaves = { "us-east-1": { primary: secure, replica: secure }, "eu-central-1": { primary: secure } };
    const cfg = parseFile(write({ ...base(), [LOGINS]: leaves }));
    assert.ok(cfg.database.existingLogins?.["eu-central-1"].replica.placeholder);
    const mixed = { ...leaves, "eu-central-1": { primary: dsn("u", "LEAKCHECKplain") } };
    assert.throws(
      () => parseFile(write({ ...base(), [LOGINS]: mixed })),
      (e: Error) => /databaseLogins: is stored in plaintext/.test(e.message) && !/LEAKCHECK/.test(e.message),
    );
  });
});
