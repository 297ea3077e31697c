// Keys every sentinel of the fleet shares: the platform and image, the namespace and its Pod Security levels,
// the pods' security context and termination, probes, node placement, and what deletion keeps.
import { z } from "zod";
import {
  DEFAULT_NAMESPACE,
  DEFAULT_NODE_CLASS,
  DEFAULT_PROBE_PATH,
  NAMESPACE_POD_SECURITY_DEFAULTS,
  POD_SECURITY_LABELS,
  POD_SECURITY_LEVELS,
} from "../constants";
import { DNS_SUBDOMAIN, PLAIN_ID, PLAIN_ID_RULE, QUALIFIED_NAME, RFC1035_LABEL } from "../validate";
import {
  bool,
  column,
  err,
  imageRef,
  int,
  labelValue,
  matching,
  object,
  oneOf,
  show,
  orElse,
} from "./fields";

const podSecurityLevel = (mode: keyof typeof NAMESPACE_POD_SECURITY_DEFAULTS) =>
  oneOf(POD_SECURITY_LEVELS)
    .default(NAMESPACE_POD_SECURITY_DEFAULTS[mode])
    .meta({ description: `the namespace's \`${POD_SECURITY_LABELS[mode]}\` level` });

const probePath = (which: string) => {
  const e = err((v) => `must be an absolute URL path, got ${show(v)}`);
  return z
    .string(e)
    .regex(/^\/\S*$/, e)
    .default(DEFAULT_PROBE_PATH)
    .meta({ description: `the ${which} probe's path` });
};

export const fleetKeys = {
  platform: column(64, "regions.platform", PLAIN_ID, `is not a valid platform name (${PLAIN_ID_RULE})`).meta({
    description: "platform name (TOML `platform`), e.g. `aws`",
  }),
  image: imageRef().meta({ description: "the sentinel image, pinned by tag or digest" }),
  namespace: matching(RFC1035_LABEL, 63, "is not a valid namespace name (RFC 1035 label)")
    .default(DEFAULT_NAMESPACE)
    .meta({ description: "the namespace in every cluster (RFC 1035 label)" }),
  namespacePodSecurity: object({
    enforce: podSecurityLevel("enforce"),
    warn: podSecurityLevel("warn"),
    audit: podSecurityLevel("audit"),
  })
    .prefault({})
    .meta({ description: "the Pod Security Standard levels the namespace carries" }),
  pod: object({
    runAsUser: int(1, 2_147_483_647, "a non-root user id")
      .default(65532)
      .meta({ description: "the pods' user" }),
    runAsGroup: int(1, 2_147_483_647, "a non-root group id")
      .default(65532)
      .meta({ description: "the pods' group" }),
    priorityClassName: matching(DNS_SUBDOMAIN, 253, "is not a valid PriorityClass name (a DNS subdomain)")
      .optional()
      .meta(orElse("the pods' PriorityClass", "none")),
    preStopSeconds: int(0, 300)
      .default(10)
      .meta({ description: "how long a stopping pod keeps serving while endpoints move" }),
    drainSeconds: int(1, 3600).default(30).meta({
      description:
        "the in-flight drain after that; terminationGracePeriodSeconds = preStopSeconds + drainSeconds",
    }),
  })
    .prefault({})
    .meta({ description: "the sentinel pods' security context and termination" }),
  probes: object({
    livenessPath: probePath("liveness"),
    readinessPath: probePath("readiness"),
    startupPath: probePath("startup"),
  })
    .prefault({})
    .meta({ description: "the probes' HTTP paths on port 8040" }),
  nodeClass: object({
    key: matching(QUALIFIED_NAME, 316, "is not a valid label key")
      .default(DEFAULT_NODE_CLASS.key)
      .meta({ description: "the taint key pods tolerate and the node label key they require" }),
    value: labelValue().default(DEFAULT_NODE_CLASS.value).meta({ description: "its value" }),
  })
    .prefault({})
    .meta({ description: "the sentinel nodes' taint and label" }),
  ciliumNetworkPolicies: bool(true).meta({
    description: "create the gossip CiliumNetworkPolicies (false for clusters without Cilium)",
  }),
  retainSentinelRows: bool(false).meta({
    description: "keep database rows when sentinels are deleted (`retainOnDelete`)",
  }),
};
