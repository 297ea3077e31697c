// The sentinel's TOML configuration (UNKEY_CONFIG_DATA). Rendered with smol-toml rather than by hand so
// quoting and escaping are a library's problem; credentials are only ever `${VAR}` references.
import { stringify } from "smol-toml";
import { ENV_VARS, PORTS, SENTINEL_TOML } from "./constants";

export interface SentinelTomlInput {
  readonly sentinelId: string;
  readonly workspaceId: string;
  readonly environmentId: string;
  readonly platform: string;
  readonly region: string;
  /** Gossip peers: the environment's headless Service DNS name(s). */
  readonly lanSeeds: readonly string[];
}

const ref = (name: string) => `\${${name}}`;

export function renderSentinelToml(input: SentinelTomlInput): string {
  // numbersAsFloat writes plain numbers as floats (sample_rate = 1.0); integers are BigInt to stay integers.
  return stringify(
    {
      sentinel_id: input.sentinelId,
      workspace_id: input.workspaceId,
      environment_id: input.environmentId,
      platform: input.platform,
      region: input.region,
      http_port: BigInt(PORTS.http),
      database: { primary: ref(ENV_VARS.databasePrimary), readonly_replica: ref(ENV_VARS.databaseReplica) },
      clickhouse: { url: ref(ENV_VARS.clickhouseUrl) },
      redis: { url: ref(ENV_VARS.redisUrl) },
      observability: {
        logging: { sample_rate: SENTINEL_TOML.sampleRate, slow_threshold: SENTINEL_TOML.slowThreshold },
      },
      gossip: {
        bind_addr: SENTINEL_TOML.gossipBindAddr,
        lan_port: BigInt(PORTS.gossip),
        lan_seeds: [...input.lanSeeds],
      },
    },
    { numbersAsFloat: true },
  );
}
