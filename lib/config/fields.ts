// The building blocks of the configuration schema: zod fields whose messages name the key's value (`show`,
// secrets never), and the helpers every group of keys shares.
import { z } from "zod";
import { PROJECT } from "../constants";
import { SecretValue } from "../secret";
import { IMAGE_REF, LABEL_VALUE, LABEL_VALUE_RULE, normalizeAddress } from "../validate";

/**
 * Stands for an encrypted config value that is not available (synth reads `secure:` values from the stack file
 * and cannot decrypt them); such a secret becomes a placeholder and skips format checks.
 */
export const ENCRYPTED = "<encrypted: not decrypted by synth>";

/** The full key of a configuration key: `sentinel-fleet:<name>`. */
export const key = (name: string) => `${PROJECT}:${name}`;

export function show(value: unknown): string {
  if (value instanceof SecretValue) return "[secret]";
  if (value === ENCRYPTED) return "[encrypted]";
  return JSON.stringify(value) ?? String(value);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export const scalar = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));

/** Documentation-only metadata (kept out of the editor schema): a default that is not a plain value. */
export interface DocMeta {
  description: string;
  /** The README's default column when it is not the schema's `default` (a rule rather than a value). */
  "x-default"?: string;
  /** A secret: set with `pulumi config set --secret`, stored as `{ secure: ... }`. */
  "x-secret"?: true;
  /** A map of secrets (region name to `{ primary, replica? }`), each leaf stored as `{ secure: ... }`. */
  "x-secret-map"?: true;
}

/** Metadata of an optional key whose default is a rule, not a value: the reference shows `fallback`. */
export const orElse = (description: string, fallback: string) =>
  ({ description, "x-default": fallback }) satisfies DocMeta;

export const err = (f: (input: unknown) => string) => ({ error: (iss: { input?: unknown }) => f(iss.input) });

export const text = () => {
  const e = err((v) => `must be a non-empty string, got ${show(v)}`);
  return z.string(e).regex(/\S/, { ...e, abort: true });
};
export const int = (min: number, max: number, what = "an integer") => {
  const e = err((v) => `must be ${what} from ${min} to ${max}, got ${show(v)}`);
  return z
    .number(e)
    .int({ ...e, abort: true })
    .min(min, e)
    .max(max, e);
};
export const bool = (fallback: boolean) =>
  z.boolean(err((v) => `must be true or false, got ${show(v)}`)).default(fallback);
export const labelValue = () => {
  const e = err((v) => `${show(v)} is not a valid Kubernetes label value (${LABEL_VALUE_RULE})`);
  return text().max(63, e).regex(LABEL_VALUE, e);
};
export const imageRef = () => {
  const e = err((v) => `${show(v)} is not a valid container image reference (registry/name[:tag][@digest])`);
  return text().max(255, e).regex(IMAGE_REF, e);
};
/** A string of at most `max` characters matching `re`; one message, `<value> <why>`, for either rule. */
export const matching = (re: RegExp, max: number, why: string) => {
  const e = err((v) => `${show(v)} ${why}`);
  return text().max(max, e).regex(re, e);
};
/** At most `max` characters (a database column's width), then `re`. */
export const column = (max: number, width: string, re: RegExp, why: string) =>
  text()
    .max(
      max,
      err((v) => `must be at most ${max} characters (${width}), got ${String(v).length}`),
    )
    .regex(
      re,
      err((v) => `${show(v)} ${why}`),
    );
export const oneOf = <T extends string>(values: readonly [T, ...T[]]) =>
  z.enum(
    values,
    err((v) => `must be one of ${values.join(", ")}, got ${show(v)}`),
  );
/** An object whose unknown keys (typos) are each reported with the keys it knows. */
export const object = <S extends z.ZodRawShape>(shape: S, what?: (v: unknown) => string) => {
  const known = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (iss: { code?: string; input?: unknown }) =>
      iss.code === "unrecognized_keys"
        ? `unknown key (known: ${known})`
        : (what?.(iss.input) ?? `must be an object, got ${show(iss.input)}`),
  });
};
export const list = <T extends z.ZodType>(item: T, what: string) => {
  const e = err((v) => `must be a non-empty list of ${what}, got ${show(v)}`);
  return z.array(item, e).min(1, e);
};
export const regionName = () =>
  z.string(err((v) => `must be a region name, got ${show(v)}`)).meta({ description: "a name of `regions`" });

const URL_PLACEHOLDERS = ["region", "regionId", "k8sName", "namespace"] as const;
/** `scheme://user:password@host`: credentials inside a URL, checked before anything echoes the value. */
const URL_CREDENTIALS = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*@/;

export function parseUrl(t: string, protocols: readonly string[]): URL | null {
  try {
    const u = new URL(t);
    return protocols.includes(u.protocol) && u.hostname !== "" ? u : null;
  } catch {
    return null;
  }
}

/** One message for an http(s) URL template, or null; never echoes a URL that holds credentials. */
function urlTemplateProblem(s: string): string | null {
  const unknownPlaceholders = [...s.matchAll(/\{([^}]*)\}/g)]
    .map((m) => m[1])
    .filter((name) => !(URL_PLACEHOLDERS as readonly string[]).includes(name));
  if (URL_CREDENTIALS.test(s) || parseUrl(s.replace(/\{[^}]*\}/g, "x"), ["http:", "https:"])?.username) {
    return "must not contain credentials (user:password@); the prewarm token authenticates to the router";
  }
  if (unknownPlaceholders.length > 0) {
    return `unknown placeholder {${unknownPlaceholders.join("}, {")}} (known: {${URL_PLACEHOLDERS.join("}, {")}})`;
  }
  if (parseUrl(s.replace(/\{[^}]*\}/g, "x"), ["http:", "https:"]) === null)
    return `${show(s)} is not an http(s) URL`;
  return null;
}

export const urlTemplate = () =>
  text().superRefine((v, ctx) => {
    const problem = urlTemplateProblem(v);
    if (problem !== null) ctx.addIssue({ code: "custom", message: problem, input: v });
  });

export const address = () =>
  text().superRefine((v, ctx) => {
    if (normalizeAddress(v) === null) {
      ctx.addIssue({
        code: "custom",
        message: `must be host, host:port, [IPv6] or [IPv6]:port, got ${show(v)}`,
      });
    }
  });

export const secret = (description: string, fallback = "none") =>
  z
    .string()
    .optional()
    .meta({ description, "x-secret": true, "x-default": fallback } satisfies DocMeta);
