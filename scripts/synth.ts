// npm run synth -- --stack dev [--file path/to/Pulumi.dev.yaml] [--out out]
// Exit codes: 0 fine; 1 the program or its configuration failed; 2 mandatory policy violations.
import { parseArgs } from "util";
import { FleetConfigError } from "../lib/config";
import { synthStack } from "../tools/synth";

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      stack: { type: "string", default: "dev" },
      file: { type: "string" },
      out: { type: "string" },
    },
  });
  const stack = values.stack ?? "dev";
  const started = Date.now();
  const err = (line: string) => process.stderr.write(`${line}\n`);
  err(`synth: evaluating stack ${stack} under Pulumi's mock runtime (no cluster, database or credentials)`);
  try {
    const result = await synthStack({ stack, file: values.file, outDir: values.out, log: err });
    console.log(result.summary);
    const byPolicy = new Map<string, string[]>();
    for (const a of result.advisories) byPolicy.set(a.policy, [...(byPolicy.get(a.policy) ?? []), a.message]);
    for (const [policy, messages] of byPolicy) {
      console.log(`advisory ${policy} (${messages.length} object(s)), e.g. ${messages[0]}`);
    }
    if (result.violations.length > 0) {
      console.log(`\n${result.violations.length} mandatory policy violation(s):`);
      for (const v of result.violations) console.log(`  - ${v.policy}: ${v.message}`);
    }
    console.log(
      `\n${result.resources} resources evaluated in ${((Date.now() - started) / 1000).toFixed(1)} s; ` +
        `wrote ${result.files.length} objects and sentinels.json to ${result.outDir}`,
    );
    return result.violations.length > 0 ? 2 : 0;
  } catch (e) {
    err(e instanceof FleetConfigError ? e.message : `synth failed: ${(e as Error).stack ?? String(e)}`);
    return 1;
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
