// Region waves: the order in which an environment's sentinels roll out across regions. Pure.

/** A region with the position of its wave within one environment (0: first). */
export interface WaveSlot<R> {
  readonly region: R;
  /** Index among the environment's own non-empty waves: wave k+1 waits for wave k of the same environment. */
  readonly wave: number;
}

/**
 * An environment's regions in rollout order, each with its wave. Without waves (null) every region is in wave
 * 0 and nothing waits. With waves, the environment's regions are grouped in the configured order and waves it
 * has no region in are skipped, so its wave k+1 waits for the nearest earlier wave it does run in. Throws
 * naming a region that is in no wave (configuration validation rejects that first).
 */
export function orderByWave<R extends { readonly name: string }>(
  regions: readonly R[],
  waves: readonly (readonly string[])[] | null,
): WaveSlot<R>[] {
  if (waves === null) return regions.map((region) => ({ region, wave: 0 }));
  const position = new Map<string, number>();
  waves.forEach((wave, i) => wave.forEach((name) => position.set(name, i)));
  const missing = regions.filter((r) => !position.has(r.name)).map((r) => JSON.stringify(r.name));
  if (missing.length > 0) throw new Error(`waves: region ${missing.join(", ")} is in no wave`);
  const used = [...new Set(regions.map((r) => position.get(r.name) as number))].sort((a, b) => a - b);
  return regions
    .map((region) => ({ region, wave: used.indexOf(position.get(region.name) as number) }))
    .sort((a, b) => a.wave - b.wave);
}
