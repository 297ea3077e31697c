// The router-prewarm resource hook: one named hook for the whole stack, attached by each Sentinel to its
// Deployment as afterCreate and afterUpdate. The Kubernetes provider returns from create/update only once
// the rollout has converged, so "after" means the new pods are serving.
import * as pulumi from "@pulumi/pulumi";
import { PREWARM } from "../lib/constants";
import type { RegionConfig } from "../lib/config";
import { expandPrewarmUrl, prewarm, prewarmTargetFromDeployment, type PrewarmResult } from "../lib/prewarm";
import { quoteUntrusted } from "../lib/redact";
import type { SecretValue } from "../lib/secret";

export interface PrewarmHookSettings {
  readonly regions: readonly RegionConfig[];
  readonly token: SecretValue;
  readonly attemptTimeoutMs: number;
  readonly deadlineMs: number;
}

export interface HookLogger {
  info(message: string, resource?: pulumi.Resource): Promise<void> | void;
  warn(message: string, resource?: pulumi.Resource): Promise<void> | void;
}

/**
 * pulumi.log only reads `urn` from the resource it logs against; a hook knows its Deployment by URN. Shared by
 * the stack's hooks (this one and components/healthHook.ts).
 */
export function byUrn(urn: string): pulumi.Resource {
  return { urn: pulumi.output(urn) } as unknown as pulumi.Resource;
}

/**
 * What the hook does when the engine fires it after a Deployment's create or update, as a plain function the
 * tests also call directly. It never throws: a prewarm failure is a warning on the Deployment, never a failed
 * deployment, because prewarming only saves the first requests a cold cache. What the Deployment's labels
 * say and what the router answers are quoted as untrusted text (lib/redact.ts), so no warning carries the
 * token or a forged line.
 */
export async function runPrewarmHook(
  args: pulumi.ResourceHookArgs,
  settings: PrewarmHookSettings,
  logger: HookLogger = pulumi.log,
): Promise<PrewarmResult | null> {
  const resource = byUrn(args.urn);
  const q = (text: string) => quoteUntrusted(text, [settings.token.reveal()], 80);
  try {
    const target = prewarmTargetFromDeployment(args.newOutputs ?? args.newInputs);
    if ("missing" in target) {
      await logger.warn(
        `router prewarm skipped: the Deployment lacks ${target.missing.join(", ")}`,
        resource,
      );
      return null;
    }
    const region = settings.regions.find((r) => r.name === target.body.region);
    if (region === undefined || region.prewarmUrl === null) {
      await logger.warn(
        `router prewarm skipped: no prewarm URL for region ${q(target.body.region)}`,
        resource,
      );
      return null;
    }
    const result = await prewarm(target.body, {
      url: expandPrewarmUrl(region.prewarmUrl, target),
      token: settings.token.reveal(),
      attemptTimeoutMs: settings.attemptTimeoutMs,
      deadlineMs: settings.deadlineMs,
    });
    const who = `sentinel ${q(target.body.sentinelId)} (${q(target.body.environmentId)}, ${q(target.body.region)})`;
    if (result.ok) {
      await logger.info(
        `router prewarm of ${who} succeeded in ${result.elapsedMs} ms after ${result.attempts} attempt(s)`,
        resource,
      );
    } else {
      const status = result.status === null ? "no response" : `HTTP ${result.status}`;
      await logger.warn(
        `router prewarm of ${who} failed (${status}: ${result.error}) after ${result.attempts} attempt(s) in ` +
          `${result.elapsedMs} ms; the sentinel is serving and will warm its cache on demand`,
        resource,
      );
    }
    return result;
  } catch (err) {
    // The message may quote the URL or what the router said.
    const message = quoteUntrusted(String((err as Error)?.message ?? err), [settings.token.reveal()]);
    await logger.warn(`router prewarm failed unexpectedly: ${message}`, resource);
    return null;
  }
}

/**
 * Creates the stack's one prewarm hook. `onDryRun: false`: a preview never calls the router.
 * `ignoreErrors: true`: should the callback ever throw despite catching everything, the engine logs a warning
 * instead of failing a deployment whose resources already succeeded.
 */
export function createPrewarmHook(settings: PrewarmHookSettings, logger?: HookLogger): pulumi.ResourceHook {
  return new pulumi.ResourceHook(
    PREWARM.hookName,
    async (args) => {
      await runPrewarmHook(args, settings, logger);
    },
    { onDryRun: false, ignoreErrors: true },
  );
}
