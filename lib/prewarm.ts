// The router cache prewarm call: one POST, retried with bounded exponential backoff and jitter inside an
// overall deadline. Plain function over Node's built-in fetch; the hook calls it, tests drive it against a
// real HTTP server.
//
// Hand-written rather than p-retry: the rules here are per-response (Retry-After on 429/503, no retry on
// other 4xx or any 3xx, retry connection refused until the deadline), which a generic retry wrapper would
// need as much code to express as the loop itself.
//
// What a misbehaving or hostile router cannot do to `pulumi up`, which fires this for many Deployments at
// once: send it elsewhere (redirects are not followed), make it hold a body (a successful response's body is
// cancelled unread, a failed one's read only up to BODY_EXCERPT_BYTES, so an endless one costs nothing), or
// get a credential or a forged line into the logs (a URL with user:password@ is refused before any request,
// and everything the router sends back reaches a message only through quoteUntrusted: the token and every
// userinfo removed, control characters escaped, bounded).
import { ANNOTATIONS, LABELS, PREWARM } from "./constants";
import { quoteUntrusted } from "./redact";

/** The JSON body of the prewarm request. */
export interface PrewarmBody {
  readonly workspaceId: string;
  readonly projectId: string;
  readonly environmentId: string;
  readonly region: string;
  readonly sentinelId: string;
  readonly address: string;
}

export interface PrewarmOptions {
  readonly url: string;
  readonly token: string;
  readonly attemptTimeoutMs: number;
  readonly deadlineMs: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** For tests of timing; defaults are the real clock, timer and Math.random. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
}

export interface PrewarmResult {
  readonly ok: boolean;
  /** Last HTTP status, or null when no response arrived. */
  readonly status: number | null;
  readonly attempts: number;
  readonly elapsedMs: number;
  /** Why it failed (last error or status), null on success. */
  readonly error: string | null;
  /** The delays slept between attempts, in ms. */
  readonly delaysMs: readonly number[];
}

const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);

/**
 * Retry-After as milliseconds: delta-seconds or an HTTP date (which always starts with a day name); null when
 * absent or anything else. Only date-shaped text reaches Date.parse, which reads "1.5" or "-1" as a year.
 */
export function parseRetryAfter(header: string | null, nowMs: number): number | null {
  if (header === null || header.trim() === "") return null;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  if (!/^[A-Za-z]{3}/.test(trimmed)) return null;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}

/** Exponential backoff with "equal jitter": half fixed, half random, so retries spread but never collapse to 0. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * Network failures a new or restarting router produces, and a resolver that could not answer (EAI_AGAIN: a
 * timeout or SERVFAIL, which heals). Not here, so not retried: ENOTFOUND, the resolver's definite answer that
 * the name does not exist (a typo in the URL template, or a region without a router): retrying it would hold
 * every hook of the region for the whole deadline for an answer that will not change, and negative answers
 * are cached anyway. TLS certificate errors and anything else unknown are not retried either.
 */
export const TRANSIENT_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
]);

/**
 * Whether a failed attempt (what fetch threw) is worth another, and why it failed: the system's error code as
 * it is, anything else as untrusted text (fetch quotes the header or URL it refused, a TLS error the names in
 * the server's certificate), without the token or any userinfo.
 */
export function classifyFailure(err: unknown, token: string): { transient: boolean; reason: string } {
  const e = err as { name?: string; message?: string; cause?: { code?: unknown; message?: string } };
  if (e.name === "TimeoutError" || e.name === "AbortError")
    return { transient: true, reason: "attempt timed out" };
  const code =
    typeof e.cause?.code === "string" && /^[A-Z][A-Z0-9_]{0,63}$/.test(e.cause.code) ? e.cause.code : null;
  return {
    transient: code !== null && TRANSIENT_CODES.has(code),
    reason: code ?? quoteUntrusted(e.cause?.message ?? e.message ?? String(err), [token]),
  };
}

/**
 * Why a prewarm URL cannot be called, or null. Never echoes the URL: one with credentials must not reach a log.
 * The config validation rejects these first; the client refuses them itself, whoever calls it.
 */
export function prewarmUrlProblem(url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "the prewarm URL is not a valid URL";
  }
  if (parsed.username !== "" || parsed.password !== "")
    return "the prewarm URL contains credentials (user:password@); they are refused and never sent or logged";
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    return `the prewarm URL's scheme ${parsed.protocol} is not http: or https:`;
  return null;
}

/** Discards a response body without reading it: cancelling the stream closes the connection. */
async function discardBody(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => undefined);
}

/** Bytes of a failed response's body read for its message; the rest is never read. */
export const BODY_EXCERPT_BYTES = 256;

/**
 * The start of a failed response's body, and whether that was all of it; the stream is cancelled after
 * BODY_EXCERPT_BYTES. Reading stops at the attempt's deadline too (the fetch's signal covers the body).
 */
async function bodyExcerpt(res: Response): Promise<{ text: string; whole: boolean }> {
  const reader = res.body?.getReader();
  if (reader === undefined) return { text: "", whole: true };
  const chunks: Uint8Array[] = [];
  let size = 0;
  let whole = false;
  try {
    while (size < BODY_EXCERPT_BYTES) {
      const next = await reader.read();
      if (next.done) {
        whole = true;
        break;
      }
      const chunk = next.value as Uint8Array;
      chunks.push(chunk);
      size += chunk.length;
    }
  } catch {
    // Cut off, or past the attempt's deadline: what arrived serves the message.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const bytes = Buffer.concat(chunks);
  return {
    text: bytes.subarray(0, BODY_EXCERPT_BYTES).toString("utf8"),
    whole,
  };
}

/** A failed response as a message: the status, and the router's reason phrase and body as untrusted text. */
async function describeFailure(res: Response, token: string): Promise<string> {
  const reason = res.statusText === "" ? "" : ` ${quoteUntrusted(res.statusText, [token], 80)}`;
  const body = await bodyExcerpt(res);
  const excerpt =
    body.text === "" ? "" : `, body ${body.whole ? "" : "starting "}${quoteUntrusted(body.text, [token])}`;
  return `HTTP ${res.status}${reason}${excerpt}`;
}

export async function prewarm(body: PrewarmBody, options: PrewarmOptions): Promise<PrewarmResult> {
  const now = options.now ?? (() => Date.now());
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const random = options.random ?? Math.random;
  const baseDelayMs = options.baseDelayMs ?? PREWARM.baseDelayMs;
  const maxDelayMs = options.maxDelayMs ?? PREWARM.maxDelayMs;
  const start = now();
  const delaysMs: number[] = [];
  let attempts = 0;
  let status: number | null = null;
  let error = "no attempt made";
  const result = (ok: boolean, why: string | null): PrewarmResult => ({
    ok,
    status,
    attempts,
    elapsedMs: now() - start,
    error: why,
    delaysMs,
  });

  const urlProblem = prewarmUrlProblem(options.url);
  if (urlProblem !== null) return result(false, `${urlProblem} (not retried)`);

  let headers: Headers;
  try {
    headers = new Headers({ "content-type": "application/json", authorization: `Bearer ${options.token}` });
  } catch {
    return result(false, "the prewarm token is not a valid HTTP header value (not retried)");
  }

  for (;;) {
    const remaining = options.deadlineMs - (now() - start);
    if (remaining <= 0) return result(false, `${error}; deadline of ${options.deadlineMs} ms reached`);
    attempts++;
    let retryAfterMs: number | null = null;
    try {
      const res = await fetch(options.url, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(Math.min(options.attemptTimeoutMs, remaining)),
        // A router that redirects is misconfigured or not the router: following it would send the token
        // wherever the Location points.
        redirect: "manual",
      });
      status = res.status;
      if (res.ok || (res.status >= 300 && res.status < 400)) {
        // Nothing in a success's body matters: it is never read, so its size cannot matter either.
        await discardBody(res);
        if (res.ok) return result(true, null);
        const location = res.headers.get("location");
        const to = location === null ? "" : ` to ${quoteUntrusted(location, [options.token])}`;
        return result(false, `HTTP ${res.status}: a redirect${to}, not followed (not retried)`);
      }
      error = await describeFailure(res, options.token);
      if (!RETRY_STATUSES.has(res.status)) return result(false, `${error} (not retried)`);
      if (res.status === 429 || res.status === 503)
        retryAfterMs = parseRetryAfter(res.headers.get("retry-after"), now());
    } catch (err) {
      status = null;
      const failure = classifyFailure(err, options.token);
      error = failure.reason;
      if (!failure.transient) return result(false, `${error} (not retried)`);
    }
    // Retry-After may ask for longer than our backoff, never for less: "0" or a past date must not spin.
    const delay = Math.max(retryAfterMs ?? 0, backoffMs(attempts, baseDelayMs, maxDelayMs, random));
    if (now() - start + delay >= options.deadlineMs) {
      return result(
        false,
        `${error}; next retry in ${delay} ms would pass the deadline of ${options.deadlineMs} ms`,
      );
    }
    delaysMs.push(delay);
    await sleep(delay);
  }
}

/** Where a Deployment's hook call goes and what it says, read from the Deployment's labels and annotations. */
export interface PrewarmTarget {
  readonly body: PrewarmBody;
  readonly k8sName: string;
  readonly namespace: string;
  readonly regionId: string;
}

/**
 * Reads the prewarm target from a Deployment's outputs (or inputs). Returns the missing fields' names instead
 * when the object does not carry them, so the hook can say exactly what was missing.
 */
export function prewarmTargetFromDeployment(obj: unknown): PrewarmTarget | { missing: string[] } {
  const meta = (
    obj as { metadata?: { name?: unknown; namespace?: unknown; labels?: unknown; annotations?: unknown } }
  )?.metadata;
  const labels = (meta?.labels ?? {}) as Record<string, unknown>;
  const annotations = (meta?.annotations ?? {}) as Record<string, unknown>;
  const fields = {
    workspaceId: labels[LABELS.workspaceId],
    projectId: labels[LABELS.projectId],
    environmentId: labels[LABELS.environmentId],
    sentinelId: labels[LABELS.sentinelId],
    region: annotations[ANNOTATIONS.region],
    regionId: annotations[ANNOTATIONS.regionId],
    address: annotations[ANNOTATIONS.address],
    k8sName: meta?.name,
    namespace: meta?.namespace,
  };
  const missing = Object.entries(fields)
    .filter(([, v]) => typeof v !== "string" || v === "")
    .map(([k]) => k);
  if (missing.length > 0) return { missing };
  const f = fields as Record<keyof typeof fields, string>;
  return {
    body: {
      workspaceId: f.workspaceId,
      projectId: f.projectId,
      environmentId: f.environmentId,
      region: f.region,
      sentinelId: f.sentinelId,
      address: f.address,
    },
    k8sName: f.k8sName,
    namespace: f.namespace,
    regionId: f.regionId,
  };
}

/** Fills `{region}`, `{regionId}`, `{k8sName}` and `{namespace}` in a prewarm URL template. */
export function expandPrewarmUrl(template: string, target: PrewarmTarget): string {
  const values: Record<string, string> = {
    region: target.body.region,
    regionId: target.regionId,
    k8sName: target.k8sName,
    namespace: target.namespace,
  };
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    values[name] === undefined ? whole : encodeURIComponent(values[name]),
  );
}
