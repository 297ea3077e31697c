import { strict as assert } from "assert";
import { inspect } from "util";
import { ENCRYPTED, FleetConfigError, parseFleetConfig, type FleetConfig } from "../lib/config";
import { DEFAULT_PROBE_PATH } from "../lib/constants";
import { exampleConfig, runExample, TEST_SECRETS } from "./support/fixtures";

const K = (name: string) => `sentinel-fleet:${name}`;

function parse(overrides: Record<string, unknown> = {}, secretKeys?: string[]): FleetConfig {
  const { config, secretKeys: keys } = exampleConfig(overrides);
  return parseFleetConfig({ values: config, secretKeys: secretKeys ?? keys });
}

function problems(overrides: Record<string, unknown>, secretKeys?: string[]): string[] {
  try {
    parse(overrides, secretKeys);
  } catch (err) {
    assert.ok(err instanceof FleetConfigError, `expected FleetConfigError, got ${String(err)}`);
    return err.problems.map((p) => `${p.path}: ${p.message}`);
  }
  assert.fail("the configuration was accepted");
}

const baseEnvs = () => exampleConfig().config[K("environments")] as Record<string, unknown>[];

describe("stack configuration", () => {
  it("deploys every region unless a shard names its own, in the order of regions", () => {
    assert.deepEqual(parse().deployRegions, ["us-east-1", "eu-central-1"]);
    assert.deepEqual(parse({ [K("deployRegions")]: ["eu-central-1", "us-east-1"] }).deployRegions, [
      "us-east-1",
      "eu-central-1",
    ]);
    assert.deepEqual(parse({ [K("deployRegions")]: '["eu-central-1"]' }).deployRegions, ["eu-central-1"]);
  });

  it("parses the example stack into a frozen FleetConfig with defaults filled", () => {
    const cfg = parse();
    assert.equal(cfg.platform, "aws");
    assert.equal(cfg.namespace, "sentinel");
    assert.deepEqual(
      cfg.regions.map((r) => [r.id, r.name, r.kubeContext]),
      [
        ["reg_use1", "us-east-1", "kind-us-east-1"],
        ["reg_euc1", "eu-central-1", "kind-eu-central-1"],
      ],
    );
    assert.deepEqual(
      cfg.environments.map((e) => [e.environmentId, e.slug, e.regions.join(",")]),
      [
        ["env_storefront_prod", "production", "us-east-1,eu-central-1"],
        ["env_storefront_preview", "preview", "us-east-1"],
        ["env_billing_staging", "staging", "us-east-1,eu-central-1"],
      ],
    );
    assert.equal(cfg.environments[2].cpuMillicores, 500);
    assert.equal(cfg.environments[0].replicas, null);
    assert.equal(cfg.database.port, 3306);
    assert.equal(cfg.database.replicaAddress, "mysql-replica.platform.svc.cluster.local:3306");
    assert.deepEqual(cfg.database.sentinelPrivileges, ["SELECT"]);
    assert.equal(cfg.database.credentialRotation, "2026-11");
    assert.equal(
      cfg.regions[0].prewarmUrl,
      "http://router.us-east-1.platform.internal:8080/_unkey/internal/prewarm",
    );
    assert.ok(Object.isFrozen(cfg) && Object.isFrozen(cfg.environments[0]) && Object.isFrozen(cfg.regions));
  });

  it("accepts values as JSON text, the way `pulumi config` hands them to the program", () => {
    const { config, secretKeys } = exampleConfig();
    const asText = Object.fromEntries(
      Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
    );
    assert.deepEqual(
      JSON.stringify(parseFleetConfig({ values: asText, secretKeys })),
      JSON.stringify(parseFleetConfig({ values: config, secretKeys })),
    );
  });

  it("defaults probes, node class, namespace, cilium and privileges when they are not set", () => {
    const cfg = parse({
      [K("probes")]: undefined,
      [K("nodeClass")]: undefined,
      [K("namespace")]: undefined,
      [K("ciliumNetworkPolicies")]: undefined,
    });
    assert.deepEqual(cfg.probes, {
      liveness: DEFAULT_PROBE_PATH,
      readiness: DEFAULT_PROBE_PATH,
      startup: DEFAULT_PROBE_PATH,
    });
    assert.deepEqual(cfg.nodeClass, { key: "node-class", value: "sentinel" });
    assert.equal(cfg.namespace, "sentinel");
    assert.equal(cfg.ciliumNetworkPolicies, true);
    assert.equal(cfg.retainSentinelRows, false);
  });

  it("keeps secrets out of printed, logged and serialized forms", () => {
    const cfg = parse();
    const text = [JSON.stringify(cfg), String(cfg.redisUrl), inspect(cfg, { depth: 10 })].join("\n");
    for (const secret of Object.values(TEST_SECRETS))
      assert.ok(!text.includes(secret), "a secret leaked into text");
    assert.equal(cfg.redisUrl.reveal(), TEST_SECRETS[K("redisUrl") as keyof typeof TEST_SECRETS]);
  });

  it("turns encrypted values it cannot decrypt into placeholders (synth)", () => {
    const cfg = parse({ [K("redisUrl")]: ENCRYPTED, [K("databasePassword")]: ENCRYPTED });
    assert.equal(cfg.redisUrl.placeholder, true);
    assert.equal(cfg.redisUrl.reveal(), "<secret:sentinel-fleet:redisUrl>");
    assert.equal(cfg.database.password.placeholder, true);
  });

  describe("rejects each class of mistake with its key path and value", () => {
    it("an environment naming an unknown region", () => {
      const envs = baseEnvs();
      envs[1] = { ...envs[1], regions: ["us-east-1", "eu-west-9"] };
      assert.deepEqual(problems({ [K("environments")]: envs }), [
        'sentinel-fleet:environments[1] (env_storefront_preview).regions[1]: unknown region "eu-west-9" (known: us-east-1, eu-central-1)',
      ]);
    });

    it("duplicate environment ids", () => {
      const envs = baseEnvs();
      envs.push({ ...envs[0], slug: "again" });
      assert.deepEqual(problems({ [K("environments")]: envs }), [
        'sentinel-fleet:environments[3] (env_storefront_prod).environmentId: duplicate environment id "env_storefront_prod" (also environments[0])',
      ]);
    });

    it("ids that are not valid Kubernetes label values", () => {
      const envs = baseEnvs();
      envs[0] = { ...envs[0], environmentId: "env prod!", workspaceId: `ws_${"x".repeat(70)}` };
      assert.deepEqual(problems({ [K("environments")]: envs }), [
        "sentinel-fleet:environments[0] (env prod!).environmentId: \"env prod!\" is not a valid Kubernetes label value (at most 63 characters: letters, digits, '-', '_', '.', starting and ending with a letter or digit)",
        `sentinel-fleet:environments[0] (env prod!).workspaceId: "ws_${"x".repeat(70)}" is not a valid Kubernetes label value (at most 63 characters: letters, digits, '-', '_', '.', starting and ending with a letter or digit)`,
      ]);
    });

    it("negative replicas", () => {
      const envs = baseEnvs();
      envs[0] = { ...envs[0], replicas: -1 };
      assert.deepEqual(problems({ [K("environments")]: envs }), [
        "sentinel-fleet:environments[0] (env_storefront_prod).replicas: must be an integer from 0 to 1000, got -1",
      ]);
    });

    it("zero or negative CPU and memory", () => {
      const envs = baseEnvs();
      envs[2] = { ...envs[2], cpuMillicores: 0, memoryMib: -256 };
      assert.deepEqual(problems({ [K("environments")]: envs }), [
        "sentinel-fleet:environments[2] (env_billing_staging).cpuMillicores: must be an integer from 1 to 1000000, got 0",
        "sentinel-fleet:environments[2] (env_billing_staging).memoryMib: must be an integer from 1 to 4194304, got -256",
      ]);
    });

    it("malformed URLs, without echoing secret ones", () => {
      assert.deepEqual(
        problems({
          [K("redisUrl")]: "http://not-redis:6379",
          [K("clickhouseUrl")]: "::nope::",
          [K("otel")]: { endpoint: "otel-collector:4318" },
          [K("prewarm")]: { urlTemplate: "ftp://router.{region}/prewarm" },
        }),
        [
          'sentinel-fleet:prewarm.urlTemplate: "ftp://router.{region}/prewarm" is not an http(s) URL',
          "sentinel-fleet:clickhouseUrl: [secret] is not a valid URL with one of the schemes clickhouse:, http:, https:, tcp:",
          "sentinel-fleet:redisUrl: [secret] is not a valid URL with one of the schemes redis:, rediss:",
          'sentinel-fleet:otel.endpoint: "otel-collector:4318" is not an http(s) URL',
        ],
      );
    });

    it("unknown URL placeholders", () => {
      assert.deepEqual(problems({ [K("prewarm")]: { urlTemplate: "https://router.{zone}/{k8sName}" } }), [
        "sentinel-fleet:prewarm.urlTemplate: unknown placeholder {zone} (known: {region}, {regionId}, {k8sName}, {namespace})",
      ]);
    });

    it("missing secrets, and secrets stored in plaintext", () => {
      const secretKeys = [K("clickhouseUrl"), K("redisUrl"), K("prewarmToken")];
      assert.deepEqual(
        problems({ [K("databasePassword")]: undefined, [K("otelHeaders")]: "x=plain" }, secretKeys),
        [
          "sentinel-fleet:databasePassword: is required; set it with `pulumi config set --secret sentinel-fleet:databasePassword <value>`",
          "sentinel-fleet:otelHeaders: is stored in plaintext; set it with `pulumi config set --secret sentinel-fleet:otelHeaders <value>`",
        ],
      );
    });

    it("a prewarm token that cannot travel in an HTTP header, without echoing it", () => {
      assert.deepEqual(problems({ [K("prewarmToken")]: "tok en\r\nX-Evil: 1" }), [
        "sentinel-fleet:prewarmToken: [secret] must be printable ASCII without spaces (it is sent as a bearer token)",
      ]);
    });

    it("a prewarm URL without a token", () => {
      assert.deepEqual(problems({ [K("prewarmToken")]: undefined }), [
        "sentinel-fleet:prewarmToken: is required; set it with `pulumi config set --secret sentinel-fleet:prewarmToken <value>`",
      ]);
    });

    it("unknown keys (typos) at the top level and inside objects", () => {
      const envs = baseEnvs();
      envs[0] = { ...envs[0], replica: 2 };
      assert.deepEqual(problems({ [K("enviroments")]: [], [K("environments")]: envs }), [
        "sentinel-fleet:enviroments: unknown key (known: platform, image, namespace, regions, deployRegions, environments, probes, nodeClass, ciliumNetworkPolicies, database, otel, prewarm, retainSentinelRows, stackRole, regionBaseStack, shards, shard, databasePassword, clickhouseUrl, redisUrl, prewarmToken, otelHeaders)",
        "sentinel-fleet:environments[0] (env_storefront_prod).replica: unknown key (known: workspaceId, projectId, appId, environmentId, slug, regions, replicas, cpuMillicores, memoryMib, image, shard)",
      ]);
    });

    it("duplicate and malformed regions", () => {
      const regions = [
        { id: "reg_use1", name: "us-east-1" },
        { id: "reg_use1", name: "US_East" },
      ];
      assert.deepEqual(
        problems({
          [K("regions")]: regions,
          [K("environments")]: baseEnvs().map((e) => ({ ...e, regions: undefined })),
        }),
        [
          "sentinel-fleet:regions[1].name: \"US_East\" is not a valid region name (lowercase letters, digits and '-')",
          'sentinel-fleet:regions[1].id: duplicate region id "reg_use1"',
        ],
      );
    });

    it("malformed images, database settings and namespace", () => {
      assert.deepEqual(
        problems({
          [K("image")]: "ghcr.io/Unkeyed/unkey:v1 latest",
          [K("namespace")]: "Sentinel_NS",
          [K("database")]: { host: "", port: 70000, user: "root", name: "un-key" },
        }),
        [
          'sentinel-fleet:image: "ghcr.io/Unkeyed/unkey:v1 latest" is not a valid container image reference (registry/name[:tag][@digest])',
          'sentinel-fleet:namespace: "Sentinel_NS" is not a valid namespace name (RFC 1035 label)',
          'sentinel-fleet:database.host: must be a non-empty string, got ""',
          'sentinel-fleet:database.name: is not a MySQL database name: "un-key"',
          "sentinel-fleet:database.port: must be an integer from 1 to 65535, got 70000",
        ],
      );
    });

    it("a shard's deployRegions naming unknown or repeated regions", () => {
      assert.deepEqual(problems({ [K("deployRegions")]: ["eu-central-1", "mars-1", "eu-central-1"] }), [
        'sentinel-fleet:deployRegions[1]: unknown region "mars-1" (known: us-east-1, eu-central-1)',
        'sentinel-fleet:deployRegions[2]: duplicate region "eu-central-1"',
      ]);
      assert.deepEqual(problems({ [K("deployRegions")]: [] }), [
        "sentinel-fleet:deployRegions: must be a non-empty list of region names, got []",
      ]);
    });

    it("missing regions and environments", () => {
      assert.deepEqual(problems({ [K("regions")]: undefined, [K("environments")]: [] }), [
        "sentinel-fleet:regions: must be a non-empty list of { id, name, kubeContext? }, got undefined",
        "sentinel-fleet:environments: must be a non-empty list of environments, got []",
      ]);
    });
  });

  it("reports every problem at once, in one error message", () => {
    const envs = baseEnvs();
    envs[0] = { ...envs[0], replicas: -2, regions: ["mars-1"] };
    envs[1] = { ...envs[1], environmentId: envs[2].environmentId };
    const { config, secretKeys } = exampleConfig({
      [K("environments")]: envs,
      [K("redisUrl")]: "nope",
      [K("platform")]: "",
    });
    assert.throws(
      () => parseFleetConfig({ values: config, secretKeys }),
      (err: Error) => {
        assert.equal(
          err.message,
          [
            "sentinel-fleet: the stack configuration has 5 problems; nothing was created:",
            '  - sentinel-fleet:platform: must be a non-empty string, got ""',
            '  - sentinel-fleet:environments[0] (env_storefront_prod).regions[0]: unknown region "mars-1" (known: us-east-1, eu-central-1)',
            "  - sentinel-fleet:environments[0] (env_storefront_prod).replicas: must be an integer from 0 to 1000, got -2",
            '  - sentinel-fleet:environments[2] (env_billing_staging).environmentId: duplicate environment id "env_billing_staging" (also environments[1])',
            "  - sentinel-fleet:redisUrl: [secret] is not a valid URL with one of the schemes redis:, rediss:",
          ].join("\n"),
        );
        return true;
      },
    );
  });

  it("stops the real program before it declares any resource", async () => {
    const envs = baseEnvs();
    envs[0] = { ...envs[0], replicas: -1 };
    let registered = 0;
    await assert.rejects(
      runExample(false, { [K("environments")]: envs }, { onRegister: () => registered++ }),
      (err: Error) => {
        assert.ok(err instanceof FleetConfigError);
        assert.match(err.message, /replicas: must be an integer from 0 to 1000, got -1/);
        return true;
      },
    );
    assert.equal(registered, 0);
    // The same counter sees registrations when the configuration is valid.
    await runExample(true, {}, { onRegister: () => registered++ });
    assert.ok(registered > 0);
  });
});
