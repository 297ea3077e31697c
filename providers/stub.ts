// The `__provider` text every SentinelRecord carries: a stub that loads the provider from the project instead of
// a copy of its code. Pulumi's dynamic-provider host evaluates this text as a CommonJS module and calls its
// `handler()` for the provider (cmd/dynamic-provider: `requireFromString(text).handler()`), the contract every
// state written by the SDK's own serializer relies on, so the host must keep honouring it.
//
// The text is written here rather than produced by the SDK's function serializer, which inlines by value
// everything a function reaches in the project's own modules (the whole provider, stored twice per
// record; docs/performance.md) and needs V8's inspector Debugger to do it. This text is the same on every machine and every run,
// names nothing from any resource's inputs and holds nothing secret: tests compare it byte for byte.
//
// Where it loads from: the host's working directory, which Pulumi sets to the project folder (the folder of
// Pulumi.yaml: the engine starts plugins in the program's working directory, and the host's own launcher
// resolves `@pulumi/pulumi` from there too). The sources are TypeScript and nothing is compiled ahead: unless
// the process already has ts-node registered (Pulumi's runner, mocha, synth), the stub registers the project's
// ts-node, transpile-only and scoped to the project folder, as the program itself is run. Only a copy of the
// project compiled without its sources (the benchmark's JavaScript loading path) runs providers/entry.js; where
// the TypeScript is, it always wins, so no stray build output can shadow it.

/** The module the stub loads, relative to the project folder; it exports `provider`. */
export const PROVIDER_ENTRY = "providers/entry.ts";

/** The plugin (package) behind every dynamic resource: Pulumi's dynamic-provider host. */
export const DYNAMIC_PROVIDER_PACKAGE = "pulumi-nodejs";

/** The resource type Pulumi's dynamic-provider host serves (what `pulumi.dynamic.Resource` registers). */
export const DYNAMIC_RESOURCE_TYPE = `${DYNAMIC_PROVIDER_PACKAGE}:dynamic:Resource`;

/** The `__provider` input of every SentinelRecord. */
export const SENTINEL_RECORD_PROVIDER_STUB = `// sentinel-fleet: the SentinelRecord provider is ${PROVIDER_ENTRY} of the project folder, the host's cwd
exports.handler = function () {
  var path = require("path");
  var root = process.cwd();
  var entry = path.join(root, ${PROVIDER_ENTRY.split("/")
    .map((part) => JSON.stringify(part))
    .join(", ")});
  try {
    if (!require("fs").existsSync(entry)) {
      entry = entry.replace(/\\.ts$/, ".js"); // a compiled copy of the project, without its sources
    } else if (!process[Symbol.for("ts-node.register.instance")]) {
      var options = { project: path.join(root, "tsconfig.json"), transpileOnly: true, scope: true, scopeDir: root };
      require(require.resolve("ts-node", { paths: [root] })).register(options);
    }
    return require(entry).provider;
  } catch (err) {
    throw new Error("sentinel-fleet: cannot load " + entry + " (run Pulumi in the project folder after npm ci): " +
      (err && err.message));
  }
};
`;
