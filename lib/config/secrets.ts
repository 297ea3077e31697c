// Secret values: present when required, stored as secrets, well-formed; never echoed. These rules depend on
// how a value was stored, which the schema cannot see.
import { SecretValue } from "../secret";
import { TOML_BREAKING } from "../validate";
import { DATABASE_CONFIG_KEY } from "./connection";
import { ENCRYPTED, isRecord, key, parseUrl, show } from "./fields";
import type { Found } from "./problems";
import { records } from "./rules";
import { loginRules, type ExistingLogin } from "./logins";
import type { RawConfig, SecretKey } from "./schema";

/** The secrets that are one string each. */
export type StringSecretKey = Exclude<SecretKey, "databaseLogins">;

export function secretRules(
  raw: RawConfig,
  v: Record<string, unknown>,
): {
  found: Found[];
  secrets: Record<StringSecretKey, SecretValue | null>;
  logins: Record<string, ExistingLogin> | null;
} {
  const found: Found[] = [];
  const add = (name: StringSecretKey, message: string) => found.push({ path: [name], message });
  const read = (name: StringSecretKey, required: boolean): SecretValue | null => {
    const full = key(name);
    const value = raw.values[full];
    if (value === ENCRYPTED) return SecretValue.placeholderFor(full);
    if (value === undefined || value === null || value === "") {
      if (required) add(name, `is required; set it with \`pulumi config set --secret ${full} <value>\``);
      return null;
    }
    // Stored in plaintext whatever its type: a number or a list in the stack file is as readable as a string.
    if (!raw.secretKeys.includes(full)) {
      add(name, `is stored in plaintext; set it with \`pulumi config set --secret ${full} <value>\``);
    }
    if (typeof value !== "string") {
      add(name, "must be a string");
      return null;
    }
    return new SecretValue(full, value);
  };
  const checked = (s: SecretValue | null): string | null => (s === null || s.placeholder ? null : s.reveal());
  const expandedIntoToml = (name: StringSecretKey, s: SecretValue | null) => {
    if (TOML_BREAKING.test(checked(s) ?? "")) {
      add(
        name,
        "[secret] must not contain '\"', '\\' or control characters such as a newline: the sentinel expands it " +
          "into its TOML configuration",
      );
    }
  };
  const url = (name: StringSecretKey, s: SecretValue | null, protocols: readonly string[]) => {
    const t = checked(s);
    if (t !== null && parseUrl(t, protocols) === null) {
      add(name, `[secret] is not a valid URL with one of the schemes ${protocols.join(", ")}`);
    }
    expandedIntoToml(name, s);
  };

  const databasePassword = read("databasePassword", true);
  const databaseCaCert = read("databaseCaCert", false);
  const caText = checked(databaseCaCert);
  if (caText !== null && !/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/.test(caText)) {
    add(
      "databaseCaCert",
      "[secret] is not PEM text (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)",
    );
  }
  const tls = isRecord(v.database) && isRecord(v.database.tls) ? v.database.tls : {};
  if (databaseCaCert !== null && tls.caFile !== undefined) {
    add("databaseCaCert", `is set and so is ${DATABASE_CONFIG_KEY}.tls.caFile: give the CA bundle one way`);
  } else if (databaseCaCert !== null && tls.mode !== "verify-ca" && tls.mode !== "verify-identity") {
    add(
      "databaseCaCert",
      `a CA bundle verifies the server: it needs ${DATABASE_CONFIG_KEY}.tls.mode verify-ca or verify-identity, ` +
        `got ${show(tls.mode ?? "disabled")}`,
    );
  }
  const clickhouseUrl = read("clickhouseUrl", true);
  url("clickhouseUrl", clickhouseUrl, ["clickhouse:", "http:", "https:", "tcp:"]);
  const redisUrl = read("redisUrl", true);
  url("redisUrl", redisUrl, ["redis:", "rediss:"]);

  let otelHeaders: SecretValue | null = null;
  if (isRecord(v.otel) && v.otel.endpoint !== undefined) {
    otelHeaders = read("otelHeaders", false);
    expandedIntoToml("otelHeaders", otelHeaders);
  } else if (raw.values[key("otelHeaders")] !== undefined) {
    add("otelHeaders", `is set but ${key("otel")}.endpoint is not`);
  }

  const anyPrewarm =
    (isRecord(v.prewarm) && v.prewarm.urlTemplate !== undefined) ||
    records(v.regions).some((r) => r.prewarmUrl !== undefined);
  const prewarmToken = read("prewarmToken", anyPrewarm);
  if (!/^[\x21-\x7E]+$/.test(checked(prewarmToken) ?? "x")) {
    add("prewarmToken", "[secret] must be printable ASCII without spaces (it is sent as a bearer token)");
  }
  const known = records(v.regions).flatMap((r) => (typeof r.name === "string" ? [r.name] : []));
  const deployed = Array.isArray(v.deployRegions)
    ? known.filter((n) => (v.deployRegions as unknown[]).includes(n))
    : known;
  const existing = loginRules(raw, v, v.stackRole === "environmentShard" ? null : deployed, known);
  found.push(...existing.found);
  return {
    found,
    logins: existing.logins,
    secrets: { databasePassword, databaseCaCert, clickhouseUrl, redisUrl, otelHeaders, prewarmToken },
  };
}
