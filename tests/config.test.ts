import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { inspect } from "util";
import { parse as parseToml } from "smol-toml";
import * as YAML from "yaml";
import {
  CONFIG_KEYS,
  configReferenceRows,
  ENCRYPTED,
  FleetConfigError,
  parseFleetConfig,
  stackFileJsonSchema,
  type FleetConfig,
} from "../lib/config";
import { DEFAULT_PROBE_PATH } from "../lib/constants";
import { renderSentinelToml } from "../lib/toml";
import { parseConnectionSettings } from "../lib/config/connection";
import { TABLE_END, TABLE_START } from "../scripts/schema";
import { expandEnv } from "./support/expandEnv";
import { configProblems, exampleConfig, ROOT, runExample, TEST_SECRETS } from "./support/fixtures";

const K = (name: string) => `sentinel-fleet:${name}`;

function parse(overrides: Record<string, unknown> = {}, secretKeys?: string[]): FleetConfig {
  const { config, secretKeys: keys } = exampleConfig(overrides);
  return parseFleetConfig({ values: config, secretKeys: secretKeys ?? keys });
}

function problems(overrides: Record<string, unknown>, secretKeys?: string[]): string[] {
  return configProblems(() => parse(overrides, secretKeys));
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
    assert.equal(cfg.database.credentialRotation, 0);
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
      // A plaintext secret that is not a string is still plaintext, and its value is still not echoed.
      const typed = problems(
        { [K("databasePassword")]: 987654321, [K("redisUrl")]: ["redis://:pw-in-a-list@r:6379"] },
        [K("clickhouseUrl"), K("prewarmToken"), K("otelHeaders")],
      );
      assert.deepEqual(typed, [
        "sentinel-fleet:databasePassword: is stored in plaintext; set it with `pulumi config set --secret sentinel-fleet:databasePassword <value>`",
        "sentinel-fleet:databasePassword: must be a string",
        "sentinel-fleet:redisUrl: is stored in plaintext; set it with `pulumi config set --secret sentinel-fleet:redisUrl <value>`",
        "sentinel-fleet:redisUrl: must be a string",
      ]);
      assert.ok(!/987654321|pw-in-a-list/.test(typed.join("\n")));
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
        "sentinel-fleet:enviroments: unknown key (known: platform, image, namespace, namespacePodSecurity, pod, probes, nodeClass, ciliumNetworkPolicies, retainSentinelRows, prewarm, regions, deployRegions, waves, stackRole, regionBaseStack, shards, shard, environments, database, databasePassword, databaseLogins, databaseCaCert, clickhouseUrl, redisUrl, otel, otelHeaders, prewarmToken)",
        "sentinel-fleet:environments[0] (env_storefront_prod).replica: unknown key (known: environmentId, workspaceId, projectId, appId, slug, shard, regions, replicas, cpuMillicores, memoryMib, image)",
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

const CERT = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n";
const exampleRegions = () =>
  structuredClone(exampleConfig().config[K("regions")]) as Record<string, unknown>[];
const exampleDatabase = () =>
  structuredClone(exampleConfig().config[K("database")]) as Record<string, unknown>;
const withSecret = (name: string) => [...exampleConfig().secretKeys, K(name)];

describe("stack configuration: the keys for rollouts, pods, TLS, waves and shards", () => {
  it("fills every new key's default", () => {
    const cfg = parse();
    assert.deepEqual(cfg.pod, {
      runAsUser: 65532,
      runAsGroup: 65532,
      priorityClassName: null,
      preStopSeconds: 10,
      drainSeconds: 30,
    });
    assert.deepEqual(cfg.namespacePodSecurity, {
      enforce: "restricted",
      warn: "restricted",
      audit: "restricted",
    });
    assert.equal(cfg.stackRole, "fleet");
    assert.equal(cfg.waves, null);
    assert.deepEqual([cfg.regionBaseStack, cfg.shards, cfg.shard], [null, [], null]);
    assert.deepEqual(
      cfg.regions.map((r) => r.cutover),
      [false, false],
    );
    assert.deepEqual(
      cfg.environments.map((e) => e.shard),
      [null, null, null],
    );
    assert.equal(cfg.database.operationTimeoutMs, 30000);
    assert.deepEqual(cfg.database.tls, { mode: "disabled", caFile: null });
    assert.equal(cfg.database.caCert, null);
    assert.equal(cfg.database.credentialRotation, 0);
  });

  it("parses a sharded environment stack, waves, a CA and a cutover", () => {
    const envs = baseEnvs().map((e, i) => ({ ...e, shard: i === 0 ? "a" : "b" }));
    const regions = exampleRegions();
    regions[1].cutover = true;
    const cfg = parse(
      {
        [K("environments")]: envs,
        [K("regions")]: regions,
        [K("shards")]: ["a", "b"],
        [K("shard")]: "a",
        [K("stackRole")]: "environmentShard",
        [K("regionBaseStack")]: "acme/sentinel-fleet/base-us",
        [K("waves")]: [["us-east-1"], ["eu-central-1"]],
        [K("database")]: {
          ...exampleDatabase(),
          tls: { mode: "verify-identity" },
          operationTimeoutMs: 10000,
        },
        [K("databaseCaCert")]: CERT,
        [K("pod")]: { priorityClassName: "sentinel-critical", preStopSeconds: 0, drainSeconds: 3600 },
        [K("namespacePodSecurity")]: { warn: "baseline" },
      },
      withSecret("databaseCaCert"),
    );
    assert.deepEqual(
      [cfg.stackRole, cfg.regionBaseStack, cfg.shards, cfg.shard],
      ["environmentShard", "acme/sentinel-fleet/base-us", ["a", "b"], "a"],
    );
    assert.deepEqual(
      cfg.environments.map((e) => e.shard),
      ["a", "b", "b"],
    );
    assert.deepEqual(cfg.waves, [["us-east-1"], ["eu-central-1"]]);
    assert.deepEqual(
      cfg.regions.map((r) => r.cutover),
      [false, true],
    );
    assert.deepEqual(cfg.database.tls, { mode: "verify-identity", caFile: null });
    assert.equal(cfg.database.operationTimeoutMs, 10000);
    assert.equal(cfg.database.caCert?.reveal(), CERT);
    assert.deepEqual(cfg.pod, {
      runAsUser: 65532,
      runAsGroup: 65532,
      priorityClassName: "sentinel-critical",
      preStopSeconds: 0,
      drainSeconds: 3600,
    });
    assert.deepEqual(cfg.namespacePodSecurity, {
      enforce: "restricted",
      warn: "baseline",
      audit: "restricted",
    });
  });

  describe("rejects each class of mistake", () => {
    it("wrong types anywhere, each with its key path and value", () => {
      const regions = [...exampleRegions(), "ap-south-1"];
      assert.deepEqual(
        problems({
          [K("database")]: { ...exampleDatabase(), sentinelPrivileges: [5, "select"], port: "3306" },
          [K("deployRegions")]: [3],
          [K("probes")]: { livenessPath: 5 },
          [K("nodeClass")]: "x",
          [K("regions")]: regions,
          [K("ciliumNetworkPolicies")]: "yes",
          [K("waves")]: "us-east-1",
        }),
        [
          "sentinel-fleet:probes.livenessPath: must be an absolute URL path, got 5",
          'sentinel-fleet:nodeClass: must be an object, got "x"',
          'sentinel-fleet:ciliumNetworkPolicies: must be true or false, got "yes"',
          'sentinel-fleet:regions[2]: must be an object, got "ap-south-1"',
          "sentinel-fleet:deployRegions[0]: must be a region name, got 3",
          'sentinel-fleet:waves: must be a non-empty list of waves (lists of region names), got "us-east-1"',
          'sentinel-fleet:database.port: must be an integer from 1 to 65535, got "3306"',
          "sentinel-fleet:database.sentinelPrivileges[0]: must be a string, got 5",
          'sentinel-fleet:database.sentinelPrivileges[1]: "select" is not a MySQL privilege such as "SELECT"',
        ],
      );
    });

    it("pod settings: root ids, fractions, ranges, a PriorityClass that is not a DNS subdomain, typos", () => {
      assert.deepEqual(
        problems({
          [K("pod")]: {
            runAsUser: 0,
            runAsGroup: 1.5,
            priorityClassName: "High_Prio",
            preStopSeconds: 301,
            drainSeconds: 0,
            grace: 3,
          },
        }),
        [
          "sentinel-fleet:pod.grace: unknown key (known: runAsUser, runAsGroup, priorityClassName, preStopSeconds, drainSeconds)",
          "sentinel-fleet:pod.runAsUser: must be a non-root user id from 1 to 2147483647, got 0",
          "sentinel-fleet:pod.runAsGroup: must be a non-root group id from 1 to 2147483647, got 1.5",
          'sentinel-fleet:pod.priorityClassName: "High_Prio" is not a valid PriorityClass name (a DNS subdomain)',
          "sentinel-fleet:pod.preStopSeconds: must be an integer from 0 to 300, got 301",
          "sentinel-fleet:pod.drainSeconds: must be an integer from 1 to 3600, got 0",
        ],
      );
    });

    it("pod security levels and stack roles outside their sets, a cutover that is not a boolean", () => {
      const regions = exampleRegions();
      regions[0].cutover = "yes";
      assert.deepEqual(
        problems({
          [K("namespacePodSecurity")]: { enforce: "strict", warn: 3 },
          [K("stackRole")]: "primary",
          [K("regions")]: regions,
        }),
        [
          'sentinel-fleet:namespacePodSecurity.enforce: must be one of restricted, baseline, privileged, got "strict"',
          "sentinel-fleet:namespacePodSecurity.warn: must be one of restricted, baseline, privileged, got 3",
          'sentinel-fleet:regions[0].cutover: must be true or false, got "yes"',
          'sentinel-fleet:stackRole: must be one of fleet, regionBase, environmentShard, got "primary"',
        ],
      );
    });

    it("a platform with `$` (the sentinel would expand it) or longer than regions.platform", () => {
      const rule = "at most 64 characters: letters, digits, '_', '.', '-', starting with a letter or digit";
      assert.deepEqual(problems({ [K("platform")]: "aws$UNKEY_DATABASE_PRIMARY" }), [
        `sentinel-fleet:platform: "aws$UNKEY_DATABASE_PRIMARY" is not a valid platform name (${rule})`,
      ]);
      assert.deepEqual(problems({ [K("platform")]: '"aws"\nregion = "x"' }), [
        `sentinel-fleet:platform: "\\"aws\\"\\nregion = \\"x\\"" is not a valid platform name (${rule})`,
      ]);
      assert.deepEqual(problems({ [K("platform")]: "a".repeat(65) }), [
        "sentinel-fleet:platform: must be at most 64 characters (regions.platform), got 65",
      ]);
    });

    it("region ids with spaces or too long, kubeconfig contexts with whitespace", () => {
      const rule = "at most 64 characters: letters, digits, '_', '.', '-', starting with a letter or digit";
      const regions = exampleRegions();
      regions[0] = { ...regions[0], id: "reg use1", kubeContext: "my context" };
      regions[1] = { ...regions[1], id: "x".repeat(65), kubeContext: "ctx\n" };
      assert.deepEqual(problems({ [K("regions")]: regions }), [
        `sentinel-fleet:regions[0].id: "reg use1" is not a valid region id (${rule})`,
        'sentinel-fleet:regions[0].kubeContext: "my context" is not a kubeconfig context (printable ASCII, no spaces, at most 253)',
        "sentinel-fleet:regions[1].id: must be at most 64 characters (regions.id), got 65",
        'sentinel-fleet:regions[1].kubeContext: "ctx\\n" is not a kubeconfig context (printable ASCII, no spaces, at most 253)',
      ]);
    });

    it("ids the database's collation treats as equal: case-only and trailing-space differences, naming both", () => {
      const collation = "under the database's default collation (case-insensitive, trailing spaces ignored)";
      const envs = baseEnvs();
      envs[1] = { ...envs[1], environmentId: "ENV_storefront_prod" };
      assert.deepEqual(problems({ [K("environments")]: envs }), [
        `sentinel-fleet:environments[1] (ENV_storefront_prod).environmentId: environment id "ENV_storefront_prod" equals "env_storefront_prod" (environments[0]) ${collation}`,
      ]);
      const regions = exampleRegions();
      regions[1] = { ...regions[1], id: "REG_use1" };
      assert.deepEqual(problems({ [K("regions")]: regions }), [
        `sentinel-fleet:regions[1].id: region id "REG_use1" equals "reg_use1" (regions[0]) ${collation}`,
      ]);
      regions[1] = { ...regions[1], id: "REG_USE1 " };
      assert.deepEqual(problems({ [K("regions")]: regions }), [
        "sentinel-fleet:regions[1].id: \"REG_USE1 \" is not a valid region id (at most 64 characters: letters, digits, '_', '.', '-', starting with a letter or digit)",
        `sentinel-fleet:regions[1].id: region id "REG_USE1 " equals "reg_use1" (regions[0]) ${collation}`,
      ]);
    });

    it("accepts IPv6 database hosts, with or without brackets, and bracket them in the pods' addresses", () => {
      for (const host of ["::1", "[::1]"]) {
        const database = { ...exampleDatabase(), host, primaryAddress: undefined, replicaAddress: undefined };
        const cfg = parse({ [K("database")]: database });
        assert.equal(cfg.database.host, "::1");
        assert.equal(cfg.database.primaryAddress, "[::1]:3306");
        assert.equal(cfg.database.replicaAddress, "[::1]:3306");
      }
      const cfg = parse({
        [K("database")]: {
          ...exampleDatabase(),
          primaryAddress: "[fd00::7]:3307",
          replicaAddress: "mysql-ro",
        },
      });
      assert.deepEqual(
        [cfg.database.primaryAddress, cfg.database.replicaAddress],
        ["[fd00::7]:3307", "mysql-ro:3306"],
      );
    });

    it("a sentinel login host the MySQL provider would write into its SQL unescaped", () => {
      const bad = (sentinelUserHost: string) =>
        problems({ [K("database")]: { ...exampleDatabase(), sentinelUserHost } });
      const rule =
        "is not a MySQL account host (letters, digits, '.', '-', '_', ':', '/' and the wildcard '%')";
      for (const host of [
        "%' IDENTIFIED BY 'x'; DROP USER 'root'@'%",
        "10.0.0.%'",
        "a b",
        'h"',
        "h\\",
        "h\n",
      ]) {
        assert.deepEqual(bad(host), [
          `sentinel-fleet:database.sentinelUserHost: ${JSON.stringify(host)} ${rule}`,
        ]);
      }
      assert.deepEqual(bad("x".repeat(256)), [
        `sentinel-fleet:database.sentinelUserHost: ${JSON.stringify("x".repeat(256))} ${rule}`,
      ]);
      for (const host of ["%", "10.0.%", "10.0.0.0/255.255.0.0", "fd00::%", "app-1.example.com", "%.svc"]) {
        assert.equal(
          parse({ [K("database")]: { ...exampleDatabase(), sentinelUserHost: host } }).database
            .sentinelUserHost,
          host,
        );
      }
    });

    it("a database host with a port, or that is no host at all; addresses that are not host[:port]", () => {
      const bad = (fields: Record<string, unknown>) =>
        problems({ [K("database")]: { ...exampleDatabase(), ...fields } });
      assert.deepEqual(bad({ host: "db:3306" }), [
        'sentinel-fleet:database.host: "db:3306" includes a port; set the port in sentinel-fleet:database.port',
      ]);
      assert.deepEqual(bad({ host: "[::1]:3306" }), [
        'sentinel-fleet:database.host: "[::1]:3306" includes a port; set the port in sentinel-fleet:database.port',
      ]);
      assert.deepEqual(bad({ host: "db host" }), [
        'sentinel-fleet:database.host: "db host" is not a hostname, an IPv4 address or an IPv6 address',
      ]);
      assert.deepEqual(bad({ host: "[10.0.0.1]" }), [
        'sentinel-fleet:database.host: "[10.0.0.1]" is not an IPv6 address in brackets',
      ]);
      assert.deepEqual(bad({ primaryAddress: "::1", replicaAddress: "db:70000" }), [
        'sentinel-fleet:database.primaryAddress: must be host, host:port, [IPv6] or [IPv6]:port, got "::1"',
        'sentinel-fleet:database.replicaAddress: must be host, host:port, [IPv6] or [IPv6]:port, got "db:70000"',
      ]);
    });

    it("deadlines, TLS modes and rotation generations out of their ranges", () => {
      const bad = (fields: Record<string, unknown>) =>
        problems({ [K("database")]: { ...exampleDatabase(), ...fields } });
      assert.deepEqual(bad({ operationTimeoutMs: 2999, tls: { mode: "on" }, credentialRotation: -1 }), [
        "sentinel-fleet:database.operationTimeoutMs: must be an integer from 3000 to 600000, got 2999",
        "sentinel-fleet:database.operationTimeoutMs: must be at least connectTimeoutMs (5000): connecting is part of every operation, got 2999",
        'sentinel-fleet:database.tls.mode: must be one of disabled, required, verify-ca, verify-identity, got "on"',
        "sentinel-fleet:database.credentialRotation: must be a non-negative integer, got -1",
      ]);
      assert.deepEqual(bad({ operationTimeoutMs: 4000, credentialRotation: "2026-11" }), [
        "sentinel-fleet:database.operationTimeoutMs: must be at least connectTimeoutMs (5000): connecting is part of every operation, got 4000",
        'sentinel-fleet:database.credentialRotation: must be a non-negative integer, got "2026-11"',
      ]);
      assert.deepEqual(bad({ credentialRotation: 1.5, tls: { mode: "required", caFile: "ca.pem" } }), [
        'sentinel-fleet:database.tls.caFile: a CA bundle verifies the server: it needs tls.mode verify-ca or verify-identity, got "required"',
        "sentinel-fleet:database.credentialRotation: must be a non-negative integer, got 1.5",
      ]);
    });

    it("a CA given twice, a CA without verification, a CA that is not PEM, never echoing it", () => {
      const tls = { mode: "verify-identity", caFile: "ca.pem" };
      assert.deepEqual(
        problems(
          { [K("database")]: { ...exampleDatabase(), tls }, [K("databaseCaCert")]: CERT },
          withSecret("databaseCaCert"),
        ),
        [
          "sentinel-fleet:databaseCaCert: is set and so is sentinel-fleet:database.tls.caFile: give the CA bundle one way",
        ],
      );
      const found = problems({ [K("databaseCaCert")]: "not-pem-LEAKCHECK" }, withSecret("databaseCaCert"));
      assert.deepEqual(found, [
        "sentinel-fleet:databaseCaCert: [secret] is not PEM text (-----BEGIN CERTIFICATE----- ... -----END CERTIFICATE-----)",
        'sentinel-fleet:databaseCaCert: a CA bundle verifies the server: it needs sentinel-fleet:database.tls.mode verify-ca or verify-identity, got "disabled"',
      ]);
      assert.ok(!found.join("\n").includes("LEAKCHECK"));
      assert.deepEqual(problems({ [K("databaseCaCert")]: CERT }).slice(0, 1), [
        "sentinel-fleet:databaseCaCert: is stored in plaintext; set it with `pulumi config set --secret sentinel-fleet:databaseCaCert <value>`",
      ]);
    });

    it("prewarm URLs with credentials, never echoing them", () => {
      const regions = exampleRegions();
      regions[0].prewarmUrl = "ftp://admin:s3cret-LEAKCHECK@router/x";
      regions[1].prewarmUrl = "http://token-LEAKCHECK@router.{region}/prewarm";
      const found = problems({
        [K("regions")]: regions,
        [K("prewarm")]: { urlTemplate: "https://user:hunter2-LEAKCHECK@router.{region}/{zone}" },
      });
      const message =
        "must not contain credentials (user:password@); the prewarm token authenticates to the router";
      assert.deepEqual(found, [
        `sentinel-fleet:prewarm.urlTemplate: ${message}`,
        `sentinel-fleet:regions[0].prewarmUrl: ${message}`,
        `sentinel-fleet:regions[1].prewarmUrl: ${message}`,
      ]);
      assert.ok(!found.join("\n").includes("LEAKCHECK"));
    });

    it('secrets the sentinel expands into its TOML: a `"`, a `\\` or a control character, never echoed', () => {
      const message =
        "[secret] must not contain '\"', '\\' or control characters such as a newline: the sentinel expands it into its TOML configuration";
      const found = problems({
        [K("redisUrl")]: 'rediss://:LEAKCHECK"b@redis:6380',
        [K("clickhouseUrl")]: "clickhouse://u:LEAKCHECK\\w@ch:9000/db",
        [K("otelHeaders")]: "x-api-key=LEAKCHECK\r\nx-evil=1",
      });
      assert.deepEqual(found, [
        `sentinel-fleet:clickhouseUrl: ${message}`,
        `sentinel-fleet:redisUrl: ${message}`,
        `sentinel-fleet:otelHeaders: ${message}`,
      ]);
      assert.ok(!found.join("\n").includes("LEAKCHECK"));
      assert.deepEqual(problems({ [K("redisUrl")]: "rediss://:pw@redis:6380/0\n" }), [
        `sentinel-fleet:redisUrl: ${message}`,
      ]);
    });

    it("waves: unknown regions, a region twice, an empty wave, a deployed region in no wave", () => {
      assert.deepEqual(problems({ [K("waves")]: [["us-east-1"], ["us-east-1", "mars-1"], []] }), [
        'sentinel-fleet:waves[1][0]: region "us-east-1" is already in waves[0]',
        'sentinel-fleet:waves[1][1]: unknown region "mars-1" (known: us-east-1, eu-central-1)',
        "sentinel-fleet:waves[2]: must be a non-empty list of region names, got []",
        "sentinel-fleet:waves: must place every region of deployRegions in a wave; in none: eu-central-1",
      ]);
      assert.deepEqual(problems({ [K("waves")]: ["us-east-1"] }), [
        'sentinel-fleet:waves[0]: must be a non-empty list of region names, got "us-east-1"',
      ]);
      // A region shard only needs its own regions in waves.
      assert.deepEqual(
        parse({ [K("waves")]: [["eu-central-1"]], [K("deployRegions")]: ["eu-central-1"] }).waves,
        [["eu-central-1"]],
      );
    });

    it("shards: an environment shard without shards, unknown and duplicate shards, a shard of the wrong role", () => {
      const envs = baseEnvs();
      envs[0] = { ...envs[0], shard: "a" };
      assert.deepEqual(problems({ [K("environments")]: envs }), [
        "sentinel-fleet:environments[0] (env_storefront_prod).shard: is only allowed when sentinel-fleet:shards is set",
      ]);
      envs[1] = { ...envs[1], shard: "c" };
      assert.deepEqual(
        problems({ [K("environments")]: envs, [K("shards")]: ["a", "b", "a"], [K("shard")]: "a" }),
        [
          'sentinel-fleet:shards[2]: duplicate shard "a"',
          'sentinel-fleet:shard: is only for stackRole environmentShard, got stackRole "fleet"',
          'sentinel-fleet:environments[1] (env_storefront_preview).shard: unknown shard "c" (known: a, b)',
          "sentinel-fleet:environments[2] (env_billing_staging).shard: is required when sentinel-fleet:shards is set (one of: a, b)",
        ],
      );
    });

    it("environment shards: the base stack and the shard required, a shard that selects nothing", () => {
      const envs = baseEnvs().map((e, i) => ({ ...e, shard: i === 0 ? "a" : "b" }));
      const shard = {
        [K("environments")]: envs,
        [K("shards")]: ["a", "b", "c"],
        [K("stackRole")]: "environmentShard",
      };
      assert.deepEqual(problems(shard), [
        "sentinel-fleet:regionBaseStack: is required with stackRole environmentShard (the region base stack <org>/<project>/<stack>)",
        "sentinel-fleet:shard: is required with stackRole environmentShard when sentinel-fleet:shards is set (one of: a, b, c)",
      ]);
      assert.deepEqual(problems({ ...shard, [K("shard")]: "c", [K("regionBaseStack")]: "base" }), [
        'sentinel-fleet:regionBaseStack: "base" is not a stack reference (<org>/<project>/<stack>)',
        'sentinel-fleet:shard: "c" selects no environment in deployRegions (us-east-1, eu-central-1)',
      ]);
      // env_storefront_preview (shard b) runs only in us-east-1.
      envs[2] = { ...envs[2], shard: "a" };
      assert.deepEqual(
        problems({
          ...shard,
          [K("environments")]: envs,
          [K("shard")]: "b",
          [K("regionBaseStack")]: "acme/sentinel-fleet/base",
          [K("deployRegions")]: ["eu-central-1"],
        }),
        ['sentinel-fleet:shard: "b" selects no environment in deployRegions (eu-central-1)'],
      );
      assert.deepEqual(problems({ [K("regionBaseStack")]: "acme/proj/base" }), [
        'sentinel-fleet:regionBaseStack: is only for stackRole environmentShard, got stackRole "fleet"',
      ]);
    });
  });
});

describe("the schema's other products: the stack file's JSON Schema and the README's reference", () => {
  // ajv is not a dependency of this project: it is installed for eslint (draft-07, the schema's dialect).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Ajv = require("ajv") as new (opts: object) => {
    compile(
      schema: object,
    ): ((data: unknown) => boolean) & { errors?: { dataPath: string; message: string }[] };
  };
  const validate = new Ajv({ allErrors: true }).compile(stackFileJsonSchema());
  const exampleFile = () =>
    YAML.parse(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")) as StackFile;
  type StackFile = { config: Record<string, unknown> };
  const rejected = (file: StackFile): string[] => {
    assert.equal(validate(file), false, "the JSON Schema accepted a broken stack file");
    return (validate.errors ?? []).map((e) => `${e.dataPath} ${e.message}`);
  };

  it("the committed JSON Schema is the one the schema generates (npm run schema)", () => {
    const committed = JSON.parse(
      fs.readFileSync(path.join(ROOT, "schema", "stack-config.schema.json"), "utf8"),
    );
    assert.deepEqual(
      committed,
      stackFileJsonSchema(),
      "schema/stack-config.schema.json is stale: npm run schema",
    );
  });

  const stackFiles = () => fs.readdirSync(ROOT).filter((f) => /^Pulumi\..+\.yaml$/.test(f));

  it("every stack file points editors at it, and it accepts every stack file", () => {
    assert.ok(stackFiles().includes("Pulumi.e2e.yaml"), stackFiles().join(", "));
    for (const name of stackFiles()) {
      const text = fs.readFileSync(path.join(ROOT, name), "utf8");
      assert.equal(
        text.split("\n")[0],
        "# yaml-language-server: $schema=./schema/stack-config.schema.json",
        name,
      );
      assert.equal(validate(YAML.parse(text)), true, `${name}: ${JSON.stringify(validate.errors)}`);
    }
  });

  it("accepts the example stack, with its secrets as `secure` values and other namespaces' keys", () => {
    const file = exampleFile();
    for (const name of Object.keys(TEST_SECRETS)) file.config[name] = { secure: "v1:AAAA:BBBB" };
    file.config["kubernetes:context"] = "kind-us-east-1";
    // What `pulumi config set` without --type writes for a boolean.
    file.config["sentinel-fleet:retainSentinelRows"] = "false";
    assert.equal(validate(file), true, JSON.stringify(validate.errors));
  });

  it("rejects broken stack files the program rejects too", () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ["a typo in a key", { [K("enviroments")]: [] }, /property name/],
      ["a negative replica count", { [K("environments")]: [{ ...baseEnvs()[0], replicas: -1 }] }, />= 0/],
      ["an upper-case region name", { [K("regions")]: [{ id: "r1", name: "US_East" }] }, /pattern/],
      ["a secret in plaintext", { [K("redisUrl")]: "redis://:pw@redis:6379" }, /should be object/],
      ["a string where a boolean belongs", { [K("ciliumNetworkPolicies")]: "yes" }, /should be boolean/],
      [
        "a TLS mode outside its set",
        { [K("database")]: { ...exampleDatabase(), tls: { mode: "on" } } },
        /allowed/,
      ],
      ["a root user", { [K("pod")]: { runAsUser: 0 } }, />= 1/],
      [
        "an unknown key inside an object",
        { [K("database")]: { ...exampleDatabase(), passwrd: "x" } },
        /additional/,
      ],
    ];
    for (const [what, overrides, expected] of cases) {
      const file = exampleFile();
      Object.assign(file.config, overrides);
      assert.match(rejected(file).join("\n"), expected, what);
      assert.throws(
        () =>
          parseFleetConfig({
            values: { ...file.config, ...TEST_SECRETS, ...overrides },
            secretKeys: Object.keys(TEST_SECRETS).filter((k) => !(k in overrides)),
          }),
        FleetConfigError,
        what,
      );
    }
  });

  it("the README's configuration reference is the table the schema generates (npm run schema)", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf(TABLE_START), readme.indexOf(TABLE_END));
    const rows = section
      .split("\n")
      .filter((l) => l.startsWith("|"))
      .slice(2)
      .map((l) =>
        l
          .slice(1, -1)
          .split(" | ")
          .map((c) => c.trim()),
      );
    assert.deepEqual(
      rows,
      configReferenceRows().map((r) => [r.key, r.type, r.default, r.meaning]),
      "README.md's configuration reference is stale: npm run schema",
    );
    // Every key of the program is documented, nested keys included.
    for (const k of [...CONFIG_KEYS.plain, ...CONFIG_KEYS.secret]) {
      assert.ok(
        rows.some((r) => r[0] === `\`${k.slice("sentinel-fleet:".length)}\``),
        k,
      );
    }
    assert.ok(rows.some((r) => r[0] === "`database.tls.mode`"));
  });
});

describe("values the sentinel expands into its TOML (UNKEY_CONFIG_DATA)", () => {
  const cfg = parse();
  const toml = (platform: string) =>
    renderSentinelToml({
      sentinelId: "s_0123456789abcdefghij",
      workspaceId: "ws_acme",
      environmentId: "env_storefront_prod",
      platform,
      region: "us-east-1",
      lanSeeds: ["sentinel-gossip-env-storefront-prod-5579f510.sentinel.svc.cluster.local"],
    });
  const env = (overrides: Record<string, string> = {}) => ({
    UNKEY_DATABASE_PRIMARY:
      "sentinel_us_east_1:Pw0rd@tcp([fd00::7]:3306)/unkey?parseTime=true&interpolateParams=true",
    UNKEY_DATABASE_REPLICA:
      "sentinel_us_east_1:Pw0rd@tcp(mysql-ro:3306)/unkey?parseTime=true&interpolateParams=true",
    UNKEY_CLICKHOUSE_URL: cfg.clickhouseUrl.reveal(),
    UNKEY_REDIS_URL: cfg.redisUrl.reveal(),
    ...overrides,
  });
  const loaded = (platform: string, vars: Record<string, string>) =>
    parseToml(expandEnv(toml(platform), vars)) as Record<string, any>;
  const accepted = (name: string, value: string) => {
    try {
      parse({ [K(name)]: value });
      return true;
    } catch (err) {
      assert.ok(err instanceof FleetConfigError);
      return false;
    }
  };

  it("expands references as the sentinel does: $VAR, ${VAR} and ${VAR:-default}", () => {
    assert.equal(
      expandEnv("a=$X b=${X} c=${Y:-d} e=${Z} f=$ g=$$", { X: "1", Z: "" }),
      "a=1 b=1 c=d e= f=$ g=",
    );
    // Go's os.Expand: `${}` and an unclosed `${` are eaten, nothing after them.
    assert.equal(expandEnv("a${}b ${X", { X: "1" }), "ab X");
  });

  it("keeps the parsed configuration intact for every value the validation accepts", () => {
    const urls = [
      "rediss://:p%40ss%22w0rd@redis.platform:6380/0?protocol=3",
      "redis://default:pa$$word@10.0.0.7:6379",
      "rediss://user:~!*()=+,;'$HOME@[fd00::1]:6380",
    ];
    for (const url of urls) {
      assert.ok(accepted("redisUrl", url), url);
      const config = loaded(cfg.platform, env({ UNKEY_REDIS_URL: url }));
      assert.equal(config.redis.url, url);
      assert.equal(config.platform, "aws");
      assert.equal(config.database.primary, env().UNKEY_DATABASE_PRIMARY);
      assert.deepEqual(Object.keys(config).sort(), [
        "clickhouse",
        "database",
        "environment_id",
        "gossip",
        "http_port",
        "observability",
        "platform",
        "redis",
        "region",
        "sentinel_id",
        "workspace_id",
      ]);
    }
    const platform = "aws.eu_2-b";
    assert.ok(accepted("platform", platform));
    assert.equal(loaded(platform, env()).platform, platform);
  });

  it("rejects the values that would have broken it or injected keys", () => {
    const injection = 'redis://r:6379"\nplatform = "evil';
    assert.equal(accepted("redisUrl", injection), false);
    const injected = loaded(cfg.platform, env({ UNKEY_REDIS_URL: injection }));
    assert.deepEqual({ ...injected.redis }, { url: "redis://r:6379", platform: "evil" });
    const broken = 'redis://r:6379\n[database]\nprimary = "x"';
    assert.equal(accepted("redisUrl", broken), false);
    assert.throws(() => loaded(cfg.platform, env({ UNKEY_REDIS_URL: broken })));
    const quoted = 'redis://r:6379" # ';
    assert.equal(accepted("redisUrl", quoted), false);
    assert.notEqual(loaded(cfg.platform, env({ UNKEY_REDIS_URL: quoted })).redis.url, quoted);
    const backslash = "redis://r:6379/\\u0041";
    assert.equal(accepted("redisUrl", backslash), false);
    assert.equal(loaded(cfg.platform, env({ UNKEY_REDIS_URL: backslash })).redis.url, "redis://r:6379/A");
    // A `$` in a plain value pulls another variable, a credential here, into the configuration.
    const platform = "aws$UNKEY_DATABASE_PRIMARY";
    assert.equal(accepted("platform", platform), false);
    assert.equal(loaded(platform, env()).platform, `aws${env().UNKEY_DATABASE_PRIMARY}`);
  });
});

describe("the provider's view of the connection (parseConnectionSettings)", () => {
  it("parses JSON text or an object, with the defaults, IPv6 without brackets, the program's keys ignored", () => {
    const database = exampleDatabase();
    const expected = {
      host: "::1",
      port: 3306,
      user: "root",
      database: "unkey",
      connectTimeoutMs: 5000,
      operationTimeoutMs: 30000,
      tls: { mode: "disabled", caFile: null },
    };
    for (const raw of [{ ...database, host: "[::1]" }, JSON.stringify({ ...database, host: "::1" })]) {
      assert.deepEqual(parseConnectionSettings(raw), { settings: expected, problems: [] });
    }
    assert.deepEqual(
      parseConnectionSettings({ ...database, tls: { mode: "verify-ca", caFile: "certs/ca.pem" } }).settings
        ?.tls,
      { mode: "verify-ca", caFile: "certs/ca.pem" },
    );
  });

  it("names every problem with its key path, as the program does", () => {
    assert.deepEqual(
      parseConnectionSettings({ host: "db:3306", port: 0, name: "un-key", tls: { mode: "x" } }),
      {
        settings: null,
        problems: [
          {
            path: "sentinel-fleet:database.host",
            message: '"db:3306" includes a port; set the port in sentinel-fleet:database.port',
          },
          { path: "sentinel-fleet:database.user", message: "must be a non-empty string, got undefined" },
          { path: "sentinel-fleet:database.name", message: 'is not a MySQL database name: "un-key"' },
          { path: "sentinel-fleet:database.port", message: "must be an integer from 1 to 65535, got 0" },
          {
            path: "sentinel-fleet:database.tls.mode",
            message: 'must be one of disabled, required, verify-ca, verify-identity, got "x"',
          },
        ],
      },
    );
    assert.deepEqual(parseConnectionSettings(undefined).problems, [
      { path: "sentinel-fleet:database", message: "is required (host, user, name)" },
    ]);
  });
});
