// The Pulumi SDK serializes a dynamic provider's code through a V8 inspector session, for which it enables the
// inspector's Debugger, and then leaves the Debugger enabled for the rest of the program. An enabled Debugger
// slows all JavaScript down: in back-to-back profiled runs of the bench:fleet child at 300 environments,
// evaluation took 29 s with it and 22 s without (the baseline, which serializes nothing, 23 s).
//
// So once this program's one provider is serialized, the Debugger goes off again; should anything serialize a
// function later, it is turned back on first (enabling it replays every loaded script to the SDK's listener,
// so its script table is complete again). Both touch an internal SDK module; when that module is not there or
// looks different, nothing is changed: the program is then only slower, never wrong. The state lives on that
// module, not here, so every copy of this module (a test process loads the program more than once) shares it.
import type { Session } from "inspector";

interface Shared {
  /** The SDK's own getSessionAsync, before wrapping. */
  readonly original: () => Promise<Session>;
  /** idle: on, nothing scheduled; pending: on, a release scheduled; released: off. */
  state: "idle" | "pending" | "released";
}

const SHARED = Symbol.for("sentinel-fleet.sdkDebugger");

type V8Hooks = { getSessionAsync?: () => Promise<Session> } & { [SHARED]?: Shared };

function post(session: Session, method: string, params?: object): Promise<void> {
  return new Promise((resolve, reject) =>
    session.post(method, params, (err) => (err ? reject(err) : resolve())),
  );
}

/** The SDK's hooks module, looked up once: every SentinelRecord asks (null: this SDK has no such module). */
let sdkHooks: V8Hooks | null | undefined;

/** The shared state, wrapping the SDK's getSessionAsync on first use so that asking for it re-enables. */
function shared(): Shared | null {
  if (sdkHooks === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      sdkHooks = require("@pulumi/pulumi/runtime/closure/v8Hooks") as V8Hooks;
    } catch {
      sdkHooks = null;
    }
  }
  const hooks = sdkHooks;
  if (hooks === null) return null;
  const existing = hooks[SHARED];
  if (existing !== undefined) return existing;
  const getSessionAsync = hooks.getSessionAsync;
  if (typeof getSessionAsync !== "function") return null;
  const state: Shared = { original: getSessionAsync.bind(hooks), state: "idle" };
  hooks[SHARED] = state;
  hooks.getSessionAsync = async () => {
    const session = await state.original();
    if (state.state === "released") {
      state.state = "idle";
      await post(session, "Debugger.enable");
    }
    return session;
  };
  return state;
}

/**
 * Whether a release should be scheduled now: true once per serialization, so the first dynamic resource of a
 * program (and the first after anything re-enabled the Debugger) schedules it and the rest do not.
 */
export function claimSdkDebuggerRelease(): boolean {
  const s = shared();
  if (s === null || s.state !== "idle") return false;
  s.state = "pending";
  return true;
}

/**
 * Call once the dynamic provider has been serialized (after a dynamic resource's registration): turns the
 * SDK's Debugger off. Safe to call any number of times.
 */
export async function releaseSdkDebugger(): Promise<void> {
  const s = shared();
  if (s === null || s.state === "released") return;
  try {
    await post(await s.original(), "Debugger.disable");
    s.state = "released";
  } catch {
    s.state = "idle";
  }
}

/**
 * Whether the SDK's Debugger is on, asked of V8 (only an enabled Debugger accepts setPauseOnExceptions); null
 * when the SDK has no such session. For tests and diagnostics; it turns nothing on.
 */
export async function sdkDebuggerActive(): Promise<boolean | null> {
  const s = shared();
  if (s === null) return null;
  const session = await s.original();
  return post(session, "Debugger.setPauseOnExceptions", { state: "none" }).then(
    () => true,
    () => false,
  );
}
