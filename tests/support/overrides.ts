// A hook for tests that need a FleetConfig the stack config parser cannot express yet (or values it would
// normalize): tests/support/overriddenProgram.ts applies it to the parsed configuration before deployFleet.
import type { FleetConfig } from "../../lib/config";

export const programOverride: { current: (cfg: FleetConfig) => FleetConfig } = { current: (cfg) => cfg };

/** Runs `work` with `override` applied to the configuration of every program run inside it. */
export async function withOverride<T>(override: (cfg: FleetConfig) => FleetConfig, work: () => Promise<T>) {
  programOverride.current = override;
  try {
    return await work();
  } finally {
    programOverride.current = (cfg) => cfg;
  }
}
