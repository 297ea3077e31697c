// Configuration read as Pulumi reads it (docs/configuration-reading.md): what the CLI makes of a stack file's
// values, what the program makes of the strings it is handed, and how problems echo what they are about.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { configKeyText, FleetConfigError, parseFleetConfig, type FleetConfig } from "../lib/config";
import { checkSentinelRecord } from "../providers/sentinelRecord";
import { loadStackConfig, StackFileError } from "../synth/index";
import { exampleConfig, TEST_SECRETS } from "./support/fixtures";
import { countArrayWork } from "./support/workCounter";

const K = (name: string) => `sentinel-fleet:${name}`;

/** The example stack as the engine hands it over: every value a string, structured ones as JSON. */
function engineValues(overrides: Record<string, unknown> = {}): Record<string, string> {
  const { config } = exampleConfig(overrides);
  return Object.fromEntries(
    Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]),
  );
}

function parseEngine(overrides: Record<string, unknown> = {}): FleetConfig {
  return parseFleetConfig({ values: engineValues(overrides), secretKeys: Object.keys(TEST_SECRETS) });
}

function problemsOf(values: Record<string, unknown>): string[] {
  try {
    parseFleetConfig({ values, secretKeys: Object.keys(TEST_SECRETS) });
  } catch (err) {
    assert.ok(err instanceof FleetConfigError, `expected FleetConfigError, got ${String(err)}`);
    return err.problems.map((p) => `${p.path}: ${p.message}`);
  }
  assert.fail("the configuration was accepted");
}

let dir: string;
let files = 0;
/** Writes a stack file and reads it as synth does. */
function read(yaml: string) {
  const file = path.join(dir, `Pulumi.t${files++}.yaml`);
  fs.writeFileSync(file, yaml);
  return loadStackConfig(file);
}
const readValue = (yamlValue: string) =>
  read(`config:\n  sentinel-fleet:platform: ${yamlValue}\n`).config[K("platform")];

describe("configuration read as Pulumi reads it", () => {
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "config-reading-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  // What the CLI hands the program for `key: <scalar>`: yaml.v3 resolves the scalar into an untyped value,
  // writes it back out as YAML and reads that into a string (sdk/go/common/workspace/loaders.go,
  // sdk/go/common/resource/config/value.go; gopkg.in/yaml.v3 resolve.go, decode.go, encode.go).
  const SCALARS: readonly (readonly [string, string])[] = [
    // numbers: quoted stay as written; plain ones are resolved and written back in Go's form
    ["1", "1"],
    ['"1"', "1"],
    ["'01'", "01"],
    ["01", "1"],
    ["017", "15"],
    ["08", "8"],
    ["0o17", "15"],
    ["0x1F", "31"],
    ["0b101", "5"],
    ["1_000", "1000"],
    ["+5", "5"],
    ["-0", "0"],
    ["1.0", "1"],
    ["1.50", "1.5"],
    ["1e3", "1000"],
    ["1e6", "1000000"],
    ["123456.7", "123456.7"],
    ["1234567.0", "1234567"],
    ["0.0001", "0.0001"],
    ["0.00001", "0.00001"],
    ["1e-7", "1e-7"],
    ["1e21", "1e+21"],
    [".5", "0.5"],
    ["-0.0", "0"],
    ["9223372036854775807", "9223372036854775807"],
    ["18446744073709551615", "18446744073709551615"],
    ["18446744073709551616", "18446744073709552000"],
    ["1.2.3", "1.2.3"],
    // booleans: YAML 1.2's true/false in three spellings; YAML 1.1's yes/no/on/off/y/n are strings
    ["true", "true"],
    ["True", "true"],
    ["FALSE", "false"],
    ['"true"', "true"],
    ["yes", "yes"],
    ["No", "No"],
    ["on", "on"],
    ["off", "off"],
    ["y", "y"],
    ["tRUE", "tRUE"],
    // null: the empty string (the CLI warns that this may become null one day)
    ["null", ""],
    ["Null", ""],
    ["~", ""],
    ["", ""],
    ['"null"', "null"],
    ['"~"', "~"],
    ["''", ""],
    // strings, timestamps, block scalars, tags
    ["a b", "a b"],
    ["2001-12-14", "2001-12-14 00:00:00 +0000 UTC"],
    ["2001-2-3", "2001-02-03 00:00:00 +0000 UTC"],
    ["'2001-12-14'", "2001-12-14"],
    ["|\n    two\n    lines", "two\nlines\n"],
    ["!!str 1.0", "1.0"],
  ];

  it("hands the program each YAML scalar as the CLI does (a table of scalars)", () => {
    const wrong = SCALARS.flatMap(([yaml, expected]) => {
      const got = readValue(yaml);
      return got === expected
        ? []
        : [`${JSON.stringify(yaml)}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`];
    });
    assert.deepEqual(wrong, []);
  });

  it("hands a mapping or a list over as JSON of yaml.v3's values, and refuses what JSON cannot hold", () => {
    const { config } = read(
      "config:\n  sentinel-fleet:database:\n    port: 0x0CEA\n    tls: {mode: yes}\n    a: [1.0, ~, '1', true, 017]\n",
    );
    assert.equal(config[K("database")], '{"a":[1,null,"1",true,15],"port":3306,"tls":{"mode":"yes"}}');
    for (const [yaml, shown] of [
      ["port: .inf", ".inf"],
      ["port: -.Inf", "-.inf"],
      ["port: .NaN", ".nan"],
      ["a: [.nan]", ".nan"],
    ]) {
      assert.throws(
        () => read(`config:\n  sentinel-fleet:database:\n    ${yaml}\n`),
        (e: Error) =>
          e instanceof StackFileError &&
          e.message.includes(`sentinel-fleet:database: Pulumi refuses ${shown}`),
      );
    }
    assert.throws(
      () => read("config:\n  sentinel-fleet:platform: .inf\n"),
      /sentinel-fleet:platform: Pulumi refuses \.inf/,
    );
  });

  it("namespaces keys as the CLI does: a bare key is the project's, <ns>:config:<name> is <ns>:<name>", () => {
    const { config } = read(
      "config:\n  namespace: edge\n  kubernetes:config:context: kind\n  mysql:endpoint: db\n",
    );
    assert.deepEqual(config[K("namespace")], "edge");
    assert.equal(config["kubernetes:context"], "kind");
    assert.equal(config["mysql:endpoint"], "db");
    assert.throws(() => read("config:\n  a:b:c: 1\n"), /a:b:c: not a configuration key Pulumi can parse/);
    assert.throws(
      () => read("config:\n  namespace: a\n  sentinel-fleet:namespace: b\n"),
      /sentinel-fleet:namespace: the same key as namespace/,
    );
  });

  it("applies YAML merge keys (<<) as yaml.v3 does, and the program accepts the result", () => {
    const source = fs.readFileSync(path.join(__dirname, "..", "Pulumi.dev.yaml"), "utf8");
    const merged = source
      .replace(
        "  sentinel-fleet:environments:\n    - workspaceId: ws_acme\n      projectId: proj_storefront\n      appId: app_api\n      environmentId: env_storefront_prod\n",
        "  sentinel-fleet:environments:\n    - &storefront\n      workspaceId: ws_acme\n      projectId: proj_storefront\n      appId: app_api\n      environmentId: env_storefront_prod\n",
      )
      .replace(
        "    - workspaceId: ws_acme\n      projectId: proj_storefront\n      appId: app_api\n      environmentId: env_storefront_preview\n",
        "    - <<: *storefront\n      environmentId: env_storefront_preview\n",
      );
    assert.notEqual(merged, source, "the example stack changed: update this test's edit");
    const { config, secretKeys } = read(merged);
    const envs = JSON.parse(config[K("environments")]) as Record<string, unknown>[];
    assert.deepEqual(envs[1], {
      workspaceId: "ws_acme",
      projectId: "proj_storefront",
      appId: "app_api",
      environmentId: "env_storefront_preview",
      slug: "preview",
      regions: ["us-east-1"],
    });
    const cfg = parseFleetConfig({ values: config, secretKeys });
    assert.deepEqual(
      cfg.environments.map((e) => e.environmentId),
      ["env_storefront_prod", "env_storefront_preview", "env_billing_staging"],
    );
  });

  it("reads `secure:` values, at the top level or inside a structured value, as secrets", () => {
    const { config, secretKeys, placeholders } = read(
      "config:\n  sentinel-fleet:redisUrl:\n    secure: v1:abc\n  sentinel-fleet:otel:\n    endpoint: http://x\n    token: {secure: v1:def}\n",
    );
    assert.ok(secretKeys.includes(K("redisUrl")) && secretKeys.includes(K("otel")));
    assert.ok(placeholders.includes(K("redisUrl")));
    assert.ok(!config[K("otel")].includes("v1:def"));
  });

  it('a string key takes the text as it is: "1", "null", "true" are those strings, not 1, a default or true', () => {
    assert.equal(parseEngine({ [K("namespace")]: "null" }).namespace, "null");
    assert.equal(parseEngine({ [K("platform")]: "true" }).platform, "true");
    assert.equal(parseEngine({ [K("platform")]: "1" }).platform, "1");
    assert.equal(
      parseEngine({ [K("namespace")]: "null" }).namespace,
      parseEngine({ [K("namespace")]: "null" }).namespace,
    );
    assert.notEqual(
      parseEngine({ [K("namespace")]: "null" }).namespace,
      parseEngine({ [K("namespace")]: undefined }).namespace,
    );
  });

  it('`shard: 1` and `shard: "1"` both deploy shard "1"; a number where a list holds shard names is named', () => {
    const environments = (exampleConfig().config[K("environments")] as Record<string, unknown>[]).map(
      (e, i) => ({
        ...e,
        shard: i === 0 ? "1" : "2",
      }),
    );
    const shardStack = (shard: string) =>
      [
        "config:",
        "  sentinel-fleet:shards: ['1', '2']",
        "  sentinel-fleet:stackRole: environmentShard",
        "  sentinel-fleet:regionBaseStack: acme/sentinel-fleet/base",
        `  sentinel-fleet:shard: ${shard}`,
        `  sentinel-fleet:environments: ${JSON.stringify(environments)}`,
      ].join("\n");
    for (const written of ["1", '"1"', "'1'"]) {
      const { config } = read(shardStack(written));
      const values = { ...engineValues(), ...config };
      const cfg = parseFleetConfig({ values, secretKeys: Object.keys(TEST_SECRETS) });
      assert.equal(cfg.shard, "1", `shard: ${written}`);
    }
    const numbers = read(shardStack("1").replace("['1', '2']", "[1, 2]")).config;
    assert.deepEqual(problemsOf({ ...engineValues(), ...numbers }).slice(0, 2), [
      "sentinel-fleet:shards[0]: must be a non-empty string, got 1",
      "sentinel-fleet:shards[1]: must be a non-empty string, got 2",
    ]);
  });

  it("a key of another type is its JSON: true/false are booleans, yes/no are not", () => {
    assert.equal(parseEngine({ [K("ciliumNetworkPolicies")]: "false" }).ciliumNetworkPolicies, false);
    assert.deepEqual(problemsOf(engineValues({ [K("ciliumNetworkPolicies")]: "yes" })), [
      'sentinel-fleet:ciliumNetworkPolicies: must be true or false, got "yes" (Pulumi reads yes/no/on/off as text)',
    ]);
  });

  it("`key:` with nothing after it is an empty string, which is not the key's default", () => {
    const { config } = read(
      "config:\n  sentinel-fleet:namespace:\n  sentinel-fleet:ciliumNetworkPolicies: ~\n",
    );
    assert.deepEqual(problemsOf({ ...engineValues(), ...config }), [
      'sentinel-fleet:namespace: must be a non-empty string, got ""',
      'sentinel-fleet:ciliumNetworkPolicies: must be true or false, got ""',
    ]);
  });

  it("reports keys under an unknown namespace with the nearest key of this project; providers' keys are theirs", () => {
    assert.deepEqual(
      problemsOf(
        engineValues({
          "sentinel-flet:namespace": "edge",
          "sentinelfleet:enviroments": "[]",
          "acme:x": "1",
          "kubernetes:context": "kind",
          "mysql:endpoint": "db",
          "pulumi:template": "t",
          "random:x": "1",
        }),
      ),
      [
        "sentinel-flet:namespace: unknown namespace (this project's keys are sentinel-fleet:<key>; did you mean sentinel-fleet:namespace?)",
        "sentinelfleet:enviroments: unknown namespace (this project's keys are sentinel-fleet:<key>; did you mean sentinel-fleet:environments?)",
        "acme:x: unknown namespace (this project's keys are sentinel-fleet:<key>)",
      ],
    );
  });

  it("one problem per mistake: a mistyped required key is not also reported missing", () => {
    assert.deepEqual(problemsOf(engineValues({ [K("image")]: undefined, [K("imgae")]: "ghcr.io/a/b:1" })), [
      "sentinel-fleet:imgae: unknown key; did you mean image? (image is required and not set)",
    ]);
    const envs = exampleConfig().config[K("environments")] as Record<string, unknown>[];
    const { slug, ...rest } = envs[0];
    assert.deepEqual(
      problemsOf(engineValues({ [K("environments")]: [{ ...rest, slgu: slug }, ...envs.slice(1)] })),
      [
        "sentinel-fleet:environments[0] (env_storefront_prod).slgu: unknown key; did you mean slug? (slug is required and not set)",
      ],
    );
  });
});

describe("every echoed value is bounded", () => {
  const lines = (e: FleetConfigError) => e.message.split("\n");

  it("a value of megabytes: a bounded, escaped prefix and the value's length", () => {
    const huge = `a\u001b[2J\n${"x".repeat(5_000_000)}`;
    const values = engineValues({
      [K("namespace")]: huge,
      [K("platform")]: huge,
      [K("regions")]: [{ id: huge, name: "us-east-1" }],
    });
    try {
      parseFleetConfig({ values, secretKeys: Object.keys(TEST_SECRETS) });
      assert.fail("accepted");
    } catch (e) {
      assert.ok(e instanceof FleetConfigError);
      assert.ok(e.message.length < 4000, `the error is ${e.message.length} characters`);
      assert.equal(lines(e).length, e.problems.length + 1, "one line per problem");
      assert.ok(!e.message.includes("\u001b"), "a terminal escape reached the message");
      const namespace = e.problems.find((p) => p.path === K("namespace"));
      assert.match(
        namespace?.message ?? "",
        /^"a\\u001b\[2J\\nxxx+…" \(5000006 characters\) is not a valid namespace/,
      );
    }
  });

  it("an unknown key with a newline or an escape cannot forge a line", () => {
    const key = K("x\nsentinel-fleet:image: forged\u001b[31m");
    try {
      parseFleetConfig({
        values: engineValues({ [key]: "1", "evil\r\nns:k": "1" }),
        secretKeys: Object.keys(TEST_SECRETS),
      });
      assert.fail("accepted");
    } catch (e) {
      assert.ok(e instanceof FleetConfigError);
      assert.deepEqual(lines(e).slice(1), [
        '  - sentinel-fleet:"x\\nsentinel-fleet:image: forged\\u001b[31m": unknown key (known: ' +
          "platform, image, namespace, namespacePodSecurity, pod, probes, nodeClass, ciliumNetworkPolicies, " +
          "retainSentinelRows, prewarm, regions, deployRegions, waves, stackRole, regionBaseStack, shards, shard, " +
          "environments, database, databasePassword, databaseLogins, databaseCaCert, clickhouseUrl, redisUrl, otel, otelHeaders, prewarmToken)",
        '  - "evil\\r\\nns":k: unknown namespace (this project\'s keys are sentinel-fleet:<key>)',
      ]);
    }
  });

  it("a key named in a notice (synth's placeholders) is escaped the same way", () => {
    assert.equal(configKeyText(K("redisUrl")), K("redisUrl"));
    assert.equal(configKeyText("a\u001b[2J:b\nc"), '"a\\u001b[2J":"b\\nc"');
  });

  it("the provider's check failures quote a bounded prefix of a 64 KB value", () => {
    const big = "n".repeat(65_536);
    const { failures } = checkSentinelRecord(
      {},
      {
        spec: {
          workspaceId: { big },
          projectId: "p",
          environmentId: "e",
          regionId: "r",
          namespace: `${big}\n`,
          replicas: big,
        },
      },
    );
    assert.ok(failures.length >= 3);
    for (const f of failures) {
      assert.ok(f.reason.length < 500, `${f.property}: ${f.reason.length} characters`);
      assert.ok(!f.reason.includes("\n"));
    }
    assert.ok(failures.some((f) => /\(65537 characters\)/.test(f.reason)));
  });

  it("listing the problems of a large invalid fleet does work proportional to their count", () => {
    const envs = exampleConfig().config[K("environments")] as Record<string, unknown>[];
    const fleet = (n: number) =>
      engineValues({
        [K("environments")]: Array.from({ length: n }, (_, i) => ({
          ...envs[0],
          environmentId: `env_${i}`,
          slug: `s${i}`,
          replicas: -1,
          cpuMillicores: -1,
        })),
      });
    const work = (n: number) => {
      const values = fleet(n);
      let listed = 0;
      const units = countArrayWork(() => {
        try {
          parseFleetConfig({ values, secretKeys: Object.keys(TEST_SECRETS) });
        } catch (e) {
          listed = (e as FleetConfigError).problems.length;
        }
      });
      assert.equal(listed, 2 * n);
      return units;
    };
    const small = work(1500);
    const large = work(6000);
    // Four times the problems: four times the work plus a sort's log factor; quadratic would be sixteen.
    assert.ok(large / small < 5.5, `work grew ${(large / small).toFixed(2)}x for 4x the problems`);
  });
});
