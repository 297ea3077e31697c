// ensureSentinels as plain functions over one connection. Every write is a single autocommitted statement,
// so a failure at any point leaves nothing half-written. Values always travel as `?` parameters.
//
// A round trip costs more than a statement, and a statement that opens a table costs more than one that does
// not (measured on loopback here: about 0.1 ms a round trip, 0.05-0.1 ms of server time per table a statement
// opens; from a CI runner to a platform database a round trip is milliseconds). So ensuring a sentinel is one
// batch of two statements in one round trip (the connection allows multiple statements; every value is still
// a `?`), and the second statement reads no table.
//
// Why `query` and not `execute`: mysql2's `execute` prepares each statement on the server first, which is one
// more round trip per statement on the fresh connection each provider method opens. `query` with `?`
// placeholders has the driver escape the values (the same interpolation the sentinel's own Go driver uses
// with interpolateParams=true), so the SQL text never contains caller-built strings.
import { ROWS } from "../lib/constants";

/** The part of a mysql2 connection these functions use; a mysql2 `Connection` or `Pool` satisfies it. */
export interface Queryable {
  query(sql: string, values?: unknown[]): Promise<[unknown, unknown]>;
}

/**
 * The columns of a `sentinels` row this program reads, camel-cased. desired_state, health and
 * available_replicas belong to the platform's control loop: written once on insert, never read back here.
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

/** The columns an in-place update may change. */
export interface MutableColumns {
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
  readonly maxAttempts: number;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export const DEFAULT_RETRY: RetryOptions = {
  maxAttempts: 200,
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

const COLUMNS =
  "id, workspace_id, project_id, environment_id, k8s_name, k8s_address, region_id, image, desired_state, " +
  "health, desired_replicas, available_replicas, cpu_millicores, memory_mib, version, created_at, updated_at";

/** What SentinelRow holds; every column a statement does not select is server work for nothing. */
const READ_COLUMNS =
  "id, workspace_id, project_id, environment_id, k8s_name, k8s_address, region_id, image, desired_replicas, " +
  "cpu_millicores, memory_mib, version, created_at, updated_at";

const ROW_COLUMNS = READ_COLUMNS.split(", ")
  .map((c) => `s.${c}`)
  .join(", ");

// One round trip answers three questions: does the region exist, is there already a row for
// (environment, region), and which version comes next in the region. Used after a lost race.
export const LOOKUP_SQL =
  "SELECT r.id AS region_found, " +
  "(SELECT COALESCE(MAX(v.version), 0) FROM sentinels v WHERE v.region_id = r.id) AS max_version, " +
  ROW_COLUMNS +
  " FROM regions r LEFT JOIN sentinels s ON s.environment_id = ? AND s.region_id = r.id WHERE r.id = ?";

/** The INSERT of ENSURE_SQL with the version as a parameter: the bare loop `npm run bench:db` compares with. */
export const INSERT_SQL =
  `INSERT INTO sentinels (${COLUMNS}) ` +
  `VALUES (?, ?, ?, ?, ?, ?, ?, ?, '${ROWS.initialDesiredState}', '${ROWS.initialHealth}', ?, 0, ?, ?, ?, ?, NULL)`;

/**
 * ensureSentinel in one round trip, as two statements:
 * 1. the lookup, a plain consistent read (no locks): the region, the environment's existing row, and the next
 *    version of the region, which it also hands to the INSERT through `LAST_INSERT_ID(expr)` — MySQL's and
 *    MariaDB's documented per-connection carrier ("to simulate sequences"), set on every run because the
 *    lookup always yields exactly one row: the next version when there is something to insert, else 0;
 * 2. the INSERT with that version, only when it is positive. It reads no table, so it takes no locks but the
 *    inserted row's own: concurrent writers are arbitrated by the unique keys, never by lock waits or
 *    deadlocks. `LAST_INSERT_ID()` inside it is still the lookup's value: a statement's own auto-increment
 *    only shows in the statements after it.
 * The client already knows every column of a row it inserted but the version, which the lookup returned.
 */
export const ENSURE_SQL = [
  "SELECT r.id AS region_found, LAST_INSERT_ID(IF(r.id IS NULL OR s.id IS NOT NULL, 0, " +
    "(SELECT COALESCE(MAX(v.version), 0) FROM sentinels v WHERE v.region_id = r.id) + 1)) AS next_version, " +
    `${ROW_COLUMNS} FROM (SELECT 1 AS one) d LEFT JOIN regions r ON r.id = ? ` +
    "LEFT JOIN sentinels s ON s.environment_id = ? AND s.region_id = r.id",
  `INSERT INTO sentinels (${COLUMNS}) ` +
    `SELECT ?, ?, ?, ?, ?, ?, ?, ?, '${ROWS.initialDesiredState}', '${ROWS.initialHealth}', ?, 0, ?, ?, ` +
    "LAST_INSERT_ID(), ?, NULL FROM DUAL WHERE LAST_INSERT_ID() > 0",
].join("; ");

/**
 * An in-place update in one round trip: the region's next version into the same carrier, the UPDATE with it
 * (an UPDATE generates no auto-increment, so `LAST_INSERT_ID()` stays the version), and the row as it now is.
 */
export const UPDATE_SQL = [
  "SELECT LAST_INSERT_ID(COALESCE(MAX(version), 0) + 1) AS next_version FROM sentinels WHERE region_id = ?",
  "UPDATE sentinels SET workspace_id = ?, project_id = ?, image = ?, desired_replicas = ?, cpu_millicores = ?, " +
    "memory_mib = ?, k8s_address = ?, version = LAST_INSERT_ID(), updated_at = ? WHERE id = ?",
  `SELECT ${READ_COLUMNS} FROM sentinels WHERE id = ?`,
].join("; ");

export const SELECT_BY_ID_SQL = `SELECT ${READ_COLUMNS} FROM sentinels WHERE id = ?`;

export const DELETE_SQL = "DELETE FROM sentinels WHERE id = ?";

const ER_DUP_ENTRY = 1062;
const ER_LOCK_WAIT_TIMEOUT = 1205;
const ER_LOCK_DEADLOCK = 1213;

function errno(err: unknown): number | undefined {
  return (err as { errno?: number }).errno;
}

function isRetryableLockError(err: unknown): boolean {
  const n = errno(err);
  return n === ER_LOCK_DEADLOCK || n === ER_LOCK_WAIT_TIMEOUT;
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

/** LOOKUP_SQL's answer; null when the region does not exist. */
interface Lookup {
  readonly maxVersion: number;
  readonly row: SentinelRow | null;
}

async function lookup(conn: Queryable, environmentId: string, regionId: string): Promise<Lookup | null> {
  const [rows] = await conn.query(LOOKUP_SQL, [environmentId, regionId]);
  const first = (rows as Record<string, unknown>[])[0];
  if (first === undefined || first.region_found === null) return null;
  return { maxVersion: num(first.max_version), row: first.id === null ? null : toRow(first) };
}

/** What one run of ENSURE_SQL found: no region, a row it inserted, a row to adopt, or (a concurrent delete) none. */
type Attempt =
  | { readonly kind: "no-region" }
  | { readonly kind: "inserted"; readonly row: SentinelRow }
  | { readonly kind: "existing"; readonly row: SentinelRow | null };

async function ensureOnce(conn: Queryable, want: DesiredSentinel, createdAt: number): Promise<Attempt> {
  const [results] = await conn.query(ENSURE_SQL, [
    want.regionId,
    want.environmentId,
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
    createdAt,
  ]);
  const [[first], insert] = results as [
    Record<string, unknown>[],
    { affectedRows: number; warningStatus: number },
  ];
  if (first.region_found === null) return { kind: "no-region" };
  if (insert.affectedRows !== 1) return { kind: "existing", row: first.id === null ? null : toRow(first) };
  if (insert.warningStatus > 0) {
    // A server in a lenient sql_mode may have coerced a value: trust the table, not what was sent.
    const found = await lookup(conn, want.environmentId, want.regionId);
    return found?.row ? { kind: "inserted", row: found.row } : { kind: "existing", row: null };
  }
  return {
    kind: "inserted",
    row: {
      id: want.sentinelId,
      workspaceId: want.workspaceId,
      projectId: want.projectId,
      environmentId: want.environmentId,
      k8sName: want.k8sName,
      k8sAddress: want.k8sAddress,
      regionId: want.regionId,
      image: want.image,
      desiredReplicas: want.desiredReplicas,
      cpuMillicores: want.cpuMillicores,
      memoryMib: want.memoryMib,
      version: num(first.next_version),
      createdAt,
      updatedAt: null,
    },
  };
}

function needsConvergence(row: SentinelRow, want: MutableColumns): boolean {
  return (
    row.workspaceId !== want.workspaceId ||
    row.projectId !== want.projectId ||
    row.image !== want.image ||
    row.desiredReplicas !== want.desiredReplicas ||
    row.cpuMillicores !== want.cpuMillicores ||
    row.memoryMib !== want.memoryMib ||
    row.k8sAddress !== want.k8sAddress
  );
}

function unknownRegion(regionId: string): Error {
  return new Error(
    `region ${JSON.stringify(regionId)} does not exist in the platform's regions table; ` +
      `add it there (or fix sentinel-fleet:regions[].id) before creating sentinels in it`,
  );
}

/**
 * Ensures exactly one row for (environment, region): one round trip whether the row is new or already there
 * (ENSURE_SQL). Under concurrency the unique keys arbitrate: a duplicate on (environment_id, region_id) means
 * another writer won and its row is adopted; a duplicate on (region_id, version) means the version was taken
 * and the next one is tried. Both surface as the same error code (the key names of the platform's DDL are not
 * ours to rely on), so after a duplicate the region is looked up again; when nobody has written to the region
 * since the previous duplicate and our row is still not there, the clash is on id, k8s_name or k8s_address,
 * which retrying cannot fix.
 */
export async function ensureSentinel(
  conn: Queryable,
  want: DesiredSentinel,
  options: RetryOptions = DEFAULT_RETRY,
): Promise<EnsureResult> {
  let lastVersionSeen: number | null = null;
  for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
    let found: Attempt;
    try {
      found = await ensureOnce(conn, want, options.now());
    } catch (err) {
      if (isRetryableLockError(err)) {
        await options.sleep(jitter(attempt));
        continue;
      }
      if (errno(err) !== ER_DUP_ENTRY) throw err;
      const after = await lookup(conn, want.environmentId, want.regionId);
      if (after !== null && after.row === null) {
        if (lastVersionSeen === after.maxVersion) {
          throw new Error(
            `cannot insert sentinel ${want.sentinelId} (k8s_name ${want.k8sName}) for environment ` +
              `${want.environmentId} in region ${want.regionId}: its id, k8s_name or k8s_address is already ` +
              `used by another row`,
          );
        }
        lastVersionSeen = after.maxVersion;
        await options.sleep(jitter(attempt));
        continue;
      }
      found = after === null ? { kind: "no-region" } : { kind: "existing", row: after.row };
    }
    if (found.kind === "no-region") throw unknownRegion(want.regionId);
    if (found.kind === "inserted") return { row: found.row, outcome: "inserted", attempts: attempt };
    if (found.row === null) {
      // The row we saw vanished before we could adopt it (deleted concurrently): look again.
      continue;
    }
    // Adopt: the existing row keeps its id, k8s_name and version; its sizing converges to the declaration.
    const columns: MutableColumns = {
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
    const row = await updateSentinel(conn, found.row.id, want.regionId, columns, options);
    return { row, outcome: "converged", attempts: attempt };
  }
  throw new Error(
    `gave up ensuring the sentinel of environment ${want.environmentId} in region ${want.regionId} after ` +
      `${options.maxAttempts} contended attempts`,
  );
}

/** An adopted row keeps its own k8s_name; only the namespace part of its address follows the declaration. */
export function rebaseAddress(k8sName: string, proposedAddress: string): string {
  const [, ...rest] = proposedAddress.split(".");
  return [k8sName, ...rest].join(".");
}

/**
 * Writes the mutable columns, `updated_at`, and the region's next version (spec: the version increases with
 * every change, unique per region), in one round trip (UPDATE_SQL).
 */
export async function updateSentinel(
  conn: Queryable,
  id: string,
  regionId: string,
  columns: MutableColumns,
  options: RetryOptions = DEFAULT_RETRY,
): Promise<SentinelRow> {
  for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
    try {
      const [results] = await conn.query(UPDATE_SQL, [
        regionId,
        columns.workspaceId,
        columns.projectId,
        columns.image,
        columns.desiredReplicas,
        columns.cpuMillicores,
        columns.memoryMib,
        columns.k8sAddress,
        options.now(),
        id,
        id,
      ]);
      const [, update, rows] = results as [unknown, { affectedRows: number }, Record<string, unknown>[]];
      if (update.affectedRows === 0 || rows.length === 0) {
        throw new Error(
          `sentinel row ${id} no longer exists in the platform database (deleted out of band?); ` +
            "run `pulumi refresh` so the next `pulumi up` recreates it",
        );
      }
      return toRow(rows[0]);
    } catch (err) {
      if (errno(err) !== ER_DUP_ENTRY && !isRetryableLockError(err)) throw err;
      await options.sleep(jitter(attempt));
    }
  }
  throw new Error(`gave up updating sentinel ${id} after ${options.maxAttempts} contended attempts`);
}

export async function readSentinel(conn: Queryable, id: string): Promise<SentinelRow | null> {
  const [rows] = await conn.query(SELECT_BY_ID_SQL, [id]);
  const list = rows as Record<string, unknown>[];
  return list.length === 0 ? null : toRow(list[0]);
}

/** Deletes the row; a row that is already gone is success. Returns whether a row was deleted. */
export async function deleteSentinel(conn: Queryable, id: string): Promise<boolean> {
  const [result] = await conn.query(DELETE_SQL, [id]);
  return (result as { affectedRows: number }).affectedRows > 0;
}
