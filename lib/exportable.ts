// Stack exports that do not pin the resource graph.
//
// An Output keeps the resources it came from alive, and the SDK links every resource to its parent and every
// component to its children. So one exported sentinel id, taken straight from its SentinelRecord, keeps the
// record, its Sentinel, the SentinelEnvironment and every object of that environment in memory until the
// program ends; exporting every sentinel keeps the whole fleet. Stack exports need the value only (nothing
// depends on them), so they drop the resources and the live heap no longer grows with the fleet
// (docs/performance.md).
import * as pulumi from "@pulumi/pulumi";

/** The parts of the SDK's Output implementation that `pulumi.secret` and `pulumi.unsecret` use. */
interface OutputParts<T> {
  promise(withUnknowns?: boolean): Promise<T>;
  readonly isKnown: Promise<boolean>;
  readonly isSecret: Promise<boolean>;
}

/** The SDK's Output class as `pulumi.secret` constructs it. */
export type OutputConstructor = new <T>(
  resources: Set<pulumi.Resource>,
  promise: Promise<T>,
  isKnown: Promise<boolean>,
  isSecret: Promise<boolean>,
  allResources: Promise<Set<pulumi.Resource>>,
) => pulumi.Output<T>;

function hasParts<T>(value: unknown): value is OutputParts<T> {
  const v = value as Partial<OutputParts<T>>;
  return typeof v.promise === "function" && v.isKnown instanceof Promise && v.isSecret instanceof Promise;
}

/**
 * The same value as `output`, equally known or unknown and equally secret, depending on no resource. For stack
 * exports only: a resource input built from it would lose its dependency on the resources behind `output`.
 * Should a future SDK change the Output internals this relies on, `output` itself is returned: correct, only
 * heavier.
 */
export function exportable<T>(output: pulumi.Output<T>): pulumi.Output<T> {
  if (!hasParts<T>(output)) return output;
  // `pulumi.Output` is the implementation class; `pulumi.secret` builds Outputs with this same constructor.
  const Impl = pulumi.Output as unknown as OutputConstructor;
  return new Impl<T>(
    new Set(),
    output.promise(true),
    output.isKnown,
    output.isSecret,
    Promise.resolve(new Set()),
  );
}
