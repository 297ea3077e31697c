// The end-to-end test's stand-in for the routers' prewarm endpoint. scripts/e2e.sh starts it on the runner's
// loopback: the prewarm hook runs in the Pulumi program's process on the runner, so 127.0.0.1 is where it
// calls. Each request becomes one JSON line in a log file that tests/e2e/check.ts reads; the bearer token is
// compared, never written down.
//
//   node -r ts-node/register/transpile-only tests/e2e/receiver.ts <port> <log file>   (token: E2E_PREWARM_TOKEN)
import { timingSafeEqual } from "crypto";
import * as fs from "fs";
import * as http from "http";
import type { AddressInfo } from "net";

/** One request as the receiver saw it. */
export interface PrewarmCall {
  readonly method: string;
  readonly path: string;
  /** The Authorization header was `Bearer <the expected token>`. */
  readonly authorized: boolean;
  readonly contentType: string | null;
  /** The JSON body, or null when it was not JSON. */
  readonly body: unknown;
  readonly at: string;
}

/** Bodies above this are refused: the contract's body is six short fields. */
const MAX_BODY_BYTES = 64 * 1024;

function bearerMatches(header: string | undefined, token: string): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(`Bearer ${token}`);
  const got = Buffer.from(header);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** An HTTP server that answers every request with 200 and hands each one to `record`. */
export function prewarmReceiver(token: string, record: (call: PrewarmCall) => void): http.Server {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413).end();
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > MAX_BODY_BYTES) return;
      record({
        method: req.method ?? "",
        path: req.url ?? "",
        authorized: bearerMatches(req.headers.authorization, token),
        contentType: req.headers["content-type"] ?? null,
        body: parseJson(Buffer.concat(chunks).toString("utf8")),
        at: new Date().toISOString(),
      });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  // A client that stalls must not hold the receiver: the hook's own attempt timeout is 2 s in the e2e stack.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  return server;
}

/** The log file's calls, in order; a missing file is no calls. */
export function readCalls(file: string): PrewarmCall[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as PrewarmCall);
}

function main(argv: string[]): void {
  const [portText, logFile] = argv;
  const token = process.env.E2E_PREWARM_TOKEN ?? "";
  if (portText === undefined || logFile === undefined || !/^\d+$/.test(portText) || token === "") {
    process.stderr.write("usage: E2E_PREWARM_TOKEN=<token> e2eReceiver.ts <port> <log file>\n");
    process.exit(2);
  }
  const server = prewarmReceiver(token, (call) => fs.appendFileSync(logFile, `${JSON.stringify(call)}\n`));
  server.listen(Number(portText), "127.0.0.1", () => {
    const { port } = server.address() as AddressInfo;
    process.stdout.write(`prewarm receiver listening on http://127.0.0.1:${port}\n`);
  });
  for (const signal of ["SIGTERM", "SIGINT"] as const)
    process.on(signal, () => server.close(() => process.exit(0)));
}

if (require.main === module) main(process.argv.slice(2));
