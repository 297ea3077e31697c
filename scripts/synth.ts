// npm run synth: evaluates a stack file offline and writes what `pulumi up` would apply (synth/index.ts).
// Exit codes: 0 evaluated, no mandatory policy violation; 1 invalid configuration, stack file or program
// failure; 2 usage; 3 mandatory policy violations. No user error prints a stack trace.
import { parseArgs } from "util";
import { FleetConfigError } from "../lib/config";
import { StackFileError, stackFile, SynthUsageError, synthStack } from "../synth";

export const USAGE = `Usage: npm run synth -- [--stack <name>] [--file <path>] [--out <dir>]

Evaluates a stack's configuration as \`pulumi up\` would apply it, under Pulumi's mock runtime: no cluster,
database, credentials or Pulumi CLI. Writes every Kubernetes object to <out>/<stack>/<region>/ and the planned
sentinels rows to <out>/<stack>/sentinels.json, prints a table of the sentinels and runs the policy pack.

Options:
  --stack <name>  the stack: reads Pulumi.<name>.yaml beside Pulumi.yaml (default: dev)
  --file <path>   read this stack file instead; --stack still names the output folder
  --out <dir>     the output root (default: out)
  --trace         print the stack trace of an unexpected failure
  -h, --help      print this text

Exit codes:
  0  evaluated, no mandatory policy violation (advisories are listed)
  1  the configuration is invalid (every problem is listed), the stack file is not valid YAML, or the
     program failed on it
  2  usage: an unknown or repeated option, a stray argument, a stack or stack file that does not exist
  3  mandatory policy violations (listed; the objects are still written for review)

Examples:
  npm run synth
  npm run synth -- --stack prod-us-east-1
  npm run synth -- --stack staging --file ../fleet/Pulumi.staging.yaml --out /tmp/synth
`;

export const EXIT = { ok: 0, config: 1, usage: 2, policy: 3 } as const;

/** Where the command writes: stdout for results, stderr for progress and errors (lines). */
export interface SynthIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

const processIo: SynthIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** The command: returns its exit code (the caller exits with it). */
export async function main(argv: string[], io: SynthIo = processIo): Promise<number> {
  const err = io.err;
  const usageError = (message: string): number => {
    err(`synth: ${message}\n`);
    err(USAGE);
    return EXIT.usage;
  };
  let values: { stack?: string; file?: string; out?: string; trace?: boolean; help?: boolean };
  try {
    let tokens: { kind: string; rawName?: string; name?: string }[];
    ({ values, tokens } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      tokens: true,
      options: {
        stack: { type: "string", default: "dev" },
        file: { type: "string" },
        out: { type: "string" },
        trace: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    }));
    // parseArgs keeps the last of a repeated option; `--stack a --stack b` is more likely a slip than a choice.
    const seen = new Set<string>();
    for (const t of tokens) {
      if (t.kind !== "option" || t.name === undefined) continue;
      if (seen.has(t.name)) return usageError(`Option '--${t.name}' is given more than once`);
      seen.add(t.name);
    }
  } catch (e) {
    return usageError((e as Error).message);
  }
  if (values.help === true) {
    io.out(USAGE);
    return EXIT.ok;
  }
  for (const name of ["file", "out"] as const) {
    if (values[name] === "") return usageError(`Option '--${name}' needs a path, got an empty one`);
  }
  const stack = values.stack ?? "dev";
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(stack))
    return usageError(`${JSON.stringify(stack)} is not a stack name`);
  try {
    stackFile(stack, values.file);
  } catch (e) {
    if (e instanceof SynthUsageError) return usageError(e.message);
    throw e;
  }
  const started = Date.now();
  err(`synth: evaluating stack ${stack} under Pulumi's mock runtime (no cluster, database or credentials)`);
  try {
    const result = await synthStack({ stack, file: values.file, outDir: values.out, log: err });
    io.out(result.summary);
    const byPolicy = new Map<string, string[]>();
    for (const a of result.advisories) byPolicy.set(a.policy, [...(byPolicy.get(a.policy) ?? []), a.message]);
    for (const [policy, messages] of byPolicy) {
      io.out(`advisory ${policy} (${messages.length} object(s)), e.g. ${messages[0]}`);
    }
    for (const note of result.notes) io.out(`  why: ${note}`);
    if (result.violations.length > 0) {
      io.out(`\n${result.violations.length} mandatory policy violation(s):`);
      for (const v of result.violations) io.out(`  - ${v.policy}: ${v.message}`);
    }
    io.out(
      `\n${result.resources} resources evaluated in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `wrote ${result.files.length} objects and sentinels.json to ${result.outDir}`,
    );
    return result.violations.length > 0 ? EXIT.policy : EXIT.ok;
  } catch (e) {
    if (e instanceof SynthUsageError) return usageError(e.message);
    if (e instanceof FleetConfigError) err(e.message);
    else if (e instanceof StackFileError) err(`synth: ${e.message}`);
    else {
      err(`synth: the program failed: ${e instanceof Error ? e.message : String(e)}`);
      if (values.trace === true && e instanceof Error && e.stack !== undefined) err(e.stack);
      else err("(run with --trace for the stack trace)");
    }
    return EXIT.config;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      processIo.err(`synth: ${e instanceof Error ? e.message : String(e)}`);
      process.exit(EXIT.config);
    },
  );
}
