// What `database.tls` means for each client that talks to the platform database: the provider's mysql2
// connections, the `@pulumi/mysql` provider (Go, the go-sql-driver behind terraform-provider-mysql), the
// sentinel login itself, and the Go MySQL driver in the pods. Pure functions, so the program, the dynamic
// provider (serialized with it) and the tests share one mapping.
import type * as Crypto from "crypto";

/** `database.tls.mode`. */
export type TlsMode = "disabled" | "required" | "verify-ca" | "verify-identity";

export const TLS_MODES: readonly TlsMode[] = ["disabled", "required", "verify-ca", "verify-identity"];

export interface TlsSettings {
  readonly mode: TlsMode;
  /** Path of a PEM CA bundle; null: none (the CA may come from the `databaseCaCert` secret instead). */
  readonly caFile: string | null;
}

export const DEFAULT_TLS: TlsSettings = { mode: "disabled", caFile: null };

/** The subset of mysql2's `ssl` option this program sets. */
export interface Mysql2Ssl {
  /** PEM CA bundle; absent: Node's default roots. */
  readonly ca?: string;
  /** Verify the server's certificate chain. */
  readonly rejectUnauthorized: boolean;
  /** Also verify that the certificate names the host connected to (mysql2 3.x). */
  readonly verifyIdentity: boolean;
}

/**
 * mysql2's `ssl` option for a mode: `undefined` (plaintext) when disabled; encrypted without any verification
 * when required; the chain verified against `ca` (or Node's default roots) for verify-ca; chain and host name
 * for verify-identity. A CA is ignored by the modes that verify nothing.
 */
export function mysql2Ssl(mode: TlsMode, ca: string | null): Mysql2Ssl | undefined {
  switch (mode) {
    case "disabled":
      return undefined;
    case "required":
      return { rejectUnauthorized: false, verifyIdentity: false };
    case "verify-ca":
      return { ...(ca === null ? {} : { ca }), rejectUnauthorized: true, verifyIdentity: false };
    case "verify-identity":
      return { ...(ca === null ? {} : { ca }), rejectUnauthorized: true, verifyIdentity: true };
  }
}

/**
 * The `@pulumi/mysql` Provider's `tls` argument (its documented values: `false`, `true`, `skip-verify`).
 * `true` verifies the chain against the system roots and the host name: there is no chain-only mode and no
 * custom CA argument in @pulumi/mysql 3.x, so verify-ca is verified as strictly as verify-identity there.
 */
export function pulumiMysqlTls(mode: TlsMode): "false" | "true" | "skip-verify" {
  switch (mode) {
    case "disabled":
      return "false";
    case "required":
      return "skip-verify";
    case "verify-ca":
    case "verify-identity":
      return "true";
  }
}

/**
 * The Go MySQL driver's `tls` DSN parameter for the pods (`true`, `skip-verify`, `preferred` or the name of a
 * config registered in code); null: no parameter (plaintext). Like @pulumi/mysql, the driver has no
 * chain-only mode that a DSN can name, so verify-ca becomes `true` (chain and host name, system roots).
 */
export function goDriverTls(mode: TlsMode): "true" | "skip-verify" | null {
  switch (mode) {
    case "disabled":
      return null;
    case "required":
      return "skip-verify";
    case "verify-ca":
    case "verify-identity":
      return "true";
  }
}

/** DSN query parameters with the TLS parameter appended when TLS is on. */
export function dsnParamsWithTls(params: string, mode: TlsMode): string {
  const tls = goDriverTls(mode);
  return tls === null ? params : `${params}&tls=${tls}`;
}

/**
 * `tlsOption` of the sentinel's `mysql.User` (suffixed to `REQUIRE`): with TLS on, the login itself refuses
 * plaintext. Undefined when TLS is off, so existing users see no diff.
 */
export function sentinelLoginTlsOption(mode: TlsMode): "SSL" | undefined {
  return mode === "disabled" ? undefined : "SSL";
}

/** Whether a mode checks the server's certificate against a CA (and so can use `caFile`/`databaseCaCert`). */
export function verifiesCertificate(mode: TlsMode): boolean {
  return mode === "verify-ca" || mode === "verify-identity";
}

/**
 * What is wrong with a CA bundle, or null: it must be one or more PEM certificates, each parsing. Node ignores
 * whatever in a `ca` bundle is not a certificate, so a bundle of garbage would only show later as "self-signed
 * certificate in certificate chain". The problem names the block, never the text (a secret, or a private key
 * pasted by mistake). `crypto` is required lazily: the dynamic-provider host loads this module too.
 */
export function caBundleProblem(text: string): string | null {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const crypto = require("crypto") as typeof Crypto;
  const blocks = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g)];
  if (blocks.length === 0) return "holds no PEM block";
  for (const [i, b] of blocks.entries()) {
    const which = `block ${i + 1} of ${blocks.length}`;
    if (b[1] !== "CERTIFICATE") return `holds a ${b[1]} block (${which})`;
    try {
      new crypto.X509Certificate(b[0]);
    } catch {
      return `holds a certificate that does not parse (${which})`;
    }
  }
  return null;
}
