// The sentinel-fleet policy pack: `pulumi preview --policy-pack policy`. The rules live in policies.ts.
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("sentinel-fleet", { policies });
