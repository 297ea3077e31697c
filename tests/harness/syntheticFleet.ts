// A synthetic fleet's stack config for benchmarks: N environments over R regions, one in ten production.
export const BENCH_SECRETS: Record<string, string> = {
  "sentinel-fleet:databasePassword": "bench-admin-password",
  "sentinel-fleet:clickhouseUrl": "clickhouse://default:bench@clickhouse:9000/unkey",
  "sentinel-fleet:redisUrl": "redis://:bench@redis:6379",
  "sentinel-fleet:prewarmToken": "bench-token",
};

const REGIONS = [
  { id: "reg_use1", name: "us-east-1" },
  { id: "reg_euc1", name: "eu-central-1" },
  { id: "reg_aps1", name: "ap-southeast-1" },
  { id: "reg_usw2", name: "us-west-2" },
];

/**
 * N environments over R regions. With `shards` > 0, environment i is assigned to shard `s<i mod shards>` and the
 * shard names are listed (`sentinel-fleet:shards`); a stack's own keys (stackRole, shard...) go in `extra`.
 */
export function syntheticConfig(
  environments: number,
  regions = 3,
  shards = 0,
  extra: Record<string, unknown> = {},
): { config: Record<string, unknown>; secretKeys: string[] } {
  const config: Record<string, unknown> = {
    "sentinel-fleet:platform": "aws",
    "sentinel-fleet:image": "ghcr.io/unkeyed/unkey:v2.0.31",
    "sentinel-fleet:regions": REGIONS.slice(0, regions).map((r) => ({ ...r, kubeContext: `ctx-${r.name}` })),
    "sentinel-fleet:environments": Array.from({ length: environments }, (_, i) => ({
      workspaceId: `ws_${Math.floor(i / 10)}`,
      projectId: `proj_${Math.floor(i / 3)}`,
      appId: `app_${Math.floor(i / 3)}`,
      environmentId: `env_bench_${i}`,
      slug: i % 10 === 0 ? "production" : "staging",
      ...(shards > 0 ? { shard: `s${i % shards}` } : {}),
    })),
    ...(shards > 0 ? { "sentinel-fleet:shards": Array.from({ length: shards }, (_, i) => `s${i}`) } : {}),
    "sentinel-fleet:database": { host: "db.internal", port: 3306, user: "admin", name: "unkey" },
    "sentinel-fleet:prewarm": { urlTemplate: "http://router.{region}.internal/_unkey/internal/prewarm" },
    ...BENCH_SECRETS,
    ...extra,
  };
  return { config, secretKeys: Object.keys(BENCH_SECRETS) };
}
