// The oldest Pulumi engine this program runs on, checked before anything is declared (docs/operations.md, "Minimum
// versions"). Two questions, because engines answer differently by age: the resource monitor answers
// SupportsFeature("resourceHooks") from 3.182.0 on (without hooks the SDK would fail at the first hook naming
// no version); and the newest need, after-hooks whose failure fails the update (3.238.0: the row-health
// write-back must not turn into a warning), is only visible as the engine's version, which it compares for us
// from 3.216.0 on (RequirePulumiVersion; older engines do not implement it, and are too old anyway).
import * as pulumi from "@pulumi/pulumi";
import { MINIMUM_VERSIONS, PROJECT } from "./constants";
import { quoteUntrusted } from "./redact";

/* eslint-disable @typescript-eslint/no-require-imports */
const resproto = require("@pulumi/pulumi/proto/resource_pb") as {
  SupportsFeatureRequest: new () => { setId(id: string): void };
};
/* eslint-enable @typescript-eslint/no-require-imports */

/** gRPC's UNIMPLEMENTED: a monitor too old to know SupportsFeature knows no feature. */
const GRPC_UNIMPLEMENTED = 12;

/** The part of the SDK's resource monitor client this module calls. */
export interface FeatureMonitor {
  supportsFeature(
    req: unknown,
    callback: (err: (Error & { code?: number }) | null, resp?: { getHassupport(): boolean }) => void,
  ): unknown;
}

/** Whether the engine's resource monitor supports a feature, asked the way the SDK asks it. */
export function monitorSupports(monitor: FeatureMonitor, feature: string): Promise<boolean> {
  const req = new resproto.SupportsFeatureRequest();
  req.setId(feature);
  return new Promise((resolve, reject) => {
    monitor.supportsFeature(req, (err, resp) => {
      if (err !== null && err.code === GRPC_UNIMPLEMENTED) resolve(false);
      else if (err !== null) reject(err);
      else resolve(resp?.getHassupport() === true);
    });
  });
}

/** The SDK's resource monitor client (undefined outside an engine), seen as the one call made on it. */
function sdkMonitor(): FeatureMonitor | undefined {
  const m: unknown = pulumi.runtime.getMonitor();
  return m === undefined ? undefined : (m as FeatureMonitor);
}

/** The engine's own version check (`pulumi.runtime.requirePulumiVersion`), or a stand-in in tests. */
export type VersionCheck = (range: string) => Promise<void>;

export class EngineTooOldError extends Error {
  constructor(missing: string) {
    super(
      `${PROJECT} needs Pulumi CLI ${MINIMUM_VERSIONS.pulumiCli} or later: this engine does not support ` +
        `${missing}. Upgrade the Pulumi CLI (pulumi version shows the one in use); nothing was created.`,
    );
    this.name = "EngineTooOldError";
  }
}

/**
 * Rejects with EngineTooOldError when the engine lacks what the program needs. Without a resource monitor
 * (the program loaded outside any engine) there is nothing to ask, and it resolves.
 */
export async function requireSupportedEngine(
  monitor: FeatureMonitor | undefined = sdkMonitor(),
  requireVersion: VersionCheck = (range) => pulumi.runtime.requirePulumiVersion(range),
): Promise<void> {
  if (monitor === undefined) return;
  if (!(await monitorSupports(monitor, "resourceHooks"))) {
    throw new EngineTooOldError("resource hooks (the router prewarm and row-health hooks)");
  }
  try {
    // Resolves without an engine to ask (the mock runtime); rejects on an older engine or one that cannot tell.
    await requireVersion(`>=${MINIMUM_VERSIONS.pulumiCli}`);
  } catch (err) {
    throw new EngineTooOldError(
      "after-hooks whose failure fails the update (the row-health write-back): " +
        `the engine says ${quoteUntrusted(err instanceof Error ? err.message : String(err))}`,
    );
  }
}
