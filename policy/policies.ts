// The sentinel fleet's guardrails as Pulumi resource policies (spec: docs/sentinel-spec.md).
//
// Each rule is a pure function over (type, props) that returns violation messages, one file per group:
// labels.ts, workloads.ts, images.ts, credentials.ts, podSecurity.ts (the spec's values from facts.ts, reading
// values not known yet through props.ts). `policies` wraps them for the Pulumi policy server, and
// `evaluatePolicies` runs the same wrappers offline (synth, tests) without the Pulumi CLI.
import type {
  EnforcementLevel,
  PolicyConfigSchema,
  PolicyResourceOptions,
  ReportViolation,
  ResourceValidation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
} from "@pulumi/policy";
import { credentialViolations } from "./credentials";
import { DEFAULT_NODE_CLASS, POD_SECURITY_LEVELS, TYPES } from "./facts";
import { imageViolations } from "./images";
import { isKubernetesObject, labelViolations } from "./labels";
import {
  DEFAULT_NAMESPACE_POD_SECURITY,
  DEFAULT_TERMINATION,
  namespacePodSecurityConfig,
  namespacePodSecurityViolations,
  podSecurityViolations,
  terminationConfig,
  terminationViolations,
} from "./podSecurity";
import { isWorkload, plainProps, type Props } from "./props";
import {
  disruptionBudgetViolations,
  nodeClassConfig,
  placementViolations,
  probePathAdvisories,
  probeViolations,
  resourceViolations,
  rolloutViolations,
} from "./workloads";

export * from "./facts";
export * from "./labels";
export * from "./workloads";
export * from "./images";
export * from "./credentials";
export * from "./podSecurity";
export { isUnknown, objectRef, plainProps, UNKNOWN_MARKERS, UNKNOWN_VALUE } from "./props";

// ---------------------------------------------------------------------------------------------------------
// Policies.

type Rule = (type: string, props: Props, config: object) => string[];

function resourcePolicy(
  name: string,
  description: string,
  enforcementLevel: EnforcementLevel,
  applies: (type: string) => boolean,
  appliesTo: string,
  rule: Rule,
  configSchema?: PolicyConfigSchema,
): ResourceValidationPolicy {
  const validate: ResourceValidation = (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    if (!applies(args.type)) args.notApplicable(`applies to ${appliesTo} only`);
    const props = plainProps(args.props) as Props;
    for (const message of rule(args.type, props, args.getConfig())) reportViolation(message);
  };
  return { name, description, enforcementLevel, configSchema, validateResource: validate };
}

const isDeployment = (type: string) => type === TYPES.deployment;

export const policies: ResourceValidationPolicy[] = [
  resourcePolicy(
    "sentinel-labels",
    "Every Kubernetes object carries the fleet's labels (managed-by, component, workspace, project, app and " +
      "environment ids; per-sentinel objects also the sentinel id; the shared namespace managed-by and component).",
    "mandatory",
    isKubernetesObject,
    "Kubernetes objects",
    labelViolations,
  ),
  resourcePolicy(
    "sentinel-rolling-update",
    "Deployments use RollingUpdate with maxUnavailable 0.",
    "mandatory",
    isDeployment,
    "Deployments",
    rolloutViolations,
  ),
  resourcePolicy(
    "sentinel-probes",
    "Every Deployment container has liveness, readiness and startup probes.",
    "mandatory",
    isDeployment,
    "Deployments",
    probeViolations,
  ),
  resourcePolicy(
    "sentinel-resources",
    "Every Deployment container has cpu and memory requests and limits.",
    "mandatory",
    isDeployment,
    "Deployments",
    resourceViolations,
  ),
  resourcePolicy(
    "sentinel-node-placement",
    "Deployment pods tolerate the sentinel node taint and are required onto sentinel nodes (node affinity or " +
      "nodeSelector); configure key, value and effect to mirror the fleet's nodeClass setting.",
    "mandatory",
    isDeployment,
    "Deployments",
    (type, props, config) => placementViolations(type, props, nodeClassConfig(config)),
    {
      properties: {
        key: {
          type: "string",
          minLength: 1,
          default: DEFAULT_NODE_CLASS.key,
          description: "Node label/taint key",
        },
        value: { type: "string", default: DEFAULT_NODE_CLASS.value, description: "Node label/taint value" },
        effect: {
          type: "string",
          enum: ["NoSchedule", "PreferNoSchedule", "NoExecute"],
          default: DEFAULT_NODE_CLASS.effect,
          description: "Taint effect",
        },
      },
    },
  ),
  resourcePolicy(
    "sentinel-pdb-drainable",
    "PodDisruptionBudgets never block a drain: no minAvailable, maxUnavailable >= 1 (or > 0%), and " +
      "unhealthyPodEvictionPolicy AlwaysAllow.",
    "mandatory",
    (type) => type === TYPES.podDisruptionBudget,
    "PodDisruptionBudgets",
    disruptionBudgetViolations,
  ),
  resourcePolicy(
    "sentinel-images-pinned",
    "Every container image is pinned by digest or by an explicit tag other than latest.",
    "mandatory",
    isWorkload,
    "workloads",
    imageViolations,
  ),
  resourcePolicy(
    "sentinel-credentials-in-secrets",
    "Credentials live only in Secrets: never as plain env values, literal values in the sentinel's TOML, or " +
      "ConfigMap data; Secrets carry data or stringData.",
    "mandatory",
    (type) => isWorkload(type) || type === TYPES.secret || type === TYPES.configMap,
    "workloads, Secrets and ConfigMaps",
    credentialViolations,
  ),
  resourcePolicy(
    "sentinel-pod-security",
    "Pods meet the Pod Security Standard restricted and run with a read-only root filesystem: runAsNonRoot, " +
      "no user 0, allowPrivilegeEscalation false, capabilities drop ALL, seccomp RuntimeDefault, no privileged " +
      "containers, host namespaces or non-restricted volume types.",
    "mandatory",
    isWorkload,
    "workloads",
    podSecurityViolations,
  ),
  resourcePolicy(
    "sentinel-graceful-termination",
    "Deployment containers wait in a preStop hook (sleep >= minPreStopSeconds) while endpoints move, and the " +
      "termination grace period outlasts the sleep, so a rollout or drain drops no request.",
    "mandatory",
    isDeployment,
    "Deployments",
    (type, props, config) => terminationViolations(type, props, terminationConfig(config)),
    {
      properties: {
        minPreStopSeconds: {
          type: "integer",
          minimum: 0,
          default: DEFAULT_TERMINATION.minPreStopSeconds,
          description:
            "Shortest preStop sleep accepted; 0 requires no hook (mirror the fleet's pod.preStopSeconds)",
        },
      },
    },
  ),
  resourcePolicy(
    "sentinel-namespace-pod-security",
    "The namespace carries Pod Security Admission enforce, warn and audit labels; enforce is at least " +
      "minimumEnforce (mirror the fleet's namespacePodSecurity.enforce).",
    "mandatory",
    (type) => type === TYPES.namespace,
    "Namespaces",
    (type, props, config) => namespacePodSecurityViolations(type, props, namespacePodSecurityConfig(config)),
    {
      properties: {
        minimumEnforce: {
          type: "string",
          enum: [...POD_SECURITY_LEVELS],
          default: DEFAULT_NAMESPACE_POD_SECURITY.minimumEnforce,
          description: "Least strict enforce level accepted",
        },
      },
    },
  ),
  resourcePolicy(
    "sentinel-probe-paths-distinct",
    "Liveness and readiness probes use different endpoints, so readiness can report dependencies while " +
      "liveness only reports the process (spec: known flaw).",
    "advisory",
    isDeployment,
    "Deployments",
    probePathAdvisories,
  ),
];

// ---------------------------------------------------------------------------------------------------------
// Offline evaluation.

export interface PlainResource {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly props: Record<string, unknown>;
}

/** Policy pack config as `--policy-pack-config` takes it: per policy an enforcement level or settings. */
export type PackConfig = Readonly<
  Record<
    string,
    EnforcementLevel | { readonly enforcementLevel?: EnforcementLevel; readonly [key: string]: unknown }
  >
>;

export interface PolicyViolation {
  readonly policy: string;
  readonly enforcementLevel: string;
  readonly urn: string;
  readonly message: string;
}

class NotApplicable extends Error {}

const NO_OPTIONS: PolicyResourceOptions = {
  protect: false,
  ignoreChanges: [],
  aliases: [],
  customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
  additionalSecretOutputs: [],
};

function schemaDefaults(schema: PolicyConfigSchema | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, property] of Object.entries(schema?.properties ?? {})) {
    if (property.default !== undefined) out[key] = property.default;
  }
  return out;
}

/**
 * Runs every policy's validateResource over plain resources, as the policy server would: props with secrets
 * unwrapped and unknowns as markers, getConfig returning the schema defaults overlaid with `config`, and the
 * enforcement level from `config`, else the policy's own. Disabled policies do not run.
 */
export function evaluatePolicies(
  resources: readonly PlainResource[],
  config: PackConfig = {},
): PolicyViolation[] {
  const violations: PolicyViolation[] = [];
  for (const policy of policies) {
    const configured = Object.prototype.hasOwnProperty.call(config, policy.name)
      ? config[policy.name]
      : undefined;
    const { enforcementLevel: configuredLevel, ...properties } =
      typeof configured === "object" ? configured : { enforcementLevel: configured };
    let level: EnforcementLevel = configuredLevel ?? policy.enforcementLevel ?? "advisory";
    if (level === "disabled") continue;
    if (level === "remediate") level = "mandatory";
    const settings = { ...schemaDefaults(policy.configSchema), ...properties };
    const validations = policy.validateResource ?? [];
    for (const resource of resources) {
      const args: ResourceValidationArgs = {
        type: resource.type,
        props: plainProps(resource.props) as Record<string, unknown>,
        urn: resource.urn,
        name: resource.name,
        opts: NO_OPTIONS,
        stackTags: new Map<string, string>(),
        isType: () => false,
        asType: () => undefined,
        getConfig: <T extends object>() => settings as T,
        notApplicable: (reason?: string) => {
          throw new NotApplicable(reason);
        },
      };
      const report: ReportViolation = (message) =>
        violations.push({ policy: policy.name, enforcementLevel: level, urn: resource.urn, message });
      for (const validate of Array.isArray(validations) ? validations : [validations]) {
        try {
          const result = validate(args, report);
          if (result instanceof Promise) {
            throw new Error(
              `policy ${policy.name} validates asynchronously; evaluatePolicies is synchronous`,
            );
          }
        } catch (err) {
          if (!(err instanceof NotApplicable)) throw err;
        }
      }
    }
  }
  return violations;
}
