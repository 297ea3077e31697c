// index.ts with tests/support/overrides.ts applied to the parsed configuration (run via RunOptions.program).
import { deployFleet } from "../../components/fleet";
import { readStackConfig } from "../../lib/config";
import { programOverride } from "./overrides";

export const sentinels = deployFleet(programOverride.current(readStackConfig()));
