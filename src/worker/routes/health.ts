// GET /health: no auth; whether this deployment can serve, without revealing any secret.

import pkg from "../../../package.json" with { type: "json" };
import type { Ctx } from "../context.ts";

export function health(c: Ctx): Response {
  const config = c.get("config");
  return c.json({
    status: "ok",
    name: "ccproxy",
    version: pkg.version,
    upstream_configured: config.upstreamKey !== undefined,
    admin_enabled: config.adminToken !== undefined,
    sidecars: 0,
  });
}
