// The editor schema of `Pulumi.<stack>.yaml` (schema/stack-config.schema.json, `npm run schema`), from the
// configuration schema.
import { PROJECT } from "../constants";
import { isRecord, key } from "./fields";
import { inputJsonSchema } from "./schema";

export type Json = Record<string, unknown>;

/** Removes the documentation-only keys (`x-...`) from a JSON Schema. */
function withoutDocKeys(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutDocKeys);
  if (!isRecord(node)) return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([k, v]) => !k.startsWith("x-") && v !== undefined)
      .map(([k, v]) => [k, withoutDocKeys(v)]),
  );
}

/**
 * The JSON Schema of `Pulumi.<stack>.yaml`: the config keys under `config:` with the `sentinel-fleet:` prefix,
 * secrets as `{ secure: ... }`, other namespaces' keys allowed. Top-level keys are not required here (an ESC
 * environment may supply them); the program requires them.
 */
export function stackFileJsonSchema(): Json {
  const plain = inputJsonSchema();
  const props = plain.properties as Record<string, Json>;
  const config: Record<string, unknown> = {};
  const secure = {
    type: "object",
    properties: { secure: { type: "string" } },
    required: ["secure"],
    additionalProperties: false,
  };
  for (const [name, schema] of Object.entries(props)) {
    config[key(name)] =
      schema["x-secret-map"] === true
        ? {
            description: `${String(schema.description)} (each a secret: \`pulumi config set --secret --path\`)`,
            anyOf: [
              secure,
              {
                type: "object",
                additionalProperties: {
                  type: "object",
                  properties: { primary: secure, replica: secure },
                  required: ["primary"],
                  additionalProperties: false,
                },
              },
            ],
          }
        : schema["x-secret"] === true
          ? {
              description: `${String(schema.description)} (a secret: \`pulumi config set --secret ${key(name)}\`)`,
              ...secure,
            }
          : schema.type === "boolean"
            ? // `pulumi config set` without `--type` writes "true"/"false" as strings; the program reads both.
              withoutDocKeys({
                ...schema,
                type: undefined,
                anyOf: [{ type: "boolean" }, { type: "string", enum: ["true", "false"] }],
              })
            : withoutDocKeys(schema);
  }
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: "sentinel-fleet stack configuration (Pulumi.<stack>.yaml)",
    description: "Generated from lib/config/ by `npm run schema`; do not edit.",
    type: "object",
    properties: {
      config: {
        type: "object",
        properties: config,
        // Keys of this project must be known ones; other namespaces (kubernetes:, pulumi:) are not ours.
        propertyNames: { anyOf: [{ enum: Object.keys(config) }, { not: { pattern: `^${PROJECT}:` } }] },
      },
    },
  };
}
