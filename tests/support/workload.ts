// One sentinel's workload as the Sentinel component hands it to the Kubernetes builders (lib/kube.ts), for
// tests of the builders and of the policies over what they build.
import { COMPONENTS, POD_DEFAULTS } from "../../lib/constants";
import type { SentinelWorkload } from "../../lib/kube";
import { buildLabels } from "../../lib/labels";

export const TEST_IDENTITY = {
  workspaceId: "ws_1",
  projectId: "proj_1",
  appId: "app_1",
  environmentId: "env_1",
};

/** The workload of sentinel `s_123` of TEST_IDENTITY in us-east-1, one replica; `overrides` replace fields. */
export function testWorkload(overrides: Partial<SentinelWorkload> = {}): SentinelWorkload {
  return {
    name: "abcdefgh1234",
    namespace: "sentinel",
    labels: buildLabels(TEST_IDENTITY, COMPONENTS.sentinel, "s_123"),
    replicas: 1,
    image: "ghcr.io/unkeyed/unkey:v2.0.31",
    cpuMillicores: 256,
    memoryMib: 256,
    probes: { liveness: "/live", readiness: "/ready", startup: "/started" },
    nodeClass: { key: "node-class", value: "sentinel" },
    secrets: { environment: "env-secret" },
    configToml: "x = 1\n",
    regionName: "us-east-1",
    regionId: "reg_use1",
    address: "abcdefgh1234.sentinel.svc.cluster.local:8040",
    pod: { ...POD_DEFAULTS },
    rowIncarnation: null,
    ...overrides,
  };
}
