// The stacks the engine tier deploys, over Pulumi.engine.yaml: the database, logins and prewarm endpoint this
// run started, and secrets generated per run. The sentinel logins are the operator's (`database.logins:
// existing`): created here as an operator would, read-only, under the names managed logins would have.
import * as fs from "fs";
import * as YAML from "yaml";
import { format } from "mysql2";
import type { Stack } from "@pulumi/pulumi/automation";
import { sentinelDbUser } from "../../lib/names";
import { loadConfig } from "../../tests/e2e/check";
import {
  BASE_STACK_FILE,
  createStack,
  secret,
  stackFile,
  STACK_PREFIX,
  type StackSpec,
  type Tier,
} from "./tier";

/** One stack of the tier and every secret value it was given (the checkpoint must hold none of them). */
export interface TierStack {
  readonly name: string;
  readonly stack: Stack;
  readonly secretValues: readonly string[];
}

interface BaseConfig {
  readonly regions: { id: string; name: string }[];
  readonly platform: string;
}

function baseConfig(): BaseConfig {
  const c = (YAML.parse(fs.readFileSync(BASE_STACK_FILE, "utf8")) as { config: Record<string, unknown> })
    .config;
  return {
    regions: c["sentinel-fleet:regions"] as { id: string; name: string }[],
    platform: c["sentinel-fleet:platform"] as string,
  };
}

/** Seeds the regions table and creates each region's read-only sentinel login; returns the DSNs per region. */
export async function prepareDatabase(
  tier: Tier,
): Promise<Record<string, { dsn: string; password: string }>> {
  const base = baseConfig();
  await tier.db.reset(base.regions.map((r) => ({ id: r.id, name: r.name, platform: base.platform })));
  const logins: Record<string, { dsn: string; password: string }> = {};
  for (const r of base.regions) {
    const user = sentinelDbUser(r.name);
    const password = secret();
    for (const host of ["%", "127.0.0.1", "localhost"]) {
      await tier.db.admin("CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?", [user, host, password]);
      await tier.db.admin(format(`GRANT SELECT ON \`${tier.db.database}\`.* TO ?@?`, [user, host]));
    }
    logins[r.name] = {
      password,
      dsn: `${user}:${password}@tcp(127.0.0.1:${tier.db.port})/${tier.db.database}?parseTime=true&interpolateParams=true`,
    };
  }
  return logins;
}

/** The sentinel logins the operator owns that exist in the database now. */
export async function operatorLogins(tier: Tier): Promise<string[]> {
  const users = baseConfig().regions.map((r) => sentinelDbUser(r.name));
  const rows = (await tier.db.admin("SELECT DISTINCT user FROM mysql.user WHERE user IN (?) ORDER BY user", [
    users,
  ])) as { user: string }[];
  return rows.map((r) => r.user);
}

/**
 * Creates a stack of the tier: the base stack file with this run's database, logins and receiver, then `config`
 * over it; secrets generated here (the database password is the test login's).
 */
export async function tierStack(
  tier: Tier,
  name: string,
  logins: Record<string, { dsn: string; password: string }>,
  config: StackSpec["config"] = {},
  /** Secret values to use instead of generated ones (stacks of one fleet share them), by key. */
  shared: Record<string, string> = {},
): Promise<TierStack> {
  const c = (YAML.parse(fs.readFileSync(BASE_STACK_FILE, "utf8")) as { config: Record<string, unknown> })
    .config;
  const database = c["sentinel-fleet:database"] as Record<string, unknown>;
  const prewarm = c["sentinel-fleet:prewarm"] as Record<string, unknown>;
  const secrets: Record<string, string> = {
    databasePassword: tier.db.password,
    clickhouseUrl: `clickhouse://default:${secret()}@clickhouse.engine.invalid:9000/unkey`,
    redisUrl: `redis://:${secret()}@redis.engine.invalid:6379`,
    prewarmToken: tier.receiver.token,
    ...shared,
  };
  const stack = await createStack(tier, {
    name,
    config: {
      database: {
        ...database,
        host: "127.0.0.1",
        port: tier.db.port,
        user: tier.db.user,
        name: tier.db.database,
      },
      prewarm: { ...prewarm, urlTemplate: `${tier.receiver.url}/prewarm/{region}/{k8sName}` },
      ...config,
    },
    secrets,
  });
  for (const [region, login] of Object.entries(logins)) {
    await stack.setConfig(
      `sentinel-fleet:databaseLogins.${region}.primary`,
      { value: login.dsn, secret: true },
      true,
    );
  }
  return {
    name: `${STACK_PREFIX}${name}`,
    stack,
    secretValues: [...Object.values(secrets), ...Object.values(logins).flatMap((l) => [l.dsn, l.password])],
  };
}

/** Points tests/e2e/check.ts at a stack: its name and stack file. */
export function checkStack(s: TierStack): void {
  process.env.E2E_STACK = s.name;
  process.env.E2E_STACK_FILE = stackFile(s.name);
}

/** The parsed configuration of the stack check.ts is pointed at. */
export const checkedConfig = () => loadConfig();
