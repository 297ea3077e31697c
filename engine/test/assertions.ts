// What the engine tier asserts beyond tests/e2e/check.ts's phases: the checkpoint's secrets, and availability
// watched while a rollout runs.
import * as assert from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as zlib from "zlib";
import type { FleetConfig } from "../../lib/config";
import { LABELS, PROJECT } from "../../lib/constants";
import type { PhaseOptions } from "../../tests/e2e/check";

/** kwok's nodes run no container: no pod answers at its address. Everything else is checked. */
export const ENGINE_PHASE: PhaseOptions = { runningPods: false, managedLogins: false };

export function noProblems(step: string, problems: readonly string[]): void {
  assert.deepStrictEqual(problems, [], `${step}: ${problems.length} problem(s):\n  ${problems.join("\n  ")}`);
}

/**
 * Every secret value found in plaintext anywhere in the file backend's folder (the checkpoint, its backups and
 * the update history), as itself or base64-encoded (how a Kubernetes Secret's data would carry it), named by
 * file and position only. Fails when the checkpoint holds no encrypted value at all: the search would then
 * prove nothing.
 */
export function plaintextSecrets(backend: string, stack: string, values: readonly string[]): string[] {
  const files = walk(backend);
  const checkpoint = files.find((f) => path.basename(f) === `${stack}.json`);
  assert.ok(checkpoint !== undefined, `no checkpoint ${stack}.json under ${backend}`);
  assert.ok(
    fs.readFileSync(checkpoint, "utf8").includes(`"${SECRET_SIG}"`),
    "the checkpoint holds no encrypted secret: nothing was stored as a secret",
  );
  const found: string[] = [];
  for (const file of files) {
    const raw = fs.readFileSync(file);
    const text = file.endsWith(".gz") ? zlib.gunzipSync(raw).toString("utf8") : raw.toString("utf8");
    values.forEach((v, i) => {
      if (v.length < 8) throw new Error(`secret #${i} is too short to search for`);
      for (const [form, needle] of [
        ["plain", v],
        ["base64", Buffer.from(v).toString("base64")],
      ] as const) {
        if (text.includes(needle)) found.push(`${path.relative(backend, file)}: secret #${i} (${form})`);
      }
    });
  }
  return found;
}

/** The value that marks an encrypted secret in Pulumi's state (`4dabf18193072939515e22adb298388d`'s value). */
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

function walk(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** The fields of a Deployment the watch reads. */
interface DeploymentView {
  readonly metadata: { readonly name: string; readonly labels?: Record<string, string> };
  readonly spec?: { readonly replicas?: number };
  readonly status?: { readonly availableReplicas?: number };
}

interface Observation {
  readonly region: string;
  readonly name: string;
  readonly desired: number;
  readonly available: number;
}

/**
 * Watches the program's Deployments in every region while a rollout runs (one kubectl list per region and
 * second): each must keep at least its desired replicas available at every observation.
 */
export function watchAvailability(cfg: FleetConfig): {
  stop(): void;
  result(): { observations: number; problems: string[] };
} {
  let running = true;
  const problems = new Set<string>();
  let observations = 0;
  const regions = cfg.regions.filter((r) => cfg.deployRegions.includes(r.name));
  const once = (context: string, region: string) =>
    new Promise<Observation[]>((resolve) => {
      execFile(
        "kubectl",
        [
          "--context",
          context,
          "--request-timeout=10s",
          "-n",
          cfg.namespace,
          "get",
          "deployments",
          "-o",
          "json",
        ],
        { timeout: 15_000, maxBuffer: 64 * 1024 * 1024 },
        (err, stdout) => {
          if (err !== null) return resolve([]);
          const items = (JSON.parse(stdout) as { items: DeploymentView[] }).items.filter(
            (d) => d.metadata?.labels?.[LABELS.managedBy] === PROJECT,
          );
          resolve(
            items.map((d) => ({
              region,
              name: d.metadata.name,
              desired: d.spec?.replicas ?? 0,
              available: d.status?.availableReplicas ?? 0,
            })),
          );
        },
      );
    });
  const loop = (async () => {
    while (running) {
      const seen = (await Promise.all(regions.map((r) => once(r.kubeContext ?? "", r.name)))).flat();
      for (const o of seen) {
        observations++;
        if (o.available < o.desired)
          problems.add(
            `${o.region}: Deployment ${o.name} had ${o.available} of ${o.desired} replicas available`,
          );
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
  })();
  return {
    stop: () => {
      running = false;
      void loop;
    },
    result: () => ({ observations, problems: [...problems] }),
  };
}
