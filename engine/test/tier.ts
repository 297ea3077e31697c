// The engine tier's machinery: the real Pulumi CLI (built by engine/build.sh) running the project's own program
// through the Automation API, on a file backend in a temporary folder with a passphrase secrets provider,
// against the control planes engine/cluster.sh started (KUBECONFIG), a throwaway MariaDB and a prewarm
// receiver on 127.0.0.1. The assertions are tests/e2e/check.ts's, the kind workflow's own: they read the API
// servers (kubectl), the database (mysql) and the checkpoint (pulumi stack export), never the program.
import { execFile } from "child_process";
import * as fs from "fs";
import type * as http from "http";
import type { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { LocalWorkspace, PulumiCommand, type Stack } from "@pulumi/pulumi/automation";
import { prewarmReceiver, type PrewarmCall } from "../../tests/e2e/receiver";
import { withDeadlines } from "../driver";
import { startDatabase, type TestDatabase } from "../../tests/harness/mariadb";
import { randomSecret as secret, setEngineEnvironment } from "../driver";

export const ROOT = path.resolve(__dirname, "..", "..");
const ENGINE_DIR = process.env.ENGINE_DIR ?? path.join(ROOT, ".engine");
/** The stack file every stack of the tier starts from (two regions, the clusters' contexts). */
export const BASE_STACK_FILE = path.join(ROOT, "Pulumi.engine.yaml");
/** Stack names of the tier: their stack files are written into the project folder and git-ignored. */
export const STACK_PREFIX = "engine-t-";

/** Everything one run of the tier started; `stop()` ends all of it, whatever failed. */
export interface Tier {
  readonly work: string;
  readonly db: TestDatabase;
  /** A mysql option file for the admin login the checks use (`E2E_MYSQL_DEFAULTS`). */
  readonly mysqlDefaults: string;
  readonly receiver: Receiver;
  readonly pulumi: PulumiCommand;
  stop(): Promise<void>;
}

/** The prewarm receiver: tests/e2e/receiver.ts's server, logging to the file check.ts reads. */
export interface Receiver {
  readonly url: string;
  readonly token: string;
  readonly log: string;
  /** The status it answers with (200 unless a test makes the router fail). */
  status: number;
  calls(): PrewarmCall[];
}

export { randomSecret as secret } from "../driver";

/** The engine's environment (engine/driver.ts), and the folder check.ts's own `pulumi` calls keep their files in. */
function setEnvironment(work: string): void {
  setEngineEnvironment(path.join(work, "state"));
  process.env.E2E_WORK = work;
}

async function startReceiver(work: string): Promise<{ receiver: Receiver; server: http.Server }> {
  const log = path.join(work, "prewarm.jsonl");
  const token = secret();
  const state = { status: 200 };
  const server = prewarmReceiver(
    token,
    (call) => fs.appendFileSync(log, `${JSON.stringify(call)}\n`),
    () => state.status,
  );
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  const { port } = server.address() as AddressInfo;
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}`,
    token,
    log,
    get status() {
      return state.status;
    },
    set status(s: number) {
      state.status = s;
    },
    calls: () =>
      fs.existsSync(log)
        ? fs
            .readFileSync(log, "utf8")
            .split("\n")
            .filter((l) => l !== "")
            .map((l) => JSON.parse(l) as PrewarmCall)
        : [],
  };
  return { receiver, server };
}

export async function startTier(): Promise<Tier> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "sentinel-fleet-engine-"));
  setEnvironment(work);
  const stops: (() => Promise<void>)[] = [];
  try {
    const db = await startDatabase();
    stops.push(() => db.stop());
    // A login of the checks' own: the test login's password is full of characters an option file would mangle.
    const adminPassword = secret();
    for (const host of ["127.0.0.1", "localhost"]) {
      await db.admin("CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?", ["engine_check", host, adminPassword]);
      await db.admin("GRANT ALL ON *.* TO ?@?", ["engine_check", host]);
    }
    const mysqlDefaults = path.join(work, "admin.cnf");
    fs.writeFileSync(
      mysqlDefaults,
      `[client]\nhost=127.0.0.1\nport=${db.port}\nuser=engine_check\npassword=${adminPassword}\n`,
      { mode: 0o600 },
    );
    process.env.E2E_MYSQL_DEFAULTS = mysqlDefaults;
    const { receiver, server } = await startReceiver(work);
    stops.push(() => new Promise((resolve) => server.close(() => resolve())));
    server.closeAllConnections?.();
    const pulumi = await PulumiCommand.get({ root: ENGINE_DIR, skipVersionCheck: false });
    return {
      work,
      db,
      mysqlDefaults,
      receiver,
      pulumi,
      stop: async () => {
        for (const stop of stops.reverse()) await stop().catch(() => undefined);
        removeStackFiles();
        if (process.env.ENGINE_KEEP !== "1") fs.rmSync(work, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw err;
  }
}

export function stackFile(stack: string): string {
  return path.join(ROOT, `Pulumi.${stack}.yaml`);
}

function removeStackFiles(): void {
  for (const f of fs.readdirSync(ROOT)) {
    if (f.startsWith(`Pulumi.${STACK_PREFIX}`) && f.endsWith(".yaml"))
      fs.rmSync(path.join(ROOT, f), { force: true });
  }
}

/**
 * The project's program as the engine runs it: index.ts and everything of the project it loads, evaluated anew
 * for every operation (the module cache would otherwise hand back the previous run's resources).
 */
export function projectProgram(): () => Promise<Record<string, unknown>> {
  return () => {
    for (const id of Object.keys(require.cache)) {
      const inProject = id.startsWith(ROOT + path.sep) && !id.includes(`${path.sep}node_modules${path.sep}`);
      const tier =
        id.startsWith(path.join(ROOT, "engine") + path.sep) ||
        id.startsWith(path.join(ROOT, "tests") + path.sep);
      if (inProject && !tier) delete require.cache[id];
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require(path.join(ROOT, "index.ts")) as Record<string, unknown>;
    return Promise.resolve({ ...program });
  };
}

/** Settings of one stack of the tier, merged over the base stack file. */
export interface StackSpec {
  readonly name: string;
  /** Plain config values (`sentinel-fleet:` keys without the namespace), replacing the base file's. */
  readonly config: Record<string, unknown>;
  /** Secret config values, set through the CLI so they are stored encrypted. */
  readonly secrets: Record<string, string>;
}

/** Writes the stack file, creates the stack on the backend and sets its secrets. */
export async function createStack(tier: Tier, spec: StackSpec): Promise<Stack> {
  const name = `${STACK_PREFIX}${spec.name}`;
  const base = YAML.parse(fs.readFileSync(BASE_STACK_FILE, "utf8")) as { config: Record<string, unknown> };
  const config = { ...base.config };
  for (const [k, v] of Object.entries(spec.config)) {
    if (v === undefined) delete config[`sentinel-fleet:${k}`];
    else config[`sentinel-fleet:${k}`] = v;
  }
  fs.writeFileSync(stackFile(name), YAML.stringify({ config }));
  const stack = await LocalWorkspace.createStack(
    { stackName: name, projectName: "sentinel-fleet", program: projectProgram() },
    { workDir: ROOT, pulumiCommand: tier.pulumi, secretsProvider: "passphrase" },
  );
  for (const [k, v] of Object.entries(spec.secrets)) {
    await stack.setConfig(`sentinel-fleet:${k}`, { value: v, secret: true });
  }
  // Below mocha's per-test timeout, so a stuck operation is cancelled (and reported) rather than abandoned.
  return withDeadlines(stack, 10 * 60_000);
}

/** Runs the CLI directly (commands the Automation API does not wrap), in the project folder, with a deadline. */
export function cli(tier: Tier, args: string[], timeoutMs = 300_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      tier.pulumi.command,
      [...args, "--non-interactive"],
      { cwd: ROOT, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) =>
        err === null
          ? resolve(stdout)
          : reject(new Error(`pulumi ${args.join(" ")}: ${err.message}\n${stderr}`)),
    );
  });
}
