// The stack configuration's one zod schema: every key with its shape, range, format, default and description,
// assembled from the groups of keys in this folder. The order here is the order problems are listed in, and
// the order of the JSON Schema and the README's configuration reference.
import { z } from "zod";
import { databaseKeys } from "./database";
import { environmentKeys } from "./environments";
import { key, object, type DocMeta } from "./fields";
import { fleetKeys } from "./fleet";
import { prewarmKeys, prewarmSecretKeys } from "./prewarm";
import { regionKeys } from "./regions";
import { serviceKeys } from "./services";

/** The stack configuration, key by key (without the `sentinel-fleet:` prefix), in the order problems are listed. */
export const stackConfigSchema = object({
  ...fleetKeys,
  ...prewarmKeys,
  ...regionKeys,
  ...environmentKeys,
  ...databaseKeys,
  ...serviceKeys,
  ...prewarmSecretKeys,
});

type Shape = typeof stackConfigSchema.shape;
export const SECRET_KEYS = [
  "databasePassword",
  "databaseCaCert",
  "databaseLogins",
  "clickhouseUrl",
  "redisUrl",
  "otelHeaders",
  "prewarmToken",
] as const satisfies readonly (keyof Shape)[];
export type SecretKey = (typeof SECRET_KEYS)[number];
export const ALL_KEYS = Object.keys(stackConfigSchema.shape) as (keyof Shape)[];
const PLAIN_KEYS = ALL_KEYS.filter((k) => !(SECRET_KEYS as readonly string[]).includes(k));
export const plainSchema = stackConfigSchema.omit(
  Object.fromEntries(SECRET_KEYS.map((k) => [k, true])) as { [K in SecretKey]: true },
);
export type PlainConfig = z.output<typeof plainSchema>;

/** The configuration keys of this program, for documentation and tooling. */
export const CONFIG_KEYS = {
  plain: PLAIN_KEYS.map(key),
  secret: SECRET_KEYS.map(key),
  /** Secrets a stack needs (prewarmToken: with a prewarm URL); synth stands in for the ones not set. */
  requiredSecret: SECRET_KEYS.filter((k) =>
    String((stackConfigSchema.shape[k].meta() as DocMeta | undefined)?.["x-default"]).startsWith("required"),
  ).map(key),
} as const;

/** Raw stack configuration: full keys (`sentinel-fleet:regions`) to values as Pulumi or YAML gives them. */
export interface RawConfig {
  readonly values: Readonly<Record<string, unknown>>;
  /** Keys set with `pulumi config set --secret`. */
  readonly secretKeys: readonly string[];
}

/** JSON Schema of the stack configuration as written: the order of keys, the editor schema and the docs. */
export function inputJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(stackConfigSchema, {
    target: "draft-7",
    io: "input",
    unrepresentable: "any",
  });
}
