// Claude Code mode routes: answered by the Claude Code agent in a sidecar reached over the tunnel.

import { ProxyError } from "../../shared/errors.ts";
import type { Ctx } from "../context.ts";
import { parseJsonObject, readBody } from "../http/body.ts";
import { admit, identify } from "../middleware/auth.ts";

export async function claudeCode(c: Ctx): Promise<Response> {
  const identity = await identify(c);
  const body = parseJsonObject(await readBody(c.req.raw, c.get("config").maxBodyBytes));
  const model = typeof body.model === "string" ? body.model : null;
  await admit(c, identity, { mode: "claude-code", model, estimate: null });
  throw new ProxyError(
    "unavailable",
    "No Claude Code sidecar is connected. Start one with `npm run sidecar`, or use API mode under /api/.",
    { retryAfter: 5 },
  );
}
