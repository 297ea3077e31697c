// The environments of the fleet: their platform ids (labels and rows), regions and sizing.
import { SIZING } from "../constants";
import { imageRef, int, labelValue, list, object, orElse, regionName } from "./fields";

const environmentSchema = object({
  environmentId: labelValue().meta({ description: "the environment id; names its objects and its rows" }),
  workspaceId: labelValue().meta({ description: "the workspace id (a label value)" }),
  projectId: labelValue().meta({ description: "the project id (a label value)" }),
  appId: labelValue().meta({ description: "the app id (a label value)" }),
  slug: labelValue().meta({ description: "the environment slug; `production` defaults replicas to 3" }),
  shard: labelValue()
    .optional()
    .meta({ description: "the shard (a name of `shards`) that deploys it; required when `shards` is set" }),
  regions: list(regionName(), "region names")
    .optional()
    .meta(orElse("a subset of the region names", "all of `regions`")),
  replicas: int(0, 1000)
    .optional()
    .meta(
      orElse(
        "pods per region",
        `${SIZING.productionReplicas} for slug \`${SIZING.productionSlug}\`, else ${SIZING.defaultReplicas}`,
      ),
    ),
  cpuMillicores: int(1, 1_000_000)
    .optional()
    .meta(orElse("CPU per pod (requests = limits)", `\`${SIZING.cpuMillicores}\``)),
  memoryMib: int(1, 4_194_304)
    .optional()
    .meta(orElse("memory per pod in MiB (requests = limits)", `\`${SIZING.memoryMib}\``)),
  image: imageRef().optional().meta(orElse("overrides the fleet image", "`image`")),
});

export const environmentKeys = {
  environments: list(environmentSchema, "environments").meta({
    description: "every environment of the fleet",
  }),
};
