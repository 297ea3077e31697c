// The whole fleet from one validated FleetConfig: per region a Kubernetes provider and what the region shares
// (the namespace, the region's sentinel database login), then one SentinelEnvironment per environment.
// `stackRole` splits this across stacks: a region base stack owns only the shared objects and exports them; an
// environment shard stack owns only its environments and reads the shared values from the base stack.
import * as k8s from "@pulumi/kubernetes";
import * as mysql from "@pulumi/mysql";
import * as pulumi from "@pulumi/pulumi";
import { FleetConfigError, type FleetConfig, type RegionConfig } from "../lib/config";
import { joinHostPort } from "../lib/dsn";
import { pulumiMysqlTls } from "../lib/databaseTls";
import { showValue } from "../lib/redact";
import { exportable } from "../lib/exportable";
import { namespaceManifest, podSecurityLabels } from "../lib/kube";
import { sharedLabels } from "../lib/labels";
import { nameCollisionProblems, RECORDS_PROVIDER_NAME, stackEnvironments } from "../lib/names";
import { createHealthHook } from "./healthHook";
import { createPrewarmHook } from "./prewarmHook";
import { existingDatabaseLogins, regionDatabaseLogins, type RegionDatabaseLogins } from "./regionDatabase";
import type { SentinelIdentity } from "./sentinel";
import { SentinelEnvironment, type SentinelRegionTarget } from "./sentinelEnvironment";
import { SentinelRecordsProvider } from "../providers/sentinelRecord";

/** Environment id → region name → the sentinel's identity. No secrets. */
export type SentinelsOutput = Record<string, Record<string, pulumi.Output<SentinelIdentity>>>;

/** What a region base stack exports per region, and what environment shards read back. */
export interface RegionBaseExport {
  /** The sentinel namespace in the region's cluster. */
  readonly namespace: string;
  /** The DSNs of the region's sentinel login, secrets. */
  readonly databasePrimaryDsn: string;
  readonly databaseReplicaDsn: string;
}

/** The stack output of a region base stack: region name → its shared values (the DSNs secret). */
export const REGION_BASE_OUTPUT = "regionBase";

/** The stack's outputs. */
export interface FleetOutputs {
  readonly sentinels: SentinelsOutput;
  /** Only in a region base stack: region name → the shared values environment shards read. */
  readonly regionBase: Record<string, pulumi.Inputs> | undefined;
}

/** What the environments of a region need from it, whoever owns it (this stack or the region base stack). */
interface RegionShared {
  readonly namespace: string;
  /** What the region's objects wait for: the Namespace, where this stack owns it. */
  readonly after: readonly pulumi.Resource[];
  readonly databasePrimaryDsn: pulumi.Output<string>;
  readonly databaseReplicaDsn: pulumi.Output<string>;
}

/**
 * The objects a region shares, owned by the fleet stack or the region base stack and never by an environment:
 * the namespace and the region's sentinel database login. The login block is one unit (password, user, grant,
 * DSNs) so it can be replaced as one.
 */
function regionShared(region: RegionConfig, cfg: FleetConfig, logins: RegionDatabaseLogins): RegionShared {
  const base = `region-${region.name}`;
  // The namespace is shared by every environment in the cluster, and by other stacks (environment shards), so
  // it is owned once per region here, never by an environment. upsertExistingObjects adopts a namespace that
  // already exists; retainOnDelete means no `pulumi destroy` ever deletes it with other stacks' objects inside.
  const namespaceProvider = new k8s.Provider(`${base}-namespace`, {
    context: region.kubeContext ?? undefined,
    upsertExistingObjects: true,
  });
  const ns = namespaceManifest(cfg.namespace, {
    ...sharedLabels(),
    ...podSecurityLabels(cfg.namespacePodSecurity),
  });
  const namespace = new k8s.core.v1.Namespace(
    `${base}-namespace`,
    { metadata: ns.metadata },
    { provider: namespaceProvider, retainOnDelete: true },
  );

  return {
    namespace: cfg.namespace,
    after: [namespace],
    databasePrimaryDsn: logins.primaryDsn,
    databaseReplicaDsn: logins.replicaDsn,
  };
}

/** The keys of a region's entry in the base stack's export, and whether each is a secret (never echoed). */
const REGION_BASE_KEYS = {
  namespace: false,
  databasePrimaryDsn: true,
  databaseReplicaDsn: true,
} as const satisfies Record<keyof RegionBaseExport, boolean>;

/** What a value read from another stack is, for a message: its type, and a bounded quote unless it is secret. */
function described(value: unknown, secret: boolean): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  const kind = typeof value === "object" ? "an object" : `a ${typeof value}`;
  return secret ? kind : `${kind}, ${showValue(value)}`;
}

/**
 * What is wrong with the base stack's `regionBase` export for one region, as strictly as the stack file is read:
 * the export and the region's entry are objects, every key is there and a non-empty string, and the namespace is
 * this stack's. Each problem names the base stack, the region and the key; a DSN's value is never echoed.
 */
export function regionBaseExportProblems(
  all: unknown,
  region: string,
  baseStack: string,
  namespace: string,
): string[] {
  const where = `the region base stack ${showValue(baseStack)}`;
  if (typeof all !== "object" || all === null || Array.isArray(all)) {
    return [`${where} exports ${REGION_BASE_OUTPUT} as ${described(all, false)}, not an object of regions`];
  }
  const regions = all as Record<string, unknown>;
  if (!Object.prototype.hasOwnProperty.call(regions, region)) {
    const names = Object.keys(regions);
    const shown = names.slice(0, 20).map((n) => keyName(n));
    return [
      `${where} exports no region ${showValue(region)} (it exports: ${shown.join(", ") || "none"}` +
        `${names.length > shown.length ? `, and ${names.length - shown.length} more` : ""}); deploy the region there first`,
    ];
  }
  const entry = regions[region];
  const at = `${where}, region ${showValue(region)}`;
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    return [`${at}: ${REGION_BASE_OUTPUT}.${keyName(region)} is ${described(entry, true)}, not an object`];
  }
  const values = entry as Record<string, unknown>;
  const problems: string[] = [];
  for (const [key, secret] of Object.entries(REGION_BASE_KEYS)) {
    const value = values[key];
    if (value === undefined) problems.push(`${at}: ${key} is missing`);
    else if (typeof value !== "string")
      problems.push(`${at}: ${key} must be a string, got ${described(value, secret)}`);
    else if (value.trim() === "") problems.push(`${at}: ${key} is empty`);
  }
  const exported = values.namespace;
  if (typeof exported === "string" && exported.trim() !== "" && exported !== namespace) {
    problems.push(`${at} runs in namespace ${showValue(exported)}, this stack in ${showValue(namespace)}`);
  }
  return problems;
}

/** A key or region name someone else wrote, as it may appear in a message. */
function keyName(name: string): string {
  return /^[A-Za-z0-9_.-]{1,80}$/.test(name) ? name : showValue(name, 80);
}

/**
 * The shared values of a region as its region base stack exported them, checked (regionBaseExportProblems)
 * before anything here uses them. The DSNs stay secret: the engine lists the output in `secretOutputNames` (it
 * holds secrets), so `requireOutput` returns a secret Output, and they are wrapped in `pulumi.secret` again so
 * that nothing here depends on that.
 */
export function regionFromBase(base: pulumi.StackReference, region: string, cfg: FleetConfig): RegionShared {
  const baseStack = cfg.regionBaseStack ?? "";
  const shared = base.requireOutput(REGION_BASE_OUTPUT).apply((all: unknown) => {
    const problems = regionBaseExportProblems(all, region, baseStack, cfg.namespace);
    if (problems.length > 0) {
      throw new Error(
        `sentinel-fleet: the region base stack's ${REGION_BASE_OUTPUT} export cannot be used:\n` +
          problems.map((p) => `  - ${p}`).join("\n"),
      );
    }
    return (all as Record<string, RegionBaseExport>)[region];
  });
  return {
    namespace: cfg.namespace,
    after: [],
    databasePrimaryDsn: pulumi.secret(shared.databasePrimaryDsn),
    databaseReplicaDsn: pulumi.secret(shared.databaseReplicaDsn),
  };
}

/**
 * Declares the stack's part of the fleet: the shared per-region resources (fleet and region base stacks), then
 * each environment (fleet and environment shard stacks) in its own turn of the event loop. Declaring tens of
 * thousands of resources in one synchronous pass keeps every in-flight registration (request, promises, the
 * stack trace the SDK captures for each) alive at once; yielding between environments lets registrations
 * settle as the program goes (docs/performance.md, "Fleet scale"). Each environment is declared from a setImmediate callback,
 * not after an `await`: the SDK stores every resource's stack trace in the state, and an awaiting caller adds its
 * whole async chain (the SDK's export serialization, the runner) to every resource of the fleet.
 */
export function deployFleet(cfg: FleetConfig): Promise<FleetOutputs> {
  // Before anything is declared: the engine would otherwise stop at the first duplicate URN, mid-fleet.
  const collisions = nameCollisionProblems(cfg);
  if (collisions.length > 0) throw new FleetConfigError(collisions);
  const role = cfg.stackRole;
  const environments = stackEnvironments(cfg);
  const deployed = cfg.regions.filter((r) => cfg.deployRegions.includes(r.name));

  const ownsShared = role !== "environmentShard";
  // With existing logins the program declares no login: no @pulumi/mysql resource, so no provider either.
  const managedLogins = cfg.database.logins === "managed";
  const platformDb =
    ownsShared && managedLogins
      ? new mysql.Provider("platform-db", {
          endpoint: joinHostPort(cfg.database.host, cfg.database.port),
          username: cfg.database.user,
          password: cfg.database.password.toOutput(),
          // "false" when TLS is off: the SDK's own default, so existing stacks see no provider diff.
          tls: pulumiMysqlTls(cfg.database.mysqlProviderTlsMode),
        })
      : undefined;
  const baseStack =
    !ownsShared && cfg.regionBaseStack !== null
      ? new pulumi.StackReference("region-base", { name: cfg.regionBaseStack })
      : undefined;
  if (!ownsShared && baseStack === undefined) {
    throw new Error("sentinel-fleet: an environmentShard stack needs sentinel-fleet:regionBaseStack");
  }

  const shared = new Map<string, RegionShared>();
  for (const region of deployed) {
    shared.set(
      region.name,
      !ownsShared
        ? regionFromBase(baseStack as pulumi.StackReference, region.name, cfg)
        : regionShared(
            region,
            cfg,
            platformDb !== undefined
              ? regionDatabaseLogins(region, cfg, platformDb)
              : existingDatabaseLogins(region, cfg),
          ),
    );
  }
  // Plain objects whose DSNs are secret Outputs: the stack output keeps each DSN secret and the namespace plain.
  const regionBase =
    role === "regionBase"
      ? Object.fromEntries(
          [...shared].map(([name, s]) => [
            name,
            {
              namespace: s.namespace,
              databasePrimaryDsn: s.databasePrimaryDsn,
              databaseReplicaDsn: s.databaseReplicaDsn,
            },
          ]),
        )
      : undefined;
  if (environments.length === 0) return Promise.resolve({ sentinels: {}, regionBase });

  const token = cfg.prewarm.token;
  const prewarmHook =
    token !== null && cfg.regions.some((r) => r.prewarmUrl !== null)
      ? createPrewarmHook({
          regions: cfg.regions,
          token,
          attemptTimeoutMs: cfg.prewarm.attemptTimeoutMs,
          deadlineMs: cfg.prewarm.deadlineMs,
        })
      : undefined;
  if (prewarmHook === undefined) {
    void pulumi.log.info(
      "router prewarm is off: no sentinel-fleet:prewarm.urlTemplate or regions[].prewarmUrl is configured, " +
        "so no Deployment gets the prewarm hook",
    );
  }

  // The rows' provider, configured with the database connection alone: identical in every stack of the fleet
  // that reaches that database, which is what lets `pulumi state move` carry an environment between shards.
  const records = new SentinelRecordsProvider(RECORDS_PROVIDER_NAME, {
    connection: cfg.database.providerConnection,
    password: cfg.database.password.toOutput(),
    caCert: cfg.database.caCert === null ? undefined : cfg.database.caCert.toOutput(),
  });

  // One hook writes every converged rollout into its row (available_replicas, health, a new version).
  const healthHook = createHealthHook({
    database: cfg.database,
    password: cfg.database.password,
    caCert: cfg.database.caCert,
  });

  const targets = new Map<string, SentinelRegionTarget>();
  for (const region of deployed) {
    const s = shared.get(region.name) as RegionShared;
    targets.set(region.name, {
      id: region.id,
      name: region.name,
      provider: new k8s.Provider(`region-${region.name}`, {
        context: region.kubeContext ?? undefined,
        enableServerSideApply: true,
        // Secrets are named, not auto-named: rotate them in place (Reloader restarts the pods) instead of a
        // delete-then-create that would leave pods without their Secret for a moment.
        enableSecretMutable: true,
        // Cutover from the original agent (docs/operations.md): take over the objects it applied, fields it owned included.
        // Flipping these later is an in-place update of the provider, not a replacement of its objects.
        ...(region.cutover ? { upsertExistingObjects: true, enablePatchForce: true } : {}),
      }),
      namespace: s.namespace,
      after: s.after,
      databasePrimaryDsn: s.databasePrimaryDsn,
      databaseReplicaDsn: s.databaseReplicaDsn,
      // Only where there is a router to call; elsewhere the hook would warn on every rollout.
      prewarmHook: region.prewarmUrl === null ? undefined : prewarmHook,
      healthHook,
      cutover: region.cutover,
    });
  }
  const clickhouseUrl = cfg.clickhouseUrl.toOutput();
  const redisUrl = cfg.redisUrl.toOutput();
  const otel =
    cfg.otel === null
      ? undefined
      : {
          endpoint: cfg.otel.endpoint,
          headers: cfg.otel.headers === null ? undefined : cfg.otel.headers.toOutput(),
        };

  const sentinels: SentinelsOutput = {};
  return new Promise<FleetOutputs>((resolve, reject) => {
    let next = 0;
    const declareNext = () => {
      try {
        const env = environments[next++];
        // In a shard, an environment runs only in the regions this stack deploys.
        const regions = env.regions.flatMap((name) => targets.get(name) ?? []);
        // Declared inline, not in a helper: the SDK records the full call stack of every resource it registers
        // (source-mapped under ts-node, and stored in the state), so each frame here costs at fleet scale.
        const environment = new SentinelEnvironment(
          env.environmentId,
          {
            workspaceId: env.workspaceId,
            projectId: env.projectId,
            appId: env.appId,
            environmentId: env.environmentId,
            slug: env.slug,
            regions,
            platform: cfg.platform,
            image: env.image ?? cfg.image,
            replicas: env.replicas ?? undefined,
            cpuMillicores: env.cpuMillicores ?? undefined,
            memoryMib: env.memoryMib ?? undefined,
            probes: cfg.probes,
            nodeClass: cfg.nodeClass,
            ciliumNetworkPolicies: cfg.ciliumNetworkPolicies,
            clickhouseUrl,
            redisUrl,
            otel,
            retainSentinelRows: cfg.retainSentinelRows,
            pod: cfg.pod,
            waves: cfg.waves ?? undefined,
          },
          { providers: [records] },
        );
        // One export per sentinel, not one per field: each is an Output the program keeps until it ends.
        sentinels[env.environmentId] = Object.fromEntries(
          Object.entries(environment.sentinels).map(([region, identity]) => [region, exportable(identity)]),
        );
        if (next < environments.length) setImmediate(declareNext);
        else resolve({ sentinels, regionBase });
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    };
    setImmediate(declareNext);
  });
}
