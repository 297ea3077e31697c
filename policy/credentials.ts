// Rule 5: credentials only in Secrets: never in plain env values, the sentinel's TOML or ConfigMaps.
import { parse as parseToml } from "smol-toml";
import { CONFIG_ENV_VAR, CREDENTIAL_ENV_VARS, TOML_CREDENTIAL_KEYS, TYPES } from "./facts";
import { absent, containersOf, get, isRecord, isSet, list, NOT_KNOWN, objectRef, type Props } from "./props";

/** Why a text looks like it holds a credential, or null. Never echoes the text. */
export function credentialShape(text: string): string | null {
  if (/[a-z][a-z0-9+.-]*:\/\/[^\s/@:]*:[^\s/@]+@/i.test(text)) return "a URL with user:password@";
  if (/[^\s:@/"'=]*:[^\s@"']+@(?:tcp|unix)\(/.test(text)) return "a MySQL DSN user:password@tcp(...)";
  if (/password\s*=/i.test(text)) return "password=";
  return null;
}

const VAR_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;

function tomlViolations(prefix: string, text: string): string[] {
  let doc: unknown;
  try {
    doc = parseToml(text);
  } catch {
    return [`${prefix} ${CONFIG_ENV_VAR} is not valid TOML`];
  }
  const out: string[] = [];
  for (const key of TOML_CREDENTIAL_KEYS) {
    const v = get(doc, ...key.split("."));
    if (v === undefined) {
      out.push(`${prefix} ${CONFIG_ENV_VAR} has no ${key}; it must be a \${VAR} reference`);
    } else if (typeof v !== "string" || !VAR_REFERENCE.test(v)) {
      out.push(
        `${prefix} ${CONFIG_ENV_VAR} sets ${key} to a literal value; it must be exactly a \${VAR} reference ` +
          "so the credential stays in a Secret",
      );
    }
  }
  return out;
}

/** 5. Credentials only in Secrets: never in plain env values, the sentinel TOML, or ConfigMaps. */
export function credentialViolations(type: string, props: Props): string[] {
  const ref = objectRef(type, props);
  if (type === TYPES.secret) {
    const data = get(props, "data");
    const stringData = get(props, "stringData");
    if (data === NOT_KNOWN || stringData === NOT_KNOWN) return [];
    const count = [data, stringData].reduce(
      (n: number, d) => n + (isRecord(d) ? Object.keys(d).length : 0),
      0,
    );
    return count > 0 ? [] : [`${ref} has no data or stringData; a Secret must carry its values there`];
  }
  if (type === TYPES.configMap) {
    const data = get(props, "data");
    if (!isRecord(data)) return [];
    return Object.keys(data).flatMap((key) => {
      const v = get(data, key);
      const shape = typeof v === "string" ? credentialShape(v) : null;
      return shape === null
        ? []
        : [`${ref} key ${key} holds what looks like a credential (${shape}); credentials belong in a Secret`];
    });
  }
  const containers = containersOf(type, props, true);
  if (containers === NOT_KNOWN) return [];
  const out: string[] = [];
  for (const c of containers) {
    const env = list(c.value, "env");
    if (env === NOT_KNOWN) continue;
    for (const entry of env) {
      const name = get(entry, "name");
      if (typeof name !== "string") continue;
      const value = get(entry, "value");
      const valueFrom = get(entry, "valueFrom");
      const prefix = `${ref}: ${c.label}`;
      if (CREDENTIAL_ENV_VARS.includes(name)) {
        const secretKeyRef = get(valueFrom, "secretKeyRef");
        if (secretKeyRef === NOT_KNOWN || !absent(secretKeyRef)) continue;
        // A credential in `value` is wrong whatever the value turns out to be, so one not known yet counts.
        if (isSet(entry, "value") && value !== "") {
          out.push(
            `${prefix} sets ${name} as a plain env value; credentials must come from a Secret ` +
              "(envFrom secretRef or valueFrom.secretKeyRef)",
          );
        } else if (!absent(valueFrom)) {
          out.push(
            `${prefix} takes ${name} from something other than a Secret; credentials must come from a ` +
              "Secret (envFrom secretRef or valueFrom.secretKeyRef)",
          );
        }
        continue;
      }
      if (typeof value !== "string") continue;
      const shape = credentialShape(value);
      if (shape !== null) {
        out.push(
          `${prefix} env ${name} holds what looks like a credential (${shape}); move it into a Secret`,
        );
      }
      if (name === CONFIG_ENV_VAR) out.push(...tomlViolations(prefix, value));
    }
  }
  return out;
}
