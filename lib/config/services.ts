// The services the sentinels report to: ClickHouse, Redis and OpenTelemetry.
import { object, parseUrl, secret, show, text, orElse } from "./fields";

export const serviceKeys = {
  clickhouseUrl: secret(
    '`clickhouse://`, `http(s)://` or `tcp://` URL; no `"`, `\\` or control characters (the sentinel expands it into its TOML)',
    "required",
  ),
  redisUrl: secret(
    '`redis://` or `rediss://` URL; no `"`, `\\` or control characters (the sentinel expands it into its TOML)',
    "required",
  ),
  otel: object({
    endpoint: text()
      .superRefine((v, ctx) => {
        if (parseUrl(v, ["http:", "https:"]) === null) {
          ctx.addIssue({ code: "custom", message: `${show(v)} is not an http(s) URL` });
        }
      })
      .meta({ description: "the OTLP endpoint" }),
  })
    .optional()
    .meta(orElse("an OpenTelemetry Secret per environment and region, read by the pods", "none")),
  otelHeaders: secret("`OTEL_EXPORTER_OTLP_HEADERS` (needs `otel.endpoint`)"),
};
