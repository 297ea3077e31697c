// database.tls per client: the provider's connection (mode, caFile), @pulumi/mysql's admin connection
// (tls.mysqlProvider) and the pods' DSNs (tls.pods); and a CA file refused offline, before anything connects.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseFleetConfig } from "../lib/config";
import { runProgram, type ProgramRun } from "../synth/mockEngine";
import { loadStackConfig } from "../synth";
import { generateCertificates } from "./harness/mariadb";
import { configProblems, exampleConfig, strings } from "./support/fixtures";

const K = (name: string) => `sentinel-fleet:${name}`;
const exampleDatabase = () => exampleConfig().config[K("database")] as Record<string, unknown>;
const withTls = (tls: unknown) => ({ [K("database")]: { ...exampleDatabase(), tls } });
const parse = (overrides: Record<string, unknown>) => {
  const { config, secretKeys } = exampleConfig(overrides);
  return parseFleetConfig({ values: config, secretKeys });
};
const problems = (overrides: Record<string, unknown>) => configProblems(() => parse(overrides));

describe("database.tls per client", function () {
  this.timeout(60_000);
  let tmp: string;
  let ca: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sentinel-fleet-tls-client-"));
    generateCertificates(tmp);
    ca = path.join(tmp, "ca.pem");
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("every client follows tls.mode unless it has its own", () => {
    const same = parse(withTls({ mode: "required" })).database;
    assert.deepEqual(
      [same.tls.mode, same.mysqlProviderTlsMode, same.podTlsMode],
      ["required", "required", "required"],
    );
    const own = parse(
      withTls({
        mode: "verify-ca",
        caFile: ca,
        mysqlProvider: { mode: "verify-identity" },
        pods: { mode: "disabled" },
      }),
    ).database;
    assert.deepEqual(
      [own.tls, own.mysqlProviderTlsMode, own.podTlsMode],
      [{ mode: "verify-ca", caFile: ca }, "verify-identity", "disabled"],
    );
  });

  describe("in the program (mock engine)", () => {
    const run = (tls: unknown): Promise<ProgramRun> => {
      const { config, secretKeys } = exampleConfig(withTls(tls));
      return runProgram({ config, secretKeys, preview: false, fireHooks: false });
    };
    const of = (r: ProgramRun, type: string) => r.resources.filter((x) => x.type === type);
    const dsns = (r: ProgramRun) =>
      of(r, "kubernetes:core/v1:Secret")
        .flatMap((s) => strings(s.inputs))
        .map((x) => x.value)
        .filter((v) => v.includes("@tcp("));

    it("gives @pulumi/mysql, the logins and the pods' DSNs each their own mode", async () => {
      // A managed service whose CA the provider verifies, while the pods' driver only encrypts.
      const r = await run({
        mode: "verify-ca",
        caFile: ca,
        mysqlProvider: { mode: "required" },
        pods: { mode: "required" },
      });
      assert.deepEqual(
        of(r, "pulumi:providers:mysql").map((p) => p.inputs.tls),
        ["skip-verify"],
      );
      assert.ok(dsns(r).length > 0);
      assert.ok(
        dsns(r).every((d) => d.endsWith("&interpolateParams=true&tls=skip-verify")),
        dsns(r).join("\n"),
      );
      assert.ok(of(r, "mysql:index/user:User").every((u) => u.inputs.tlsOption === "SSL"));

      // Pods without TLS: their logins must not REQUIRE SSL, whatever the other clients do.
      const plainPods = await run({ mode: "verify-identity", pods: { mode: "disabled" } });
      assert.deepEqual(
        of(plainPods, "pulumi:providers:mysql").map((p) => p.inputs.tls),
        ["true"],
      );
      assert.ok(dsns(plainPods).every((d) => d.endsWith("?parseTime=true&interpolateParams=true")));
      assert.ok(of(plainPods, "mysql:index/user:User").every((u) => u.inputs.tlsOption === undefined));
    });
  });

  it("refuses a client's mode that is not one, a CA for a client, and a client that is not { mode }", () => {
    assert.deepEqual(
      problems(
        withTls({ mode: "required", mysqlProvider: { mode: "on" }, pods: { mode: "required", caFile: ca } }),
      ),
      [
        'sentinel-fleet:database.tls.mysqlProvider.mode: must be one of disabled, required, verify-ca, verify-identity, got "on"',
        "sentinel-fleet:database.tls.pods.caFile: unknown key (known: mode)",
      ],
    );
    assert.deepEqual(problems(withTls({ pods: "required" })), [
      'sentinel-fleet:database.tls.pods: must be { mode }, got "required"',
    ]);
  });

  it("refuses a CA file that does not exist, is no file or is not PEM certificates, naming it bounded", () => {
    const write = (name: string, text: string) => {
      const file = path.join(tmp, name);
      fs.writeFileSync(file, text);
      return file;
    };
    const key = fs.readFileSync(path.join(tmp, "ca.key"), "utf8");
    const cases: [string, string, RegExp][] = [
      ["missing", path.join(tmp, "missing.pem"), /"[^"]*missing\.pem" does not exist$/],
      ["a directory", tmp, /" is not a file$/],
      ["plain text", write("text.pem", "not a certificate LEAKCHECK"), /holds no PEM block; a CA bundle is/],
      ["a private key", write("key.pem", key), /holds a PRIVATE KEY block \(block 1 of 1\)/],
      [
        "a broken certificate",
        write("broken.pem", "-----BEGIN CERTIFICATE-----\nLEAKCHECK\n-----END CERTIFICATE-----\n"),
        /does not parse \(block 1 of 1\)/,
      ],
      [
        "a good one, then a key",
        write("mixed.pem", fs.readFileSync(ca, "utf8") + key),
        /PRIVATE KEY block \(block 2 of 2\)/,
      ],
    ];
    for (const [what, file, expected] of cases) {
      const found = problems(withTls({ mode: "verify-identity", caFile: file }));
      assert.equal(found.length, 1, `${what}: ${found.join("\n")}`);
      assert.ok(found[0].startsWith("sentinel-fleet:database.tls.caFile: "), found[0]);
      assert.match(found[0], expected, what);
      assert.doesNotMatch(found[0], /LEAKCHECK|PRIVATE KEY-----/, what);
    }
    // A path is quoted escaped and bounded.
    const long = problems(withTls({ mode: "verify-ca", caFile: `x"\n${"y".repeat(200)}.pem` }));
    assert.match(long[0], /caFile: "x\\"\\ny+…" \(207 characters\) does not exist$/);
    // The modes that verify nothing do not read the bundle, but the file must still be there.
    assert.deepEqual(
      problems(
        withTls({ mode: "verify-ca", caFile: path.join(tmp, "missing.pem"), pods: { mode: "required" } }),
      ).length,
      1,
    );
    assert.equal(parse(withTls({ mode: "verify-identity", caFile: ca })).database.tls.caFile, ca);
  });

  it("synth refuses a stack file whose CA file is missing, offline", () => {
    const file = path.join(tmp, "Pulumi.t.yaml");
    const config = {
      ...exampleConfig(withTls({ mode: "verify-ca", caFile: path.join(tmp, "nope.pem") })).config,
    };
    fs.writeFileSync(file, JSON.stringify({ config }));
    const { config: values, secretKeys } = loadStackConfig(file);
    assert.throws(
      () => parseFleetConfig({ values, secretKeys }),
      (e: Error) => /database\.tls\.caFile: "[^"]*nope\.pem" does not exist/.test(e.message),
    );
  });

  it("refuses per-client modes with existing logins: the DSNs carry their own tls", () => {
    const { sentinelPrivileges, credentialRotation, ...database } = exampleDatabase();
    void [sentinelPrivileges, credentialRotation];
    const found = problems({
      [K("database")]: {
        ...database,
        logins: "existing",
        tls: { mode: "required", mysqlProvider: { mode: "required" }, pods: { mode: "required" } },
      },
      [K("databaseLogins")]: undefined,
    });
    assert.ok(
      found.some((p) => p.startsWith("sentinel-fleet:database.tls.mysqlProvider: describes the logins")),
      found.join("\n"),
    );
    assert.ok(
      found.some((p) => p.startsWith("sentinel-fleet:database.tls.pods: is for the DSNs the program builds")),
      found.join("\n"),
    );
  });
});
