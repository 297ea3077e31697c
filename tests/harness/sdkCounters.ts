// Counts of the SDK work a program causes, for `npm run bench:fleet`: figures that do not move with this
// machine's load (timings swing between identical runs; docs/performance.md). Installed before @pulumi/pulumi loads, it
// adds one counter increment at the entry of a few SDK functions as their files are compiled:
//   outputs      Output objects constructed (each holds promises and is awaited when serialized)
//   promises     the SDK's debuggable promises (each captures a stack trace)
//   serialized   serializeProperty calls (one per input value, nested values included)
//   stackFrames  frames in the full stack trace the SDK captures for every resource's source position, each
//                source-mapped under ts-node
// A counter whose anchor text is missing from the installed SDK version reads null instead of a wrong number.
import Module from "module";

export interface SdkCounts {
  outputs: number | null;
  promises: number | null;
  serialized: number | null;
  stackFrames: number | null;
}

interface Anchor {
  readonly file: RegExp;
  readonly text: string;
  readonly counter: keyof SdkCounts;
  /** Statement to insert after the anchor; `COUNT` is the counter object. */
  readonly add: string;
}

const ANCHORS: readonly Anchor[] = [
  {
    file: /@pulumi[\\/]pulumi[\\/]output\.js$/,
    text: "constructor(resources, promise, isKnown, isSecret, allResources) {",
    counter: "outputs",
    add: "COUNT.outputs++;",
  },
  {
    file: /@pulumi[\\/]pulumi[\\/]runtime[\\/]debuggable\.js$/,
    text: "function debuggablePromise(p, ctx) {",
    counter: "promises",
    add: "COUNT.promises++;",
  },
  {
    file: /@pulumi[\\/]pulumi[\\/]runtime[\\/]rpc\.js$/,
    text: "async function serializeProperty(ctx, prop, dependentResources, opts) {",
    counter: "serialized",
    add: "COUNT.serialized++;",
  },
  {
    file: /@pulumi[\\/]pulumi[\\/]resource\.js$/,
    text: "const stackTrace = new Error().stack;",
    counter: "stackFrames",
    add: 'COUNT.stackFrames += (stackTrace || "").split("\\n").length - 1;',
  },
];

const GLOBAL_KEY = "__sentinelFleetSdkCounts";

/** Starts counting; call before anything loads @pulumi/pulumi. Returns the live counts. */
export function installSdkCounters(): SdkCounts {
  const counts: SdkCounts = { outputs: null, promises: null, serialized: null, stackFrames: null };
  (globalThis as Record<string, unknown>)[GLOBAL_KEY] = counts;
  type Compile = (this: unknown, content: string, filename: string) => unknown;
  const proto = Module.prototype as unknown as { _compile: Compile };
  const compile = proto._compile;
  proto._compile = function (this: unknown, content: string, filename: string) {
    let source = content;
    for (const anchor of ANCHORS) {
      if (!anchor.file.test(filename) || !source.includes(anchor.text)) continue;
      counts[anchor.counter] = 0;
      const add = anchor.add.replace(/COUNT/g, `globalThis.${GLOBAL_KEY}`);
      source = source.replace(anchor.text, `${anchor.text} ${add}`);
    }
    return compile.call(this, source, filename);
  };
  return counts;
}
