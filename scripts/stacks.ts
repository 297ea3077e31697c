// The deployment stacks: every Pulumi.<stack>.yaml beside Pulumi.yaml but the test-only ones, which run in
// throwaway clusters and engines of their own test (`e2e`, `engine`, and `e2e-<name>`, `engine-<name>`).
// Printed as a GitHub Actions matrix, so a workflow's stack matrix is the stack files, never a hand-kept list:
//   npx ts-node --transpile-only scripts/stacks.ts   →   {"include":[{"stack":"dev","kubeconfig_secret":...}]}
import { projectStacks as stackFiles } from "../synth";

export { stackFiles };

/** Stacks of the test tiers, by name: `<tier>` or `<tier>-<name>`. */
export const TEST_ONLY_TIERS = ["e2e", "engine"] as const;

export function isTestOnlyStack(stack: string): boolean {
  return TEST_ONLY_TIERS.some((t) => stack === t || stack.startsWith(`${t}-`));
}

/** The repository secret holding a stack's kubeconfig file: KUBECONFIG_<STACK>, in secret-name characters. */
export function kubeconfigSecret(stack: string): string {
  return `KUBECONFIG_${stack.toUpperCase().replace(/[^A-Z0-9_]/g, "_")}`;
}

export function deploymentMatrix(root?: string): { include: { stack: string; kubeconfig_secret: string }[] } {
  return {
    include: stackFiles(root)
      .filter((s) => !isTestOnlyStack(s))
      .map((stack) => ({ stack, kubeconfig_secret: kubeconfigSecret(stack) })),
  };
}

if (require.main === module) process.stdout.write(`${JSON.stringify(deploymentMatrix())}\n`);
