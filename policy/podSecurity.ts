// Pod security and termination: the restricted Pod Security Standard, graceful termination, and the
// namespace's Pod Security Admission labels.
import { POD_SECURITY_LEVELS, POD_SECURITY_MODE_LABELS, POD_SECURITY_MODES, TYPES } from "./facts";
import {
  absent,
  type Container,
  containersOf,
  get,
  isRecord,
  list,
  NOT_KNOWN,
  objectRef,
  POD_SPEC_PATHS,
  type Props,
  show,
} from "./props";

/** Volume types the "restricted" standard allows. */
export const RESTRICTED_VOLUME_TYPES: readonly string[] = [
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
];
const RESTRICTED_SECCOMP = ["RuntimeDefault", "Localhost"];

/**
 * A pod-level setting as each container sees it (the container's own value when set, else the pod's): the
 * containers for which `ok` fails. Values not known yet never fail.
 */
function effective(
  podSpec: unknown,
  containers: readonly Container[],
  path: readonly string[],
  ok: (value: unknown) => boolean,
): string[] {
  const podValue = get(podSpec, "securityContext", ...path);
  const failing: string[] = [];
  for (const c of containers) {
    const own = get(c.value, "securityContext", ...path);
    const v = absent(own) ? podValue : own;
    if (v !== NOT_KNOWN && !ok(v)) failing.push(c.label);
  }
  return failing;
}

/**
 * 6. Pods meet the Pod Security Standard "restricted", and their root filesystem is read-only: non-root,
 * no privilege escalation, every capability dropped (only NET_BIND_SERVICE may come back), seccomp
 * RuntimeDefault or Localhost, no privileged containers, host namespaces or host volumes.
 */
export function podSecurityViolations(type: string, props: Props): string[] {
  const path = POD_SPEC_PATHS[type];
  if (path === undefined) return [];
  const podSpec = get(props, ...path);
  const containers = containersOf(type, props, true);
  if (podSpec === NOT_KNOWN || containers === NOT_KNOWN) return [];
  const ref = objectRef(type, props);
  const out: string[] = [];
  const each = (setting: readonly string[], ok: (value: unknown) => boolean, rule: string): void => {
    const failing = effective(podSpec, containers, setting, ok);
    if (failing.length > 0) out.push(`${ref}: ${failing.join(", ")} ${rule}`);
  };
  each(["runAsNonRoot"], (v) => v === true, "must run with runAsNonRoot: true (pod or container)");
  each(["runAsUser"], (v) => v !== 0, "must not run as user 0 (runAsUser)");
  each(
    ["seccompProfile", "type"],
    (v) => typeof v === "string" && RESTRICTED_SECCOMP.includes(v),
    "must use seccompProfile RuntimeDefault (or Localhost), on the pod or the container",
  );
  for (const c of containers) {
    const sc = get(c.value, "securityContext");
    if (sc === NOT_KNOWN) continue;
    const prefix = `${ref}: ${c.label}`;
    const escalation = get(sc, "allowPrivilegeEscalation");
    if (escalation !== NOT_KNOWN && escalation !== false)
      out.push(`${prefix} must set securityContext.allowPrivilegeEscalation: false`);
    const privileged = get(sc, "privileged");
    if (privileged === true) out.push(`${prefix} must not be privileged`);
    const drop = list(sc, "capabilities", "drop");
    if (drop !== NOT_KNOWN && !drop.includes("ALL") && !drop.includes(NOT_KNOWN))
      out.push(`${prefix} must drop every capability (securityContext.capabilities.drop: [ALL])`);
    const add = list(sc, "capabilities", "add");
    if (add !== NOT_KNOWN) {
      const extra = add.filter((a) => a !== NOT_KNOWN && a !== "NET_BIND_SERVICE");
      if (extra.length > 0)
        out.push(
          `${prefix} adds capabilities ${extra.map(show).join(", ")}; only NET_BIND_SERVICE is allowed`,
        );
    }
    const readOnly = get(sc, "readOnlyRootFilesystem");
    if (readOnly !== NOT_KNOWN && readOnly !== true)
      out.push(
        `${prefix} must set securityContext.readOnlyRootFilesystem: true (mount an emptyDir where it writes)`,
      );
  }
  for (const field of ["hostNetwork", "hostPID", "hostIPC"]) {
    if (get(podSpec, field) === true) out.push(`${ref}: pods must not use ${field}`);
  }
  const volumes = list(podSpec, "volumes");
  if (volumes !== NOT_KNOWN) {
    for (const volume of volumes) {
      if (!isRecord(volume)) continue;
      const kinds = Object.keys(volume).filter((k) => k !== "name");
      const bad = kinds.filter((k) => !RESTRICTED_VOLUME_TYPES.includes(k));
      if (bad.length > 0)
        out.push(
          `${ref}: volume ${show(get(volume, "name"))} is of type ${bad.join(", ")}; the restricted standard ` +
            `allows ${RESTRICTED_VOLUME_TYPES.join(", ")}`,
        );
    }
  }
  return out;
}

/** Termination policy config: the shortest preStop delay the pack accepts (0: none required). */
export interface TerminationConfig {
  readonly minPreStopSeconds: number;
}
export const DEFAULT_TERMINATION: TerminationConfig = { minPreStopSeconds: 1 };

export function terminationConfig(config: object = {}): TerminationConfig {
  const v = (config as { minPreStopSeconds?: unknown }).minPreStopSeconds;
  return {
    minPreStopSeconds:
      typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : DEFAULT_TERMINATION.minPreStopSeconds,
  };
}

/** Kubernetes' terminationGracePeriodSeconds when a pod does not set it. */
const DEFAULT_GRACE_SECONDS = 30;

/**
 * 7. Deployment pods stop without dropping requests: each container waits in a preStop hook (a `sleep` of at
 * least minPreStopSeconds, or an exec/httpGet hook) while endpoints move, and the grace period outlasts the
 * sleep, so SIGTERM and the drain still have time before the kubelet kills the pod.
 */
export function terminationViolations(
  type: string,
  props: Props,
  config: TerminationConfig = DEFAULT_TERMINATION,
): string[] {
  if (type !== TYPES.deployment) return [];
  const podSpec = get(props, ...POD_SPEC_PATHS[type]);
  const containers = containersOf(type, props, false);
  if (podSpec === NOT_KNOWN || containers === NOT_KNOWN) return [];
  const ref = objectRef(type, props);
  const graceValue = get(podSpec, "terminationGracePeriodSeconds");
  const grace = absent(graceValue) ? DEFAULT_GRACE_SECONDS : graceValue;
  const out: string[] = [];
  for (const c of containers) {
    const preStop = get(c.value, "lifecycle", "preStop");
    if (preStop === NOT_KNOWN) continue;
    const seconds = get(preStop, "sleep", "seconds");
    if (seconds === NOT_KNOWN) continue;
    const otherHook = !absent(get(preStop, "exec")) || !absent(get(preStop, "httpGet"));
    if (typeof seconds === "number") {
      if (seconds < config.minPreStopSeconds)
        out.push(
          `${ref}: ${c.label} preStop sleeps ${seconds} s; at least ${config.minPreStopSeconds} s keep a ` +
            "stopping pod serving while endpoints move",
        );
      if (typeof grace === "number" && grace <= seconds)
        out.push(
          `${ref}: terminationGracePeriodSeconds ${grace} does not outlast ${c.label}'s preStop sleep of ` +
            `${seconds} s; the pod is killed before it can drain`,
        );
    } else if (!otherHook && config.minPreStopSeconds > 0) {
      out.push(
        `${ref}: ${c.label} has no preStop hook; without one a stopping pod gets SIGTERM while endpoints still ` +
          "send it requests (use lifecycle.preStop.sleep)",
      );
    }
  }
  return out;
}

/** Namespace policy config: the least strict enforce level the pack accepts. */
export interface NamespacePodSecurityConfig {
  readonly minimumEnforce: string;
}
export const DEFAULT_NAMESPACE_POD_SECURITY: NamespacePodSecurityConfig = { minimumEnforce: "restricted" };

export function namespacePodSecurityConfig(config: object = {}): NamespacePodSecurityConfig {
  const v = (config as { minimumEnforce?: unknown }).minimumEnforce;
  return {
    minimumEnforce:
      typeof v === "string" && POD_SECURITY_LEVELS.includes(v)
        ? v
        : DEFAULT_NAMESPACE_POD_SECURITY.minimumEnforce,
  };
}

const PSA_VERSION = /^(latest|v1\.(0|[1-9][0-9]*))$/;

/**
 * 8. The namespace carries Pod Security Admission labels: enforce at least as strict as minimumEnforce, warn
 * and audit at valid levels, any `-version` label `latest` or `v1.<minor>`.
 */
export function namespacePodSecurityViolations(
  type: string,
  props: Props,
  config: NamespacePodSecurityConfig = DEFAULT_NAMESPACE_POD_SECURITY,
): string[] {
  if (type !== TYPES.namespace) return [];
  const labels = get(props, "metadata", "labels");
  if (labels === NOT_KNOWN) return [];
  const ref = objectRef(type, props);
  const out: string[] = [];
  for (const mode of POD_SECURITY_MODES) {
    const keys = POD_SECURITY_MODE_LABELS[mode];
    const level = get(labels, keys.level);
    if (level === NOT_KNOWN) continue;
    if (typeof level !== "string" || !POD_SECURITY_LEVELS.includes(level)) {
      const got = absent(level)
        ? `has no label ${keys.level}`
        : `label ${keys.level} is ${JSON.stringify(level)}`;
      out.push(`${ref} ${got}; it must be one of ${POD_SECURITY_LEVELS.join(", ")}`);
    } else if (
      mode === "enforce" &&
      POD_SECURITY_LEVELS.indexOf(level) > POD_SECURITY_LEVELS.indexOf(config.minimumEnforce)
    ) {
      out.push(
        `${ref} enforces Pod Security level ${level}; it must be ${config.minimumEnforce} or stricter`,
      );
    }
    const version = get(labels, keys.version);
    if (
      version !== NOT_KNOWN &&
      !absent(version) &&
      (typeof version !== "string" || !PSA_VERSION.test(version))
    )
      out.push(`${ref} label ${keys.version} is ${show(version)}; it must be latest or v1.<minor>`);
  }
  return out;
}
