// The example stack (Pulumi.dev.yaml) plus the secrets a user would set with `pulumi config set --secret`,
// for tests that run the real program under the mock engine.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { FleetConfigError } from "../../lib/config";
import { runProgram, type ProgramRun, type RunOptions } from "../../synth/mockEngine";

export const ROOT = path.resolve(__dirname, "..", "..");

/** Secret values with distinctive plaintext parts, so a leak anywhere is found by a substring search. */
export const TEST_SECRETS = {
  "sentinel-fleet:databasePassword": "adm1n-Pw-LEAKCHECK-7f3a",
  "sentinel-fleet:clickhouseUrl": "clickhouse://default:ch-Pw-LEAKCHECK-91bc@clickhouse.platform:9000/unkey",
  "sentinel-fleet:redisUrl": "rediss://:rd-Pw-LEAKCHECK-2d44@redis.platform:6380",
  "sentinel-fleet:prewarmToken": "pw-Token-LEAKCHECK-5e1d",
  "sentinel-fleet:otelHeaders": "x-api-key=otel-LEAKCHECK-a0a0",
} as const;

/** Substrings that must never appear in plaintext outside a secret envelope. */
export const LEAK_MARKERS = ["LEAKCHECK"];

export function readStackFile(stack = "dev"): Record<string, unknown> {
  const doc = YAML.parse(fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8")) as {
    config: Record<string, unknown>;
  };
  return doc.config;
}

export interface StackConfig {
  config: Record<string, unknown>;
  secretKeys: string[];
}

/**
 * The example stack's config with the test secrets set as secrets. `overrides` replace keys (undefined
 * removes one).
 */
export function exampleConfig(overrides: Record<string, unknown> = {}): StackConfig {
  const config: Record<string, unknown> = { ...readStackFile(), ...TEST_SECRETS };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete config[k];
    else config[k] = v;
  }
  return { config, secretKeys: Object.keys(TEST_SECRETS).filter((k) => k in config) };
}

/** Runs index.ts under the mock engine with the example stack (or overrides). */
export function runExample(
  preview: boolean,
  overrides: Record<string, unknown> = {},
  options: Partial<RunOptions> = {},
): Promise<ProgramRun> {
  const { config, secretKeys } = exampleConfig(overrides);
  return runProgram({ config, secretKeys, preview, fireHooks: false, ...options });
}

/** Every string anywhere inside a value, with the path to it. */
export function strings(value: unknown, at = "$"): { path: string; value: string }[] {
  if (typeof value === "string") return [{ path: at, value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => strings(v, `${at}[${i}]`));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => strings(v, `${at}.${k}`));
  }
  return [];
}

/** The problems a configuration parse reports, as `path: message` lines; fails when it accepts the input. */
export function configProblems(parse: () => unknown): string[] {
  try {
    parse();
  } catch (err) {
    assert.ok(err instanceof FleetConfigError, `expected FleetConfigError, got ${String(err)}`);
    return err.problems.map((p) => `${p.path}: ${p.message}`);
  }
  assert.fail("the configuration was accepted");
}
