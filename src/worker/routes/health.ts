// GET /health: no auth; whether this deployment can serve, without revealing any secret.

import pkg from "../../../package.json" with { type: "json" };
import type { Ctx } from "../context.ts";
import { hub } from "../modes/claude-code/dispatch.ts";

export async function health(c: Ctx): Promise<Response> {
  const config = c.get("config");
  const { sidecars } = await hub(c.env).stats();
  return c.json({
    status: "ok",
    name: "ccproxy",
    version: pkg.version,
    upstream_configured: config.upstreamKey !== undefined,
    admin_enabled: config.adminToken !== undefined,
    sidecars,
  });
}
