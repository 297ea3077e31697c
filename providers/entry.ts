// What a SentinelRecord's `__provider` stub (providers/stub.ts) loads inside Pulumi's dynamic-provider host:
// the one SentinelRecordProvider, plus what a change of the `__provider` text itself needs.
//
// The host runs every call with the provider of the text it is given: check, diff, create and update take it
// from the new inputs, read and delete from the state. A record written before the stub (CHANGELOG.md)
// holds a whole provider's code in its state (inputs and outputs); the engine's Check and Diff already come
// here, but a diff that reports nothing would keep the old outputs, old code included, in the state for good
// (an unchanged resource keeps its outputs). So when only the text differs, diff reports an in-place update,
// never a replacement, and that update writes nothing to the database: the row keeps its id, k8s_name and
// version, and the host stores the outputs again with the stub in place of the old code.
import type * as pulumi from "@pulumi/pulumi";
import {
  SentinelRecordProvider,
  type SentinelRecordCheckedInputs,
  type SentinelRecordOutputs,
} from "./sentinelRecord";

/** The host's property for the provider's text, present in every request's inputs and state. */
const PROVIDER_KEY = "__provider";

interface ProviderText {
  [PROVIDER_KEY]?: unknown;
}
type WithProvider<T> = T & ProviderText;

/** Whether a state was written with another `__provider` text than the one now running. */
export function providerTextChanged(olds: ProviderText, news: ProviderText): boolean {
  return typeof news[PROVIDER_KEY] === "string" && olds[PROVIDER_KEY] !== news[PROVIDER_KEY];
}

/** The SentinelRecordProvider as the host gets it: a change of provider text alone is a no-op update. */
export class SentinelRecordHostProvider extends SentinelRecordProvider {
  override async diff(
    id: string,
    olds: WithProvider<SentinelRecordOutputs>,
    news: WithProvider<SentinelRecordCheckedInputs>,
  ): Promise<pulumi.dynamic.DiffResult> {
    const result = await super.diff(id, olds, news);
    if (result.changes === true || !providerTextChanged(olds, news)) return result;
    return { ...result, changes: true };
  }

  override async update(
    id: string,
    olds: WithProvider<SentinelRecordOutputs>,
    news: WithProvider<SentinelRecordCheckedInputs>,
  ): Promise<pulumi.dynamic.UpdateResult> {
    // Nothing but the provider text changed: the row stays as it is; the host replaces the text in the outputs.
    if ((await super.diff(id, olds, news)).changes !== true) return { outs: { ...olds } };
    return super.update(id, olds, news);
  }
}

/** What the stub's `handler()` returns: one instance per host process, configured once by the host. */
export const provider = new SentinelRecordHostProvider();
