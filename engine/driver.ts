// Running programs on the real Pulumi engine (the CLI engine/build.sh built) through the Automation API: a file
// backend in a folder of the caller's, a passphrase secrets provider, inline programs, and the clusters
// engine/cluster.sh started (KUBECONFIG). Shared by the engine tier's tools (scripts/benchEngine.ts).
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { LocalWorkspace, PulumiCommand, type PulumiFn, type Stack } from "@pulumi/pulumi/automation";

export const ROOT = path.resolve(__dirname, "..");
export const ENGINE_DIR = process.env.ENGINE_DIR ?? path.join(ROOT, ".engine");
export const PROJECT = "sentinel-fleet";

export const randomSecret = (): string => randomBytes(24).toString("base64url");

/**
 * Sets this process's environment for the CLI: the tools of .engine first on PATH (the dynamic-provider plugin
 * script is in @pulumi/pulumi), Pulumi's home with the Kubernetes plugin installed from our build, a file
 * backend under `stateDir`, no update checks, no plugin downloads. Returns the CLI to run.
 */
export async function engineCommand(stateDir: string): Promise<PulumiCommand> {
  setEngineEnvironment(stateDir);
  return PulumiCommand.get({ root: ENGINE_DIR, skipVersionCheck: false });
}

/** The environment `engineCommand` sets, for callers that also run the CLI themselves (the engine tier's checks). */
export function setEngineEnvironment(stateDir: string): void {
  const pulumi = path.join(ENGINE_DIR, "bin", "pulumi");
  if (!fs.existsSync(pulumi)) throw new Error(`${pulumi} is missing: run engine/build.sh`);
  if (!process.env.KUBECONFIG) throw new Error("KUBECONFIG is not set: run under engine/cluster.sh run");
  fs.mkdirSync(stateDir, { recursive: true });
  Object.assign(process.env, {
    PATH: [
      path.join(ENGINE_DIR, "bin"),
      path.join(ROOT, "node_modules", "@pulumi", "pulumi"),
      process.env.PATH,
    ].join(path.delimiter),
    PULUMI_HOME: path.join(ENGINE_DIR, "pulumi-home"),
    PULUMI_BACKEND_URL: `file://${stateDir}`,
    PULUMI_CONFIG_PASSPHRASE: process.env.PULUMI_CONFIG_PASSPHRASE ?? randomSecret(),
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_NODEJS_TRANSPILE_ONLY: "true",
  });
}

/**
 * The project's program (index.ts) as an inline program, loaded anew for every operation: the module cache would
 * otherwise hand back the previous operation's resources.
 */
export function projectProgram(): PulumiFn {
  return () => {
    const own = (id: string) =>
      id.startsWith(ROOT + path.sep) &&
      !id.includes(`${path.sep}node_modules${path.sep}`) &&
      !["engine", "tests", "scripts"].some((d) => id.startsWith(path.join(ROOT, d) + path.sep));
    for (const id of Object.keys(require.cache)) if (own(id)) delete require.cache[id];
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require(path.join(ROOT, "index.ts")) as Record<string, unknown>;
    return Promise.resolve({ ...program });
  };
}

/**
 * How long one operation (preview, up, refresh, destroy) may run before it is cancelled: the CLI gets SIGINT,
 * starts no new step, and ends once the steps in flight end (each under its own provider timeout).
 */
export const OPERATION_DEADLINE_MS = Number(process.env.ENGINE_OPERATION_DEADLINE_MS ?? 20 * 60_000);

type Operation = "preview" | "up" | "refresh" | "destroy";

/** `stack` with every operation bounded by `ms` unless the caller passes its own `signal`. */
export function withDeadlines(stack: Stack, ms = OPERATION_DEADLINE_MS): Stack {
  for (const op of ["preview", "up", "refresh", "destroy"] as const satisfies readonly Operation[]) {
    const run = stack[op].bind(stack) as (opts?: { signal?: AbortSignal }) => Promise<unknown>;
    Object.assign(stack, {
      [op]: (opts: { signal?: AbortSignal } = {}) => run({ signal: AbortSignal.timeout(ms), ...opts }),
    });
  }
  return stack;
}

/** Where a stack's settings live: `Pulumi.<stack>.yaml` beside Pulumi.yaml (callers remove it when done). */
export const stackFile = (stack: string): string => path.join(ROOT, `Pulumi.${stack}.yaml`);

/**
 * Creates `stack` on the backend with plain `config` (full keys) written to its stack file, then `secrets`
 * (full keys, `--path` keys allowed) set through the CLI so they are stored encrypted.
 */
export async function createInlineStack(
  pulumi: PulumiCommand,
  stack: string,
  program: PulumiFn,
  config: Record<string, unknown>,
  secrets: Record<string, string> = {},
): Promise<Stack> {
  fs.writeFileSync(stackFile(stack), YAML.stringify({ config }));
  const created = await LocalWorkspace.createStack(
    { stackName: stack, projectName: PROJECT, program },
    { workDir: ROOT, pulumiCommand: pulumi, secretsProvider: "passphrase" },
  );
  for (const [key, value] of Object.entries(secrets)) {
    await created.setConfig(key, { value, secret: true }, key.includes("."));
  }
  return withDeadlines(created);
}

/** The stack's checkpoint as the file backend stores it (the latest full snapshot). */
export function checkpointFile(stateDir: string, stack: string): string {
  return path.join(stateDir, ".pulumi", "stacks", PROJECT, `${stack}.json`);
}
