// The sentinel-fleet policy pack: `pulumi preview --policy-pack policy`. The policies are listed in policies.ts, the rules one file per group beside it.
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("sentinel-fleet", { policies });
