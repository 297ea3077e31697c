// The platform database: the connection (shared with the provider, ./connection.ts), what the pods dial, the
// sentinel logins, and the two secrets that reach it.
import { z } from "zod";
import { DEFAULT_SENTINEL_DB_PRIVILEGES } from "../constants";
import { connectionFields } from "./connection";
import { address, type DocMeta, err, list, matching, object, oneOf, secret, show, orElse } from "./fields";
import { LOGIN_MODES } from "./logins";

const PRIVILEGE = /^[A-Z][A-Z ]*[A-Z]$/;

const db = connectionFields(z);
const databaseSchema = object(
  {
    ...db,
    primaryAddress: address()
      .optional()
      .meta(orElse("`host:port` (or `host`, `[IPv6]:port`) the pods dial for the primary", "`host:port`")),
    replicaAddress: address().optional().meta(orElse("what the pods dial for reads", "`primaryAddress`")),
    logins: oneOf(LOGIN_MODES)
      .default("managed")
      .meta({
        description:
          "`managed`: the program creates two sentinel logins per region with `@pulumi/mysql` and rotates them; " +
          "`existing`: the secret `databaseLogins` brings each region's DSNs and the program creates no login " +
          "(PlanetScale, Vitess, operator-owned logins)",
      }),
    // The MySQL provider writes it into CREATE USER '<user>'@'<host>' unescaped, over the admin login.
    sentinelUserHost: matching(
      /^[A-Za-z0-9.%_:/-]+$/,
      255,
      "is not a MySQL account host (letters, digits, '.', '-', '_', ':', '/' and the wildcard '%')",
    )
      .default("%")
      .meta({
        description:
          "the host part of the sentinel logins: a host name, an IP address or netmask, `%` wildcards",
      }),
    sentinelPrivileges: list(
      z.string().regex(
        PRIVILEGE,
        err((v) => `${show(v)} is not a MySQL privilege such as "SELECT"`),
      ),
      'MySQL privileges such as "SELECT"',
    )
      .default([...DEFAULT_SENTINEL_DB_PRIVILEGES])
      .meta({ description: "what the sentinel logins may do on the database" }),
    credentialRotation: z
      .number(err((v) => `must be a non-negative integer, got ${show(v)}`))
      .int(err((v) => `must be a non-negative integer, got ${show(v)}`))
      .min(
        0,
        err((v) => `must be a non-negative integer, got ${show(v)}`),
      )
      .default(0)
      .meta({
        description:
          "the rotation generation: each increment rotates the sentinel login not in use and switches the pods to it",
      }),
  },
  (v) => (v === undefined ? "is required (host, user, name)" : `must be an object, got ${show(v)}`),
);

export const databaseKeys = {
  database: databaseSchema.meta({ description: "the platform database" }),
  databasePassword: secret("password of `database.user`", "required"),
  databaseLogins: z
    .unknown()
    .optional()
    .meta({
      description:
        "with `database.logins: existing`: region name -> `{ primary, replica? }`, the sentinels' Go MySQL DSNs " +
        "(`user:password@tcp(host:port)/<database.name>?parseTime=true&interpolateParams=true[&tls=...]`), " +
        "each a secret; `replica` defaults to `primary`",
      "x-secret": true,
      "x-secret-map": true,
      "x-default": "none (`existing` logins: every deployed region)",
    } satisfies DocMeta),
  databaseCaCert: secret(
    "PEM text of the database's CA bundle (exclusive with `database.tls.caFile`; verify-ca or verify-identity only)",
  ),
};
