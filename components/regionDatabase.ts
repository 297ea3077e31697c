// A region's sentinel database logins: two MySQL logins used alternately, so rotating a password never changes
// the password of the login that running pods use (README, "Database logins, rotation and grants").
import * as mysql from "@pulumi/mysql";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { FleetConfig, RegionConfig } from "../lib/config";
import { goDriverTls, sentinelLoginTlsOption } from "../lib/databaseTls";
import { mysqlDsn } from "../lib/dsn";
import { sentinelDbLogin, type LoginSlot } from "../lib/names";

/** What a region's Secrets need: the DSNs of the login in use, as secrets. */
export interface RegionDatabaseLogins {
  readonly primaryDsn: pulumi.Output<string>;
  readonly replicaDsn: pulumi.Output<string>;
}

/** Per slot: whether pods use it at this generation, and the `keepers` of its RandomPassword. */
export interface LoginSlotPlan {
  readonly slot: LoginSlot;
  readonly inUse: boolean;
  /** `rotation` = 1 + the last generation (<= the current one) of this slot's parity; 0 when none yet. */
  readonly keepers: { readonly rotation: string };
}

export const LOGIN_SLOTS: readonly LoginSlot[] = ["a", "b"];

/**
 * The two logins at rotation generation `generation` (a non-negative integer): login A is in use at even
 * generations, B at odd ones. A login's password changes only at the generation that puts it in use, so at
 * every step g -> g+1 the login in use at g keeps its password (its running pods keep working until Reloader
 * restarts them onto the other login), and the login taking over gets a fresh one.
 *
 * `rotation` counts from 1 so that login A at generation 0 has the keeper `rotation: "1"` a stack with one
 * login per region already has (CHANGELOG.md): adding login B changes no password.
 */
export function loginSlotPlan(generation: number): readonly LoginSlotPlan[] {
  if (!Number.isInteger(generation) || generation < 0) {
    throw new Error(`credentialRotation must be a non-negative integer, got ${JSON.stringify(generation)}`);
  }
  return LOGIN_SLOTS.map((slot, parity) => {
    const inUse = generation % 2 === parity;
    // The latest generation <= `generation` with this slot's parity; -1 when the slot has had none yet.
    const last = inUse ? generation : generation - 1;
    return { slot, inUse, keepers: { rotation: String(last + 1) } };
  });
}

/**
 * Pulumi names of a slot's RandomPassword, User and Grant: login A keeps the name a stack with one login per
 * region already has, so its login is not replaced.
 */
export function loginResourceName(regionName: string, slot: LoginSlot): string {
  return slot === "a" ? `region-${regionName}-sentinel-db` : `region-${regionName}-sentinel-db-b`;
}

/**
 * Declares the region's two logins (RandomPassword, mysql.User, mysql.Grant each) and returns the DSNs of the
 * one in use. The DSNs depend on that login's grant, so pods never get a login that cannot read yet.
 */
export function regionDatabaseLogins(
  region: RegionConfig,
  cfg: FleetConfig,
  platformDb: mysql.Provider,
): RegionDatabaseLogins {
  const db = cfg.database;
  let active:
    { user: pulumi.Output<string>; password: pulumi.Output<string>; grant: mysql.Grant } | undefined;
  for (const plan of loginSlotPlan(db.credentialRotation)) {
    const name = loginResourceName(region.name, plan.slot);
    const password = new random.RandomPassword(name, {
      length: 40,
      // Alphanumeric: a DSN has no escaping for '@', '/', '(' and the like; 40 characters still give ~238 bits.
      special: false,
      keepers: plan.keepers,
    });
    const user = new mysql.User(
      name,
      {
        user: sentinelDbLogin(region.name, plan.slot),
        host: db.sentinelUserHost,
        plaintextPassword: password.result,
        // With TLS on, the login itself refuses plaintext (REQUIRE SSL).
        tlsOption: sentinelLoginTlsOption(db.tls.mode),
      },
      // The bridged provider (terraform-provider-mysql v1.9.0) replaces a User when tls_option changes, and a
      // create-first replacement of the same user@host fails ("CREATE USER ... already exists"): delete first.
      // Turning TLS on is then a moment without the login; do it while the other login is in use (README).
      { provider: platformDb, deleteBeforeReplace: true },
    );
    const grant = new mysql.Grant(
      name,
      {
        user: user.user,
        host: user.host,
        database: db.database,
        table: "*",
        privileges: [...db.sentinelPrivileges],
      },
      {
        provider: platformDb,
        // A Grant replaces on any change, and deleting one revokes the privileges it lists: created before the
        // old one is deleted, the new grant's privileges shared with the old one would be revoked again. The
        // old grant goes first, so the login ends with exactly the new privileges.
        deleteBeforeReplace: true,
      },
    );
    if (plan.inUse) active = { user: user.user, password: password.result, grant };
  }
  if (active === undefined) throw new Error("loginSlotPlan returned no login in use");
  const { user, password, grant } = active;
  const dsn = (address: string) =>
    pulumi
      .all([user, password, grant.id])
      .apply(([u, p]) =>
        pulumi.secret(
          mysqlDsn({ user: u, password: p, address, database: db.database, tls: goDriverTls(db.tls.mode) }),
        ),
      );
  return { primaryDsn: dsn(db.primaryAddress), replicaDsn: dsn(db.replicaAddress) };
}

/**
 * With `database.logins: existing`: the region's DSNs as the stack file brings them, secrets. Nothing is
 * declared; rotating is setting a new value, which updates the region's Secrets in place (and Reloader rolls
 * the pods, as for managed logins).
 */
export function existingDatabaseLogins(region: RegionConfig, cfg: FleetConfig): RegionDatabaseLogins {
  const login = cfg.database.existingLogins?.[region.name];
  if (login === undefined) {
    throw new Error(`sentinel-fleet:databaseLogins has no DSNs for region ${JSON.stringify(region.name)}`);
  }
  return { primaryDsn: login.primary.toOutput(), replicaDsn: login.replica.toOutput() };
}
