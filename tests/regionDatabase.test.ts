// A region's two sentinel database logins: the rotation plan, the DSNs, and what the program declares under the
// mock engine (keepers, users, grants and their resource options) over a sequence of rotation generations.
import { strict as assert } from "assert";
import * as path from "path";
import { loginSlotPlan, loginResourceName } from "../components/regionDatabase";
import { ENV_VARS } from "../lib/constants";
import { dsnAddress, joinHostPort, mysqlDsn, splitHostPort } from "../lib/dsn";
import { sentinelDbLogin, sentinelDbUser } from "../lib/names";
import { startDatabase, type TestDatabase } from "./harness/mariadb";
import { unwrapSecrets, type CapturedResource, type ProgramRun } from "../synth/mockEngine";
import { runExample } from "./support/fixtures";
import { withOverride } from "./support/overrides";

const T = {
  password: "random:index/randomPassword:RandomPassword",
  user: "mysql:index/user:User",
  grant: "mysql:index/grant:Grant",
  secret: "kubernetes:core/v1:Secret",
};
const REGIONS = ["us-east-1", "eu-central-1"];
const OVERRIDDEN_PROGRAM = path.join(__dirname, "support", "overriddenProgram");

const ofType = (run: ProgramRun, type: string) => run.resources.filter((r) => r.type === type);
const byName = (run: ProgramRun, type: string, name: string) => {
  const found = ofType(run, type).filter((r) => r.name === name);
  assert.equal(found.length, 1, `one ${type} named ${name}`);
  return found[0];
};
const regionOf = (r: CapturedResource) => /::region-([a-z0-9-]+?)::/.exec(r.provider)?.[1];
/** The DSNs the pods of a region get, from every Secret that carries them. */
const dsnsOf = (run: ProgramRun, region: string): { primary: string; replica: string }[] =>
  ofType(run, T.secret)
    .filter((s) => regionOf(s) === region)
    .map((s) => unwrapSecrets(s.inputs.stringData) as Record<string, string>)
    .filter((data) => ENV_VARS.databasePrimary in data)
    .map((data) => ({ primary: data[ENV_VARS.databasePrimary], replica: data[ENV_VARS.databaseReplica] }));
const rotation = (generation: number) => ({
  "sentinel-fleet:database": {
    host: "mysql.platform.svc.cluster.local",
    user: "sentinel_fleet_admin",
    name: "unkey",
    primaryAddress: "mysql.platform.svc.cluster.local:3306",
    replicaAddress: "mysql-replica.platform.svc.cluster.local:3306",
    credentialRotation: generation,
  },
});

describe("database logins: the rotation plan", () => {
  it("uses login A at even generations and B at odd ones, one at a time", () => {
    for (let g = 0; g < 12; g++) {
      const plan = loginSlotPlan(g);
      assert.deepEqual(
        plan.filter((p) => p.inUse).map((p) => p.slot),
        [g % 2 === 0 ? "a" : "b"],
        `generation ${g}`,
      );
    }
  });

  it("never changes the in-use login's password when switching, and always renews the one taking over", () => {
    for (let g = 0; g < 12; g++) {
      const [now, next] = [loginSlotPlan(g), loginSlotPlan(g + 1)];
      const before = now.find((p) => p.inUse)!;
      const stays = next.find((p) => p.slot === before.slot)!;
      const takesOver = next.find((p) => p.inUse)!;
      assert.notEqual(takesOver.slot, before.slot, `generation ${g + 1} switches logins`);
      assert.deepEqual(stays.keepers, before.keepers, `login ${before.slot} keeps its password at ${g + 1}`);
      const previous = now.find((p) => p.slot === takesOver.slot)!;
      assert.notDeepEqual(
        takesOver.keepers,
        previous.keepers,
        `login ${takesOver.slot} is renewed at ${g + 1}`,
      );
    }
  });

  it("keeps the single-login release's keeper for login A at generation 0 (an upgrade changes no password)", () => {
    assert.deepEqual(
      loginSlotPlan(0).map((p) => [p.slot, p.keepers.rotation]),
      [
        ["a", "1"],
        ["b", "0"],
      ],
    );
    assert.equal(loginResourceName("us-east-1", "a"), "region-us-east-1-sentinel-db");
    assert.equal(sentinelDbLogin("us-east-1", "a"), sentinelDbUser("us-east-1"));
  });

  it("shows what incrementing by two at once does: the in-use login is renewed (documented as unsafe)", () => {
    const before = loginSlotPlan(4).find((p) => p.inUse)!;
    const after = loginSlotPlan(6).find((p) => p.inUse)!;
    assert.equal(after.slot, before.slot);
    assert.notDeepEqual(after.keepers, before.keepers);
  });

  it("rejects a generation that is not a non-negative integer", () => {
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => loginSlotPlan(bad), /credentialRotation must be a non-negative integer/);
    }
  });

  it("names the two logins apart, within MySQL's 32 characters, for short, long and look-alike regions", () => {
    const regions = ["us-east-1", "b-us-east-1", "a-very-long-region-name-that-goes-on-1", "x", "b-x"];
    const all = regions.flatMap((r) => [sentinelDbLogin(r, "a"), sentinelDbLogin(r, "b")]);
    assert.equal(new Set(all).size, all.length, all.join(", "));
    for (const login of all) assert.ok(login.length <= 32 && /^[A-Za-z0-9_]+$/.test(login), login);
    assert.equal(sentinelDbLogin("us-east-1", "b"), "sentinelb_us_east_1");
  });
});

describe("database DSNs", () => {
  const parts = { user: "sentinel_x", password: "Abc123", database: "unkey", tls: null };

  it("writes every address form with an explicit port, IPv6 in brackets", () => {
    const cases: [string, string][] = [
      ["db.internal:3307", "db.internal:3307"],
      ["db.internal", "db.internal:3306"],
      ["10.0.0.5:3306", "10.0.0.5:3306"],
      ["[::1]:3307", "[::1]:3307"],
      ["[::1]", "[::1]:3306"],
      ["::1", "[::1]:3306"],
      ["2001:db8::10", "[2001:db8::10]:3306"],
      ["[fe80::1%eth0]:3306", "[fe80::1%eth0]:3306"],
    ];
    for (const [address, expected] of cases) {
      assert.equal(dsnAddress(address), expected, address);
      assert.equal(
        mysqlDsn({ ...parts, address }),
        `sentinel_x:Abc123@tcp(${expected})/unkey?parseTime=true&interpolateParams=true`,
      );
    }
    assert.equal(joinHostPort("::1", 3306), "[::1]:3306");
    assert.equal(joinHostPort("db", 3306), "db:3306");
    assert.deepEqual(splitHostPort("[::1]:1"), { host: "::1", port: 1 });
  });

  it("rejects addresses a DSN would misread, naming the value", () => {
    for (const bad of [
      "",
      ":3306",
      "db:0",
      "db:70000",
      "db:33a",
      "[db]:3306",
      "[::1]:",
      "db/x:1",
      "db:3306:1",
    ]) {
      assert.throws(
        () => dsnAddress(bad),
        new RegExp(`database address ${JSON.stringify(bad).replace(/[[\]]/g, "\\$&")}`),
        bad,
      );
    }
  });

  it("adds the driver's tls parameter only when given, and rejects parts that would change the DSN's shape", () => {
    assert.match(
      mysqlDsn({ ...parts, address: "db", tls: "true" }),
      /\?parseTime=true&interpolateParams=true&tls=true$/,
    );
    assert.throws(() => mysqlDsn({ ...parts, address: "db", password: "a@b/c" }), /password for sentinel_x/);
    assert.throws(
      () => mysqlDsn({ ...parts, address: "db", password: "a@b/c" }),
      (e: Error) => !e.message.includes("a@b/c"),
    );
    assert.throws(() => mysqlDsn({ ...parts, address: "db", user: "x:y" }), /DSN user "x:y"/);
    assert.throws(() => mysqlDsn({ ...parts, address: "db", database: "a/b" }), /DSN database "a\/b"/);
    assert.throws(() => mysqlDsn({ ...parts, address: "db", tls: "a&b=c" }), /DSN tls parameter/);
  });
});

describe("database logins under the mock engine", function () {
  this.timeout(120_000);
  const runs = new Map<number, ProgramRun>();
  before(async () => {
    // One deployment after another, each starting from the previous one's state (unchanged passwords kept).
    for (const g of [0, 1, 2, 3]) {
      runs.set(g, await runExample(false, rotation(g), { previous: runs.get(g - 1) }));
    }
  });

  it("declares two logins per region, each with a 40-character alphanumeric password", () => {
    const run = runs.get(0)!;
    for (const region of REGIONS) {
      for (const slot of ["a", "b"] as const) {
        const name = loginResourceName(region, slot);
        const password = byName(run, T.password, name);
        assert.equal(password.inputs.length, 40);
        assert.equal(password.inputs.special, false);
        const user = byName(run, T.user, name);
        assert.equal(user.inputs.user, sentinelDbLogin(region, slot));
        assert.equal(user.inputs.host, "%");
        assert.ok(user.dependencies.includes(password.urn), `${name}: the user waits for its password`);
      }
    }
  });

  it("points the DSNs at the login in use, and keeps the other login's keepers over generations 0..3", () => {
    const keepers = (run: ProgramRun, region: string, slot: "a" | "b") =>
      byName(run, T.password, loginResourceName(region, slot)).inputs.keepers as Record<string, string>;
    for (const [g, run] of runs) {
      const inUse = g % 2 === 0 ? "a" : "b";
      for (const region of REGIONS) {
        const dsns = dsnsOf(run, region);
        assert.ok(dsns.length >= 1, `generation ${g}, ${region}: a Secret with the DSNs`);
        for (const { primary, replica } of dsns) {
          assert.match(
            primary,
            new RegExp(
              `^${sentinelDbLogin(region, inUse)}:[A-Za-z0-9]{40}@tcp\\(mysql\\.platform\\.svc\\.cluster\\.local:3306\\)/unkey\\?parseTime=true&interpolateParams=true$`,
            ),
            `generation ${g}, ${region}`,
          );
          assert.match(replica, /@tcp\(mysql-replica\.platform\.svc\.cluster\.local:3306\)\/unkey\?/);
          assert.equal(
            primary.split("@")[0],
            replica.split("@")[0],
            "primary and replica use the same login",
          );
        }
        for (const slot of ["a", "b"] as const) {
          const plan = loginSlotPlan(g).find((p) => p.slot === slot)!;
          assert.deepEqual(
            keepers(run, region, slot),
            plan.keepers,
            `generation ${g}, ${region}, login ${slot}`,
          );
        }
        const secret = ofType(run, T.secret).find(
          (s) =>
            regionOf(s) === region &&
            ENV_VARS.databasePrimary in (unwrapSecrets(s.inputs.stringData) as object),
        )!;
        const grant = byName(run, T.grant, loginResourceName(region, inUse));
        assert.ok(
          secret.dependencies.includes(grant.urn),
          `generation ${g}: the DSNs wait for the grant in use`,
        );
      }
      if (g > 0) {
        // The switch g-1 -> g: the login that was in use keeps its keepers, so its password stays.
        const was = (g - 1) % 2 === 0 ? "a" : "b";
        for (const region of REGIONS) {
          assert.deepEqual(keepers(run, region, was), keepers(runs.get(g - 1)!, region, was));
          assert.notDeepEqual(keepers(run, region, inUse), keepers(runs.get(g - 1)!, region, inUse));
        }
      }
    }
  });

  it("keeps working for pods not yet restarted: the login their DSN names keeps that password at the switch", () => {
    const passwordOf = (run: ProgramRun, region: string, slot: "a" | "b") =>
      unwrapSecrets(byName(run, T.user, loginResourceName(region, slot)).inputs.plaintextPassword) as string;
    const dsnLogin = (dsn: string) => {
      const m = /^([A-Za-z0-9_]+):([A-Za-z0-9]+)@/.exec(dsn);
      assert.ok(m !== null, "a DSN with user and password");
      return { user: m[1], password: m[2] };
    };
    const slotOf = (user: string, region: string) => (user === sentinelDbLogin(region, "a") ? "a" : "b");
    for (const region of REGIONS) {
      for (const g of [0, 1, 2]) {
        const [now, next] = [runs.get(g)!, runs.get(g + 1)!];
        const old = dsnLogin(dsnsOf(now, region)[0].primary);
        const fresh = dsnLogin(dsnsOf(next, region)[0].primary);
        const oldSlot = slotOf(old.user, region);
        // The DSN a running pod still has is accepted by the database after the switch.
        assert.equal(
          passwordOf(now, region, oldSlot),
          old.password,
          `generation ${g}: DSN matches its login`,
        );
        assert.equal(
          passwordOf(next, region, oldSlot),
          old.password,
          `${g} -> ${g + 1}: old login unchanged`,
        );
        // The new DSN names the other login, with the password that login now has, and that password is new.
        assert.notEqual(fresh.user, old.user);
        const newSlot = slotOf(fresh.user, region);
        assert.equal(passwordOf(next, region, newSlot), fresh.password);
        assert.notEqual(passwordOf(now, region, newSlot), fresh.password, `${g} -> ${g + 1}: renewed`);
      }
      // Two increments before the restarts finished: the login of the oldest DSN has a new password by then.
      const first = dsnLogin(dsnsOf(runs.get(0)!, region)[0].primary);
      assert.notEqual(passwordOf(runs.get(2)!, region, slotOf(first.user, region)), first.password);
    }
  });

  it("grants exactly the configured privileges, deleting an old grant before its replacement", async () => {
    const withShowView = await runExample(true, {
      "sentinel-fleet:database": {
        ...rotation(0)["sentinel-fleet:database"],
        sentinelPrivileges: ["SELECT", "SHOW VIEW"],
      },
    });
    for (const [run, privileges] of [
      [runs.get(0)!, ["SELECT"]],
      [withShowView, ["SELECT", "SHOW VIEW"]],
    ] as const) {
      const grants = ofType(run, T.grant);
      assert.equal(grants.length, 4);
      for (const g of grants) {
        assert.deepEqual(g.inputs.privileges, privileges);
        assert.equal(g.inputs.database, "unkey");
        assert.equal(g.inputs.table, "*");
        assert.equal(g.deleteBeforeReplace, true, `${g.name}: deleteBeforeReplace`);
        assert.ok(g.provider.includes("::platform-db::"), `${g.name}: the platform database provider`);
      }
    }
    // A password rotates with an in-place ALTER USER; only a tls_option change replaces a User, and a create-first
    // replacement of the same user@host would fail ("already exists"), so a User goes first too.
    assert.ok(ofType(runs.get(0)!, T.user).every((u) => u.deleteBeforeReplace));
  });

  it("brackets IPv6 addresses in the DSNs and the admin provider's endpoint", async () => {
    const run = await withOverride(
      (cfg) => ({
        ...cfg,
        database: {
          ...cfg.database,
          host: "2001:db8::1",
          primaryAddress: "[2001:db8::10]:3307",
          replicaAddress: "2001:db8::11",
        },
      }),
      () => runExample(false, {}, { program: OVERRIDDEN_PROGRAM }),
    );
    const provider = run.resources.find((r) => r.type === "pulumi:providers:mysql")!;
    assert.equal(provider.inputs.endpoint, "[2001:db8::1]:3306");
    for (const region of REGIONS) {
      for (const { primary, replica } of dsnsOf(run, region)) {
        assert.match(primary, /@tcp\(\[2001:db8::10\]:3307\)\/unkey\?/);
        assert.match(replica, /@tcp\(\[2001:db8::11\]:3306\)\/unkey\?/);
      }
    }
  });
});

describe("database grants: why deleteBeforeReplace (the bridged provider's statements, against MariaDB)", function () {
  this.timeout(60_000);
  let db: TestDatabase;
  before(async () => {
    db = await startDatabase();
  });
  after(async function () {
    this.timeout(30_000);
    await db?.stop();
  });

  // What @pulumi/mysql 3.x's Grant runs (terraform-provider-mysql v1.9.0, mysql/resource_grant.go): create is
  // `GRANT <privileges> ON db.* TO user`, delete is `REVOKE GRANT OPTION ON db.*` then
  // `REVOKE <its privileges> ON db.*`. A change of privileges is a replacement: a create and a delete.
  const login = "'sentinel_grant_test'@'%'";
  const create = (privileges: string[]) =>
    db.admin(`GRANT ${privileges.join(", ")} ON \`${db.database}\`.* TO ${login}`);
  const remove = async (privileges: string[]) => {
    await db.admin(`REVOKE GRANT OPTION ON \`${db.database}\`.* FROM ${login}`);
    await db.admin(`REVOKE ${privileges.join(", ")} ON \`${db.database}\`.* FROM ${login}`);
  };
  const privilegesNow = async (): Promise<string[]> => {
    const rows = (await db.admin(`SHOW GRANTS FOR ${login}`)) as Record<string, string>[];
    const onDb = rows.map((r) => Object.values(r)[0]).find((g) => g.includes(`\`${db.database}\``));
    if (onDb === undefined) return [];
    return /^GRANT (.*) ON /.exec(onDb)![1].split(", ").sort();
  };
  const replace = async (from: string[], to: string[], deleteBeforeReplace: boolean) => {
    await db.admin(`DROP USER IF EXISTS ${login}`);
    await db.admin(`CREATE USER ${login} IDENTIFIED BY 'x'`);
    await create(from);
    if (deleteBeforeReplace) {
      await remove(from);
      await create(to);
    } else {
      await create(to);
      await remove(from);
    }
    return privilegesNow();
  };

  it("ends with the new privileges only when the old grant is deleted first", async function () {
    if (!db.throwaway) this.skip(); // creates and drops a user
    // Pulumi's default order: create the replacement, then delete the old grant.
    assert.deepEqual(await replace(["SELECT"], ["SELECT", "SHOW VIEW"], false), ["SHOW VIEW"]);
    assert.deepEqual(await replace(["SELECT", "SHOW VIEW"], ["SELECT"], false), []);
    // deleteBeforeReplace, as the program declares its grants.
    assert.deepEqual(await replace(["SELECT"], ["SELECT", "SHOW VIEW"], true), ["SELECT", "SHOW VIEW"]);
    assert.deepEqual(await replace(["SELECT", "SHOW VIEW"], ["SELECT"], true), ["SELECT"]);
    await db.admin(`DROP USER IF EXISTS ${login}`);
  });
});
