// Text under a server's control on its way into logs and errors: what a router sends back (Location, reason
// phrase, body, headers), what the database says in its errors, and the ids a row or a Deployment's labels
// hold. None of it may carry a configured secret, forge a line, or be unbounded (lib/redact.ts). Against a real
// HTTP server on 127.0.0.1 that echoes the token every way it can, and a real MariaDB whose errors echo the
// password, through the prewarm client and hook, the provider's host and the health hook.
import { strict as assert } from "assert";
import * as http from "http";
import type { AddressInfo } from "net";
import { runHealthHook, type HealthHookSettings } from "../components/healthHook";
import { runPrewarmHook, type HookLogger, type PrewarmHookSettings } from "../components/prewarmHook";
import { prewarm, type PrewarmBody } from "../lib/prewarm";
import { quoteUntrusted, REDACTED, UNTRUSTED_EXCERPT_CHARS, withoutSecrets } from "../lib/redact";
import { SecretValue } from "../lib/secret";
import { closeDatabasePools, parseConnectionSettings, withDatabase } from "../providers/connection";
import { SENTINEL_RECORD_PROVIDER_STUB } from "../providers/stub";
import { startDatabase, type TestDatabase } from "./harness/mariadb";
import { secret, startProviderHost } from "./harness/providerHost";
import { afterCreate, deploymentOutputs, QUIET, SAMPLE_SPEC } from "./support/sentinels";

/** A token whose percent-encoded and JSON-escaped forms differ from it; its tail is in none of the markers. */
const TOKEN = `tok/en+x=y&z"q\\w%2F:Pw-ECHO-7c1e`;
/** Survives every encoding a server might apply: no form of the secret may leave this in a message. */
const TOKEN_MARKER = "ECHO-7c1e";
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** Percent-encoding with lowercase hex digits, as some servers write it. */
const lowerHex = (text: string) => encodeURIComponent(text).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase());

/** Every way a secret can be spelled in a reply; none may appear in `text`. */
function assertNoSecret(text: string, secretValue: string, marker: string): void {
  const forms = [
    secretValue,
    JSON.stringify(secretValue).slice(1, -1),
    encodeURIComponent(secretValue),
    lowerHex(secretValue),
    marker,
  ];
  for (const form of forms) assert.ok(!text.includes(form), `${JSON.stringify(form)} in: ${text}`);
}

function assertLogSafe(text: string, maxLength: number): void {
  assert.ok(!CONTROL.test(text), `a raw control character in: ${JSON.stringify(text)}`);
  assert.ok(text.length <= maxLength, `${text.length} characters: ${text.slice(0, 200)}…`);
}

describe("quoteUntrusted", () => {
  const SECRET = `s3cr3t "pw"/+&=%:Pw-UNIT-42aa`;

  it("removes a secret as sent, JSON-escaped, percent-encoded in either case and form-encoded", () => {
    const spelled = [
      SECRET,
      JSON.stringify(SECRET).slice(1, -1),
      encodeURIComponent(SECRET),
      lowerHex(SECRET),
      encodeURIComponent(SECRET).replace(/%20/g, "+"),
    ];
    const text = spelled.map((s, i) => `<${i}>${s}</${i}>`).join(" ");
    const out = quoteUntrusted(text, ["", SECRET], 10_000);
    assertNoSecret(out, SECRET, "UNIT-42aa");
    for (let i = 0; i < spelled.length; i++) assert.ok(out.includes(`<${i}>${REDACTED}</${i}>`), out);
  });

  it("removes every URL's and DSN's userinfo, known secret or not", () => {
    const out = withoutSecrets(
      "go to https://ops:pw1@router.example/x, redis://:pw2@redis:6379 and app:pw3@tcp(db:3306)/unkey",
      [],
    );
    assert.equal(
      out,
      `go to https://${REDACTED}@router.example/x, redis://${REDACTED}@redis:6379 and ${REDACTED}@tcp(db:3306)/unkey`,
    );
  });

  it("escapes what could forge a line or reorder one, and keeps other text as it is", () => {
    const text = `a\u0000b\u0007c\nd\re\tf\u001b[2Jg\u007fh\u0085i\u2028j\u2029k\u202el\u2066m\ufeffn\ud800o"p\\q é 😀`;
    const out = quoteUntrusted(text);
    assert.equal(
      out,
      String.raw`"a\u0000b\u0007c\nd\re\tf\u001b[2Jg\u007fh\u0085i\u2028j\u2029k\u202el\u2066m\ufeffn\ud800o\"p\\q é 😀"`,
    );
    assertLogSafe(out, 200);
  });

  it("quotes a bounded prefix of a huge value and says how long it was", () => {
    const huge = `${SECRET}${"\n".repeat(10)}${"x".repeat(50 * 1024 * 1024)}`;
    const out = quoteUntrusted(huge, [SECRET]);
    assert.ok(out.startsWith(`"${REDACTED}\\n\\n`), out.slice(0, 40));
    assert.ok(out.endsWith(`…" (${huge.length} characters)`), out.slice(-60));
    assertLogSafe(out, UNTRUSTED_EXCERPT_CHARS + 40);
    const escapes = quoteUntrusted("\u0001".repeat(1000), [], 100);
    assert.ok(escapes.startsWith(`"${"\\u0001".repeat(16)}…"`), escapes);
  });

  it("never shows part of a secret or a userinfo cut off at the end of the window it works on", () => {
    // A long secret shrinks to the marker, so a short excerpt reaches the window's end; at some offset every
    // secret and every userinfo straddles it.
    const longSecret = `LONG-${"k".repeat(90)}-Pw-TAIL-9f`;
    for (let offset = 0; offset < 260; offset += 3) {
      const text = "a".repeat(offset) + longSecret.repeat(12);
      const out = quoteUntrusted(text, [longSecret], 100);
      assert.ok(!out.includes("LONG-k"), `offset ${offset}: ${out}`);
      if (offset >= 60) continue;
      const start = `${longSecret.repeat(4)}${"a".repeat(offset)}`;
      for (const [userinfo, rest] of [
        ["http://user:", "@host/"],
        ["app:", "@tcp(db:3306)/unkey"],
      ]) {
        const text = `${start} ${userinfo}${"p".repeat(400)}${rest} ${"y".repeat(2000)}`;
        const quoted = quoteUntrusted(text, [longSecret], 100);
        assert.ok(quoted.includes(`${REDACTED}${REDACTED}`), quoted);
        assert.ok(!quoted.includes(`${userinfo.slice(-5)}p`), `offset ${offset}: ${quoted}`);
      }
    }
  });
});

/** A router that echoes the bearer token it received in every part of its answer. */
function echoingRouter(): Promise<{ url: string; requests: () => number; close: () => Promise<void> }> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    const token = String(req.headers.authorization ?? "").replace(/^Bearer /, "");
    req.resume();
    const echo = {
      "x-echo": token,
      "www-authenticate": `Bearer error="invalid_token", token="${token}"`,
      "content-type": "application/json",
    };
    if (req.url?.startsWith("/redirect-query")) {
      res.writeHead(302, {
        ...echo,
        location: `https://evil.example/cb?t=${encodeURIComponent(token)}&raw=${token}`,
      });
      res.end();
    } else if (req.url?.startsWith("/redirect-userinfo")) {
      res.writeHead(307, { ...echo, location: `http://ops:${encodeURIComponent(token)}@evil.example/` });
      res.end();
    } else {
      const status = req.url?.startsWith("/busy") ? 503 : 401;
      res.writeHead(status, `Bad ${token}`, echo);
      res.write(`{"error":"invalid token","got":${JSON.stringify(`Bearer ${token}`)}}\r\n`);
      res.write(`[ERROR] forged line \u001b[31m${token} ${encodeURIComponent(token)}\n`);
      res.end("A".repeat(100_000));
    }
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        requests: () => requests,
        close: () =>
          new Promise<void>((r) => {
            server.closeAllConnections();
            server.close(() => r());
          }),
      });
    });
  });
}

describe("what a router sends back, in the prewarm client's errors and the hook's warnings", function () {
  this.timeout(20_000);
  const BODY: PrewarmBody = {
    workspaceId: "ws_1",
    projectId: "proj_1",
    environmentId: "env_1",
    region: "us-east-1",
    sentinelId: "s_1",
    address: "abcdefghijkl.sentinel.svc.cluster.local:8040",
  };
  let router: Awaited<ReturnType<typeof echoingRouter>>;
  before(async () => {
    router = await echoingRouter();
  });
  after(() => router.close());

  const call = (path: string) =>
    prewarm(BODY, {
      url: `${router.url}${path}`,
      token: TOKEN,
      attemptTimeoutMs: 2_000,
      deadlineMs: 1_500,
      baseDelayMs: 50,
      maxDelayMs: 100,
    });

  it("reports the status, reason phrase and the start of the body, with the token removed and escaped", async () => {
    for (const path of ["/refused", "/busy"]) {
      const result = await call(path);
      assert.ok(!result.ok);
      const error = String(result.error);
      assertNoSecret(error, TOKEN, TOKEN_MARKER);
      // The body did reach the message (so the assertions above test something), escaped and cut.
      assert.match(
        error,
        /^HTTP (401|503) "Bad \[redacted\]", body starting "\{\\"error\\":\\"invalid token\\"/,
      );
      assert.ok(error.includes(String.raw`\r\n[ERROR] forged line \u001b[31m[redacted] [redacted]\n`), error);
      assertLogSafe(error, 1_000);
    }
    assert.ok(router.requests() > 2, "the busy router was retried");
  });

  it("quotes a redirect's Location without the token or its userinfo", async () => {
    for (const path of ["/redirect-query", "/redirect-userinfo"]) {
      const result = await call(path);
      const error = String(result.error);
      assert.match(error, /^HTTP 30[27]: a redirect to "(https|http):\/\/.*", not followed \(not retried\)$/);
      assert.ok(error.includes(REDACTED), error);
      assertNoSecret(error, TOKEN, TOKEN_MARKER);
      assertLogSafe(error, 1_000);
    }
  });

  it("never lets the hook's warnings carry the token, a forged line or a whole value", async () => {
    const settings: PrewarmHookSettings = {
      regions: ["refused", "busy", "redirect-query", "redirect-userinfo"].map((path, i) => ({
        id: `reg_${i}`,
        name: `region-${i}`,
        kubeContext: null,
        prewarmUrl: `${router.url}/${path}`,
        cutover: false,
      })),
      token: new SecretValue("sentinel-fleet:prewarmToken", TOKEN),
      attemptTimeoutMs: 2_000,
      deadlineMs: 1_500,
    };
    const lines: string[] = [];
    const logger: HookLogger = { info: (m) => void lines.push(m), warn: (m) => void lines.push(m) };
    // The last Deployment's labels hold what the API server would refuse, but the hook must survive anyway.
    const hostile = `us-east-1\n[ERROR] forged ${"r".repeat(500)}`;
    const regions = [...settings.regions.map((r) => r.name), hostile];
    for (const region of regions) {
      const ids = {
        sentinelId: "s_1",
        environmentId: "env_1\u001b[0m",
        workspaceId: "ws_1",
        projectId: "proj_1",
      };
      const args = afterCreate(deploymentOutputs({ ...ids, regionId: "reg_x", region }));
      await runPrewarmHook(args, settings, logger);
    }
    assert.equal(lines.length, regions.length);
    assert.match(
      lines[0],
      /router prewarm of sentinel "s_1" \("env_1\\u001b\[0m", "region-0"\) failed \(HTTP 401: HTTP 401/,
    );
    assert.match(
      lines[4],
      /no prewarm URL for region "us-east-1\\n\[ERROR\] forged r+…" \((\d+) characters\)/,
    );
    assert.ok(lines[4].endsWith(`(${hostile.length} characters)`), lines[4]);
    for (const line of lines) {
      assertNoSecret(line, TOKEN, TOKEN_MARKER);
      assertLogSafe(line, 1_500);
    }
  });
});

describe("what the database says, in the provider's and the health hook's errors", function () {
  this.timeout(60_000);
  let db: TestDatabase;
  /** The password's tail: in none of the test's own texts, so any form of the password shows. */
  let marker: string;

  before(async () => {
    db = await startDatabase();
    marker = db.password.slice(-6);
  });
  after(async () => {
    await closeDatabasePools();
    await db?.stop();
  });

  const settingsFor = (overrides: Record<string, unknown> = {}) => {
    const { settings, problems } = parseConnectionSettings({
      host: db.host,
      port: db.port,
      user: db.user,
      name: db.database,
      ...overrides,
    });
    assert.deepEqual(problems, []);
    return settings!;
  };

  it("quotes a server error that echoes the password bounded and escaped, without the password", async () => {
    const target = { settings: settingsFor(), password: db.password, caCert: null };
    const column = `${db.password}${"\n".repeat(150)}[ERROR] forged line`;
    await assert.rejects(
      withDatabase(target, "probe", (conn) => conn.query(`SELECT \`${column}\` FROM sentinels`)),
      (err: Error & { errno?: number }) => {
        assert.equal(err.errno, 1054, err.message);
        assert.match(
          err.message,
          /^probe failed at the platform database at 127\.0\.0\.1:\d+: ER_BAD_FIELD_ERROR: "Unknown column '\[redacted\]\\n\\n/,
        );
        assert.match(err.message, /…" \(\d+ characters\)$/);
        assertNoSecret(err.message, db.password, marker);
        assertLogSafe(err.message, 500);
        return true;
      },
    );
  });

  it("keeps a login error that names the password out of the engine's errors and the host's log", async () => {
    // The user and password swapped by mistake: the server's "Access denied for user '<password>'" echoes it.
    const host = await startProviderHost();
    try {
      await host.configure({
        config: {
          "sentinel-fleet:database": { host: db.host, port: db.port, user: db.password, name: db.database },
          "sentinel-fleet:databasePassword": secret(db.password),
        },
      });
      const checked = await host.check({
        olds: {},
        news: { __provider: SENTINEL_RECORD_PROVIDER_STUB, spec: SAMPLE_SPEC },
      });
      const details = await host.create({ properties: checked.inputs }).then(
        () => assert.fail("created with the wrong login"),
        (err: { details?: string }) => String(err.details),
      );
      assert.match(details, /ER_ACCESS_DENIED_ERROR: "Access denied for user '\[redacted\]'@/);
      assertNoSecret(details, db.password, marker);
      assertLogSafe(details, 1_000);
      assertNoSecret(host.stderr(), db.password, marker);
    } finally {
      await host.stop();
    }
  });

  it("keeps the health write-back's errors free of the password, whatever the server says", async () => {
    const settings: HealthHookSettings = {
      database: settingsFor({ user: db.password, connectTimeoutMs: 2_000, operationTimeoutMs: 4_000 }),
      password: new SecretValue("sentinel-fleet:databasePassword", db.password),
      caCert: null,
    };
    const hostile = `reg_use1\r\n[ERROR] forged ${"r".repeat(400)}`;
    const args = afterCreate(deploymentOutputs({ ...SAMPLE_SPEC, sentinelId: "s_1", regionId: hostile }));
    await assert.rejects(runHealthHook(args, settings, QUIET), (err: Error) => {
      assert.ok(
        err.message.startsWith(
          String.raw`recording the rollout of sentinel "s_1" ("env_1", "reg_use1\r\n[ERROR] forged rrr`,
        ),
        err.message,
      );
      assert.ok(err.message.includes(`…" (${hostile.length} characters))`), err.message);
      assert.match(err.message, /Access denied for user '\[redacted\]'@/);
      assertNoSecret(err.message, db.password, marker);
      assertLogSafe(err.message, 1_500);
      return true;
    });
  });
});
