// Cross-field rules: they read the input as given (guarding every type), so they run even when the schema
// found problems elsewhere, and every problem is reported at once.
import { PREWARM } from "../constants";
import { collationKey } from "../validate";
import { connectionRules } from "./connection";
import { isRecord, key, show } from "./fields";
import type { Found, Segment } from "./problems";

const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
export const records = (v: unknown): Record<string, unknown>[] =>
  Array.isArray(v) ? v.map((x) => (isRecord(x) ? x : {})) : [];

export function crossFieldRules(v: Record<string, unknown>): Found[] {
  const found: Found[] = [];
  const add = (path: Segment[], message: string, late = false) => found.push({ path, message, late });
  const collation = "under the database's default collation (case-insensitive, trailing spaces ignored)";

  const regions = records(v.regions);
  const regionNames = regions.map((r) => (typeof r.name === "string" ? r.name : ""));
  const known = regionNames.filter((n) => n !== "");
  const ids = new Map<string, number>();
  const idKeys = new Map<string, number>();
  const names = new Set<string>();
  regions.forEach((r, i) => {
    if (typeof r.id === "string" && r.id !== "") {
      const same = ids.get(r.id);
      const similar = idKeys.get(collationKey(r.id));
      if (same !== undefined) add(["regions", i, "id"], `duplicate region id ${show(r.id)}`, true);
      else if (similar !== undefined) {
        const other = regions[similar].id;
        add(
          ["regions", i, "id"],
          `region id ${show(r.id)} equals ${show(other)} (regions[${similar}]) ${collation}`,
          true,
        );
      }
      if (same === undefined) ids.set(r.id, i);
      if (similar === undefined) idKeys.set(collationKey(r.id), i);
    }
    if (typeof r.name === "string" && r.name !== "") {
      if (names.has(r.name)) add(["regions", i, "name"], `duplicate region name ${show(r.name)}`, true);
      names.add(r.name);
    }
  });

  // A subset of the configured regions, by name: unknown and repeated names.
  const subset = (path: Segment[], value: unknown) => {
    const wanted = new Set<string>();
    (Array.isArray(value) ? value : []).forEach((name: unknown, j) => {
      if (typeof name !== "string") return;
      if (!known.includes(name))
        add([...path, j], `unknown region ${show(name)} (known: ${known.join(", ")})`);
      else if (wanted.has(name)) add([...path, j], `duplicate region ${show(name)}`, true);
      wanted.add(name);
    });
  };
  subset(["deployRegions"], v.deployRegions);
  const deployed =
    v.deployRegions === undefined ? known : strings(v.deployRegions).filter((n) => known.includes(n));

  if (Array.isArray(v.waves)) {
    const placed = new Map<string, number>();
    v.waves.forEach((wave: unknown, w) => {
      (Array.isArray(wave) ? wave : []).forEach((name: unknown, j) => {
        if (typeof name !== "string") return;
        const earlier = placed.get(name);
        if (!known.includes(name))
          add(["waves", w, j], `unknown region ${show(name)} (known: ${known.join(", ")})`);
        else if (earlier !== undefined)
          add(["waves", w, j], `region ${show(name)} is already in waves[${earlier}]`, true);
        else placed.set(name, w);
      });
    });
    const missing = deployed.filter((n) => !placed.has(n));
    if (missing.length > 0 && v.waves.every((wave) => Array.isArray(wave))) {
      add(
        ["waves"],
        `must place every region of deployRegions in a wave; in none: ${missing.join(", ")}`,
        true,
      );
    }
  }

  const envs = records(v.environments);
  const envIds = new Map<string, number>();
  const envKeys = new Map<string, number>();
  envs.forEach((e, i) => {
    subset(["environments", i, "regions"], e.regions);
    const id = e.environmentId;
    if (typeof id !== "string" || id === "") return;
    const same = envIds.get(id);
    const similar = envKeys.get(collationKey(id));
    if (same !== undefined) {
      add(
        ["environments", i, "environmentId"],
        `duplicate environment id ${show(id)} (also environments[${same}])`,
        true,
      );
    } else if (similar !== undefined) {
      const other = envs[similar].environmentId;
      add(
        ["environments", i, "environmentId"],
        `environment id ${show(id)} equals ${show(other)} (environments[${similar}]) ${collation}`,
        true,
      );
    }
    if (same === undefined) envIds.set(id, i);
    if (similar === undefined) envKeys.set(collationKey(id), i);
  });

  // Stack roles and shards.
  const role = v.stackRole ?? "fleet";
  const roleText = `got stackRole ${show(role)}`;
  if (role === "environmentShard" && v.regionBaseStack === undefined) {
    add(
      ["regionBaseStack"],
      "is required with stackRole environmentShard (the region base stack <org>/<project>/<stack>)",
    );
  } else if (role !== "environmentShard" && v.regionBaseStack !== undefined) {
    add(["regionBaseStack"], `is only for stackRole environmentShard, ${roleText}`);
  }
  const shards = strings(v.shards);
  const shardSet = new Set<string>();
  shards.forEach((s, i) => {
    if (shardSet.has(s)) add(["shards", i], `duplicate shard ${show(s)}`, true);
    shardSet.add(s);
  });
  const shardsSet = v.shards !== undefined;
  const knownShards = shards.length > 0 ? [...shardSet].join(", ") : "none";
  envs.forEach((e, i) => {
    if (shardsSet && e.shard === undefined) {
      add(["environments", i, "shard"], `is required when ${key("shards")} is set (one of: ${knownShards})`);
    } else if (!shardsSet && e.shard !== undefined) {
      add(["environments", i, "shard"], `is only allowed when ${key("shards")} is set`);
    } else if (typeof e.shard === "string" && !shardSet.has(e.shard)) {
      add(["environments", i, "shard"], `unknown shard ${show(e.shard)} (known: ${knownShards})`);
    }
  });
  if (v.shard !== undefined && role !== "environmentShard") {
    add(["shard"], `is only for stackRole environmentShard, ${roleText}`);
  } else if (v.shard === undefined && role === "environmentShard" && shardsSet) {
    add(
      ["shard"],
      `is required with stackRole environmentShard when ${key("shards")} is set (one of: ${knownShards})`,
    );
  } else if (typeof v.shard === "string" && !shardSet.has(v.shard)) {
    add(["shard"], `unknown shard ${show(v.shard)} (known: ${knownShards})`);
  } else if (typeof v.shard === "string") {
    const selected = envs.some(
      (e) =>
        e.shard === v.shard &&
        (e.regions === undefined
          ? deployed.length > 0
          : strings(e.regions).some((n) => deployed.includes(n))),
    );
    if (!selected) {
      add(["shard"], `${show(v.shard)} selects no environment in deployRegions (${deployed.join(", ")})`);
    }
  }

  const prewarm = isRecord(v.prewarm) ? v.prewarm : {};
  const attempt =
    typeof prewarm.attemptTimeoutMs === "number" ? prewarm.attemptTimeoutMs : PREWARM.attemptTimeoutMs;
  const deadline = typeof prewarm.deadlineMs === "number" ? prewarm.deadlineMs : PREWARM.deadlineMs;
  if (Number.isInteger(attempt) && Number.isInteger(deadline) && deadline < attempt) {
    add(["prewarm", "deadlineMs"], `must be at least attemptTimeoutMs (${attempt}), got ${deadline}`);
  }

  if (isRecord(v.database)) {
    for (const r of connectionRules(v.database)) add(["database", ...r.path], r.message);
  }
  return found;
}
