// SentinelRecord: the platform database row of one sentinel, as a Pulumi dynamic resource.
//
// The provider runs in Pulumi's dynamic-provider host, another process, loaded there by the stub every record
// carries as its `__provider` (providers/stub.ts, providers/entry.ts). So: it imports nothing from components/,
// holds no state until configure(), reads its credentials from stack config in configure(), and borrows a
// connection from its process's pool inside each method (providers/connection.ts).
import * as pulumi from "@pulumi/pulumi";
import { SIZING } from "../lib/constants";
import { showValue } from "../lib/redact";
import {
  DATABASE_CA_CERT_CONFIG_KEY,
  DATABASE_CONFIG_KEY,
  DATABASE_PASSWORD_CONFIG_KEY,
  parseConnectionSettings,
  resolveCaCert,
  withDatabase,
  type DatabaseSession,
  type DatabaseTarget,
} from "./connection";
import { proposeIdentity, resolveReplicas, sentinelAddress } from "./identity";
import {
  assertSameIds,
  deleteSentinel,
  ensureSentinel,
  findSentinel,
  readSentinel,
  rebaseAddress,
  updateSentinel,
  type RowOwner,
  type SentinelRow,
} from "./sentinelSql";
import { DYNAMIC_PROVIDER_PACKAGE, DYNAMIC_RESOURCE_TYPE, SENTINEL_RECORD_PROVIDER_STUB } from "./stub";

/** Pulumi's marker for a value not known yet (preview); check and diff must tolerate it anywhere. */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** What one sentinel's row should hold, as the provider receives it (resolved, plain). */
export interface SentinelSpec {
  workspaceId: string;
  projectId: string;
  environmentId: string;
  environmentSlug: string;
  regionId: string;
  namespace: string;
  image: string;
  replicas?: number | null;
  cpuMillicores?: number | null;
  memoryMib?: number | null;
  /** Cutover: check proposes the identity of the row that already exists (regions[].cutover). */
  adoptExisting?: boolean | null;
}

/** The row as a sentinel's Kubernetes objects need it: one value, so the component reads one output. */
export interface SentinelRecordRow {
  sentinelId: string;
  k8sName: string;
  k8sAddress: string;
  desiredReplicas: number;
  image: string;
  cpuMillicores: number;
  memoryMib: number;
  /**
   * When this record was planned as a create (Unix ms, as text), carried over while the record exists; null for
   * records created by releases without it. A record created again after its row was deleted out of band and
   * dropped by a refresh gets a new one, so the sentinel's Deployment, which carries it, changes with it and
   * its hooks record the new row's health (components/sentinel.ts).
   */
  incarnation: string | null;
}

/**
 * The provider's inputs. The spec travels as one property: the SDK turns every top-level property of a
 * resource into an Output with its own promises and captured stacks, which at fleet scale is most of the cost.
 */
export interface SentinelRecordInputs {
  spec: SentinelSpec;
}

/** What check returns: defaults filled, and the proposed identity so previews show real names. */
export interface SentinelRecordCheckedInputs {
  spec: SentinelSpec & { replicas: number | null; cpuMillicores: number; memoryMib: number };
  sentinelId: string;
  k8sName: string;
  k8sAddress: string;
  row: SentinelRecordRow;
}

/** Outputs: the checked inputs with the row's identity and sizing, plus its version and timestamps. */
export interface SentinelRecordOutputs extends SentinelRecordCheckedInputs {
  version: number;
  createdAt: number;
  updatedAt: number | null;
}

/** The resource's arguments, as the program passes them. */
export interface SentinelRecordArgs {
  /** Workspace id (`sentinels.workspace_id`). Required. */
  readonly workspaceId: pulumi.Input<string>;
  /** Project id (`sentinels.project_id`). Required. */
  readonly projectId: pulumi.Input<string>;
  /** Environment id (`sentinels.environment_id`); a change replaces the row. Required. */
  readonly environmentId: pulumi.Input<string>;
  /** Environment slug; `production` defaults replicas to 3, anything else to 1. Required. */
  readonly environmentSlug: pulumi.Input<string>;
  /** The platform's `regions.id`; a change replaces the row. Required. */
  readonly regionId: pulumi.Input<string>;
  /** Namespace the sentinel runs in; part of `k8s_address`. Required. */
  readonly namespace: pulumi.Input<string>;
  /** Container image (`sentinels.image`). Required. */
  readonly image: pulumi.Input<string>;
  /** Replica override. Default: by slug (3 for production, 1 otherwise). */
  readonly replicas?: pulumi.Input<number>;
  /** CPU per pod in millicores. Default: 256. */
  readonly cpuMillicores?: pulumi.Input<number>;
  /** Memory per pod in MiB. Default: 256. */
  readonly memoryMib?: pulumi.Input<number>;
  /**
   * Cutover from the original agent: `check` reads the environment's row in the region, when there is one, and
   * proposes its own id and k8s_name (so previews show the real names, and the adopted identity is stored as
   * the record's inputs by the first `up`). Needs the database in previews. Default: false (the proposal is
   * derived from the environment and region, without the database).
   */
  readonly adoptExisting?: pulumi.Input<boolean>;
}

interface Failure {
  property: string;
  reason: string;
}

const REQUIRED_STRINGS = [
  "workspaceId",
  "projectId",
  "environmentId",
  "environmentSlug",
  "regionId",
  "namespace",
  "image",
] as const;

/** Column widths of the spec's DDL; longer values would fail at insert time, so check says so first. */
const MAX_LENGTH: Record<string, number> = {
  regionId: 255,
  environmentId: 255,
  workspaceId: 255,
  projectId: 255,
  image: 255,
};

const DNS_LABEL = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * Changing one of these moves the sentinel to another row: replace. The identity derives from exactly these,
 * so the replacement is a different row and deleting the old one cannot touch it.
 */
const REPLACE_KEYS = ["environmentId", "regionId"] as const;
/** Changing one of these is an in-place UPDATE of the row. */
const UPDATE_SPEC_KEYS = ["workspaceId", "projectId", "namespace"] as const;
const UPDATE_ROW_KEYS = ["image", "desiredReplicas", "cpuMillicores", "memoryMib"] as const;

const isUnknown = (v: unknown): boolean => v === UNKNOWN;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Validates inputs and fills defaults. Pure and database-free: it runs in every preview, including pull-request
 * previews that cannot reach the database. Unknown inputs are passed through and make what derives from them
 * unknown.
 */
export function checkSentinelRecord(
  olds: Partial<SentinelRecordCheckedInputs>,
  news: Record<string, unknown>,
): { inputs: Record<string, unknown>; failures: Failure[] } {
  const failures: Failure[] = [];
  if (!isRecord(news.spec)) {
    if (!isUnknown(news.spec)) {
      failures.push({ property: "spec", reason: `spec must be an object, got ${showValue(news.spec)}` });
    }
    const unknown = { sentinelId: UNKNOWN, k8sName: UNKNOWN, k8sAddress: UNKNOWN, row: UNKNOWN };
    return { inputs: { ...news, ...unknown }, failures };
  }
  const spec = news.spec;
  for (const key of REQUIRED_STRINGS) {
    const v = spec[key];
    if (isUnknown(v)) continue;
    if (typeof v !== "string" || v.trim() === "") {
      failures.push({
        property: `spec.${key}`,
        reason: `${key} must be a non-empty string, got ${showValue(v)}`,
      });
    } else if (MAX_LENGTH[key] !== undefined && v.length > MAX_LENGTH[key]) {
      failures.push({
        property: `spec.${key}`,
        reason: `${key} must be at most ${MAX_LENGTH[key]} characters, got ${v.length}`,
      });
    }
  }
  if (typeof spec.namespace === "string" && !isUnknown(spec.namespace) && !DNS_LABEL.test(spec.namespace)) {
    failures.push({
      property: "spec.namespace",
      reason: `namespace must be an RFC 1035 label, got ${showValue(spec.namespace)}`,
    });
  }
  const sized = (key: "replicas" | "cpuMillicores" | "memoryMib", min: number, fallback: number | null) => {
    const v = spec[key];
    if (v === undefined || v === null) return fallback;
    if (isUnknown(v)) return UNKNOWN;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min) {
      failures.push({
        property: `spec.${key}`,
        reason: `${key} must be an integer >= ${min}, got ${showValue(v)}`,
      });
      return fallback;
    }
    return v;
  };
  const replicas = sized("replicas", 0, null);
  const cpuMillicores = sized("cpuMillicores", 1, SIZING.cpuMillicores);
  const memoryMib = sized("memoryMib", 1, SIZING.memoryMib);

  const slug = spec.environmentSlug;
  const desiredReplicas =
    isUnknown(replicas) || (replicas === null && isUnknown(slug))
      ? UNKNOWN
      : resolveReplicas(String(slug), replicas as number | null);

  const environmentId = spec.environmentId;
  const regionId = spec.regionId;
  let identity: { sentinelId: string; k8sName: string } | null = null;
  let incarnation: string | null = UNKNOWN;
  if (
    typeof environmentId === "string" &&
    typeof regionId === "string" &&
    !isUnknown(environmentId) &&
    !isUnknown(regionId)
  ) {
    const sameRow = olds.spec?.environmentId === environmentId && olds.spec?.regionId === regionId;
    // A row adopted from outside keeps its own identity; a refresh writes it into the inputs, and it sticks.
    identity =
      sameRow && typeof olds.sentinelId === "string" && typeof olds.k8sName === "string"
        ? { sentinelId: olds.sentinelId, k8sName: olds.k8sName }
        : proposeIdentity(environmentId, regionId);
    incarnation = sameRow ? keptIncarnation(olds.row) : String(Date.now());
  }
  const namespace = spec.namespace;
  const k8sAddress =
    identity !== null && typeof namespace === "string" && !isUnknown(namespace)
      ? sentinelAddress(identity.k8sName, namespace)
      : UNKNOWN;
  const sentinelId = identity?.sentinelId ?? UNKNOWN;
  const k8sName = identity?.k8sName ?? UNKNOWN;

  return {
    inputs: {
      ...news,
      spec: { ...spec, replicas, cpuMillicores, memoryMib },
      sentinelId,
      k8sName,
      k8sAddress,
      row: {
        sentinelId,
        k8sName,
        k8sAddress,
        desiredReplicas,
        image: spec.image,
        cpuMillicores,
        memoryMib,
        incarnation,
      },
    },
    failures,
  };
}

/** The incarnation a record already in the state keeps: its own, or null when an older release made it. */
function keptIncarnation(row: unknown): string | null {
  const kept = isRecord(row) ? row.incarnation : undefined;
  return typeof kept === "string" ? kept : null;
}

/**
 * Checked inputs that take the identity of an existing row (cutover): its id and k8s_name, its address rebased
 * on the declared namespace. Everything else stays as checked; create then adopts exactly that row.
 */
export function withAdoptedIdentity(
  inputs: Record<string, unknown>,
  row: { readonly id: string; readonly k8sName: string },
): Record<string, unknown> {
  const proposedAddress = inputs.k8sAddress;
  const k8sAddress =
    typeof proposedAddress === "string" && !isUnknown(proposedAddress)
      ? rebaseAddress(row.k8sName, proposedAddress)
      : UNKNOWN;
  const identity = { sentinelId: row.id, k8sName: row.k8sName, k8sAddress };
  return { ...inputs, ...identity, row: { ...(inputs.row as Record<string, unknown>), ...identity } };
}

/**
 * Whether check should look the row up: the cutover opt-in, known ids, and no identity recorded for this row
 * yet. Returns what the row must match: the environment and region, and the workspace and project when known.
 */
export function wantsAdoptionLookup(
  olds: Partial<SentinelRecordCheckedInputs>,
  news: Record<string, unknown>,
): (Partial<RowOwner> & { environmentId: string; regionId: string }) | null {
  const spec = news.spec;
  if (!isRecord(spec) || spec.adoptExisting !== true) return null;
  const { environmentId, regionId } = spec;
  if (typeof environmentId !== "string" || typeof regionId !== "string") return null;
  if (isUnknown(environmentId) || isUnknown(regionId)) return null;
  const recorded =
    olds.spec?.environmentId === environmentId &&
    olds.spec?.regionId === regionId &&
    typeof olds.sentinelId === "string";
  if (recorded) return null;
  const known = (v: unknown) => (typeof v === "string" && !isUnknown(v) ? v : undefined);
  return { environmentId, regionId, workspaceId: known(spec.workspaceId), projectId: known(spec.projectId) };
}

/**
 * Whose row a record's state says it has: the ids recorded in its outputs (or checked inputs). Null when the
 * state lacks one (a `get` passes none).
 */
export function recordedOwner(props: { spec?: Partial<SentinelSpec> } | undefined): RowOwner | null {
  const spec = props?.spec;
  if (!isRecord(spec)) return null;
  const { environmentId, regionId, workspaceId, projectId } = spec;
  const ids = [environmentId, regionId, workspaceId, projectId];
  if (!ids.every((v) => typeof v === "string" && !isUnknown(v))) return null;
  return { environmentId, regionId, workspaceId, projectId } as RowOwner;
}

function requireOwner(props: { spec?: Partial<SentinelSpec> } | undefined, id: string): RowOwner {
  const owner = recordedOwner(props);
  if (owner === null) {
    throw new Error(
      `the state of sentinel ${showValue(id)} does not record its environment, region, workspace and ` +
        "project, so its row cannot be checked before it is changed; nothing was changed (`pulumi refresh` " +
        "records them)",
    );
  }
  return owner;
}

/**
 * Replace when the (environment, region) changes, update in place otherwise; unknown values count as changes.
 * Should a replacement ever keep the same row id (an identity carried over from state), the old row must go
 * first: with create-before-delete the create would adopt the row and the delete would then remove it.
 */
export function diffSentinelRecord(
  olds: Partial<SentinelRecordOutputs>,
  news: Partial<SentinelRecordCheckedInputs>,
): { changes: boolean; replaces: string[]; deleteBeforeReplace: boolean } {
  const field = (obj: unknown, key: string): unknown => (isRecord(obj) ? obj[key] : obj);
  const differs = (part: "spec" | "row", key: string) => {
    const next = field(news[part], key);
    return isUnknown(next) || field(olds[part], key) !== next;
  };
  const replaces = REPLACE_KEYS.filter((k) => differs("spec", k)).map((k) => `spec.${k}`);
  const updates = [
    ...UPDATE_SPEC_KEYS.filter((k) => differs("spec", k)),
    ...UPDATE_ROW_KEYS.filter((k) => differs("row", k)),
  ];
  const sameRow = replaces.length > 0 && !isUnknown(news.sentinelId) && news.sentinelId === olds.sentinelId;
  // An adopting create stores the row's own identity in the outputs, but the engine keeps the checked inputs
  // (the proposed identity) as the resource's inputs, and check sees only those; a preview of an update then
  // shows the checked inputs as the outputs (the dynamic-provider host does not support provider previews),
  // i.e. the proposed names: every Kubernetes object of the sentinel would appear renamed. Only a refresh (read
  // returns the adopted identity as inputs) fixes the inputs, so say that instead of previewing a false rename.
  // Without changes the engine keeps the old outputs, and nothing is wrong.
  const stale =
    replaces.length === 0 &&
    updates.length > 0 &&
    typeof olds.sentinelId === "string" &&
    typeof news.sentinelId === "string" &&
    !isUnknown(news.sentinelId) &&
    (news.sentinelId !== olds.sentinelId || news.k8sName !== olds.k8sName);
  if (stale) {
    throw new Error(
      `sentinel ${String(field(news.spec, "environmentId"))} in region ${String(field(news.spec, "regionId"))} ` +
        `adopted an existing row (id ${olds.sentinelId}, k8s_name ${String(olds.k8sName)}), but its inputs still ` +
        `hold the proposed identity (id ${news.sentinelId}, k8s_name ${String(news.k8sName)}): this change would ` +
        "preview as a rename of its Kubernetes objects. Run `pulumi refresh` once (or pass --refresh) to record " +
        'the adopted identity, then preview again (docs/operations.md, "Cutover from the original agent").',
    );
  }
  return { changes: replaces.length + updates.length > 0, replaces, deleteBeforeReplace: sameRow };
}

/** Outputs from checked inputs and the row; `null`, never `undefined` (the provider host rejects it). */
export function recordOutputs(inputs: SentinelRecordCheckedInputs, row: SentinelRow): SentinelRecordOutputs {
  return {
    spec: {
      ...inputs.spec,
      workspaceId: row.workspaceId,
      projectId: row.projectId,
      environmentId: row.environmentId,
      regionId: row.regionId,
      replicas: inputs.spec.replicas ?? null,
    },
    sentinelId: row.id,
    k8sName: row.k8sName,
    k8sAddress: row.k8sAddress,
    row: {
      sentinelId: row.id,
      k8sName: row.k8sName,
      k8sAddress: row.k8sAddress,
      desiredReplicas: row.desiredReplicas,
      image: row.image,
      cpuMillicores: row.cpuMillicores,
      memoryMib: row.memoryMib,
      incarnation: keptIncarnation(inputs.row),
    },
    version: row.version,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

interface Configured {
  target: DatabaseTarget | null;
  problems: string[];
}

/**
 * The provider. `configure` only records what stack config says; a missing or broken database config fails
 * the first method that needs the database, so previews (check/diff) work without database credentials.
 */
export class SentinelRecordProvider implements pulumi.dynamic.ResourceProvider {
  private configured?: Configured;

  configure(req: pulumi.dynamic.ConfigureRequest): Promise<void> {
    const parsed = parseConnectionSettings(req.config.get(DATABASE_CONFIG_KEY));
    const password = req.config.get(DATABASE_PASSWORD_CONFIG_KEY);
    const caSecret = req.config.get(DATABASE_CA_CERT_CONFIG_KEY);
    const problems = parsed.problems.map((p) => `${p.path} ${p.message}`);
    if (typeof password !== "string") problems.push(`${DATABASE_PASSWORD_CONFIG_KEY} is required (a secret)`);
    let caCert: string | null = null;
    if (parsed.settings !== null) {
      try {
        caCert = resolveCaCert(parsed.settings, typeof caSecret === "string" ? caSecret : null);
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    const target =
      parsed.settings === null ? null : { settings: parsed.settings, password: password ?? "", caCert };
    this.configured = { target, problems };
    return Promise.resolve();
  }

  /**
   * Validates and proposes the identity without the database, except during a cutover (`adoptExisting`), where
   * the environment's existing row, if any, lends its identity: previews then show the names the objects
   * really have, and the first `up` stores that identity as the record's inputs, so no later preview shows a
   * rename. Under the mock runtime (synth, tests) the provider is never configured: the proposal stands.
   */
  async check(
    olds: Partial<SentinelRecordCheckedInputs>,
    news: Record<string, unknown>,
  ): Promise<pulumi.dynamic.CheckResult> {
    const checked = checkSentinelRecord(olds, news);
    const lookup = wantsAdoptionLookup(olds, news);
    if (checked.failures.length > 0 || lookup === null || this.configured === undefined) return checked;
    const { environmentId, regionId } = lookup;
    const row = await this.withConnection(
      `cutover lookup of the sentinel of environment ${environmentId} in region ${regionId}`,
      (conn) => findSentinel(conn, lookup),
    );
    return row === null ? checked : { ...checked, inputs: withAdoptedIdentity(checked.inputs, row) };
  }

  diff(
    _id: string,
    olds: SentinelRecordOutputs,
    news: SentinelRecordCheckedInputs,
  ): Promise<pulumi.dynamic.DiffResult> {
    return Promise.resolve(diffSentinelRecord(olds, news));
  }

  async create(inputs: SentinelRecordCheckedInputs): Promise<pulumi.dynamic.CreateResult> {
    const what = `create of the sentinel of environment ${inputs.spec.environmentId} in region ${inputs.spec.regionId}`;
    return this.withConnection(what, async (conn) => {
      const { row } = await ensureSentinel(conn, {
        sentinelId: inputs.sentinelId,
        k8sName: inputs.k8sName,
        k8sAddress: inputs.k8sAddress,
        workspaceId: inputs.spec.workspaceId,
        projectId: inputs.spec.projectId,
        environmentId: inputs.spec.environmentId,
        regionId: inputs.spec.regionId,
        image: inputs.row.image,
        desiredReplicas: inputs.row.desiredReplicas,
        cpuMillicores: inputs.row.cpuMillicores,
        memoryMib: inputs.row.memoryMib,
      });
      return { id: row.id, outs: recordOutputs(inputs, row) };
    });
  }

  /**
   * Refresh. A row that is no longer the record's (another environment, region, workspace or project took it
   * over, or its id changed case) is refused rather than recorded: the state keeps the record's own identity,
   * so neither a later update nor a delete can act on another's row.
   */
  async read(id: string, props: SentinelRecordOutputs): Promise<pulumi.dynamic.ReadResult> {
    return this.withConnection(`read of sentinel ${id}`, async (conn) => {
      const row = await readSentinel(conn, id);
      // An empty id tells the engine the row is gone (deleted out of band), so refresh drops it.
      if (row === null) return { id: "", props: {} };
      const owner = recordedOwner(props);
      if (owner !== null) assertSameIds(row, { id, ...owner }, "recording it in this sentinel's state");
      const {
        version: _version,
        createdAt: _created,
        updatedAt: _updated,
        ...inputs
      } = recordOutputs(props, row);
      return { id: row.id, props: recordOutputs(props, row), inputs };
    });
  }

  async update(
    id: string,
    olds: SentinelRecordOutputs,
    news: SentinelRecordCheckedInputs,
  ): Promise<pulumi.dynamic.UpdateResult> {
    const owner = requireOwner(olds, id);
    return this.withConnection(`update of sentinel ${id}`, async (conn) => {
      const row = await updateSentinel(conn, id, owner, {
        environmentId: news.spec.environmentId,
        regionId: news.spec.regionId,
        workspaceId: news.spec.workspaceId,
        projectId: news.spec.projectId,
        image: news.row.image,
        desiredReplicas: news.row.desiredReplicas,
        cpuMillicores: news.row.cpuMillicores,
        memoryMib: news.row.memoryMib,
        k8sAddress: sentinelAddress(olds.k8sName, news.spec.namespace),
      });
      return { outs: recordOutputs(news, row) };
    });
  }

  async delete(id: string, props: SentinelRecordOutputs): Promise<void> {
    const owner = requireOwner(props, id);
    await this.withConnection(`delete of sentinel ${id}`, (conn) => deleteSentinel(conn, id, owner));
  }

  private async withConnection<T>(
    operation: string,
    work: (conn: DatabaseSession) => Promise<T>,
  ): Promise<T> {
    const cfg = this.configured;
    if (cfg === undefined || cfg.target === null || cfg.problems.length > 0) {
      const problems = cfg === undefined ? ["configure() was not called"] : cfg.problems;
      throw new Error(`the sentinel-fleet database connection is not configured: ${problems.join("; ")}`);
    }
    // The pool lives in this process (the dynamic-provider host), created on first use and shared by every
    // call; withDatabase bounds the whole operation and removes the password from its errors.
    return withDatabase(cfg.target, operation, work);
  }
}

/** The provider for code running in this process (tests, benchmarks); the host loads providers/entry.ts. */
export const sentinelRecordProvider = new SentinelRecordProvider();

/**
 * The `sentinels` row of one (environment, region): a dynamic resource, registered as `pulumi.dynamic.Resource`
 * registers one, with the stub as its provider instead of the provider's serialized code (providers/stub.ts).
 */
export class SentinelRecord extends pulumi.CustomResource {
  declare readonly sentinelId: pulumi.Output<string>;
  declare readonly k8sName: pulumi.Output<string>;
  declare readonly k8sAddress: pulumi.Output<string>;
  declare readonly version: pulumi.Output<number>;
  /** Identity and sizing of the row, as one value. */
  declare readonly row: pulumi.Output<SentinelRecordRow>;

  constructor(name: string, args: SentinelRecordArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      DYNAMIC_RESOURCE_TYPE,
      name,
      {
        __provider: SENTINEL_RECORD_PROVIDER_STUB,
        spec: { ...args },
        sentinelId: undefined,
        k8sName: undefined,
        k8sAddress: undefined,
        version: undefined,
        row: undefined,
      },
      opts,
    );
  }
}

/** What the rows' provider is configured with: the database connection and its secrets, nothing else. */
export interface SentinelRecordsProviderArgs {
  /** `DATABASE_CONFIG_KEY`'s connection part as JSON (`providerConnectionText`). */
  readonly connection: string;
  /** The admin login's password; stored as a secret. */
  readonly password: pulumi.Input<string>;
  /** PEM CA bundle (`databaseCaCert`); stored as a secret. Default: none (`tls.caFile` or Node's roots). */
  readonly caCert?: pulumi.Input<string>;
}

/** The provider's inputs, keyed as stack config keys: `configure()` reads them as it reads the stack's config. */
export function recordsProviderInputs(args: SentinelRecordsProviderArgs): pulumi.Inputs {
  return {
    [DATABASE_CONFIG_KEY]: args.connection,
    [DATABASE_PASSWORD_CONFIG_KEY]: pulumi.secret(args.password),
    ...(args.caCert === undefined ? {} : { [DATABASE_CA_CERT_CONFIG_KEY]: pulumi.secret(args.caCert) }),
  };
}

/**
 * An explicit instance of the dynamic-provider plugin for the rows, configured with the database connection
 * only. The stack's default instance would take the whole stack configuration as its inputs, and those differ
 * between two shards of a region (`shard` at least), so `pulumi state move` could not carry a row from one to
 * the other: it reuses the destination's provider only when the inputs are identical. Rows registered under the
 * default instance move to this one without a replacement (the plugin has no DiffConfig, so the engine diffs
 * each row as usual).
 */
export class SentinelRecordsProvider extends pulumi.ProviderResource {
  constructor(name: string, args: SentinelRecordsProviderArgs, opts?: pulumi.ResourceOptions) {
    super(DYNAMIC_PROVIDER_PACKAGE, name, recordsProviderInputs(args), opts);
  }
}
