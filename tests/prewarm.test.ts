// The prewarm HTTP call (lib/prewarm.ts) against real HTTP servers on 127.0.0.1: request shape, retries,
// backoff, Retry-After, per-attempt timeout, overall deadline, connection refused; what a misbehaving router
// or URL cannot do (redirects, endless bodies, credentials in the URL). Plus the pure helpers.
import { strict as assert } from "assert";
import * as http from "http";
import type { AddressInfo } from "net";
import {
  backoffMs,
  classifyFailure,
  parseRetryAfter,
  prewarm,
  prewarmUrlProblem,
  TRANSIENT_CODES,
  type PrewarmBody,
} from "../lib/prewarm";
import { redactUserinfo } from "../lib/redact";

const BODY: PrewarmBody = {
  workspaceId: "ws_acme",
  projectId: "proj_storefront",
  environmentId: "env_storefront_prod",
  region: "us-east-1",
  sentinelId: "s_0123456789abcdefghij",
  address: "abcdefghijkl.sentinel.svc.cluster.local:8040",
};
const TOKEN = "prewarm-test-token-3c9e";

interface Received {
  /** Date.now() when the request's headers arrived. */
  readonly at: number;
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

interface TestServer {
  readonly server: http.Server;
  readonly url: string;
  readonly received: Received[];
}

/** What the server does with the n-th request (0-based); it may also never answer. */
type Responder = (n: number, req: http.IncomingMessage, res: http.ServerResponse) => void;

const servers: http.Server[] = [];

function listen(server: http.Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.removeListener("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function createServer(respond: Responder): { server: http.Server; received: Received[] } {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const n = received.length;
      received.push({
        at,
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      respond(n, req, res);
    });
  });
  servers.push(server);
  return { server, received };
}

async function startServer(respond: Responder): Promise<TestServer> {
  const { server, received } = createServer(respond);
  const port = await listen(server);
  return { server, url: `http://127.0.0.1:${port}/_unkey/internal/prewarm`, received };
}

function reply(res: http.ServerResponse, status: number, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "text/plain", ...headers });
  res.end(`status ${status}`);
}

/** Closes every server a test started, its open connections first. */
async function closeServers(): Promise<void> {
  const closing = servers.splice(0).map(
    (s) =>
      new Promise<void>((resolve) => {
        s.closeAllConnections();
        if (!s.listening) resolve();
        else s.close(() => resolve());
      }),
  );
  await Promise.all(closing);
}

/** Milliseconds between consecutive requests, as the server saw them. */
function gaps(received: readonly Received[]): number[] {
  return received.slice(1).map((r, i) => r.at - received[i].at);
}

describe("prewarm against a real HTTP server", function () {
  this.timeout(10_000);

  afterEach(closeServers);

  it("sends one POST with the JSON body, content type and bearer token, and reports success", async () => {
    const srv = await startServer((_n, _req, res) => reply(res, 200));
    const result = await prewarm(BODY, {
      url: srv.url,
      token: TOKEN,
      attemptTimeoutMs: 1000,
      deadlineMs: 3000,
    });

    assert.equal(srv.received.length, 1);
    const [req] = srv.received;
    assert.equal(req.method, "POST");
    assert.equal(req.url, "/_unkey/internal/prewarm");
    assert.match(String(req.headers["content-type"]), /^application\/json\b/);
    assert.equal(req.headers.authorization, `Bearer ${TOKEN}`);
    assert.deepEqual(JSON.parse(req.body), {
      workspaceId: "ws_acme",
      projectId: "proj_storefront",
      environmentId: "env_storefront_prod",
      region: "us-east-1",
      sentinelId: "s_0123456789abcdefghij",
      address: "abcdefghijkl.sentinel.svc.cluster.local:8040",
    });
    assert.equal(result.ok, true);
    assert.equal(result.status, 200);
    assert.equal(result.attempts, 1);
    assert.equal(result.error, null);
    assert.deepEqual(result.delaysMs, []);
  });

  it("retries 503 twice with exponential backoff and jitter, then succeeds on the third attempt", async () => {
    const srv = await startServer((n, _req, res) => reply(res, n < 2 ? 503 : 200));
    const baseDelayMs = 200;
    const result = await prewarm(BODY, {
      url: srv.url,
      token: TOKEN,
      attemptTimeoutMs: 1000,
      deadlineMs: 5000,
      baseDelayMs,
      maxDelayMs: 2000,
    });

    assert.equal(result.ok, true);
    assert.equal(result.status, 200);
    assert.equal(result.attempts, 3);
    assert.equal(srv.received.length, 3);
    // Equal jitter: attempt n waits between half and all of base * 2^(n-1).
    assert.equal(result.delaysMs.length, 2);
    const bounds = [
      [baseDelayMs / 2, baseDelayMs],
      [baseDelayMs, baseDelayMs * 2],
    ];
    result.delaysMs.forEach((d, i) => {
      assert.ok(
        d >= bounds[i][0] && d <= bounds[i][1],
        `delay ${i + 1} = ${d} ms, want [${bounds[i][0]}, ${bounds[i][1]}]`,
      );
    });
    // The server saw the waits: each gap is at least the delay slept (1 ms of clock granularity).
    gaps(srv.received).forEach((g, i) => {
      assert.ok(g >= result.delaysMs[i] - 1, `gap ${i + 1} = ${g} ms < delay ${result.delaysMs[i]} ms`);
      assert.ok(
        g < result.delaysMs[i] + 250,
        `gap ${i + 1} = ${g} ms, far above delay ${result.delaysMs[i]}`,
      );
    });
  });

  it("honours Retry-After in seconds on 429 instead of its own (much shorter) backoff", async () => {
    const srv = await startServer((n, _req, res) =>
      n === 0 ? reply(res, 429, { "retry-after": "1" }) : reply(res, 200),
    );
    const result = await prewarm(BODY, {
      url: srv.url,
      token: TOKEN,
      attemptTimeoutMs: 1000,
      deadlineMs: 4000,
      baseDelayMs: 20,
    });

    assert.equal(result.ok, true);
    assert.equal(result.attempts, 2);
    assert.deepEqual(result.delaysMs, [1000]);
    const [gap] = gaps(srv.received);
    assert.ok(gap >= 995, `second request ${gap} ms after the first, want >= 1000`);
    assert.ok(gap < 1500, `second request ${gap} ms after the first, want about 1000`);
  });

  it("never retries faster than its own backoff, whatever Retry-After says", async () => {
    for (const header of ["0", "1.5", "-1", "Thu, 01 Jan 1970 00:00:00 GMT"]) {
      const srv = await startServer((_n, _req, res) => reply(res, 429, { "retry-after": header }));
      const result = await prewarm(BODY, {
        url: srv.url,
        token: TOKEN,
        attemptTimeoutMs: 200,
        deadlineMs: 600,
        baseDelayMs: 100,
      });
      assert.equal(result.ok, false);
      // Backoff 50-100, 100-200, 200-400 ms: at most four requests fit in 600 ms, never a flood.
      assert.ok(srv.received.length <= 4, `Retry-After ${header}: ${srv.received.length} requests in 600 ms`);
      for (const gap of gaps(srv.received))
        assert.ok(gap >= 45, `Retry-After ${header}: retried after ${gap} ms`);
    }
  });

  it("does not retry what retrying cannot fix, and never repeats the token in its error", async () => {
    const srv = await startServer((_n, _req, res) => reply(res, 200));
    const badToken = `${TOKEN}\r\nX-Injected: 1`;
    const result = await prewarm(BODY, {
      url: srv.url,
      token: badToken,
      attemptTimeoutMs: 200,
      deadlineMs: 2000,
    });
    assert.deepEqual([result.ok, result.attempts, srv.received.length], [false, 0, 0]);
    assert.equal(result.error, "the prewarm token is not a valid HTTP header value (not retried)");
    assert.ok(!String(result.error).includes(TOKEN));
    // fetch refuses some ports outright ("bad port"): one attempt, no retries until the deadline.
    const refused = await prewarm(BODY, {
      url: "http://127.0.0.1:1/prewarm",
      token: TOKEN,
      attemptTimeoutMs: 200,
      deadlineMs: 2000,
    });
    assert.equal(refused.ok, false);
    assert.equal(refused.attempts, 1);
    assert.match(String(refused.error), /\(not retried\)$/);
  });

  it("does not retry a 400: one attempt, not ok, status 400", async () => {
    const srv = await startServer((_n, _req, res) => reply(res, 400));
    const result = await prewarm(BODY, {
      url: srv.url,
      token: TOKEN,
      attemptTimeoutMs: 500,
      deadlineMs: 3000,
    });

    assert.equal(srv.received.length, 1);
    assert.equal(result.ok, false);
    assert.equal(result.status, 400);
    assert.equal(result.attempts, 1);
    assert.deepEqual(result.delaysMs, []);
    assert.match(String(result.error), /HTTP 400/);
    assert.match(String(result.error), /not retried/);
  });

  it("times out each attempt against a server that never answers and stops at the overall deadline", async () => {
    const srv = await startServer(() => {
      // Accept, read the request, never answer.
    });
    const deadlineMs = 1000;
    const started = Date.now();
    const result = await prewarm(BODY, { url: srv.url, token: TOKEN, attemptTimeoutMs: 200, deadlineMs });
    const elapsed = Date.now() - started;

    assert.equal(result.ok, false);
    assert.equal(result.status, null);
    assert.ok(result.attempts > 1, `attempts = ${result.attempts}, want > 1`);
    assert.equal(srv.received.length, result.attempts);
    assert.match(String(result.error), /timed out/);
    assert.match(String(result.error), /deadline of 1000 ms/);
    assert.ok(elapsed < deadlineMs + 250, `took ${elapsed} ms with a deadline of ${deadlineMs} ms`);
    assert.ok(result.elapsedMs <= elapsed);
    // Each attempt really waited for its timeout: the server-side gaps include 200 ms of waiting each
    // (less the few ms the request took to arrive).
    gaps(srv.received).forEach((g, i) => {
      assert.ok(g >= 200 + result.delaysMs[i] - 20, `gap ${i + 1} = ${g} ms`);
    });
  });

  it("retries connection refused until the server comes up", async () => {
    // A port that is free now: bind it, note it, release it.
    const probe = http.createServer();
    const port = await listen(probe);
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    const { server, received } = createServer((_n, _req, res) => reply(res, 200));
    let upAt = 0;
    const bringUp = new Promise<void>((resolve, reject) => {
      setTimeout(() => {
        upAt = Date.now();
        listen(server, port).then(() => resolve(), reject);
      }, 400);
    });

    const started = Date.now();
    const result = await prewarm(BODY, {
      url: `http://127.0.0.1:${port}/_unkey/internal/prewarm`,
      token: TOKEN,
      attemptTimeoutMs: 500,
      deadlineMs: 4000,
    });
    await bringUp;

    assert.equal(result.ok, true, `failed: ${result.error}`);
    assert.equal(result.status, 200);
    assert.ok(result.attempts > 1, `attempts = ${result.attempts}, want > 1`);
    assert.equal(received.length, 1);
    assert.ok(received[0].at >= upAt);
    assert.ok(Date.now() - started < 4000);
    assert.equal(result.delaysMs.length, result.attempts - 1);
  });
});

/**
 * A server whose every response is an endless body, written as fast as the connection takes it. It counts
 * the bytes the connection accepted: an upper bound on what the client can have read, and so on what it can
 * hold. `limit` ends the body after that many bytes instead (a huge but finite body).
 */
async function startFloodServer(
  status: number,
  limit = Infinity,
): Promise<TestServer & { accepted: number[] }> {
  const accepted: number[] = [];
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const srv = await startServer((n, _req, res) => {
    accepted[n] = 0;
    res.writeHead(status, { "content-type": "application/octet-stream" });
    let stopped = false;
    res.on("close", () => (stopped = true));
    const pump = (): void => {
      while (!stopped) {
        if (accepted[n] >= limit) {
          res.end();
          return;
        }
        accepted[n] += chunk.length;
        if (!res.write(chunk)) {
          res.once("drain", pump);
          return;
        }
      }
    };
    pump();
  });
  return { ...srv, accepted };
}

const MiB = 1024 * 1024;

describe("prewarm against a misbehaving router", function () {
  this.timeout(20_000);

  afterEach(closeServers);

  it("follows no redirect: a 3xx is a failure, reported with its Location redacted and not retried", async () => {
    const elsewhere = await startServer((_n, _req, res) => reply(res, 200));
    const target = elsewhere.url.replace("http://", "http://admin:hunter2-secret@");
    for (const code of [301, 302, 303, 307, 308]) {
      const srv = await startServer((_n, _req, res) => reply(res, code, { location: target }));
      const result = await prewarm(BODY, {
        url: srv.url,
        token: TOKEN,
        attemptTimeoutMs: 500,
        deadlineMs: 3000,
      });
      assert.deepEqual([result.ok, result.status, result.attempts, srv.received.length], [false, code, 1, 1]);
      assert.equal(
        result.error,
        `HTTP ${code}: a redirect to "${elsewhere.url.replace("http://", "http://[redacted]@")}", not followed (not retried)`,
      );
      assert.ok(!String(result.error).includes("hunter2"));
    }
    assert.equal(elsewhere.received.length, 0, "the token went where the redirect pointed");
  });

  it("never holds a body: 20 concurrent calls against endless bodies each accept a bounded number of bytes", async () => {
    const ok = await startFloodServer(200);
    const failing = await startFloodServer(503);
    const started = Date.now();
    const results = await Promise.all([
      ...Array.from({ length: 10 }, () =>
        prewarm(BODY, { url: ok.url, token: TOKEN, attemptTimeoutMs: 3000, deadlineMs: 5000 }),
      ),
      ...Array.from({ length: 10 }, () =>
        prewarm(BODY, {
          url: failing.url,
          token: TOKEN,
          attemptTimeoutMs: 1000,
          deadlineMs: 1000,
          maxDelayMs: 100,
          baseDelayMs: 50,
        }),
      ),
    ]);
    const elapsed = Date.now() - started;
    // Let the servers notice the closed connections, then read their counts.
    await new Promise((r) => setTimeout(r, 100));
    const counts = [...ok.accepted, ...failing.accepted];
    const total = counts.reduce((a, b) => a + b, 0);
    const largest = Math.max(...counts);
    console.log(
      `      endless bodies: ${counts.length} responses, at most ${(largest / MiB).toFixed(2)} MiB accepted by ` +
        `one connection, ${(total / MiB).toFixed(1)} MiB by all (kernel socket buffers included)`,
    );
    assert.ok(results.slice(0, 10).every((r) => r.ok && r.attempts === 1));
    for (const r of results.slice(10))
      // The last attempt may run out of deadline before its answer on a busy machine: no status then.
      assert.ok(!r.ok && (r.status === 503 || r.status === null) && r.attempts > 1, JSON.stringify(r));
    // Counted, not timed: a connection takes what fits its socket buffers before the client cancels, far below
    // the 64 MiB a reading client pulls in the control below.
    assert.ok(largest < 16 * MiB, `one connection accepted ${largest} bytes`);
    assert.ok(counts.length === 10 + results.slice(10).reduce((n, r) => n + r.attempts, 0));
    // Nor did any call wait for a body to end (it never ends): each returned well inside its attempt timeout.
    assert.ok(elapsed < 3000, `took ${elapsed} ms`);
  });

  it("control: a client that reads the body accepts all of a huge one, so the bound above is not a given", async () => {
    const huge = await startFloodServer(200, 64 * MiB);
    const res = await fetch(huge.url, { method: "POST", body: "{}" });
    let read = 0;
    for await (const part of res.body as AsyncIterable<Uint8Array>) read += part.length;
    assert.equal(read, 64 * MiB);
    assert.equal(huge.accepted[0], 64 * MiB);
  });

  it("refuses a URL with credentials before any request, and never echoes it", async () => {
    const srv = await startServer((_n, _req, res) => reply(res, 200));
    for (const url of [
      srv.url.replace("http://", "http://user:s3cret-pw@"),
      srv.url.replace("http://", "http://s3cret-token@"),
      srv.url.replace("http://", "http://:s3cret-pw@"),
    ]) {
      const result = await prewarm(BODY, { url, token: TOKEN, attemptTimeoutMs: 200, deadlineMs: 1000 });
      assert.deepEqual([result.ok, result.attempts, result.status], [false, 0, null]);
      assert.equal(
        result.error,
        "the prewarm URL contains credentials (user:password@); they are refused and never sent or logged (not retried)",
      );
      assert.ok(!JSON.stringify(result).includes("s3cret"));
    }
    assert.equal(srv.received.length, 0);
    assert.equal(prewarmUrlProblem("not a url"), "the prewarm URL is not a valid URL");
    assert.equal(
      prewarmUrlProblem("ftp://router/prewarm"),
      "the prewarm URL's scheme ftp: is not http: or https:",
    );
    assert.equal(prewarmUrlProblem(srv.url), null);
  });

  it("does not retry a name that does not exist (ENOTFOUND), when the resolver says so", async function () {
    // `.invalid` never resolves (RFC 6761); a resolver that can be reached answers NXDOMAIN. Without one,
    // getaddrinfo fails with EAI_AGAIN instead, which is retried, and this case cannot be observed.
    const probe = await fetch("http://sentinel-fleet-prewarm.invalid/").catch(
      (e: { cause?: { code?: string } }) => e,
    );
    if ((probe as { cause?: { code?: string } }).cause?.code !== "ENOTFOUND") this.skip();
    const result = await prewarm(BODY, {
      url: "http://sentinel-fleet-prewarm.invalid/prewarm",
      token: TOKEN,
      attemptTimeoutMs: 1000,
      deadlineMs: 5000,
    });
    assert.deepEqual([result.ok, result.attempts, result.error], [false, 1, "ENOTFOUND (not retried)"]);
  });
});

describe("classifyFailure", () => {
  /** What Node's fetch throws: TypeError("fetch failed") with the system error as its cause. */
  const fetchError = (code: string, message = `getaddrinfo ${code} router.example`) =>
    Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error(message), { code }) });

  it("retries a resolver that could not answer, not a name that does not exist", () => {
    assert.deepEqual(classifyFailure(fetchError("EAI_AGAIN"), TOKEN), {
      transient: true,
      reason: "EAI_AGAIN",
    });
    assert.deepEqual(classifyFailure(fetchError("ENOTFOUND"), TOKEN), {
      transient: false,
      reason: "ENOTFOUND",
    });
    assert.equal(TRANSIENT_CODES.has("ENOTFOUND"), false);
  });

  it("retries refused, reset and timed-out connections; not TLS or unknown failures", () => {
    for (const code of [
      "ECONNREFUSED",
      "ECONNRESET",
      "ETIMEDOUT",
      "UND_ERR_SOCKET",
      "UND_ERR_CONNECT_TIMEOUT",
    ])
      assert.equal(classifyFailure(fetchError(code), TOKEN).transient, true, code);
    for (const code of ["CERT_HAS_EXPIRED", "ERR_TLS_CERT_ALTNAME_INVALID", "DEPTH_ZERO_SELF_SIGNED_CERT"])
      assert.equal(classifyFailure(fetchError(code), TOKEN).transient, false, code);
    assert.deepEqual(classifyFailure(Object.assign(new Error("x"), { name: "TimeoutError" }), TOKEN), {
      transient: true,
      reason: "attempt timed out",
    });
    assert.equal(classifyFailure(new TypeError("something else"), TOKEN).transient, false);
  });

  it("redacts the token and URL credentials from what fetch says", () => {
    // fetch's own words when given a URL with credentials.
    const refused = new TypeError(
      "Request cannot be constructed from a URL that includes credentials: http://user:pw-LEAK@127.0.0.1:9/x",
    );
    const { reason } = classifyFailure(refused, TOKEN);
    assert.equal(
      reason,
      '"Request cannot be constructed from a URL that includes credentials: http://[redacted]@127.0.0.1:9/x"',
    );
    assert.equal(
      classifyFailure(new TypeError(`bad header Bearer ${TOKEN}`), TOKEN).reason,
      '"bad header Bearer [redacted]"',
    );
  });
});

describe("redactUserinfo", () => {
  it("removes every URL's userinfo, whatever it holds, and leaves other text alone", () => {
    const cases: [string, string][] = [
      ["https://u:p@router.example/x", "https://[redacted]@router.example/x"],
      ["https://token@router.example", "https://[redacted]@router.example"],
      ["https://u:p@ss@router.example/a@b", "https://[redacted]@router.example/a@b"],
      [
        "a http://a:b@h1/ and HTTPS://c:d@h2?q=e@f",
        "a http://[redacted]@h1/ and HTTPS://[redacted]@h2?q=e@f",
      ],
      ["https://router.example/x?user=a@b", "https://router.example/x?user=a@b"],
      ["mail me@example.com", "mail me@example.com"],
    ];
    for (const [input, output] of cases) assert.equal(redactUserinfo(input), output, input);
  });
});

describe("backoffMs", () => {
  /** backoffMs with base 250 ms and cap 5000 ms, for each [attempt, fixed random value, expected ms]. */
  const assertBackoffs = (cases: readonly [attempt: number, random: number, ms: number][]) => {
    for (const [attempt, random, ms] of cases) {
      assert.equal(
        backoffMs(attempt, 250, 5000, () => random),
        ms,
        `attempt ${attempt}, random ${random}`,
      );
    }
  };

  it("waits between half and all of base * 2^(attempt-1)", () => {
    assertBackoffs([
      [1, 0, 125],
      [1, 1, 250],
      [2, 0, 250],
      [2, 1, 500],
      [4, 0, 1000],
      [4, 1, 2000],
      [3, 0.5, 750],
    ]);
  });

  it("caps the ceiling at maxMs, however many attempts", () => {
    assertBackoffs([
      [6, 0, 2500],
      [6, 1, 5000],
      [50, 1, 5000],
      [2000, 1, 5000],
      [2000, 0, 2500],
    ]);
  });

  it("stays within the bounds for real random values", () => {
    for (let attempt = 1; attempt <= 10; attempt++) {
      const ceiling = Math.min(5000, 250 * 2 ** (attempt - 1));
      for (let i = 0; i < 50; i++) {
        const d = backoffMs(attempt, 250, 5000, Math.random);
        assert.ok(
          d >= ceiling / 2 && d <= ceiling,
          `attempt ${attempt}: ${d} not in [${ceiling / 2}, ${ceiling}]`,
        );
      }
    }
  });
});

describe("parseRetryAfter", () => {
  const now = Date.parse("2026-03-01T12:00:00Z");

  it("reads delta-seconds as milliseconds", () => {
    assert.equal(parseRetryAfter("1", now), 1000);
    assert.equal(parseRetryAfter("0", now), 0);
    assert.equal(parseRetryAfter(" 120 ", now), 120_000);
  });

  it("reads an HTTP date as the time left until it, and a past date as 0", () => {
    assert.equal(parseRetryAfter("Sun, 01 Mar 2026 12:00:30 GMT", now), 30_000);
    assert.equal(parseRetryAfter(new Date(now + 2000).toUTCString(), now), 2000);
    assert.equal(parseRetryAfter("Sun, 01 Mar 2026 11:59:00 GMT", now), 0);
  });

  it("returns null when the header is absent, empty or unparsable", () => {
    assert.equal(parseRetryAfter(null, now), null);
    assert.equal(parseRetryAfter("", now), null);
    assert.equal(parseRetryAfter("   ", now), null);
    assert.equal(parseRetryAfter("soon", now), null);
    // Date.parse reads these as years in the past; they are not HTTP dates.
    assert.equal(parseRetryAfter("1.5", now), null);
    assert.equal(parseRetryAfter("-1", now), null);
  });
});
