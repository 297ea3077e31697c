// Text that someone outside this process controls (what a router answers, a database's error messages, the
// values of a row or of a Deployment's labels) on its way into a log line or an error message. A server may
// echo what it was sent, credentials included, and a value may hold newlines or terminal escapes that forge
// log lines, or be megabytes long. `quoteUntrusted` is the one way such text is written out: every secret the
// caller knows removed (as sent, percent-encoded or JSON-escaped), every URL's or DSN's userinfo removed,
// control characters escaped, a bounded prefix in double quotes, and the length of what was cut.
//
// Pure and dependency-free: the program, its hooks and the provider's host process all load it.

/** What a removed secret or userinfo reads as. */
export const REDACTED = "[redacted]";

/** Characters of escaped text shown of one untrusted value, by default. */
export const UNTRUSTED_EXCERPT_CHARS = 300;

/** `scheme://userinfo@`: the userinfo, whatever it holds (up to the last `@` before the path). */
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)[^\s/?#]*@/gi;
/** The Go MySQL driver's `user:password@tcp(...)` (or `unix(`), which has no scheme. */
const DSN_USERINFO = /[^\s"'`/@]*:[^\s"'`@]*@(tcp|tcp6|unix)\(/gi;

/** Replaces the userinfo (`user:password@`) of every URL and Go MySQL DSN in a text. */
export function redactUserinfo(text: string): string {
  return text.replace(URL_USERINFO, `$1${REDACTED}@`).replace(DSN_USERINFO, `${REDACTED}@$1(`);
}

/** What remains of a URL's or a DSN's userinfo at the end of a text cut before its `@` (or its `tcp(`). */
const PARTIAL_URL_USERINFO = /:\/\/[^\s/?#@]*$/;
const PARTIAL_DSN_USERINFO = /:[^\s"'`@]*(@[a-z0-9]{0,4})?$/i;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The ways a secret comes back from a server, as patterns: as sent, JSON-escaped (a body), percent-encoded
 * (a Location or a query string; either case of hex digit, `+` or `%20` for a space).
 */
function secretPatterns(secrets: readonly string[]): { patterns: RegExp[]; longest: number } {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret === "") continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
    forms.add(encodeURIComponent(secret));
    forms.add(encodeURIComponent(secret).replace(/%20/g, "+"));
  }
  const sorted = [...forms].sort((a, b) => b.length - a.length);
  return {
    // Longest first, so a secret that contains another is removed whole.
    patterns: sorted.map((form) => {
      const source = escapeRegExp(form).replace(
        /%([0-9A-F]{2})/g,
        (_m, hex: string) => `%(?:${hex}|${hex.toLowerCase()})`,
      );
      return new RegExp(source, "g");
    }),
    longest: sorted[0]?.length ?? 0,
  };
}

/** Removes every secret (in the forms a server may echo it in) and every URL's or DSN's userinfo. */
export function withoutSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const pattern of secretPatterns(secrets).patterns) out = out.replace(pattern, REDACTED);
  return redactUserinfo(out);
}

const NAMED_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/**
 * Whether a code point must not reach a log as it is: C0 and C1 controls and DEL (newlines, terminal escapes),
 * the Unicode line and paragraph separators, bidirectional overrides and isolates (text that reads reordered),
 * the byte-order mark, and unpaired surrogates.
 */
function needsEscape(code: number): boolean {
  return (
    code < 0x20 ||
    (code >= 0x7f && code <= 0x9f) ||
    code === 0x2028 ||
    code === 0x2029 ||
    (code >= 0x202a && code <= 0x202e) ||
    (code >= 0x2066 && code <= 0x2069) ||
    code === 0xfeff ||
    (code >= 0xd800 && code <= 0xdfff)
  );
}

function escaped(char: string): string {
  const named = NAMED_ESCAPES[char];
  if (named !== undefined) return named;
  const code = char.codePointAt(0) as number;
  return needsEscape(code) ? `\\u${code.toString(16).padStart(4, "0")}` : char;
}

/**
 * Untrusted text as it may appear in a log line or an error: in double quotes, at most `maxChars` characters
 * of escaped text, every secret in `secrets` and every userinfo removed first. When the text is cut, the quote
 * ends in `…` and is followed by the length of the whole text, so a reader knows there was more.
 */
export function quoteUntrusted(
  text: string,
  secrets: readonly string[] = [],
  maxChars: number = UNTRUSTED_EXCERPT_CHARS,
): string {
  const { longest } = secretPatterns(secrets);
  // Only a prefix is worked on (a value may be megabytes). Something that straddles the prefix's end is cut,
  // not matched, so what could be part of one is dropped after redaction: the last `longest` characters (a
  // secret), then a trailing userinfo whose `@` was cut off.
  const window = 4 * maxChars + 2 * longest;
  const cut = text.length > window;
  let clean = withoutSecrets(cut ? text.slice(0, window) : text, secrets);
  if (cut)
    clean = clean
      .slice(0, clean.length - longest)
      .replace(PARTIAL_URL_USERINFO, "://")
      .replace(PARTIAL_DSN_USERINFO, "");
  let out = "";
  let complete = !cut;
  for (const char of clean) {
    const piece = escaped(char);
    if (out.length + piece.length > maxChars) {
      complete = false;
      break;
    }
    out += piece;
  }
  return complete ? `"${out}"` : `"${out}…" (${text.length} characters)`;
}
