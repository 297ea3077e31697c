// The row-health resource hook: one named hook for the whole stack, attached by each Sentinel to its Deployment
// as afterCreate and afterUpdate (beside the prewarm hook). The Kubernetes provider returns from a create or
// update only once the rollout has converged, so the Deployment's outputs then hold what was observed; the hook
// writes it into the sentinel's row (available_replicas, health, a new version), as the original agent did
// (spec section 7). Hooks run only on their resource's steps, and a row inserted again after an out-of-band
// delete leaves its Deployment as it was, so the Deployment carries the row's record incarnation
// (components/sentinel.ts): a new row is a changed Deployment, updated after its record, and this hook runs.
// It runs in the program's process, with a small pool of its own (providers/connection.ts: the same TLS,
// deadline and version handling as the provider), closed when idle.
import * as pulumi from "@pulumi/pulumi";
import { ANNOTATIONS, LABELS } from "../lib/constants";
import { quoteUntrusted, withoutSecrets } from "../lib/redact";
import type { SecretValue } from "../lib/secret";
import type { ConnectionSettings } from "../lib/config/connection";
import { resolveCaCert, withDatabase } from "../providers/connection";
import { healthOf, recordSentinelHealth, type Health, type HealthWrite } from "../providers/sentinelSql";
import { byUrn, type HookLogger } from "./prewarmHook";

export const HEALTH_HOOK_NAME = "sentinel-fleet-row-health";

export interface HealthHookSettings {
  /** The admin connection (`sentinel-fleet:database`). */
  readonly database: ConnectionSettings;
  /** `sentinel-fleet:databasePassword`. */
  readonly password: SecretValue;
  /** `sentinel-fleet:databaseCaCert`, or null (then `database.tls.caFile`, or the default roots). */
  readonly caCert: SecretValue | null;
}

/** What a converged Deployment says about its sentinel: whose row it is, and what was observed. */
export interface ObservedRollout {
  readonly sentinelId: string;
  readonly environmentId: string;
  readonly regionId: string;
  readonly workspaceId: string;
  readonly projectId: string;
  readonly desiredReplicas: number;
  readonly availableReplicas: number;
  readonly health: Health;
}

/**
 * Reads the observation from a Deployment's outputs: the sentinel's identity from its labels and
 * annotations, `spec.replicas`, and `status.availableReplicas` (Kubernetes omits a zero count, so a status
 * without it means 0). No status at all means nothing was observed (a mock engine, say).
 */
export function observedRollout(outputs: unknown): ObservedRollout | { missing: string[] } {
  const obj = (outputs ?? {}) as {
    metadata?: { labels?: Record<string, unknown>; annotations?: Record<string, unknown> };
    spec?: { replicas?: unknown };
    status?: { availableReplicas?: unknown } | null;
  };
  const labels = obj.metadata?.labels ?? {};
  const annotations = obj.metadata?.annotations ?? {};
  const ids = {
    sentinelId: [labels[LABELS.sentinelId], `metadata.labels["${LABELS.sentinelId}"]`],
    environmentId: [labels[LABELS.environmentId], `metadata.labels["${LABELS.environmentId}"]`],
    regionId: [annotations[ANNOTATIONS.regionId], `metadata.annotations["${ANNOTATIONS.regionId}"]`],
    workspaceId: [labels[LABELS.workspaceId], `metadata.labels["${LABELS.workspaceId}"]`],
    projectId: [labels[LABELS.projectId], `metadata.labels["${LABELS.projectId}"]`],
  } as const;
  const desired = obj.spec?.replicas;
  const status = obj.status;
  const available = status?.availableReplicas ?? 0;
  const missing = [
    ...Object.values(ids)
      .filter(([value]) => typeof value !== "string" || value === "")
      .map(([, path]) => path),
    ...(typeof desired === "number" && Number.isInteger(desired) && desired >= 0 ? [] : ["spec.replicas"]),
    ...(typeof status === "object" && status !== null ? [] : ["status"]),
    ...(typeof available === "number" && Number.isInteger(available) && available >= 0
      ? []
      : ["status.availableReplicas"]),
  ];
  if (missing.length > 0) return { missing };
  const desiredReplicas = desired as number;
  const availableReplicas = available as number;
  const id = (key: keyof typeof ids) => ids[key][0] as string;
  return {
    sentinelId: id("sentinelId"),
    environmentId: id("environmentId"),
    regionId: id("regionId"),
    workspaceId: id("workspaceId"),
    projectId: id("projectId"),
    desiredReplicas,
    availableReplicas,
    health: healthOf(desiredReplicas, availableReplicas),
  };
}

/**
 * What the hook does after a Deployment's create or update, as a plain function the tests call directly.
 * A Deployment without an observed status (nothing to record) is a warning. A failed write throws: the
 * `pulumi up` fails, naming the sentinel and the database, and the row keeps its previous health and version
 * (the write is one transaction). The row must be the Deployment's sentinel's: its id, environment, region,
 * workspace and project, byte for byte. What the Deployment's outputs say is the API server's text, and the
 * database's errors are the server's: both are quoted, bounded and escaped, and no error carries the
 * database's password or CA bundle.
 */
export async function runHealthHook(
  args: pulumi.ResourceHookArgs,
  settings: HealthHookSettings,
  logger: HookLogger = pulumi.log,
): Promise<HealthWrite | null> {
  const resource = byUrn(args.urn);
  const seen = observedRollout(args.newOutputs);
  if ("missing" in seen) {
    await logger.warn(
      `row health not recorded: the Deployment's outputs lack ${seen.missing.join(", ")}`,
      resource,
    );
    return null;
  }
  const q = (text: string) => quoteUntrusted(text, [], 80);
  const who = `sentinel ${q(seen.sentinelId)} (${q(seen.environmentId)}, ${q(seen.regionId)})`;
  const secrets = [settings.password.reveal(), settings.caCert?.reveal() ?? ""];
  try {
    const target = {
      settings: settings.database,
      password: settings.password.reveal(),
      caCert: resolveCaCert(settings.database, settings.caCert?.reveal() ?? null),
    };
    const result = await withDatabase(target, `health write-back of ${who}`, (db) =>
      recordSentinelHealth(db, { id: seen.sentinelId, ...seen }, seen.availableReplicas, seen.health),
    );
    await logger.info(
      result.written
        ? `row of ${who}: ${seen.health}, ${seen.availableReplicas}/${seen.desiredReplicas} available, ` +
            `version ${result.row.version}`
        : `row of ${who} already says ${seen.health}, ${seen.availableReplicas} available`,
      resource,
    );
    return result;
  } catch (err) {
    const message = withoutSecrets(String((err as Error)?.message ?? err), secrets);
    // A COMMIT whose answer was lost may have taken effect (providers/connection.ts, outcomeWhenCutOff).
    const row = message.includes("its COMMIT had been sent")
      ? "The row may or may not say so now"
      : "The row keeps its previous health";
    throw new Error(
      `recording the rollout of ${who} (${seen.health}, ${seen.availableReplicas}/${seen.desiredReplicas} ` +
        `available) in its row failed: ${message}. ${row}; the next change of this Deployment records it again`,
    );
  }
}

/**
 * Creates the stack's one health hook. `onDryRun: false`: a preview writes nothing. `ignoreErrors: false`: a
 * failed write fails the `pulumi up`, because routers read the row's health and a silent miss would leave it
 * saying `unknown` or, worse, an old state.
 */
export function createHealthHook(settings: HealthHookSettings, logger?: HookLogger): pulumi.ResourceHook {
  return new pulumi.ResourceHook(
    HEALTH_HOOK_NAME,
    async (args) => {
      await runHealthHook(args, settings, logger);
    },
    { onDryRun: false, ignoreErrors: false },
  );
}
