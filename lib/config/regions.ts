// The regions of the fleet and how stacks divide them: which regions a stack deploys, in which waves, and
// the stack roles and shards that split one fleet over several stacks.
import { z } from "zod";
import { DNS_LABEL, KUBE_CONTEXT, PLAIN_ID, PLAIN_ID_RULE, STACK_REFERENCE } from "../validate";
import {
  bool,
  column,
  err,
  labelValue,
  list,
  matching,
  object,
  oneOf,
  regionName,
  show,
  text,
  urlTemplate,
  orElse,
} from "./fields";

const STACK_ROLES = ["fleet", "regionBase", "environmentShard"] as const;

const regionSchema = object({
  id: column(64, "regions.id", PLAIN_ID, `is not a valid region id (${PLAIN_ID_RULE})`).meta({
    description: "the platform's `regions.id`",
  }),
  name: matching(DNS_LABEL, 63, "is not a valid region name (lowercase letters, digits and '-')").meta({
    description: "e.g. `us-east-1`: names resources, appears in the TOML and prewarm URLs",
  }),
  kubeContext: matching(
    KUBE_CONTEXT,
    253,
    "is not a kubeconfig context (printable ASCII, no spaces, at most 253)",
  )
    .optional()
    .meta(orElse("the cluster's kubeconfig context", "the current context")),
  prewarmUrl: urlTemplate().optional().meta({
    description: "overrides `prewarm.urlTemplate` for this region (same placeholders; no credentials)",
  }),
  cutover: bool(false).meta({
    description:
      "while true, the region's Kubernetes provider takes over objects that already exist (cutover from the " +
      "original agent; turn it off afterwards)",
  }),
});

export const regionKeys = {
  regions: z
    .array(
      regionSchema,
      err((v) => `must be a non-empty list of { id, name, kubeContext? }, got ${show(v)}`),
    )
    .min(
      1,
      err((v) => `must be a non-empty list of { id, name, kubeContext? }, got ${show(v)}`),
    )
    .meta({ description: "every region of the fleet" }),
  deployRegions: list(regionName(), "region names")
    .optional()
    .meta(
      orElse(
        "the regions this stack deploys (a stack per region); environments may still name any region",
        "all of `regions`",
      ),
    ),
  waves: list(list(regionName(), "region names"), "waves (lists of region names)")
    .optional()
    .meta(
      orElse(
        "ordered rollout waves, e.g. `[[us-east-1], [eu-central-1]]`: each region at most once, every deployed " +
          "region in one",
        "none: every region in parallel",
      ),
    ),
  stackRole: oneOf(STACK_ROLES)
    .default("fleet")
    .meta({
      description:
        "`fleet`: the shared per-region objects and the environments; `regionBase`: only the shared objects " +
        "(namespace, database logins), exported; `environmentShard`: only environments, reading the base's outputs",
    }),
  regionBaseStack: text()
    .regex(
      STACK_REFERENCE,
      err((v) => `${show(v)} is not a stack reference (<org>/<project>/<stack>)`),
    )
    .optional()
    .meta(
      orElse(
        "the region base stack `<org>/<project>/<stack>`; required with `environmentShard`, else rejected",
        "none",
      ),
    ),
  shards: list(labelValue(), "shard names")
    .optional()
    .meta(orElse("shard names (label values, unique)", "none")),
  shard: labelValue()
    .optional()
    .meta(orElse("the shard this stack deploys (an `environmentShard` stack when `shards` is set)", "none")),
};
