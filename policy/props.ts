// Reading props that may hold values not known yet (preview): the engine sends them as marker strings, the
// policy server turns reading one into an exception, and the SDK's mock deserializer yields an `Unknown` object
// or an own property holding `undefined`. All of these read as NOT_KNOWN here and every rule skips them.
import { TYPES } from "./facts";

/** The engine's markers for unknown values, one per type (the engine itself sends the string one). */
export const UNKNOWN_MARKERS: readonly string[] = [
  "04da6b54-80e4-46f7-96ec-b56ff0331ba9", // string
  "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7", // boolean
  "3eeb2bf0-c639-47a8-9e75-3b44932eb421", // number
  "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2", // array
  "030794c1-ac77-496b-92df-f27374a8bd58", // asset
  "e48ece36-62e2-4504-bad9-02848725956a", // archive
  "dd056dcd-154b-4c76-9bd3-c8f88648b5ff", // object
];
export const UNKNOWN_VALUE = UNKNOWN_MARKERS[0];

/** Wire signature of a secret value (`{ [SIG_KEY]: SECRET_SIG, value }`). */
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";

export type Props = Readonly<Record<string, unknown>>;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** True for an engine unknown marker or the SDK's `Unknown` value (recognised the way the SDK does). */
export function isUnknown(value: unknown): boolean {
  if (typeof value === "string") return UNKNOWN_MARKERS.includes(value);
  return (
    typeof value === "object" &&
    value !== null &&
    (value as { __pulumiUnknown?: unknown }).__pulumiUnknown === true
  );
}

function isSecretEnvelope(value: unknown): value is { value: unknown } {
  return isRecord(value) && value[SIG_KEY] === SECRET_SIG;
}

/** The policy server throws this (UnknownValueError) when a rule reads an unknown value through its proxy. */
function isUnknownValueError(err: unknown): boolean {
  return typeof err === "object" && err !== null && "unknownTypeSentinel" in err;
}

function readSafely(container: object, key: string | number): unknown {
  try {
    return (container as Record<string | number, unknown>)[key];
  } catch (err) {
    if (isUnknownValueError(err)) return UNKNOWN_VALUE;
    throw err;
  }
}

/**
 * Props as plain data, the shape the rules read: secret envelopes replaced by their values (the policy server
 * does the same), unknowns of every form as the unknown marker, and the policy server's unknown-checking proxy
 * copied out so reading an unknown value no longer throws. Own properties holding `undefined` stay so.
 */
export function plainProps(value: unknown): unknown {
  if (isUnknown(value)) return UNKNOWN_VALUE;
  if (isSecretEnvelope(value)) return plainProps(readSafely(value, "value"));
  if (Array.isArray(value)) {
    const items = value as unknown[];
    return Array.from({ length: items.length }, (_, i) => plainProps(readSafely(items, i)));
  }
  if (typeof value === "object" && value !== null) {
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(value)) copy[key] = plainProps(readSafely(value, key));
    return copy;
  }
  return value;
}

/** What a read returns for a value that is not known yet. */
export const NOT_KNOWN: unique symbol = Symbol("not known yet");
type NotKnown = typeof NOT_KNOWN;
export type Tri = "yes" | "no" | "unknown";

/**
 * Reads a path. NOT_KNOWN when the value or anything on the way is unknown (an own property holding undefined
 * counts: that is how the SDK's deserializer drops an unknown); undefined when something on the way is absent.
 */
export function get(value: unknown, ...keys: (string | number)[]): unknown {
  let current = value;
  for (const key of keys) {
    if (current === NOT_KNOWN || isUnknown(current)) return NOT_KNOWN;
    if (typeof current !== "object" || current === null) return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, key)) return undefined;
    current = (current as Record<string | number, unknown>)[key];
    if (current === undefined) return NOT_KNOWN;
  }
  return isUnknown(current) ? NOT_KNOWN : current;
}

/** A list at a path: NOT_KNOWN, its items, or [] when absent (or not a list). */
export function list(value: unknown, ...keys: (string | number)[]): unknown[] | NotKnown {
  const v = get(value, ...keys);
  if (v === NOT_KNOWN) return NOT_KNOWN;
  return Array.isArray(v) ? (v as unknown[]).map((_, i) => get(v, i)) : [];
}

export const absent = (v: unknown): boolean => v === undefined || v === null;

/**
 * Whether a field is set, to a value or to one not known yet (a marker, or an own property holding undefined).
 * For fields where any value is wrong, so being set is the violation.
 */
export function isSet(container: unknown, key: string): boolean {
  return (
    isRecord(container) && Object.prototype.hasOwnProperty.call(container, key) && container[key] !== null
  );
}

/** "yes" if any item is, else "unknown" if any might be, else "no". */
export function any(items: readonly Tri[]): Tri {
  if (items.includes("yes")) return "yes";
  return items.includes("unknown") ? "unknown" : "no";
}

/** "no" if any item is, else "unknown" if any might be, else "yes" (vacuously for none). */
export function all(items: readonly Tri[]): Tri {
  if (items.includes("no")) return "no";
  return items.includes("unknown") ? "unknown" : "yes";
}

export function show(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** `Kind namespace/name` for messages. */
export function objectRef(type: string, props: Props): string {
  const kind = type.split(":")[2] ?? type;
  const name = get(props, "metadata", "name");
  const namespace = get(props, "metadata", "namespace");
  const shownName =
    typeof name === "string" && name !== ""
      ? name
      : name === NOT_KNOWN
        ? "<name not known yet>"
        : "<auto-named>";
  return typeof namespace === "string" && namespace !== ""
    ? `${kind} ${namespace}/${shownName}`
    : `${kind} ${shownName}`;
}

// ---------------------------------------------------------------------------------------------------------
// Workloads and their containers.

/** Where each workload type keeps its pod spec. */
export const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  [TYPES.deployment]: ["spec", "template", "spec"],
  "kubernetes:apps/v1:StatefulSet": ["spec", "template", "spec"],
  "kubernetes:apps/v1:DaemonSet": ["spec", "template", "spec"],
  "kubernetes:apps/v1:ReplicaSet": ["spec", "template", "spec"],
  "kubernetes:batch/v1:Job": ["spec", "template", "spec"],
  "kubernetes:batch/v1:CronJob": ["spec", "jobTemplate", "spec", "template", "spec"],
  "kubernetes:core/v1:Pod": ["spec"],
};

export const isWorkload = (type: string): boolean => type in POD_SPEC_PATHS;

export interface Container {
  readonly value: unknown;
  /** `container "sentinel"` for messages. */
  readonly label: string;
}

/** The containers (and with `init`, the init containers) of a workload; NOT_KNOWN while the list is unknown. */
export function containersOf(type: string, props: Props, init: boolean): Container[] | NotKnown {
  const path = POD_SPEC_PATHS[type];
  if (path === undefined) return [];
  const out: Container[] = [];
  for (const [field, what] of init
    ? ([
        ["initContainers", "init container"],
        ["containers", "container"],
      ] as const)
    : ([["containers", "container"]] as const)) {
    const items = list(props, ...path, field);
    if (items === NOT_KNOWN) return NOT_KNOWN;
    items.forEach((value, i) => {
      const name = get(value, "name");
      out.push({
        value,
        label: typeof name === "string" && name !== "" ? `${what} "${name}"` : `${what} #${i}`,
      });
    });
  }
  return out.filter((c) => c.value !== NOT_KNOWN);
}
