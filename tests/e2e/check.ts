// The end-to-end test's assertions. scripts/e2e.sh runs one phase after each Pulumi step; each phase gathers what
// MySQL, the clusters, the Pulumi state and the prewarm receiver hold, and compares it with what the stack file
// asks for. The verdicts are pure functions of the gathered data (tests/e2e.test.ts feeds them wrong states);
// gathering runs kubectl, mysql and pulumi, each with a deadline. Secret values are read only to check their
// shape and never printed: problems name objects and keys.
//
//   node -r ts-node/register/transpile-only tests/e2e/check.ts <phase>
//   phases: regions-sql | up | image | refresh | recreated | destroy
//   env: E2E_WORK (snapshots, the receiver's log), E2E_MYSQL_DEFAULTS (a mysql --defaults-extra-file),
//        E2E_STACK (default e2e), E2E_STACK_FILE (default Pulumi.e2e.yaml), E2E_DELETED_ID (refresh, recreated)
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { format } from "mysql2";
import { parseFleetConfig, type FleetConfig } from "../../lib/config";
import { ENV_VARS, LABELS, PORTS, PROJECT } from "../../lib/constants";
import { environmentObjectName, sentinelDbLogin, sentinelDbUser } from "../../lib/names";
import type { PrewarmBody } from "../../lib/prewarm";
import { proposeIdentity, resolveReplicas, sentinelAddress } from "../../providers/identity";
import { SENTINEL_COLUMNS } from "../support/sentinelsTable";
import { readCalls, type PrewarmCall } from "./receiver";
import { PROJECT_ROOT } from "../../synth/pulumiProject";
import { loadStackConfig, type PlannedRow } from "../../synth";

/** One sentinel the stack file asks for, with the identity the program proposes for it. */
export interface ExpectedSentinel {
  readonly workspaceId: string;
  readonly projectId: string;
  readonly environmentId: string;
  readonly regionName: string;
  readonly regionId: string;
  readonly kubeContext: string;
  readonly namespace: string;
  readonly sentinelId: string;
  readonly k8sName: string;
  readonly address: string;
  readonly replicas: number;
  readonly image: string;
  readonly cpuMillicores: number;
  readonly memoryMib: number;
}

/**
 * A `sentinels` row as the check query returns it: the row synth plans, with the version the database
 * allocated; available_replicas and health are written back by the health hook once the rollout converged.
 */
export type SentinelRow = Omit<PlannedRow, "desired_state" | "version"> & { readonly version: number };

/** The parts of a Kubernetes object the checks read. */
export interface KubeObject {
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly labels?: Record<string, string>;
    readonly generation?: number;
    readonly deletionTimestamp?: string;
  };
  readonly spec?: any;
  readonly status?: any;
  readonly data?: Record<string, string>;
  readonly endpoints?: any[];
  readonly ports?: any[];
}

/** What one region's cluster holds in the sentinel namespace. */
export interface ClusterState {
  readonly region: string;
  /** The namespace object, null when it does not exist. */
  readonly namespace: KubeObject | null;
  /** Deployments, Services, PodDisruptionBudgets, Secrets, EndpointSlices and Pods of the namespace. */
  readonly objects: readonly KubeObject[];
  readonly nodes: readonly KubeObject[];
}

/** The columns of a SentinelRow: the table's, but the key, the desired state and the timestamps. */
const SQL_COLUMNS = SENTINEL_COLUMNS.filter(
  (c) => !["pk", "desired_state", "created_at", "updated_at"].includes(c),
);

/** Every sentinel of the stack: environment × region, in the regions this stack deploys. */
export function expectedSentinels(cfg: FleetConfig): ExpectedSentinel[] {
  const regions = new Map(cfg.regions.map((r) => [r.name, r]));
  return cfg.environments.flatMap((env) =>
    env.regions
      .filter((name) => cfg.deployRegions.includes(name))
      .map((name) => {
        const region = regions.get(name);
        if (region === undefined || region.kubeContext === null) {
          throw new Error(`region ${name} needs a kubeContext in the stack file`);
        }
        const identity = proposeIdentity(env.environmentId, region.id);
        return {
          workspaceId: env.workspaceId,
          projectId: env.projectId,
          environmentId: env.environmentId,
          regionName: name,
          regionId: region.id,
          kubeContext: region.kubeContext,
          namespace: cfg.namespace,
          sentinelId: identity.sentinelId,
          k8sName: identity.k8sName,
          address: sentinelAddress(identity.k8sName, cfg.namespace),
          replicas: resolveReplicas(env.slug, env.replicas),
          image: env.image ?? cfg.image,
          cpuMillicores: env.cpuMillicores ?? 256,
          memoryMib: env.memoryMib ?? 256,
        };
      }),
  );
}

/** JSON with object keys sorted at every level: equal values give equal text whatever their key order. */
export function canonical(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : typeof v === "object" && v !== null
        ? Object.fromEntries(
            Object.entries(v)
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
              .map(([k, x]) => [k, sort(x)]),
          )
        : v;
  return JSON.stringify(sort(value)) ?? "undefined";
}

const where = (s: ExpectedSentinel) => `sentinel ${s.environmentId}/${s.regionName} (${s.k8sName})`;

/**
 * The rows are exactly the expected sentinels, column by column, each with its converged rollout written back
 * by the health hook — a row inserted again after an out-of-band delete too: its new incarnation changed its
 * Deployment, so the hook ran after that update.
 */
export function rowProblems(expected: readonly ExpectedSentinel[], rows: readonly SentinelRow[]): string[] {
  const problems: string[] = [];
  const key = (env: string, region: string) => `${env}\0${region}`;
  const byKey = new Map<string, SentinelRow[]>();
  for (const r of rows) {
    const k = key(r.environment_id, r.region_id);
    byKey.set(k, [...(byKey.get(k) ?? []), r]);
  }
  for (const s of expected) {
    const found = byKey.get(key(s.environmentId, s.regionId)) ?? [];
    if (found.length !== 1) {
      problems.push(`${where(s)}: expected 1 row, found ${found.length}`);
      continue;
    }
    const r = found[0];
    const want: Partial<Record<keyof SentinelRow, string | number>> = {
      id: s.sentinelId,
      workspace_id: s.workspaceId,
      project_id: s.projectId,
      k8s_name: s.k8sName,
      k8s_address: s.address,
      image: s.image,
      desired_replicas: s.replicas,
      cpu_millicores: s.cpuMillicores,
      memory_mib: s.memoryMib,
      // A converged rollout was written back into the row by the health hook.
      available_replicas: s.replicas,
      health: s.replicas === 0 ? "paused" : "healthy",
    };
    for (const [column, value] of Object.entries(want)) {
      const got = r[column as keyof SentinelRow];
      if (got !== value)
        problems.push(`${where(s)}: row ${column} is ${JSON.stringify(got)}, expected ${value}`);
    }
    if (!Number.isInteger(r.version) || r.version < 1) problems.push(`${where(s)}: row version ${r.version}`);
  }
  const wanted = new Set(expected.map((s) => key(s.environmentId, s.regionId)));
  for (const r of rows) {
    if (!wanted.has(key(r.environment_id, r.region_id)))
      problems.push(`unexpected row ${r.id} (${r.environment_id}/${r.region_id})`);
  }
  return problems;
}

/**
 * The row deleted out of band and inserted again: a version above every version its region had before the
 * delete (versions never go back, nor come back).
 */
export function reinsertedProblems(
  before: readonly SentinelRow[],
  after: readonly SentinelRow[],
  id: string,
): string[] {
  const old = before.find((r) => r.id === id);
  const now = after.find((r) => r.id === id);
  if (old === undefined) return [`row ${id}: not among the rows before it was deleted`];
  if (now === undefined) return [`row ${id}: not inserted again`];
  const highest = Math.max(...before.filter((r) => r.region_id === old.region_id).map((r) => r.version));
  return now.version > highest
    ? []
    : [
        `row ${id}: version ${now.version} once inserted again, expected above ${highest} (its region's highest before)`,
      ];
}

/** Every row's version went up (an update takes the region's next version), and nothing else changed identity. */
export function versionProblems(before: readonly SentinelRow[], after: readonly SentinelRow[]): string[] {
  const problems: string[] = [];
  const old = new Map(before.map((r) => [r.id, r]));
  for (const r of after) {
    const o = old.get(r.id);
    if (o === undefined)
      problems.push(`row ${r.id}: not there before the update (replaced instead of updated?)`);
    else if (!(r.version > o.version))
      problems.push(`row ${r.id}: version ${o.version} -> ${r.version}, expected higher`);
  }
  if (after.length !== before.length)
    problems.push(`${before.length} rows before the update, ${after.length} after`);
  return problems;
}

/** The stack output `sentinels` (environment → region → identity) names every expected sentinel, and only those. */
export function outputProblems(expected: readonly ExpectedSentinel[], outputs: unknown): string[] {
  const problems: string[] = [];
  const tree = (outputs ?? {}) as Record<string, Record<string, Record<string, unknown>>>;
  for (const s of expected) {
    const got = tree[s.environmentId]?.[s.regionName];
    const want = { sentinelId: s.sentinelId, k8sName: s.k8sName, address: s.address };
    // `pulumi stack output --json` sorts keys; the comparison must not depend on their order.
    if (canonical(got) !== canonical(want))
      problems.push(`${where(s)}: stack output ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
  }
  const count = Object.values(tree).reduce((n, regions) => n + Object.keys(regions ?? {}).length, 0);
  if (count !== expected.length)
    problems.push(`stack output has ${count} sentinels, expected ${expected.length}`);
  return problems;
}

const ofKind = (state: ClusterState, kind: string) =>
  state.objects.filter((o) => o.kind === kind && o.metadata.deletionTimestamp === undefined);
const named = (state: ClusterState, kind: string, name: string) =>
  ofKind(state, kind).find((o) => o.metadata.name === name);
const isTrue = (conditions: any[] | undefined, type: string) =>
  (conditions ?? []).some((c) => c.type === type && c.status === "True");
const decode = (value: string | undefined) => Buffer.from(value ?? "", "base64").toString("utf8");

/** The Secret each environment has in a region (one, with every key the pods read). */
export function expectedSecrets(environmentId: string): Record<string, string[]> {
  return {
    [environmentObjectName("env", environmentId)]: [
      ENV_VARS.databasePrimary,
      ENV_VARS.databaseReplica,
      ENV_VARS.clickhouseUrl,
      ENV_VARS.redisUrl,
    ].sort(),
  };
}

/**
 * One region's cluster after a converged `pulumi up`: per sentinel the Deployment rolled out to the expected image
 * (every replica updated, available and ready, no old pods left), its pods on sentinel nodes only, the Service
 * on 8040 with a ready endpoint per replica, the PDB allowing one disruption; per environment the Secrets with
 * their keys and the gossip Service; nothing managed by the program that the stack does not ask for.
 */
export function clusterProblems(
  expected: readonly ExpectedSentinel[],
  state: ClusterState,
  nodeClass: { key: string; value: string },
): string[] {
  const problems: string[] = [];
  const at = (s: string) => `${state.region}: ${s}`;
  if (state.namespace === null) return [at("the namespace does not exist")];
  const sentinelNodes = new Set(
    state.nodes
      .filter((n) => n.metadata.labels?.[nodeClass.key] === nodeClass.value)
      .map((n) => n.metadata.name),
  );
  if (sentinelNodes.size === 0) problems.push(at(`no node is labelled ${nodeClass.key}=${nodeClass.value}`));
  // Without the taint the test would not show that the pods tolerate it.
  for (const n of state.nodes.filter((x) => sentinelNodes.has(x.metadata.name))) {
    const tainted = ((n.spec?.taints ?? []) as any[]).some(
      (t) => t.key === nodeClass.key && t.value === nodeClass.value && t.effect === "NoSchedule",
    );
    if (!tainted)
      problems.push(
        at(`node ${n.metadata.name} lacks the taint ${nodeClass.key}=${nodeClass.value}:NoSchedule`),
      );
  }

  for (const s of expected) {
    const w = at(where(s));
    const d = named(state, "Deployment", s.k8sName);
    if (d === undefined) {
      problems.push(`${w}: no Deployment`);
    } else {
      const st = d.status ?? {};
      if (d.metadata.labels?.[LABELS.sentinelId] !== s.sentinelId)
        problems.push(`${w}: Deployment's sentinel id label`);
      if (d.spec?.replicas !== s.replicas)
        problems.push(`${w}: Deployment replicas ${d.spec?.replicas}, expected ${s.replicas}`);
      const image = d.spec?.template?.spec?.containers?.[0]?.image;
      if (image !== s.image) problems.push(`${w}: Deployment image ${image}, expected ${s.image}`);
      if (!((st.observedGeneration ?? 0) >= (d.metadata.generation ?? 1)))
        problems.push(`${w}: rollout not observed yet`);
      for (const field of ["replicas", "updatedReplicas", "readyReplicas", "availableReplicas"]) {
        if ((st[field] ?? 0) !== s.replicas)
          problems.push(`${w}: Deployment status.${field} ${st[field] ?? 0}, expected ${s.replicas}`);
      }
      if (!isTrue(st.conditions, "Available")) problems.push(`${w}: Deployment not Available`);
    }

    const pods = ofKind(state, "Pod").filter((p) => p.metadata.labels?.[LABELS.sentinelId] === s.sentinelId);
    if (pods.length !== s.replicas) problems.push(`${w}: ${pods.length} pods, expected ${s.replicas}`);
    for (const p of pods) {
      const node = p.spec?.nodeName;
      if (!sentinelNodes.has(node))
        problems.push(`${w}: pod ${p.metadata.name} on node ${node}, not a sentinel node`);
      if (!isTrue(p.status?.conditions, "Ready")) problems.push(`${w}: pod ${p.metadata.name} not Ready`);
      const image = p.spec?.containers?.[0]?.image;
      if (image !== s.image) problems.push(`${w}: pod ${p.metadata.name} runs ${image}, expected ${s.image}`);
    }

    const svc = named(state, "Service", s.k8sName);
    if (svc === undefined) {
      problems.push(`${w}: no Service`);
    } else {
      const port = (svc.spec?.ports ?? []).find((p: any) => p.port === PORTS.http);
      if (svc.spec?.type !== "ClusterIP" || port === undefined || port.targetPort !== PORTS.http)
        problems.push(`${w}: Service is not ClusterIP ${PORTS.http} -> ${PORTS.http}`);
      if (svc.spec?.selector?.[LABELS.sentinelId] !== s.sentinelId) problems.push(`${w}: Service selector`);
    }
    const slices = ofKind(state, "EndpointSlice").filter(
      (e) => e.metadata.labels?.["kubernetes.io/service-name"] === s.k8sName,
    );
    const ready = slices.flatMap((e) => e.endpoints ?? []).filter((e) => e.conditions?.ready === true);
    if (ready.length !== s.replicas)
      problems.push(`${w}: Service has ${ready.length} ready endpoints, expected ${s.replicas}`);
    if (!slices.every((e) => (e.ports ?? []).some((p: any) => p.port === PORTS.http)))
      problems.push(`${w}: an EndpointSlice lacks port ${PORTS.http}`);

    const pdb = named(state, "PodDisruptionBudget", s.k8sName);
    if (pdb === undefined) {
      problems.push(`${w}: no PodDisruptionBudget`);
    } else {
      if (pdb.spec?.maxUnavailable !== 1 || pdb.spec?.minAvailable !== undefined)
        problems.push(`${w}: PDB must be maxUnavailable 1 without minAvailable`);
      if (pdb.spec?.unhealthyPodEvictionPolicy !== "AlwaysAllow")
        problems.push(`${w}: PDB unhealthyPodEvictionPolicy`);
      const ps = pdb.status ?? {};
      if (ps.expectedPods !== s.replicas || ps.currentHealthy !== s.replicas || ps.disruptionsAllowed !== 1)
        problems.push(
          `${w}: PDB status expectedPods ${ps.expectedPods}, currentHealthy ${ps.currentHealthy}, ` +
            `disruptionsAllowed ${ps.disruptionsAllowed}; expected ${s.replicas}, ${s.replicas}, 1`,
        );
    }
  }

  const environments = [...new Set(expected.map((s) => s.environmentId))];
  for (const env of environments) {
    for (const [name, keys] of Object.entries(expectedSecrets(env))) {
      const secret = named(state, "Secret", name);
      if (secret === undefined) {
        problems.push(at(`${env}: no Secret ${name}`));
        continue;
      }
      const got = Object.keys(secret.data ?? {}).sort();
      if (JSON.stringify(got) !== JSON.stringify(keys))
        problems.push(at(`${env}: Secret ${name} has keys ${got.join(", ")}, expected ${keys.join(", ")}`));
      for (const k of got)
        if (decode(secret.data?.[k]) === "") problems.push(at(`${env}: Secret ${name} key ${k} is empty`));
    }
    // The DSNs log in as the region's sentinel user (the value itself is never printed).
    const db = named(state, "Secret", environmentObjectName("env", env));
    const user = sentinelDbUser(state.region);
    for (const k of [ENV_VARS.databasePrimary, ENV_VARS.databaseReplica]) {
      if (db !== undefined && !decode(db.data?.[k]).startsWith(`${user}:`))
        problems.push(at(`${env}: Secret ${db.metadata.name} key ${k} is not a DSN of user ${user}`));
    }
    const gossip = named(state, "Service", environmentObjectName("gossip", env));
    if (
      gossip === undefined ||
      gossip.spec?.clusterIP !== "None" ||
      gossip.spec?.publishNotReadyAddresses !== true
    )
      problems.push(at(`${env}: no headless gossip Service publishing not-ready addresses`));
  }

  const wantedNames = new Set([
    ...expected.map((s) => s.k8sName),
    ...environments.flatMap((env) => [
      ...Object.keys(expectedSecrets(env)),
      environmentObjectName("gossip", env),
    ]),
  ]);
  for (const o of managedObjects(state)) {
    if (!wantedNames.has(o.metadata.name)) problems.push(at(`unexpected ${o.kind} ${o.metadata.name}`));
  }
  return problems;
}

function managedObjects(state: ClusterState): KubeObject[] {
  return state.objects.filter(
    (o) =>
      ["Deployment", "Service", "PodDisruptionBudget", "Secret"].includes(o.kind) &&
      o.metadata.labels?.[LABELS.managedBy] === PROJECT &&
      o.metadata.deletionTimestamp === undefined,
  );
}

/** The prewarm request body the hook sends for a sentinel (README, "Router prewarm"). */
export function prewarmBodyOf(s: ExpectedSentinel): PrewarmBody {
  return {
    workspaceId: s.workspaceId,
    projectId: s.projectId,
    environmentId: s.environmentId,
    region: s.regionName,
    sentinelId: s.sentinelId,
    address: s.address,
  };
}

/**
 * Every sentinel's prewarm calls: at least `minCalls` POSTs to its URL with the bearer token and the contract's
 * body (the row's id and address); no call anywhere else.
 */
export function prewarmProblems(
  expected: readonly ExpectedSentinel[],
  calls: readonly PrewarmCall[],
  minCalls: number,
): string[] {
  const problems: string[] = [];
  const pathOf = (s: ExpectedSentinel) => `/prewarm/${s.regionName}/${s.k8sName}`;
  for (const s of expected) {
    const mine = calls.filter((c) => c.path === pathOf(s));
    if (mine.length < minCalls)
      problems.push(`${where(s)}: ${mine.length} prewarm calls, expected at least ${minCalls}`);
    const body = prewarmBodyOf(s);
    for (const c of mine) {
      if (c.method !== "POST") problems.push(`${where(s)}: prewarm call with method ${c.method}`);
      if (!c.authorized) problems.push(`${where(s)}: prewarm call without the bearer token`);
      if (!(c.contentType ?? "").startsWith("application/json"))
        problems.push(`${where(s)}: prewarm content-type`);
      if (canonical(c.body) !== canonical(body))
        problems.push(`${where(s)}: prewarm body ${JSON.stringify(c.body)}`);
    }
  }
  const known = new Set(expected.map(pathOf));
  for (const c of calls) if (!known.has(c.path)) problems.push(`prewarm call to an unknown path ${c.path}`);
  return problems;
}

/** After `pulumi refresh`: the row deleted out of band is gone from the state, every other row still there. */
export function refreshProblems(
  expected: readonly ExpectedSentinel[],
  stateSentinelIds: readonly string[],
  deletedId: string,
): string[] {
  const problems: string[] = [];
  if (stateSentinelIds.includes(deletedId))
    problems.push(`the state still holds the deleted row ${deletedId}`);
  for (const s of expected) {
    if (s.sentinelId !== deletedId && !stateSentinelIds.includes(s.sentinelId))
      problems.push(`${where(s)}: refresh dropped a row that exists`);
  }
  return problems;
}

/** After `pulumi destroy`: no rows, no sentinel logins, and in each cluster the retained namespace alone. */
export function destroyProblems(
  rows: readonly SentinelRow[],
  sentinelUsers: readonly string[],
  clusters: readonly ClusterState[],
): string[] {
  const problems: string[] = [];
  if (rows.length > 0)
    problems.push(`${rows.length} sentinels rows left: ${rows.map((r) => r.id).join(", ")}`);
  if (sentinelUsers.length > 0) problems.push(`database logins left: ${sentinelUsers.join(", ")}`);
  for (const c of clusters) {
    if (c.namespace === null) problems.push(`${c.region}: the namespace was deleted (it must be retained)`);
    for (const o of managedObjects(c)) problems.push(`${c.region}: ${o.kind} ${o.metadata.name} left`);
    const pods = ofKind(c, "Pod");
    if (pods.length > 0) problems.push(`${c.region}: ${pods.length} pods left`);
  }
  return problems;
}

/** SQL that inserts the stack's regions (ids, names, platform) into the platform's `regions` table. */
export function regionsSql(cfg: FleetConfig): string {
  const values = cfg.regions.map((r) => format("(?, ?, ?)", [r.id, r.name, cfg.platform]));
  return `INSERT INTO regions (id, name, platform) VALUES ${values.join(", ")};\n`;
}

/** The login of a Go MySQL driver DSN (`user:password@tcp(host:port)/db?params`); null when it is not one. */
export function dsnLogin(dsn: string): { user: string; password: string; database: string } | null {
  const m = /^([^:@/]+):([^@]*)@tcp\([^)]*\)\/([^?]+)(\?.*)?$/.exec(dsn);
  return m === null ? null : { user: m[1], password: m[2], database: m[3] };
}

// ---- gathering (kubectl, mysql, pulumi: each call bounded in time) ----

function run(command: string, args: string[], timeoutMs = 60_000): string {
  return execFileSync(command, args, {
    encoding: "utf8",
    timeout: timeoutMs,
    maxBuffer: 256 * 1024 * 1024,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function env(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === "") throw new Error(`${name} is not set`);
  return v;
}

function loadConfig(): FleetConfig {
  const file = process.env.E2E_STACK_FILE ?? path.join(PROJECT_ROOT, "Pulumi.e2e.yaml");
  const { config, secretKeys } = loadStackConfig(file);
  return parseFleetConfig({ values: config, secretKeys });
}

function mysql(sql: string): string {
  return run("mysql", [
    `--defaults-extra-file=${env("E2E_MYSQL_DEFAULTS")}`,
    "--batch",
    "--raw",
    "--skip-column-names",
    "--connect-timeout=10",
    "-e",
    sql,
  ]);
}

function queryRows(cfg: FleetConfig): SentinelRow[] {
  const pairs = SQL_COLUMNS.map((c) => `'${c}', ${c}`).join(", ");
  const out = mysql(`SELECT JSON_OBJECT(${pairs}) FROM \`${cfg.database.database}\`.sentinels ORDER BY id`);
  return out
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as SentinelRow);
}

function sentinelUsers(cfg: FleetConfig): string[] {
  // Both logins of each region (README, "Database logins, rotation and grants").
  const names = cfg.regions
    .flatMap((r) => (["a", "b"] as const).map((slot) => format("?", [sentinelDbLogin(r.name, slot)])))
    .join(", ");
  return mysql(`SELECT user FROM mysql.user WHERE user IN (${names})`)
    .split("\n")
    .filter((l) => l.trim() !== "");
}

function kubectl(context: string, args: string[], timeoutMs = 60_000): string {
  return run("kubectl", ["--context", context, "--request-timeout=30s", ...args], timeoutMs);
}

function clusterState(region: string, context: string, namespace: string): ClusterState {
  const list = (args: string[]) =>
    (JSON.parse(kubectl(context, [...args, "-o", "json"])) as { items: KubeObject[] }).items;
  const namespaces = list(["get", "namespaces", "--field-selector", `metadata.name=${namespace}`]);
  const objects =
    namespaces.length === 0
      ? []
      : list([
          "-n",
          namespace,
          "get",
          "deployments,services,poddisruptionbudgets,secrets,endpointslices,pods",
        ]);
  return { region, namespace: namespaces[0] ?? null, objects, nodes: list(["get", "nodes"]) };
}

function clusters(cfg: FleetConfig): ClusterState[] {
  return cfg.regions
    .filter((r) => cfg.deployRegions.includes(r.name))
    .map((r) => clusterState(r.name, r.kubeContext ?? "", cfg.namespace));
}

function pulumi(args: string[]): string {
  return run("pulumi", [...args, "--stack", process.env.E2E_STACK ?? "e2e", "--non-interactive"], 120_000);
}

/** The sentinel ids of the SentinelRecords in the stack's state (`pulumi stack export`; secrets stay encrypted). */
function stateSentinelIds(): string[] {
  const state = JSON.parse(pulumi(["stack", "export"])) as {
    deployment: { resources?: { type: string; outputs?: { row?: { sentinelId?: string } } }[] };
  };
  return (state.deployment.resources ?? [])
    .filter((r) => r.type === "pulumi-nodejs:dynamic:Resource")
    .map((r) => r.outputs?.row?.sentinelId)
    .filter((id): id is string => typeof id === "string");
}

/**
 * Logs in to MySQL with each region's DSN, as the pods would (the host is the test's server: the DSN's own
 * address is cluster DNS): the sentinel login may read the platform tables and may not write them.
 */
function sentinelLoginProblems(cfg: FleetConfig, states: readonly ClusterState[]): string[] {
  const problems: string[] = [];
  const admin = fs.readFileSync(env("E2E_MYSQL_DEFAULTS"), "utf8");
  const server = admin
    .split("\n")
    .filter((l) => /^(host|port)=/.test(l))
    .join("\n");
  for (const state of states) {
    const env0 = cfg.environments.find((e) => e.regions.includes(state.region));
    const secret = env0 && named(state, "Secret", environmentObjectName("env", env0.environmentId));
    const login = dsnLogin(decode(secret?.data?.[ENV_VARS.databasePrimary]));
    if (login === null) {
      problems.push(`${state.region}: no sentinel DSN to log in with`);
      continue;
    }
    const file = path.join(env("E2E_WORK"), `sentinel-${state.region}.cnf`);
    fs.writeFileSync(file, `[client]\n${server}\nuser=${login.user}\npassword=${login.password}\n`, {
      mode: 0o600,
    });
    const as = (sql: string) =>
      run("mysql", [
        `--defaults-extra-file=${file}`,
        "--batch",
        "--skip-column-names",
        "--connect-timeout=10",
        "-e",
        sql,
      ]);
    try {
      as(`SELECT COUNT(*) FROM \`${login.database}\`.sentinels`);
    } catch (err) {
      problems.push(`${state.region}: ${login.user} cannot read the sentinels table: ${firstLine(err)}`);
    }
    try {
      as(`DELETE FROM \`${login.database}\`.sentinels WHERE id = 'none'`);
      problems.push(`${state.region}: ${login.user} may delete rows (it must be read-only)`);
    } catch {
      // Denied, as it should be.
    }
    fs.rmSync(file, { force: true });
  }
  return problems;
}

/** The first line of an error: execFileSync's message repeats the command and its whole stderr. */
function firstLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  return (e.stderr?.trim() || e.message || String(err)).split("\n")[0];
}

/** The client pod scripts/e2e.sh runs in each cluster's default namespace (the stand-in image, sleeping). */
export const CLIENT_POD = { namespace: "default", name: "sentinel-e2e-client" } as const;

/**
 * GET the sentinel's health path at the row's own `k8s_address`, from another pod of the cluster as a router
 * would: cluster DNS, the Service, port 8040, a ready pod behind it.
 */
function probeAddressProblems(s: ExpectedSentinel, healthPath: string): string[] {
  const url = `http://${s.address}${healthPath}`;
  try {
    const pod = ["-n", CLIENT_POD.namespace, `pod/${CLIENT_POD.name}`];
    kubectl(s.kubeContext, ["wait", "--for=condition=Ready", "--timeout=60s", ...pod], 90_000);
    const out = kubectl(s.kubeContext, ["exec", ...pod, "--", "wget", "-q", "-T", "5", "-O", "-", url]);
    return out.trim() === "ok" ? [] : [`${where(s)}: GET ${url} answered ${JSON.stringify(out)}`];
  } catch (err) {
    return [`${where(s)}: GET ${url} failed: ${firstLine(err)}`];
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `check` until it reports no problems or the deadline passes; returns the last problems. */
async function until(deadlineMs: number, check: () => string[]): Promise<string[]> {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const problems = check();
    if (problems.length === 0 || Date.now() >= end) return problems;
    await sleep(3_000);
  }
}

const PHASES = ["regions-sql", "up", "image", "refresh", "recreated", "destroy"];

async function phase(name: string): Promise<string[]> {
  if (!PHASES.includes(name)) throw new Error(`unknown phase ${JSON.stringify(name)} (${PHASES.join(", ")})`);
  const cfg = loadConfig();
  if (name === "regions-sql") {
    process.stdout.write(regionsSql(cfg));
    return [];
  }
  const expected = expectedSentinels(cfg);
  const work = env("E2E_WORK");
  const snapshot = (label: string, rows: SentinelRow[]) =>
    fs.writeFileSync(path.join(work, `rows-${label}.json`), JSON.stringify(rows, null, 2));
  const calls = () => readCalls(path.join(work, "prewarm.jsonl"));
  const converged = () =>
    clusters(cfg).flatMap((c) =>
      clusterProblems(
        expected.filter((s) => s.regionName === c.region),
        c,
        cfg.nodeClass,
      ),
    );
  switch (name) {
    case "up":
    case "image": {
      const rows = queryRows(cfg);
      snapshot(name, rows);
      const problems = [
        ...rowProblems(expected, rows),
        ...outputProblems(expected, JSON.parse(pulumi(["stack", "output", "sentinels", "--json"]))),
      ];
      if (name === "image") {
        const before = JSON.parse(fs.readFileSync(path.join(work, "rows-up.json"), "utf8")) as SentinelRow[];
        problems.push(...versionProblems(before, rows));
      }
      // Endpoints and PDB status follow the rollout by a few seconds; the rollout itself is done when up returns.
      problems.push(...(await until(90_000, converged)));
      problems.push(
        ...(await until(30_000, () => prewarmProblems(expected, calls(), name === "up" ? 1 : 2))),
      );
      for (const s of expected) problems.push(...probeAddressProblems(s, cfg.probes.readiness));
      if (name === "up") problems.push(...sentinelLoginProblems(cfg, clusters(cfg)));
      return problems;
    }
    case "refresh":
      return refreshProblems(expected, stateSentinelIds(), env("E2E_DELETED_ID"));
    case "recreated": {
      // The next `up` after the refresh inserts the row again, under the same deterministic id and name, and
      // updates its Deployment (a new incarnation), so the health hook writes the rollout into the new row.
      const stack = JSON.parse(pulumi(["stack", "output", "sentinels", "--json"]));
      const rows = queryRows(cfg);
      const before = JSON.parse(fs.readFileSync(path.join(work, "rows-image.json"), "utf8")) as SentinelRow[];
      return [
        ...rowProblems(expected, rows),
        ...reinsertedProblems(before, rows, env("E2E_DELETED_ID")),
        ...outputProblems(expected, stack),
      ];
    }
    case "destroy":
      // Pods and ReplicaSets go by garbage collection, moments after destroy returns.
      return until(60_000, () => destroyProblems(queryRows(cfg), sentinelUsers(cfg), clusters(cfg)));
    default:
      throw new Error(`unknown phase ${JSON.stringify(name)} (${PHASES.join(", ")})`);
  }
}

async function main(): Promise<void> {
  const name = process.argv[2] ?? "";
  const problems = await phase(name);
  if (problems.length > 0) {
    process.stderr.write(
      `e2e ${name}: ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}\n`,
    );
    process.exit(1);
  }
  if (name !== "regions-sql") process.stdout.write(`e2e ${name}: all checks passed\n`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`e2e: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
