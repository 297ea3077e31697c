// Values the sentinel expands (issue 12, section 5), through the real program: what each pod would load is
// its UNKEY_CONFIG_DATA with `$` references expanded from the variables its Secret gives it, as the sentinel's
// loader does (tests/support/expandEnv.ts), then parsed as TOML.
import { strict as assert } from "assert";
import { parse as parseToml } from "smol-toml";
import { FleetConfigError, parseFleetConfig } from "../lib/config";
import { unwrapSecrets, type CapturedResource, type ProgramRun } from "../synth/mockEngine";
import { expandEnv } from "./support/expandEnv";
import { exampleConfig, runExample } from "./support/fixtures";

const K = (name: string) => `sentinel-fleet:${name}`;
const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const SECRET = "kubernetes:core/v1:Secret";
/** The TOML's references to its Secret's variables (lib/toml.ts), and the values they must load as. */
const REFERENCES = {
  "database.primary": "UNKEY_DATABASE_PRIMARY",
  "database.readonly_replica": "UNKEY_DATABASE_REPLICA",
  "clickhouse.url": "UNKEY_CLICKHOUSE_URL",
  "redis.url": "UNKEY_REDIS_URL",
} as const;

const providerOf = (r: CapturedResource) => r.provider.split("::").pop();
const metadata = (r: CapturedResource) => r.inputs.metadata as { name: string; namespace: string };

/** The variables a Deployment's container gets: its env and the stringData of the Secrets it reads. */
function podVariables(run: ProgramRun, deployment: CapturedResource): Record<string, string> {
  const c = deployment.inputs.spec.template.spec.containers[0];
  const vars: Record<string, string> = {};
  for (const e of c.env as { name: string; value: string }[]) vars[e.name] = e.value;
  for (const from of c.envFrom as { secretRef: { name: string } }[]) {
    const secret = run.resources.find(
      (s) =>
        s.type === SECRET &&
        metadata(s).name === from.secretRef.name &&
        metadata(s).namespace === metadata(deployment).namespace &&
        providerOf(s) === providerOf(deployment),
    );
    assert.ok(secret !== undefined, `${deployment.name}: Secret ${from.secretRef.name}`);
    Object.assign(vars, unwrapSecrets(secret.inputs.stringData) as Record<string, string>);
  }
  return vars;
}

const at = (doc: Record<string, any>, dotted: string) =>
  dotted.split(".").reduce<any>((v, k) => (v as Record<string, unknown>)[k], doc);

/** Unusual values the validation accepts: each must load exactly as configured. */
const ACCEPTED = {
  [K("platform")]: `aws.eu_2-b${"x".repeat(54)}`,
  [K("clickhouseUrl")]: "clickhouse://default:p$1$$HOME${UNKEY_REDIS_URL}@clickhouse.platform:9000/unkey",
  [K("redisUrl")]: "rediss://user:~!*()=+,;'$UNKEY_DATABASE_PRIMARY@[fd00::1]:6380/0?name=a\u2028b#x",
};

describe("values the sentinel expands, through the program (UNKEY_CONFIG_DATA and its Secret)", () => {
  let run: ProgramRun;
  before(async function () {
    this.timeout(60_000);
    const database = exampleConfig().config[K("database")] as Record<string, unknown>;
    run = await runExample(false, {
      ...ACCEPTED,
      // A bare IPv6 admin host, a database name with `$`, a bracketed replica without a port.
      [K("database")]: {
        ...database,
        host: "fd00::7",
        port: 3307,
        name: "un$key",
        primaryAddress: undefined,
        replicaAddress: "[fd00::9]",
      },
    });
  });

  it("every pod loads its configuration as rendered, with each reference replaced by its whole value", () => {
    const deployments = run.resources.filter((r) => r.type === DEPLOYMENT);
    assert.ok(deployments.length >= 5, `${deployments.length} Deployments`);
    for (const deployment of deployments) {
      const vars = podVariables(run, deployment);
      const text = vars.UNKEY_CONFIG_DATA;
      // The rendered text holds no `$` but the four references: no plain value pulls in a variable.
      assert.deepEqual(
        text.match(/\$\{?[A-Za-z_]*\}?/g)?.sort(),
        Object.values(REFERENCES)
          .map((v) => `\${${v}}`)
          .sort(),
        deployment.name,
      );
      const rendered = parseToml(text) as Record<string, any>;
      const loaded = parseToml(expandEnv(text, vars)) as Record<string, any>;
      // Same keys, same plain values; the references hold exactly the Secret's values.
      const expected = JSON.parse(JSON.stringify(rendered)) as Record<string, any>;
      for (const [dotted, name] of Object.entries(REFERENCES)) {
        const [table, k] = dotted.split(".");
        expected[table][k] = vars[name];
        assert.equal(typeof vars[name], "string", `${deployment.name}: ${name}`);
      }
      assert.deepEqual(JSON.parse(JSON.stringify(loaded)), expected, deployment.name);
      assert.equal(at(loaded, "platform"), ACCEPTED[K("platform")]);
      assert.equal(at(loaded, "clickhouse.url"), ACCEPTED[K("clickhouseUrl")]);
      assert.equal(at(loaded, "redis.url"), ACCEPTED[K("redisUrl")]);
      // IPv6 addresses in brackets, the admin port as the default for the primary, 3306 for the replica.
      assert.match(at(loaded, "database.primary"), /@tcp\(\[fd00::7\]:3307\)\/un\$key\?/);
      assert.match(at(loaded, "database.readonly_replica"), /@tcp\(\[fd00::9\]:3306\)\/un\$key\?/);
    }
  });
});

describe("values that would break the expanded configuration are rejected, naming the key", () => {
  const BREAKING = ['"', "\\", "\n", "\r", "\t", "\x00", "\x08", "\x1b", "\x1f", "\x7f"];
  const rejected = (overrides: Record<string, unknown>): string[] => {
    const { config, secretKeys } = exampleConfig(overrides);
    const values: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(config)) values[k] = typeof v === "string" ? v : JSON.stringify(v);
    try {
      parseFleetConfig({ values, secretKeys });
      return [];
    } catch (err) {
      assert.ok(err instanceof FleetConfigError, String(err));
      return err.problems.map((p) => `${p.path}: ${p.message}`);
    }
  };

  it("each secret the TOML references, each character class, never echoing the value", () => {
    const urls: Record<string, string> = {
      clickhouseUrl: "clickhouse://default:pw@clickhouse.platform:9000/unkey",
      redisUrl: "rediss://:pw@redis.platform:6380",
    };
    for (const [name, url] of Object.entries(urls)) {
      assert.deepEqual(rejected({ [K(name)]: url }), [], name);
      for (const c of BREAKING) {
        // In the password and at the end: a place the URL parser keeps and a place it may trim.
        for (const value of [url.replace(":pw@", `:p${c}w@`), `${url}${c}`]) {
          const found = rejected({ [K(name)]: value });
          const what = `${name} with ${JSON.stringify(c)}: ${found.join("; ")}`;
          assert.ok(
            found.includes(
              `sentinel-fleet:${name}: [secret] must not contain '"', '\\' or control characters such as a ` +
                "newline: the sentinel expands it into its TOML configuration",
            ),
            what,
          );
          for (const p of found) {
            assert.match(p, new RegExp(`^sentinel-fleet:${name}: \\[secret\\] `), what);
            assert.ok(!p.includes(`p${c}w`) && !p.includes("platform:"), what);
          }
        }
      }
    }
  });

  it("a `$` in each plain value that lands in the TOML (platform, region, environment and workspace ids)", () => {
    const env0 = (exampleConfig().config[K("environments")] as Record<string, unknown>[])[0];
    const regions = exampleConfig().config[K("regions")] as Record<string, unknown>[];
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ["platform", { [K("platform")]: "aws$HOME" }, /^sentinel-fleet:platform: "aws\$HOME"/],
      [
        "region name",
        { [K("regions")]: [{ ...regions[0], name: "us$HOME" }, ...regions.slice(1)] },
        /^sentinel-fleet:regions\[0\]\.name: "us\$HOME"/,
      ],
      [
        "environment id",
        { [K("environments")]: [{ ...env0, environmentId: "env_${UNKEY_REDIS_URL}" }] },
        /^sentinel-fleet:environments\[0\] \(env_\$\{UNKEY_REDIS_URL\}\)\.environmentId: "env_\$\{UNKEY_REDIS_URL\}"/,
      ],
      [
        "workspace id",
        { [K("environments")]: [{ ...env0, workspaceId: "ws$1" }] },
        /^sentinel-fleet:environments\[0\] \(env_storefront_prod\)\.workspaceId: "ws\$1"/,
      ],
    ];
    for (const [what, overrides, expected] of cases) {
      const found = rejected(overrides);
      assert.ok(
        found.some((p) => expected.test(p)),
        `${what}: ${found.join("; ")}`,
      );
    }
  });
});
