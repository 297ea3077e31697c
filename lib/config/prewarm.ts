// The router prewarm hook: where it calls and its deadlines; its bearer token is a secret of its own, listed
// last among the keys.
import { PREWARM } from "../constants";
import { int, object, secret, urlTemplate, orElse } from "./fields";

export const prewarmKeys = {
  prewarm: object({
    urlTemplate: urlTemplate()
      .optional()
      .meta(
        orElse(
          "the routers' prewarm endpoint; placeholders `{region}`, `{regionId}`, `{k8sName}`, `{namespace}`; no " +
            "credentials in it",
          "none: no hook",
        ),
      ),
    attemptTimeoutMs: int(100, 600_000)
      .default(PREWARM.attemptTimeoutMs)
      .meta({ description: "the deadline of one attempt, in milliseconds" }),
    deadlineMs: int(100, 3_600_000)
      .default(PREWARM.deadlineMs)
      .meta({ description: "the deadline of all attempts, in milliseconds (at least attemptTimeoutMs)" }),
  })
    .prefault({})
    .meta({ description: "the router prewarm hook; without a URL no hook is attached" }),
};

export const prewarmSecretKeys = {
  prewarmToken: secret(
    "bearer token of the routers' prewarm endpoint, printable ASCII",
    "required with a prewarm URL",
  ),
};
