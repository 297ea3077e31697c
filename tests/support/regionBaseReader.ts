// A program for tests: reads one region's shared values from the region base stack the way an environment shard
// does (components/fleet.ts regionFromBase) and exports whether each came out secret.
import * as pulumi from "@pulumi/pulumi";
import { REGION_BASE_OUTPUT, regionFromBase } from "../../components/fleet";
import { readStackConfig } from "../../lib/config";

const cfg = readStackConfig();
const base = new pulumi.StackReference("region-base", { name: cfg.regionBaseStack ?? "" });
const shared = regionFromBase(base, cfg.deployRegions[0], cfg);

export const secretness = Promise.all([
  pulumi.isSecret(base.requireOutput(REGION_BASE_OUTPUT)),
  pulumi.isSecret(base.getOutput("sentinels")),
  pulumi.isSecret(shared.databasePrimaryDsn),
  pulumi.isSecret(shared.databaseReplicaDsn),
]).then(([regionBase, sentinels, primary, replica]) => ({ regionBase, sentinels, primary, replica }));
