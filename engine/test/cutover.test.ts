// The cutover from the original agent (README, "Cutover from the original agent"): a sentinel's row, Deployment,
// Service and PodDisruptionBudget first created as the original system creates them (its own id and 8-character
// name, its own field manager), then adopted by an `up` with the region's `cutover` on, then the opt-in turned
// off. The objects keep their uids and the row its id; the checks are the kind workflow's, with the adopted
// sentinel's identity in place of the derived one.
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as YAML from "yaml";
import {
  clusterProblems,
  clusters,
  expectedSentinels,
  kubectl,
  outputProblems,
  phase,
  pulumi,
  queryRows,
  rowProblems,
  type ExpectedSentinel,
} from "../../tests/e2e/check";
import { LABELS } from "../../lib/constants";
import { sentinelAddress } from "../../providers/identity";
import { checkedConfig, checkStack, prepareDatabase, tierStack, type TierStack } from "./stacks";
import { ENGINE_PHASE, noProblems } from "./assertions";
import { BASE_STACK_FILE, stackFile, startTier, type Tier } from "./tier";

/** The sentinel the original agent created: its own id and name, not the ones this program would derive. */
const ORIGINAL = { id: "s_orig00000000000000001", k8sName: "q7x2k9ab", environmentId: "env_engine_preview" };
const REGION = "us-east-1";

function originalObjects(namespace: string, nodeClass: { key: string; value: string }): string {
  const selector = { [LABELS.sentinelId]: ORIGINAL.id };
  const docs = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace } },
    {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: ORIGINAL.k8sName, namespace, labels: selector },
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: selector },
          spec: {
            tolerations: [
              { key: nodeClass.key, operator: "Equal", value: nodeClass.value, effect: "NoSchedule" },
            ],
            nodeSelector: { [nodeClass.key]: nodeClass.value },
            containers: [
              { name: "sentinel", image: "ghcr.io/unkeyed/unkey:v2.0.20", ports: [{ containerPort: 8040 }] },
            ],
          },
        },
      },
    },
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: ORIGINAL.k8sName, namespace, labels: selector },
      spec: { selector, ports: [{ name: "http", port: 8040, targetPort: 8040 }] },
    },
    {
      apiVersion: "policy/v1",
      kind: "PodDisruptionBudget",
      metadata: { name: ORIGINAL.k8sName, namespace, labels: selector },
      spec: { maxUnavailable: 1, selector: { matchLabels: selector } },
    },
  ];
  return docs.map((d) => YAML.stringify(d)).join("---\n");
}

function uids(context: string, namespace: string): Record<string, string> {
  const out = kubectl(context, [
    "-n",
    namespace,
    "get",
    "deployment,service,poddisruptionbudget",
    ORIGINAL.k8sName,
    "-o",
    "json",
  ]);
  const items = (JSON.parse(out) as { items: { kind: string; metadata: { uid: string } }[] }).items;
  return Object.fromEntries(items.map((i) => [i.kind, i.metadata.uid]));
}

describe("a cutover from the original agent on the real engine", function () {
  this.timeout(15 * 60_000);
  let tier: Tier;
  let fleet: TierStack;

  before(async () => {
    tier = await startTier();
    const logins = await prepareDatabase(tier);
    const c = (YAML.parse(fs.readFileSync(BASE_STACK_FILE, "utf8")) as { config: Record<string, unknown> })
      .config;
    const regions = (c["sentinel-fleet:regions"] as Record<string, unknown>[]).map((r) => ({
      ...r,
      cutover: true,
    }));
    fleet = await tierStack(tier, "cutover", logins, { regions });
    checkStack(fleet);
  });
  after(async () => {
    await tier?.stop();
  });

  /** The stack's sentinels, the original agent's one under its own identity. */
  function expected(): ExpectedSentinel[] {
    return expectedSentinels(checkedConfig()).map((s) =>
      s.environmentId === ORIGINAL.environmentId && s.regionName === REGION
        ? {
            ...s,
            sentinelId: ORIGINAL.id,
            k8sName: ORIGINAL.k8sName,
            address: sentinelAddress(ORIGINAL.k8sName, s.namespace),
          }
        : s,
    );
  }

  it("adopts the original agent's row and objects: same uids, same row, the program's spec", async () => {
    const cfg = checkedConfig();
    const region = cfg.regions.find((r) => r.name === REGION)!;
    const env = cfg.environments.find((e) => e.environmentId === ORIGINAL.environmentId)!;
    const context = region.kubeContext!;
    execFileSync(
      "kubectl",
      [
        "--context",
        context,
        "--request-timeout=30s",
        "apply",
        "--field-manager",
        "original-agent",
        "-f",
        "-",
      ],
      {
        input: originalObjects(cfg.namespace, cfg.nodeClass),
        stdio: ["pipe", "ignore", "inherit"],
        timeout: 60_000,
      },
    );
    await tier.db.admin(
      "INSERT INTO sentinels (id, workspace_id, project_id, environment_id, k8s_name, k8s_address, region_id, image, " +
        "desired_state, health, desired_replicas, available_replicas, cpu_millicores, memory_mib, version, created_at) " +
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', 'healthy', 1, 1, 256, 256, 1, ?)",
      [
        ORIGINAL.id,
        env.workspaceId,
        env.projectId,
        env.environmentId,
        ORIGINAL.k8sName,
        sentinelAddress(ORIGINAL.k8sName, cfg.namespace),
        region.id,
        "ghcr.io/unkeyed/unkey:v2.0.20",
        Date.now() - 86_400_000,
      ],
    );
    const before = uids(context, cfg.namespace);

    // The Kubernetes plugin built here is release 4.25.0, which has no `enablePatchForce` provider setting (the
    // SDK's 4.34 sends it and the plugin ignores it); the plugin's own switch is this variable, which it reads
    // in the create and update paths. Without it the adoption fails with a field conflict with "original-agent".
    process.env.PULUMI_K8S_ENABLE_PATCH_FORCE = "true";
    try {
      await fleet.stack.up();
    } finally {
      delete process.env.PULUMI_K8S_ENABLE_PATCH_FORCE;
    }
    const want = expected();
    const rows = queryRows(cfg);
    const problems = [
      ...rowProblems(want, rows),
      ...outputProblems(want, JSON.parse(pulumi(["stack", "output", "sentinels", "--json"]))),
      ...clusters(cfg).flatMap((c) =>
        clusterProblems(
          want.filter((s) => s.regionName === c.region),
          c,
          cfg.nodeClass,
        ),
      ),
    ];
    noProblems("cutover up", problems);
    assert.deepStrictEqual(
      uids(context, cfg.namespace),
      before,
      "an adopted object was deleted and recreated",
    );
  });

  it("with the opt-in off: an in-place provider update, then no changes", async () => {
    const file = stackFile(fleet.name);
    const doc = YAML.parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
    doc.config["sentinel-fleet:regions"] = (
      doc.config["sentinel-fleet:regions"] as Record<string, unknown>[]
    ).map((r) => ({ ...r, cutover: false }));
    fs.writeFileSync(file, YAML.stringify(doc));
    const cfg = checkedConfig();
    const context = cfg.regions.find((r) => r.name === REGION)!.kubeContext!;
    const before = uids(context, cfg.namespace);
    const up = await fleet.stack.up();
    const changed = Object.entries(up.summary.resourceChanges ?? {}).filter(
      ([op, n]) => !["same", "update"].includes(op) && (n ?? 0) > 0,
    );
    assert.deepStrictEqual(changed, [], "turning cutover off replaced or deleted something");
    const preview = await fleet.stack.preview({ expectNoChanges: true });
    assert.deepStrictEqual(
      Object.entries(preview.changeSummary).filter(([op, n]) => op !== "same" && (n ?? 0) > 0),
      [],
    );
    assert.deepStrictEqual(uids(context, cfg.namespace), before);
  });

  it("destroy removes the adopted sentinel too", async () => {
    await fleet.stack.destroy();
    noProblems("destroy", await phase("destroy", ENGINE_PHASE));
  });
});
