// The environments of the fleet: their platform ids (labels and rows), regions and sizing.
import { imageRef, int, labelValue, list, object, regionName, type DocMeta } from "./fields";

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
    .meta({ description: "a subset of the region names", "x-default": "all of `regions`" } satisfies DocMeta),
  replicas: int(0, 1000)
    .optional()
    .meta({
      description: "pods per region",
      "x-default": "3 for slug `production`, else 1",
    } satisfies DocMeta),
  cpuMillicores: int(1, 1_000_000)
    .optional()
    .meta({ description: "CPU per pod (requests = limits)", "x-default": "`256`" } satisfies DocMeta),
  memoryMib: int(1, 4_194_304)
    .optional()
    .meta({
      description: "memory per pod in MiB (requests = limits)",
      "x-default": "`256`",
    } satisfies DocMeta),
  image: imageRef()
    .optional()
    .meta({ description: "overrides the fleet image", "x-default": "`image`" } satisfies DocMeta),
});

export const environmentKeys = {
  environments: list(environmentSchema, "environments").meta({
    description: "every environment of the fleet",
  }),
};
