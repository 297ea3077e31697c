// The README's configuration reference (`npm run schema`), from the configuration schema.
import { isRecord, scalar } from "./fields";
import type { Json } from "./jsonSchema";
import { inputJsonSchema } from "./schema";

/** One row of the README's configuration reference. */
export interface ReferenceRow {
  readonly key: string;
  readonly type: string;
  readonly default: string;
  readonly meaning: string;
}

function typeText(s: Json): string {
  if (s["x-secret"] === true) return "secret";
  if (Array.isArray(s.enum)) return (s.enum as string[]).map((e) => `\`${e}\``).join(", ");
  switch (s.type) {
    case "integer":
      if (s.maximum === Number.MAX_SAFE_INTEGER) return `integer >= ${scalar(s.minimum)}`;
      return s.minimum !== undefined && s.maximum !== undefined
        ? `integer ${scalar(s.minimum)}..${scalar(s.maximum)}`
        : "integer";
    case "boolean":
      return "bool";
    case "array": {
      const items = (s.items ?? {}) as Json;
      return items.type === "string" ? "list of strings" : items.type === "array" ? "list of lists" : "list";
    }
    default:
      return scalar(s.type ?? "any");
  }
}

function defaultText(s: Json, required: boolean): string {
  if (typeof s["x-default"] === "string") return s["x-default"];
  if (s.default === undefined) return required ? "required" : "none";
  if (isRecord(s.default)) return "see below";
  if (Array.isArray(s.default)) return `\`[${s.default.join(", ")}]\``;
  return `\`${scalar(s.default)}\``;
}

/** The README's configuration reference: every key, in schema order, nested keys after their parent. */
export function configReferenceRows(): ReferenceRow[] {
  const rows: ReferenceRow[] = [];
  const walk = (name: string, s: Json, required: boolean) => {
    rows.push({
      key: `\`${name}\``,
      type: typeText(s),
      default: defaultText(s, required),
      meaning: scalar(s.description ?? ""),
    });
    const inner = s.type === "array" ? ((s.items ?? {}) as Json) : s;
    const props = inner.properties as Record<string, Json> | undefined;
    if (props === undefined) return;
    const req = (inner.required ?? []) as string[];
    const prefix = s.type === "array" ? `${name}[]` : name;
    for (const [k, child] of Object.entries(props)) walk(`${prefix}.${k}`, child, req.includes(k));
  };
  const root = inputJsonSchema();
  const req = (root.required ?? []) as string[];
  for (const [k, s] of Object.entries(root.properties as Record<string, Json>)) walk(k, s, req.includes(k));
  return rows;
}

/** The reference as a Markdown table (Prettier reformats the padding). */
export function configReferenceTable(): string {
  const rows = configReferenceRows();
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [
    line(["key", "type", "default", "meaning"]),
    line(["---", "---", "---", "---"]),
    ...rows.map((r) => line([r.key, r.type, r.default, r.meaning])),
  ].join("\n");
}
