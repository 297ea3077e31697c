// The sentinel's loader expands environment references across the whole UNKEY_CONFIG_DATA text before it
// parses the TOML (Go's os.Expand over the raw bytes, with the `${VAR:-default}` form added). This is that
// expansion, for tests that show which values keep the parsed configuration intact.

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
/** Go's shell special variables: one character after `$`. */
const SPECIAL = /^[*#$@!?\-0-9]/;

export function expandEnv(text: string, env: Readonly<Record<string, string>>): string {
  const value = (name: string, fallback?: string) => {
    const v = env[name];
    return v === undefined || (v === "" && fallback !== undefined) ? (fallback ?? "") : v;
  };
  let out = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== "$" || i + 1 >= text.length) {
      out += text[i];
      continue;
    }
    const rest = text.slice(i + 1);
    if (rest.startsWith("{")) {
      const end = rest.indexOf("}");
      if (end < 0) {
        // Go: invalid syntax; only the `${` is eaten, the rest stays.
        i += 1;
        continue;
      }
      const inner = rest.slice(1, end);
      const sep = inner.indexOf(":-");
      out += sep < 0 ? value(inner) : value(inner.slice(0, sep), inner.slice(sep + 2));
      i += end + 1;
      continue;
    }
    const name = NAME.exec(rest)?.[0] ?? SPECIAL.exec(rest)?.[0];
    if (name === undefined) {
      // `$` not followed by a name stays as it is.
      out += "$";
      continue;
    }
    out += value(name);
    i += name.length;
  }
  return out;
}
