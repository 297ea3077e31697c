// Validation rules shared by the stack config parser and the components' own argument checks.
import * as net from "net";
import { showValue } from "./redact";

/** Kubernetes label value (apimachinery IsValidLabelValue), at most 63 characters. */
export const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
/** RFC 1123 label: lowercase letters, digits and '-'. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** RFC 1035 label: as RFC 1123 but starting with a letter (Service and namespace names). */
export const RFC1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** Qualified label key: optional DNS prefix, then a name. */
export const QUALIFIED_NAME =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/** OCI image reference (distribution/reference grammar, simplified): [registry/]name[:tag][@digest]. */
export const IMAGE_REF =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$/;

export const isLabelValue = (s: string): boolean => s.length <= 63 && LABEL_VALUE.test(s);
export const isRegionName = (s: string): boolean => s.length <= 63 && DNS_LABEL.test(s);
export const isImageRef = (s: string): boolean => s.length <= 255 && IMAGE_REF.test(s);

export const LABEL_VALUE_RULE =
  "at most 63 characters: letters, digits, '-', '_', '.', starting and ending with a letter or digit";

export interface EnvironmentIdentityArgs {
  readonly workspaceId: string;
  readonly projectId: string;
  readonly appId: string;
  readonly environmentId: string;
  readonly slug: string;
  readonly platform: string;
  readonly image: string;
  readonly replicas?: number;
  readonly cpuMillicores?: number;
  readonly memoryMib?: number;
  readonly regions: readonly { readonly id: string; readonly name: string }[];
}

/** Every problem with a SentinelEnvironment's arguments, as `field: message` lines. */
export function environmentProblems(args: EnvironmentIdentityArgs): string[] {
  const problems: string[] = [];
  for (const field of ["workspaceId", "projectId", "appId", "environmentId", "slug"] as const) {
    const v = args[field];
    if (typeof v !== "string" || v === "" || !isLabelValue(v)) {
      problems.push(`${field}: ${showValue(v)} is not a valid Kubernetes label value (${LABEL_VALUE_RULE})`);
    }
  }
  if (typeof args.platform !== "string" || args.platform === "")
    problems.push("platform: must be a non-empty string");
  if (typeof args.image !== "string" || !isImageRef(args.image)) {
    problems.push(`image: ${showValue(args.image)} is not a valid container image reference`);
  }
  const count = (field: "replicas" | "cpuMillicores" | "memoryMib", min: number) => {
    const v = args[field];
    if (v !== undefined && (!Number.isInteger(v) || v < min)) {
      problems.push(`${field}: must be an integer >= ${min}, got ${showValue(v)}`);
    }
  };
  count("replicas", 0);
  count("cpuMillicores", 1);
  count("memoryMib", 1);
  if (args.regions.length === 0) problems.push("regions: must name at least one region");
  const seen = new Set<string>();
  for (const r of args.regions) {
    if (!isRegionName(r.name)) problems.push(`regions: ${showValue(r.name)} is not a valid region name`);
    if (seen.has(r.name)) problems.push(`regions: ${showValue(r.name)} appears twice`);
    seen.add(r.name);
  }
  return problems;
}

/** Throws one error listing every problem, before the component creates anything. */
export function assertValid(what: string, problems: readonly string[]): void {
  if (problems.length > 0) {
    throw new Error(`${what}: invalid arguments:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

/** Region ids and the platform name: they appear in URL templates, labels and the sentinel's TOML (no `$`). */
export const PLAIN_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const PLAIN_ID_RULE =
  "at most 64 characters: letters, digits, '_', '.', '-', starting with a letter or digit";
/** A kubeconfig context name: printable ASCII without whitespace. */
export const KUBE_CONTEXT = /^[\x21-\x7E]{1,253}$/;
/** DNS subdomain (RFC 1123), e.g. a PriorityClass name. */
export const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** A StackReference name: `<org>/<project>/<stack>`. */
export const STACK_REFERENCE =
  /^[A-Za-z0-9][-A-Za-z0-9_.]*\/[A-Za-z0-9][-A-Za-z0-9_.]*\/[A-Za-z0-9][-A-Za-z0-9_.]*$/;

/**
 * MySQL's and MariaDB's default collations compare case-insensitively and ignore trailing spaces: two ids
 * with the same key here are one row to the database.
 */
export const collationKey = (s: string): string => s.replace(/ +$/, "").toLowerCase();

/** Characters that change the sentinel's TOML when a value is expanded into it through `${VAR}`. */
export const TOML_BREAKING = /["\\\x00-\x1F\x7F]/;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$/;

/**
 * A database address the pods dial: `host`, `host:port`, `[IPv6]` or `[IPv6]:port`. Returns it as
 * `host:port` (IPv6 in brackets, the Go MySQL driver's form; the port defaults to 3306), or null.
 */
export function normalizeAddress(text: string): string | null {
  const port = (p: string | undefined): string | null => {
    if (p === undefined) return "3306";
    const n = Number(p);
    return /^\d{1,5}$/.test(p) && n >= 1 && n <= 65535 ? String(n) : null;
  };
  const v6 = /^\[([^\]]+)\](?::([^:]*))?$/.exec(text);
  if (v6 !== null) {
    const p = port(v6[2]);
    return net.isIPv6(v6[1]) && p !== null ? `[${v6[1]}]:${p}` : null;
  }
  const m = /^([^:]+)(?::([^:]*))?$/.exec(text);
  if (m === null) return null;
  const p = port(m[2]);
  return (IPV4.test(m[1]) || HOSTNAME.test(m[1])) && p !== null ? `${m[1]}:${p}` : null;
}

/** `host:port` for a host that may be an IPv6 literal. */
export const joinHostPort = (host: string, port: number): string =>
  host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
