// database.tls: the mapping of each mode for every client (pure), and the provider's connections against a
// throwaway MariaDB serving a certificate generated for the test, with require_secure_transport=ON.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseConnectionSettings, type ConnectionSettings } from "../lib/config/connection";
import { closeDatabasePools, withDatabase } from "../providers/connection";
import {
  checkSentinelRecord,
  SentinelRecordProvider,
  type SentinelRecordCheckedInputs,
} from "../providers/sentinelRecord";
import {
  dsnParamsWithTls,
  goDriverTls,
  mysql2Ssl,
  pulumiMysqlTls,
  sentinelLoginTlsOption,
  TLS_MODES,
  type TlsMode,
} from "../lib/databaseTls";
import { connectionSettings, startDatabase, type TestDatabase } from "./harness/mariadb";
import { readStackFile, runExample, strings } from "./support/fixtures";

describe("database.tls: what each mode means for each client", () => {
  it("maps every mode for mysql2, @pulumi/mysql, the Go driver's DSN and the sentinel login", () => {
    const table = Object.fromEntries(
      TLS_MODES.map((mode) => [
        mode,
        [mysql2Ssl(mode, "PEM"), pulumiMysqlTls(mode), goDriverTls(mode), sentinelLoginTlsOption(mode)],
      ]),
    );
    assert.deepEqual(table, {
      disabled: [undefined, "false", null, undefined],
      required: [{ rejectUnauthorized: false, verifyIdentity: false }, "skip-verify", "skip-verify", "SSL"],
      "verify-ca": [{ ca: "PEM", rejectUnauthorized: true, verifyIdentity: false }, "true", "true", "SSL"],
      "verify-identity": [
        { ca: "PEM", rejectUnauthorized: true, verifyIdentity: true },
        "true",
        "true",
        "SSL",
      ],
    });
    assert.deepEqual(mysql2Ssl("verify-identity", null), { rejectUnauthorized: true, verifyIdentity: true });
    assert.equal(dsnParamsWithTls("parseTime=true", "disabled"), "parseTime=true");
    assert.equal(dsnParamsWithTls("parseTime=true", "required"), "parseTime=true&tls=skip-verify");
    assert.equal(dsnParamsWithTls("parseTime=true", "verify-ca"), "parseTime=true&tls=true");
  });

  it("reads tls and operationTimeoutMs into the connection settings, with their defaults", () => {
    const base = { host: "db", user: "u", name: "d" };
    assert.deepEqual(
      [
        parseConnectionSettings(base).settings?.tls,
        parseConnectionSettings(base).settings?.operationTimeoutMs,
      ],
      [{ mode: "disabled", caFile: null }, 30_000],
    );
    const set = parseConnectionSettings({
      ...base,
      operationTimeoutMs: 5_000,
      tls: { mode: "verify-ca", caFile: "ca.pem" },
    }).settings;
    assert.deepEqual([set?.tls, set?.operationTimeoutMs], [{ mode: "verify-ca", caFile: "ca.pem" }, 5_000]);
  });
});

describe("database.tls in the program (mock engine)", function () {
  this.timeout(60_000);
  const withTls = (mode: TlsMode) => ({
    "sentinel-fleet:database": {
      ...(readStackFile()["sentinel-fleet:database"] as Record<string, unknown>),
      tls: { mode },
    },
  });
  const of = (run: Awaited<ReturnType<typeof runExample>>, type: string) =>
    run.resources.filter((r) => r.type === type);
  const dsns = (run: Awaited<ReturnType<typeof runExample>>) =>
    of(run, "kubernetes:core/v1:Secret")
      .flatMap((s) => strings(s.inputs))
      .map((x) => x.value)
      .filter((v) => v.includes("@tcp("));

  it("turns TLS on for @pulumi/mysql, the sentinel logins and the pods' DSNs", async () => {
    const run = await runExample(false, withTls("verify-identity"));
    assert.deepEqual(
      of(run, "pulumi:providers:mysql").map((p) => p.inputs.tls),
      ["true"],
    );
    const users = of(run, "mysql:index/user:User");
    assert.ok(users.length > 0);
    assert.ok(users.every((u) => u.inputs.tlsOption === "SSL"));
    const all = dsns(run);
    assert.ok(all.length > 0);
    assert.ok(
      all.every((d) => d.endsWith("?parseTime=true&interpolateParams=true&tls=true")),
      all.join("\n"),
    );

    const required = await runExample(false, withTls("required"));
    assert.deepEqual(
      of(required, "pulumi:providers:mysql").map((p) => p.inputs.tls),
      ["skip-verify"],
    );
    assert.ok(dsns(required).every((d) => d.endsWith("&tls=skip-verify")));
  });

  it("leaves everything as before with TLS disabled (no provider, login or DSN diff)", async () => {
    const run = await runExample(false);
    assert.deepEqual(
      of(run, "pulumi:providers:mysql").map((p) => p.inputs.tls),
      ["false"],
    );
    assert.ok(of(run, "mysql:index/user:User").every((u) => u.inputs.tlsOption === undefined));
    assert.ok(dsns(run).every((d) => d.endsWith("?parseTime=true&interpolateParams=true")));
  });
});

describe("database.tls against MariaDB with require_secure_transport=ON", function () {
  this.timeout(60_000);
  let db: TestDatabase;
  let tmp: string;

  const settings = (mode: TlsMode, extra: Partial<ConnectionSettings["tls"]> = {}): ConnectionSettings => ({
    ...connectionSettings(db),
    tls: { mode, caFile: null, ...extra },
  });

  const cipher = (mode: TlsMode, caCert: string | null) =>
    withDatabase({ settings: settings(mode), password: db.password, caCert }, "tls probe", async (conn) => {
      const [rows] = await conn.query("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
      return (rows as { Value: string }[])[0].Value;
    });

  before(async () => {
    db = await startDatabase({ tls: true });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "sentinel-fleet-tls-"));
  });
  after(async () => {
    await closeDatabasePools();
    await db?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("verify-identity with the right CA (the databaseCaCert secret) connects, encrypted, and creates the row", async () => {
    assert.notEqual(await cipher("verify-identity", db.tls!.caCert), "");
    const provider = new SentinelRecordProvider();
    const values: Record<string, unknown> = {
      "sentinel-fleet:database": JSON.stringify({
        host: db.host,
        port: db.port,
        user: db.user,
        name: db.database,
        tls: { mode: "verify-identity" },
      }),
      "sentinel-fleet:databasePassword": db.password,
      "sentinel-fleet:databaseCaCert": db.tls!.caCert,
    };
    await provider.configure({
      config: { get: (k: string) => values[k], require: (k: string) => values[k] },
    } as never);
    const spec = {
      workspaceId: "ws_1",
      projectId: "proj_1",
      environmentId: "env_tls",
      environmentSlug: "staging",
      regionId: "reg_use1",
      namespace: "sentinel",
      image: "ghcr.io/unkeyed/unkey:v2.0.31",
    };
    const inputs = checkSentinelRecord({}, { spec }).inputs as unknown as SentinelRecordCheckedInputs;
    const { id } = await provider.create(inputs);
    assert.deepEqual(await db.admin("SELECT id FROM sentinels WHERE environment_id = 'env_tls'"), [{ id }]);
  });

  it("verify-ca with the CA from tls.caFile connects; required connects without a CA", async () => {
    const file = path.join(tmp, "ca.pem");
    fs.writeFileSync(file, db.tls!.caCert);
    const { resolveCaCert } = await import("../providers/connection");
    const ca = resolveCaCert(settings("verify-ca", { caFile: file }), null);
    assert.notEqual(await cipher("verify-ca", ca), "");
    assert.notEqual(await cipher("required", null), "");
    assert.throws(
      () => resolveCaCert(settings("verify-ca", { caFile: path.join(tmp, "missing.pem") }), null),
      /sentinel-fleet:database\.tls\.caFile: cannot read ".*missing\.pem"/,
    );
  });

  it("refuses a CA bundle that holds no certificate, naming the key and never echoing the text", async () => {
    const { resolveCaCert } = await import("../providers/connection");
    const marker = "s3cr3t-not-a-cert";
    const bad = {
      "not PEM": `just text ${marker}`,
      "a broken certificate": `-----BEGIN CERTIFICATE-----\n${marker}\n-----END CERTIFICATE-----\n`,
      "a private key": `${db.tls!.caCert}-----BEGIN PRIVATE KEY-----\n${marker}\n-----END PRIVATE KEY-----\n`,
    };
    for (const [what, pem] of Object.entries(bad)) {
      for (const mode of ["verify-ca", "verify-identity"] as const) {
        assert.throws(
          () => resolveCaCert(settings(mode), pem),
          (err: Error) => {
            assert.match(
              err.message,
              /^sentinel-fleet:databaseCaCert holds (no PEM block|a certificate that does not parse|a PRIVATE KEY block)/,
              what,
            );
            assert.ok(!err.message.includes(marker), `${what}: the text is not shown`);
            return true;
          },
        );
        const file = path.join(tmp, "bad.pem");
        fs.writeFileSync(file, pem);
        assert.throws(
          () => resolveCaCert(settings(mode, { caFile: file }), null),
          (err: Error) => {
            assert.match(err.message, /^sentinel-fleet:database\.tls\.caFile \(".*bad\.pem"\) holds/, what);
            assert.ok(!err.message.includes(marker));
            return true;
          },
        );
      }
    }
    // A directory, or a file this process may not read, names the key and the path.
    assert.throws(
      () => resolveCaCert(settings("verify-ca", { caFile: tmp }), null),
      /sentinel-fleet:database\.tls\.caFile: cannot read ".*": EISDIR/,
    );
    // Modes that verify nothing ignore the bundle, and the right CA with a second certificate passes.
    assert.equal(resolveCaCert(settings("required"), "not PEM"), "not PEM");
    const two = db.tls!.caCert + db.tls!.wrongCaCert;
    assert.notEqual(await cipher("verify-identity", resolveCaCert(settings("verify-identity"), two)), "");
  });

  it("fails clearly with a CA that did not sign the server's certificate", async () => {
    for (const mode of ["verify-ca", "verify-identity"] as const) {
      await assert.rejects(cipher(mode, db.tls!.wrongCaCert), (err: Error) => {
        assert.match(
          err.message,
          new RegExp(
            `cannot connect to the platform database at 127\\.0\\.0\\.1:${db.port} \\(database \\w+, user ` +
              `fleet_test, tls ${mode}\\): .*(self[- ]signed|unable to verify|certificate)`,
            "i",
          ),
        );
        assert.ok(!err.message.includes(db.password));
        return true;
      });
    }
  });

  it("refuses a plaintext connection with a clear error", async () => {
    await assert.rejects(cipher("disabled", null), (err: Error) => {
      assert.match(
        err.message,
        new RegExp(
          `cannot connect to the platform database at 127\\.0\\.0\\.1:${db.port} .*tls disabled\\): .*` +
            "(insecure transport are prohibited|Access denied .*the connection was plaintext \\(sentinel-fleet:" +
            "database\\.tls\\.mode is disabled\\): if the server requires secure transport)",
        ),
      );
      return true;
    });
  });
});
