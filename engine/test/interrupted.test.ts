// The CLI killed (SIGKILL) in the middle of an `up`, while Deployments are being created, then the operator's
// recovery (docs/operations.md, "An interrupted up": `pulumi cancel`, `pulumi refresh --clear-pending-creates`)
// and an `up` that converges: one row per sentinel, no object the state does not know, nothing left pending.
import * as assert from "assert";
import * as fs from "fs";
import type { EngineEvent } from "@pulumi/pulumi/automation";
import { phase, pulumi } from "../../tests/e2e/check";
import { checkStack, prepareDatabase, tierStack, type TierStack } from "./stacks";
import { ENGINE_PHASE, noProblems } from "./assertions";
import { cli, startTier, type Tier } from "./tier";

/** The pids of the CLI processes running `up` that this process started (its children). */
function cliChildren(command: string): number[] {
  return fs
    .readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        return ppid === process.pid && argv[0] === command && argv.includes("up");
      } catch {
        return false;
      }
    });
}

/** Every process below `root` (its plugins), each with its command line, to tell a reused pid from it later. */
function descendants(root: number): { pid: number; cmdline: string }[] {
  const parents = new Map<number, number>();
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
      parents.set(Number(d), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // Gone since the listing.
    }
  }
  const below: { pid: number; cmdline: string }[] = [];
  const walk = (pid: number) => {
    for (const [child, parent] of parents) {
      if (parent !== pid) continue;
      try {
        below.push({ pid: child, cmdline: fs.readFileSync(`/proc/${child}/cmdline`, "utf8") });
      } catch {
        continue;
      }
      walk(child);
    }
  };
  walk(root);
  return below;
}

/** Kills what a killed CLI left running (its plugins, now orphans), by pid, where the pid is still theirs. */
function stopOrphans(orphans: readonly { pid: number; cmdline: string }[]): void {
  for (const { pid, cmdline } of orphans) {
    try {
      if (fs.readFileSync(`/proc/${pid}/cmdline`, "utf8") === cmdline) process.kill(pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
}

describe("an up killed with SIGKILL on the real engine", function () {
  this.timeout(15 * 60_000);
  let tier: Tier;
  let fleet: TierStack;

  before(async () => {
    tier = await startTier();
    fleet = await tierStack(tier, "interrupted", await prepareDatabase(tier));
    checkStack(fleet);
  });
  after(async () => {
    await tier?.stop();
  });

  it("recovers: the operator's commands, then up converges with no duplicate row and no orphaned object", async () => {
    let killed: number[] = [];
    let orphans: { pid: number; cmdline: string }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const onEvent = (e: EngineEvent) => {
      const pre = e.resourcePreEvent?.metadata;
      if (timer === undefined && pre?.type === "kubernetes:apps/v1:Deployment" && pre.op === "create") {
        // A second into the Deployment's create: applied, its rollout awaited, the step not yet recorded.
        timer = setTimeout(() => {
          killed = cliChildren(tier.pulumi.command);
          orphans = killed.flatMap(descendants);
          for (const pid of killed) process.kill(pid, "SIGKILL");
        }, 1_000);
      }
    };
    await assert.rejects(fleet.stack.up({ onEvent }));
    // A killed CLI cannot stop its plugins: they would outlive the test.
    stopOrphans(orphans);
    assert.strictEqual(killed.length, 1, "the CLI was not found to kill");
    assert.ok(orphans.length > 0, "the killed CLI's plugins were not found");
    // The killed CLI left its lock: the next up is refused until the operator clears it.
    await assert.rejects(fleet.stack.up(), (err: Error) => /currently locked/.test(err.message));
    await cli(tier, ["cancel", "--yes", "--stack", fleet.name]);
    // An up alone would leave the killed create recorded as pending for good: refresh clears it (the objects
    // are applied again by the up: server-side apply, a create of an object that exists updates it).
    await cli(tier, ["refresh", "--yes", "--clear-pending-creates", "--stack", fleet.name]);
    await fleet.stack.up();
    const state = JSON.parse(pulumi(["stack", "export"])) as {
      deployment: { pending_operations?: unknown[] };
    };
    assert.deepStrictEqual(
      state.deployment.pending_operations ?? [],
      [],
      "pending operations left in the state",
    );

    noProblems("after the interrupted up", await phase("up", ENGINE_PHASE));
    await fleet.stack.destroy();
    noProblems("destroy", await phase("destroy", ENGINE_PHASE));
  });
});
