// The stack configuration, described once: each group of keys has its zod schema in this folder, and the
// types, the error messages, the editor's JSON Schema and the README's reference all derive from it.
//   fields.ts        building blocks (messages that name the value; secrets never echoed)
//   fleet.ts, prewarm.ts, regions.ts, environments.ts, database.ts (+ connection.ts), services.ts: the keys
//   schema.ts        the whole schema, in the order problems are listed
//   rules.ts         cross-field rules;  secrets.ts: secret rules;  problems.ts: sorting and the error
//   parse.ts         parseFleetConfig and the FleetConfig types (z.output through `build`)
//   jsonSchema.ts, reference.ts: what `npm run schema` writes
export {
  DATABASE_CA_CERT_CONFIG_KEY,
  DATABASE_CONFIG_KEY,
  DATABASE_PASSWORD_CONFIG_KEY,
  type ConfigProblem,
  type ConnectionSettings,
} from "./connection";
export { ENCRYPTED } from "./fields";
export { stackFileJsonSchema } from "./jsonSchema";
export {
  parseFleetConfig,
  readStackConfig,
  type DatabaseConfig,
  type EnvironmentConfig,
  type FleetConfig,
  type NamespacePodSecurity,
  type NodeClass,
  type OtelConfig,
  type PodConfig,
  type PodSecurityLevel,
  type PrewarmConfig,
  type ProbePaths,
  type RegionConfig,
  type StackRole,
} from "./parse";
export { FleetConfigError } from "./problems";
export { configReferenceRows, configReferenceTable, type ReferenceRow } from "./reference";
export { CONFIG_KEYS, stackConfigSchema, type RawConfig } from "./schema";
