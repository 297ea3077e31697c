// ensureSentinels as plain functions over one connection, in SQL that MySQL 8.0+, MariaDB 10.6+ and
// Vitess-based services accept: one plain statement per round trip (no multi-statement batches, no
// `LAST_INSERT_ID(expr)` carrier, no RETURNING, no session variables in statements), values always as `?`
// parameters, short transactions only where a read must hold until a write.
//
// Versions (spec: a sentinel's version increases with every change and is unique per region; agents ask for
// "changes after N") are allocated under a per-region lock, the region's row in `regions` (`SELECT ... FOR
// UPDATE`, a record lock on a unique key, the same on every InnoDB server), as
//   GREATEST(MAX(version in the region) + 1, the database clock in microseconds since 1970)
// The lock makes allocation and commit one step per region, so versions appear in the order they were
// allocated, across concurrent `pulumi up`s and stacks that share a region. MAX + 1 keeps them above every
// row there is; the clock keeps them above every row there was: a deleted row's version was at most the
// clock when it was allocated, and the clock has moved on since (docs/database.md, "Versions").
// The platform's tables are not ours to change, so there is no counter to keep: MAX is read from the
// `(region_id, version)` key, one index entry in a plain read, and the new row's locking read starts at the
// value the lookup saw, so a create reads the same few rows in a region of 10 sentinels or of 3,000.
//
// Why `query` and not `execute`: mysql2's `execute` prepares each statement on the server first, one more
// round trip per statement, and prepared statements do not survive every proxy. `query` with `?` placeholders
// has the driver escape the values (as the sentinel's own Go driver does with interpolateParams=true).
import { ROWS } from "../lib/constants";
import { quoteUntrusted } from "../lib/redact";
import { DNS_SUBDOMAIN, RFC1035_LABEL } from "../lib/validate";

/** The part of a connection these functions use: one statement per call, one round trip. */
export interface Queryable {
  query(sql: string, values?: unknown[]): Promise<[unknown, unknown]>;
}

/** A connection that can also run a transaction (DatabaseSession in providers/connection.ts). */
export interface Transactional extends Queryable {
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
}

/**
 * The columns of a `sentinels` row this program reads, camel-cased. desired_state belongs to the platform's
 * control loop; health and available_replicas are written by the health hook after a rollout.
 */
export interface SentinelRow {
  readonly id: string;
  readonly workspaceId: string;
  readonly projectId: string;
  readonly environmentId: string;
  readonly k8sName: string;
  readonly k8sAddress: string;
  readonly regionId: string;
  readonly image: string;
  readonly desiredReplicas: number;
  readonly cpuMillicores: number;
  readonly memoryMib: number;
  readonly version: number;
  readonly createdAt: number;
  readonly updatedAt: number | null;
  readonly availableReplicas: number;
  readonly health: string;
}

/** What one sentinel should look like; identity fields are the proposal used only when inserting. */
export interface DesiredSentinel {
  readonly sentinelId: string;
  readonly k8sName: string;
  readonly k8sAddress: string;
  readonly workspaceId: string;
  readonly projectId: string;
  readonly environmentId: string;
  readonly regionId: string;
  readonly image: string;
  readonly desiredReplicas: number;
  readonly cpuMillicores: number;
  readonly memoryMib: number;
}

/**
 * Whose a row is. Every write and delete compares the row with the owner it expects, byte for byte and while
 * holding the row's lock, before it changes anything.
 */
export interface RowOwner {
  readonly environmentId: string;
  readonly regionId: string;
  readonly workspaceId: string;
  readonly projectId: string;
}

/**
 * The columns an in-place update may change. The environment and region are the row's after the write: the
 * same as before, except when an update moves the row to another (environment, region).
 */
export interface MutableColumns {
  readonly environmentId: string;
  readonly regionId: string;
  readonly workspaceId: string;
  readonly projectId: string;
  readonly image: string;
  readonly desiredReplicas: number;
  readonly cpuMillicores: number;
  readonly memoryMib: number;
  readonly k8sAddress: string;
}

export interface EnsureResult {
  readonly row: SentinelRow;
  /** inserted: a new row; adopted: the row already matched; converged: an existing row was updated to match. */
  readonly outcome: "inserted" | "adopted" | "converged";
  readonly attempts: number;
}

export interface RetryOptions {
  /** Attempts after deadlocks and lost races; the connection's deadline bounds them in time as well. */
  readonly maxAttempts: number;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 10,
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

const COLUMNS =
  "id, workspace_id, project_id, environment_id, k8s_name, k8s_address, region_id, image, desired_state, " +
  "health, desired_replicas, available_replicas, cpu_millicores, memory_mib, version, created_at, updated_at";

/** What SentinelRow holds. */
const READ_COLUMNS =
  "id, workspace_id, project_id, environment_id, k8s_name, k8s_address, region_id, image, desired_replicas, " +
  "available_replicas, health, cpu_millicores, memory_mib, version, created_at, updated_at";

const ROW_COLUMNS = READ_COLUMNS.split(", ")
  .map((c) => `s.${c}`)
  .join(", ");

/**
 * The database clock in microseconds since 1970, as it is when the expression is evaluated: SYSDATE, not NOW,
 * which is the time the statement started, before it waited for the region's lock (a writer granted the lock
 * meanwhile may have taken a later clock value, and that row may be deleted since: tested). The session's
 * time zone is UTC (set per connection), so UNIX_TIMESTAMP has no daylight-saving fold; 2026's values are about
 * 1.8e15, below 2^53 (exact in a JavaScript number) until the year 2255. A server started with
 * `--sysdate-is-now` makes SYSDATE a NOW again (docs/database.md, "Versions").
 */
const CLOCK_US = "CAST(UNIX_TIMESTAMP(SYSDATE(6)) * 1000000 AS UNSIGNED)";

/**
 * The lookup, a plain read (no locks, one round trip): the region, the environment's row in it, and the
 * region's highest version (one entry of the `(region_id, version)` key; NULL: no rows), where a new row's
 * insert starts reading versions. No row back: the region does not exist. For an existing row this is the
 * whole ensure.
 */
export const LOOKUP_SQL =
  `SELECT r.id AS region_key, (SELECT MAX(m.version) FROM sentinels m WHERE m.region_id = r.id) AS max_version, ` +
  `${ROW_COLUMNS} FROM regions r ` +
  "LEFT JOIN sentinels s ON s.environment_id = ? AND s.region_id = r.id WHERE r.id = ?";

/**
 * The insert, one autocommitted statement: it locks the region's row, then reads (FOR UPDATE) the region's
 * versions from the floor up — the highest version the lookup saw — computes the version under those locks and
 * inserts. Nothing is inserted when the region is gone. Every version writer holds the region's row until it
 * commits, and locking reads see the latest committed rows whatever the isolation level, so the join sees
 * every version at or above the floor: usually the one the lookup saw, plus any committed since. MAX of those
 * is the region's MAX; none (all deleted since) leaves the floor itself, which was a version, so the new one
 * still goes above it. So a create reads a handful of index entries however many sentinels the region holds.
 * The floor is cast to an integer: a driver string (beyond 2^53) would otherwise be compared and added as a
 * double.
 * The region's rows are read through a join in the FROM clause, not a subquery: MySQL refuses an
 * INSERT ... SELECT whose subquery reads the target table ("you cannot insert into a table and select from the
 * same table in a subquery", ER_UPDATE_TABLE_USED; MariaDB accepts both), while the target table in the FROM
 * clause is allowed (MySQL buffers the selected rows in a temporary table first). `FOR UPDATE OF r` would
 * lock less, but MariaDB has no `OF`.
 */
export const INSERT_SELECT_SQL =
  `INSERT INTO sentinels (${COLUMNS}) ` +
  `SELECT ?, ?, ?, ?, ?, ?, ?, ?, '${ROWS.initialDesiredState}', '${ROWS.initialHealth}', ?, 0, ?, ?, ` +
  `GREATEST(COALESCE(MAX(v.version), CAST(? AS UNSIGNED)) + 1, ${CLOCK_US}), ?, NULL ` +
  "FROM regions r LEFT JOIN sentinels v ON v.region_id = r.id AND v.version >= CAST(? AS UNSIGNED) " +
  "WHERE r.id = ? GROUP BY r.id FOR UPDATE";

/** A plain parameterized INSERT of one row: the bare loop `npm run bench:db` compares with. */
export const INSERT_SQL =
  `INSERT INTO sentinels (${COLUMNS}) ` +
  `VALUES (?, ?, ?, ?, ?, ?, ?, ?, '${ROWS.initialDesiredState}', '${ROWS.initialHealth}', ?, 0, ?, ?, ?, ?, NULL)`;

export const SELECT_BY_ID_SQL = `SELECT ${READ_COLUMNS} FROM sentinels WHERE id = ?`;

/** The row, locked until the transaction ends: what a write compares with its expected owner first. */
export const LOCK_ROW_SQL = `SELECT ${READ_COLUMNS} FROM sentinels WHERE id = ? FOR UPDATE`;

/** Another row that already holds an (environment, region), under the collation the unique key uses. */
export const PAIR_TAKEN_SQL =
  "SELECT id FROM sentinels WHERE environment_id = ? AND region_id = ? AND id <> ?";

/** Which of a new row's unique values another row already holds. */
export const CLASH_SQL = "SELECT id FROM sentinels WHERE id = ? OR k8s_name = ? OR k8s_address = ?";

/** The region lock of an update. */
export const LOCK_REGION_SQL = "SELECT r.id AS region_key FROM regions r WHERE r.id = ? FOR UPDATE";

/**
 * The region's highest version and the database clock, read after the lock is held: the transaction's first
 * consistent read, so its snapshot includes every version committed under the lock before, and a statement
 * that starts only once the lock is held.
 */
export const MAX_VERSION_SQL = `SELECT COALESCE(MAX(version), 0) AS max_version, ${CLOCK_US} AS now_us FROM sentinels WHERE region_id = ?`;

export const UPDATE_SQL =
  "UPDATE sentinels SET environment_id = ?, region_id = ?, workspace_id = ?, project_id = ?, image = ?, " +
  "desired_replicas = ?, cpu_millicores = ?, memory_mib = ?, k8s_address = ?, version = ?, updated_at = ? WHERE id = ?";

export const UPDATE_HEALTH_SQL =
  "UPDATE sentinels SET available_replicas = ?, health = ?, version = ?, updated_at = ? WHERE id = ?";

export const DELETE_SQL = "DELETE FROM sentinels WHERE id = ?";

const ER_DUP_ENTRY = 1062;
const ER_LOCK_DEADLOCK = 1213;
/**
 * InnoDB's answer when the table's AUTO-INC lock is lost to a deadlock. MariaDB's default
 * `innodb_autoinc_lock_mode = 1` makes an INSERT ... SELECT hold that table lock to the end of the statement
 * (MySQL 8's default 2 does not), so under parallel creates it joins the lock cycles a deadlock resolves:
 * retried like one.
 */
const ER_AUTOINC_READ_FAILED = 1467;

function isDeadlock(err: unknown): boolean {
  const n = errno(err);
  return n === ER_LOCK_DEADLOCK || n === ER_AUTOINC_READ_FAILED;
}

function errno(err: unknown): number | undefined {
  return (err as { errno?: number }).errno;
}

function num(value: unknown): number {
  return typeof value === "number" ? value : Number(value);
}

function toRow(r: Record<string, unknown>): SentinelRow {
  const get = (c: string): unknown => r[c];
  return {
    id: String(get("id")),
    workspaceId: String(get("workspace_id")),
    projectId: String(get("project_id")),
    environmentId: String(get("environment_id")),
    k8sName: String(get("k8s_name")),
    k8sAddress: String(get("k8s_address")),
    regionId: String(get("region_id")),
    image: String(get("image")),
    desiredReplicas: num(get("desired_replicas")),
    availableReplicas: num(get("available_replicas")),
    health: String(get("health")),
    cpuMillicores: num(get("cpu_millicores")),
    memoryMib: num(get("memory_mib")),
    version: num(get("version")),
    createdAt: num(get("created_at")),
    updatedAt: get("updated_at") === null ? null : num(get("updated_at")),
  };
}

/** Backoff for contended retries: jittered, capped at 50 ms, so racing writers fall out of step quickly. */
function jitter(attempt: number): number {
  return Math.random() * Math.min(50, 2 ** attempt);
}

const OWNER_FIELDS = [
  ["environmentId", "environment"],
  ["regionId", "region"],
  ["workspaceId", "workspace"],
  ["projectId", "project"],
] as const;

/** An id as messages quote it: it comes from a row or a Deployment's labels, so it is untrusted text. */
const quoteId = (text: string): string => quoteUntrusted(text, [], 80);

function describeOwner(owner: Partial<RowOwner>): string {
  return OWNER_FIELDS.filter(([key]) => typeof owner[key] === "string")
    .map(([key, label]) => `${label} ${quoteId(owner[key] as string)}`)
    .join(", ");
}

/**
 * The fields in which a row is not `want`'s, compared byte for byte; what `want` leaves out is not compared.
 * The database's default collations compare case-insensitively and ignore trailing spaces, so a lookup by
 * `env_1` also finds `ENV_1` or `env_1 `, and a lookup by id finds `S_X` for `s_x`: such a row is another's.
 */
export function ownerMismatches(
  row: RowOwner & { readonly id: string },
  want: Partial<RowOwner> & { readonly id?: string },
): string[] {
  const fields = OWNER_FIELDS.filter(([key]) => typeof want[key] === "string" && row[key] !== want[key]).map(
    ([, label]) => label,
  );
  return typeof want.id === "string" && row.id !== want.id ? ["id", ...fields] : fields;
}

/**
 * Refuses `action` on a row that is not `want`'s (ownerMismatches): the error names both owners, quoted and
 * bounded, and says that nothing was changed. Never adopt, update or delete another's row on our behalf.
 */
export function assertSameIds(
  row: RowOwner & { readonly id: string },
  want: Partial<RowOwner> & { readonly id?: string },
  action = "adopting it",
): void {
  const differs = ownerMismatches(row, want);
  if (differs.length === 0) return;
  const wanted =
    typeof want.id === "string" ? `${quoteId(want.id)}, ${describeOwner(want)}` : describeOwner(want);
  throw new Error(
    `sentinel row ${quoteId(row.id)} belongs to ${describeOwner(row)}, not to this sentinel (${wanted}): ` +
      `they differ in ${differs.join(", ")}, compared byte for byte (the database's collation also matches ` +
      `ids that differ only in case or trailing spaces), so ${action} is refused and nothing was changed. ` +
      "If the ids in sentinel-fleet:environments or regions are wrong, fix them; if the row was changed out of " +
      "band, restore it; if it now rightly belongs to the other, leave it and remove this sentinel's record " +
      "from the stack's state (`pulumi state delete`)",
  );
}

/**
 * Why the program could not use a row's k8s_name and k8s_address as Kubernetes names: the name is the
 * Deployment's, the Service's (an RFC 1035 label) and the PodDisruptionBudget's; the address is the Service's
 * DNS name and a port.
 */
export function kubernetesNameProblems(row: {
  readonly k8sName: string;
  readonly k8sAddress: string;
}): string[] {
  const problems: string[] = [];
  if (row.k8sName.length > 63 || !RFC1035_LABEL.test(row.k8sName)) {
    problems.push(
      `k8s_name ${quoteId(row.k8sName)} is not an RFC 1035 label (at most 63 lowercase letters, digits and '-', ` +
        "starting with a letter and ending with a letter or digit), which the sentinel's Service must be named",
    );
  }
  const address = /^([^:]*):([0-9]{1,5})$/.exec(row.k8sAddress);
  const port = Number(address?.[2]);
  const host = address?.[1] ?? "";
  const labels = host.split(".");
  if (!DNS_SUBDOMAIN.test(host) || labels.some((l) => l.length > 63) || !(port >= 1 && port <= 65535)) {
    problems.push(
      `k8s_address ${quoteId(row.k8sAddress)} is not a Service's DNS name and a port ` +
        "(<k8s_name>.<namespace>.svc.cluster.local:8040)",
    );
  }
  return problems;
}

/**
 * A row this sentinel may adopt: `want`'s (assertSameIds), with names the program can give its Kubernetes
 * objects; otherwise the adoption fails now, naming the row, instead of later at the API server.
 */
export function assertAdoptable(row: SentinelRow, want: Partial<RowOwner>): void {
  assertSameIds(row, want);
  const problems = kubernetesNameProblems(row);
  if (problems.length > 0) {
    throw new Error(
      `sentinel row ${quoteId(row.id)} of ${describeOwner(row)} cannot be adopted: ${problems.join("; ")}. ` +
        "Nothing was changed; correct the row (or delete it, so that a new one is created) and run again",
    );
  }
}

function unknownRegion(regionId: string): Error {
  return new Error(
    `region ${quoteId(regionId)} does not exist in the platform's regions table; ` +
      `add it there (or fix sentinel-fleet:regions[].id) before creating sentinels in it`,
  );
}

function regionCaseClash(declared: string, stored: string): Error {
  return new Error(
    `region ${quoteId(declared)} matches the platform's region ${quoteId(stored)} only under the ` +
      "database's case-insensitive collation; use the region id exactly as the regions table spells it",
  );
}

/** LOOKUP_SQL's answer; null when the region does not exist. */
interface Lookup {
  readonly regionKey: string;
  readonly row: SentinelRow | null;
  /**
   * The region's highest version when the lookup ran (0: none), as the driver returned it (a string beyond
   * 2^53): where the insert starts reading the region's versions.
   */
  readonly versionFloor: number | string;
}

async function lookup(conn: Queryable, environmentId: string, regionId: string): Promise<Lookup | null> {
  const [rows] = await conn.query(LOOKUP_SQL, [environmentId, regionId]);
  const first = (rows as Record<string, unknown>[])[0];
  if (first === undefined) return null;
  const floor = first.max_version;
  return {
    regionKey: String(first.region_key),
    row: first.id === null ? null : toRow(first),
    versionFloor: typeof floor === "number" || typeof floor === "string" ? floor : 0,
  };
}

function needsConvergence(row: SentinelRow, want: MutableColumns): boolean {
  return (
    row.environmentId !== want.environmentId ||
    row.regionId !== want.regionId ||
    row.workspaceId !== want.workspaceId ||
    row.projectId !== want.projectId ||
    row.image !== want.image ||
    row.desiredReplicas !== want.desiredReplicas ||
    row.cpuMillicores !== want.cpuMillicores ||
    row.memoryMib !== want.memoryMib ||
    row.k8sAddress !== want.k8sAddress
  );
}

/** Inserts with a version allocated under the region's lock; null when the region vanished meanwhile. */
async function insertRow(
  conn: Queryable,
  want: DesiredSentinel,
  createdAt: number,
  versionFloor: number | string,
): Promise<SentinelRow | null> {
  const [result] = await conn.query(INSERT_SELECT_SQL, [
    want.sentinelId,
    want.workspaceId,
    want.projectId,
    want.environmentId,
    want.k8sName,
    want.k8sAddress,
    want.regionId,
    want.image,
    want.desiredReplicas,
    want.cpuMillicores,
    want.memoryMib,
    versionFloor,
    createdAt,
    versionFloor,
    want.regionId,
  ]);
  if ((result as { affectedRows: number }).affectedRows !== 1) return null;
  // The version was computed by the server, and a lenient sql_mode may have coerced a value: the row as stored.
  return readSentinel(conn, want.sentinelId);
}

/**
 * Ensures exactly one row for (environment, region): one round trip when the row is already there (the
 * lookup), three when it is new (the lookup, the insert from the version the lookup saw, the stored row).
 * Under concurrency the unique keys arbitrate: a duplicate means another writer won (its row is adopted on the
 * next lookup) or, when the environment still has no row, that the proposed id, k8s_name or k8s_address is
 * another row's, which retrying cannot fix. A row whose ids equal ours only under the collation is never
 * adopted.
 */
export async function ensureSentinel(
  conn: Queryable,
  want: DesiredSentinel,
  options: RetryOptions = DEFAULT_RETRY,
): Promise<EnsureResult> {
  for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
    const found = await lookup(conn, want.environmentId, want.regionId);
    if (found === null) throw unknownRegion(want.regionId);
    if (found.regionKey !== want.regionId) throw regionCaseClash(want.regionId, found.regionKey);
    if (found.row === null) {
      let row: SentinelRow | null;
      try {
        row = await insertRow(conn, want, options.now(), found.versionFloor);
      } catch (err) {
        if (isDeadlock(err)) {
          await options.sleep(jitter(attempt));
          continue;
        }
        if (errno(err) !== ER_DUP_ENTRY) throw err;
        const again = await lookup(conn, want.environmentId, want.regionId);
        if (again !== null && again.row === null) {
          const [clash] = await conn.query(CLASH_SQL, [want.sentinelId, want.k8sName, want.k8sAddress]);
          if ((clash as unknown[]).length > 0) {
            throw new Error(
              `cannot insert sentinel ${want.sentinelId} (k8s_name ${want.k8sName}) for environment ` +
                `${want.environmentId} in region ${want.regionId}: its id, k8s_name or k8s_address is already ` +
                `used by another row`,
            );
          }
        }
        // Another writer's row (adopted next time round), or a version a writer outside the lock took.
        await options.sleep(jitter(attempt));
        continue;
      }
      if (row === null) continue; // the region was deleted meanwhile (the next lookup says so), or the row
      assertSameIds(row, want);
      return { row, outcome: "inserted", attempts: attempt };
    }
    assertAdoptable(found.row, want);
    // Adopt: the existing row keeps its id, k8s_name and version; its sizing converges to the declaration.
    const columns: MutableColumns = {
      environmentId: found.row.environmentId,
      regionId: found.row.regionId,
      workspaceId: want.workspaceId,
      projectId: want.projectId,
      image: want.image,
      desiredReplicas: want.desiredReplicas,
      cpuMillicores: want.cpuMillicores,
      memoryMib: want.memoryMib,
      k8sAddress: rebaseAddress(found.row.k8sName, want.k8sAddress),
    };
    if (!needsConvergence(found.row, columns))
      return { row: found.row, outcome: "adopted", attempts: attempt };
    if (!("transaction" in conn))
      throw new Error("converging an adopted row needs a transactional connection");
    const row = await updateSentinel(conn as Transactional, found.row.id, found.row, columns, options);
    return { row, outcome: "converged", attempts: attempt };
  }
  throw new Error(
    `gave up ensuring the sentinel of environment ${want.environmentId} in region ${want.regionId} after ` +
      `${options.maxAttempts} contended attempts`,
  );
}

/**
 * The environment's row in the region, as an adoption would take it (one plain read, no locks); null when there
 * is none. A row that is not `want`'s byte for byte (the collation finds case variants), or whose names the
 * program could not use, is refused, as ensureSentinel refuses it.
 */
export async function findSentinel(
  conn: Queryable,
  want: Partial<RowOwner> & { readonly environmentId: string; readonly regionId: string },
): Promise<SentinelRow | null> {
  const found = await lookup(conn, want.environmentId, want.regionId);
  if (found === null) throw unknownRegion(want.regionId);
  if (found.regionKey !== want.regionId) throw regionCaseClash(want.regionId, found.regionKey);
  if (found.row !== null) assertAdoptable(found.row, want);
  return found.row;
}

/** An adopted row keeps its own k8s_name; only the namespace part of its address follows the declaration. */
export function rebaseAddress(k8sName: string, proposedAddress: string): string {
  const [, ...rest] = proposedAddress.split(".");
  return [k8sName, ...rest].join(".");
}

function rowGone(id: string): Error {
  return new Error(
    `sentinel row ${quoteId(id)} no longer exists in the platform database (deleted out of band?); ` +
      "run `pulumi refresh` so the next `pulumi up` recreates it",
  );
}

/** Where a versioned write leaves the row, and what it is about, for messages. */
interface VersionedWrite {
  readonly id: string;
  /** Whose the row must be before the write. */
  readonly owner: RowOwner;
  /** The row's (environment, region) after the write; the region's lock is the one taken. */
  readonly target: { readonly environmentId: string; readonly regionId: string };
  /** What is refused when the row is not the owner's ("updating it"). */
  readonly action: string;
}

/**
 * One versioned change of a row, in a short transaction: lock the region the row is in after the write (so
 * the version is allocated where the row will be), lock the row and compare it with its expected owner, byte
 * for byte; when the write moves the row, make sure its new (environment, region) is free; read the region's
 * highest version and the clock, write the row with the next version, read it back, commit (7 round trips
 * with START and COMMIT, 8 for a move; updates are rare, and the locks are what keep versions in commit
 * order and the row the owner's). Deadlocks are retried; a missing row, or another's, is an error and
 * nothing is written.
 */
async function versionedUpdate(
  conn: Transactional,
  what: VersionedWrite,
  write: (tx: Queryable, version: number) => Promise<number>,
  options: RetryOptions,
): Promise<SentinelRow> {
  const { id, owner, target } = what;
  const moves = target.environmentId !== owner.environmentId || target.regionId !== owner.regionId;
  for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
    try {
      return await conn.transaction(async (tx) => {
        const [locked] = await tx.query(LOCK_REGION_SQL, [target.regionId]);
        const region = (locked as Record<string, unknown>[])[0];
        if (region === undefined) throw unknownRegion(target.regionId);
        if (String(region.region_key) !== target.regionId) {
          throw regionCaseClash(target.regionId, String(region.region_key));
        }
        const [current] = await tx.query(LOCK_ROW_SQL, [id]);
        const before = (current as Record<string, unknown>[])[0];
        if (before === undefined) throw rowGone(id);
        assertSameIds(toRow(before), { id, ...owner }, what.action);
        if (moves) {
          const [taken] = await tx.query(PAIR_TAKEN_SQL, [target.environmentId, target.regionId, id]);
          const other = (taken as Record<string, unknown>[])[0];
          if (other !== undefined) {
            throw new Error(
              `sentinel row ${quoteId(id)} cannot move to environment ${quoteId(target.environmentId)} in region ` +
                `${quoteId(target.regionId)}: row ${quoteId(String(other.id))} is already there; nothing was changed`,
            );
          }
        }
        const [max] = await tx.query(MAX_VERSION_SQL, [target.regionId]);
        const highest = (max as Record<string, unknown>[])[0];
        const version = Math.max(num(highest.max_version) + 1, num(highest.now_us));
        const affected = await write(tx, version);
        const [rows] = await tx.query(SELECT_BY_ID_SQL, [id]);
        const list = rows as Record<string, unknown>[];
        if (affected === 0 || list.length === 0) throw rowGone(id);
        return toRow(list[0]);
      });
    } catch (err) {
      if (!isDeadlock(err) && errno(err) !== ER_DUP_ENTRY) throw err;
      await options.sleep(jitter(attempt));
    }
  }
  throw new Error(`gave up updating sentinel ${quoteId(id)} after ${options.maxAttempts} contended attempts`);
}

/**
 * Writes the mutable columns, `updated_at` and the next version of the region the row is in afterwards, once
 * the row, locked, is found to be `owner`'s.
 */
export async function updateSentinel(
  conn: Transactional,
  id: string,
  owner: RowOwner,
  columns: MutableColumns,
  options: RetryOptions = DEFAULT_RETRY,
): Promise<SentinelRow> {
  const target = { environmentId: columns.environmentId, regionId: columns.regionId };
  return versionedUpdate(
    conn,
    { id, owner, target, action: "updating it" },
    async (tx, version) => {
      const [result] = await tx.query(UPDATE_SQL, [
        columns.environmentId,
        columns.regionId,
        columns.workspaceId,
        columns.projectId,
        columns.image,
        columns.desiredReplicas,
        columns.cpuMillicores,
        columns.memoryMib,
        columns.k8sAddress,
        version,
        options.now(),
        id,
      ]);
      return (result as { affectedRows: number }).affectedRows;
    },
    options,
  );
}

/** spec section 7: healthy when any replica is available, paused when none is desired, else unhealthy. */
export type Health = "healthy" | "paused" | "unhealthy";

export function healthOf(desiredReplicas: number, availableReplicas: number): Health {
  if (availableReplicas > 0) return "healthy";
  if (desiredReplicas === 0) return "paused";
  return "unhealthy";
}

export interface HealthWrite {
  readonly row: SentinelRow;
  /** False when the row already said so (nothing written, no new version). */
  readonly written: boolean;
}

/**
 * Writes what a rollout observed into the row (available_replicas, health) with the region's next version.
 * A row that already says exactly that is left alone: a version marks a change. The row must be this
 * sentinel's, byte for byte.
 */
export async function recordSentinelHealth(
  conn: Transactional,
  want: RowOwner & { readonly id: string },
  availableReplicas: number,
  health: Health,
  options: RetryOptions = DEFAULT_RETRY,
): Promise<HealthWrite> {
  const action = "recording its health";
  const current = await readSentinel(conn, want.id);
  if (current === null) {
    throw new Error(
      `sentinel row ${quoteId(want.id)} does not exist in the platform database; its health was not recorded`,
    );
  }
  // Checked here so that a row that is not ours is refused without taking its region's lock; the write
  // checks again, under the row's lock.
  assertSameIds(current, want, action);
  if (current.availableReplicas === availableReplicas && current.health === health) {
    return { row: current, written: false };
  }
  const owner: RowOwner = {
    environmentId: want.environmentId,
    regionId: want.regionId,
    workspaceId: want.workspaceId,
    projectId: want.projectId,
  };
  const row = await versionedUpdate(
    conn,
    { id: want.id, owner, target: owner, action },
    async (tx, version) => {
      const [result] = await tx.query(UPDATE_HEALTH_SQL, [
        availableReplicas,
        health,
        version,
        options.now(),
        want.id,
      ]);
      return (result as { affectedRows: number }).affectedRows;
    },
    options,
  );
  return { row, written: true };
}

export async function readSentinel(conn: Queryable, id: string): Promise<SentinelRow | null> {
  const [rows] = await conn.query(SELECT_BY_ID_SQL, [id]);
  const list = rows as Record<string, unknown>[];
  return list.length === 0 ? null : toRow(list[0]);
}

/**
 * Deletes the row once, locked, it is found to be `owner`'s; a row that is already gone is success. Returns
 * whether a row was deleted. One short transaction (4 round trips): the lock keeps the row from changing hands
 * between the comparison and the delete.
 */
export async function deleteSentinel(
  conn: Transactional,
  id: string,
  owner: RowOwner,
  options: RetryOptions = DEFAULT_RETRY,
): Promise<boolean> {
  for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
    try {
      return await conn.transaction(async (tx) => {
        const [current] = await tx.query(LOCK_ROW_SQL, [id]);
        const row = (current as Record<string, unknown>[])[0];
        if (row === undefined) return false;
        assertSameIds(toRow(row), { id, ...owner }, "deleting it");
        const [result] = await tx.query(DELETE_SQL, [id]);
        return (result as { affectedRows: number }).affectedRows > 0;
      });
    } catch (err) {
      if (!isDeadlock(err)) throw err;
      await options.sleep(jitter(attempt));
    }
  }
  throw new Error(`gave up deleting sentinel ${quoteId(id)} after ${options.maxAttempts} contended attempts`);
}
