// Claude Code mode routes: answered by the Claude Code agent in a sidecar reached over the tunnel,
// and `/tunnel`, where sidecars dial in (the WebSocket goes to the TunnelHub Durable Object).

import { refuseClientTools } from "../../shared/claude-code.ts";
import { ProxyError } from "../../shared/errors.ts";
import { estimateRequest } from "../../shared/estimate.ts";
import { resolveModel } from "../../shared/models.ts";
import { emptyUsage } from "../../shared/pricing.ts";
import type { Ctx } from "../context.ts";
import { parseJsonObject, readBody } from "../http/body.ts";
import { identify } from "../middleware/auth.ts";
import { dispatchToSidecar, hub, type SidecarSummary } from "../modes/claude-code/dispatch.ts";
import { admitEstimate, Meter } from "../usage/meter.ts";

/** The ledger's status for a request whose client left before any answer (nginx's "client closed"). */
const CLIENT_CLOSED = 499;
/** Output a Claude Code turn is assumed to produce at least, whatever max_tokens the client sent. */
const MIN_TURN_OUTPUT = 4096;

export async function claudeCode(c: Ctx): Promise<Response> {
  const meter = new Meter(c, await identify(c), { mode: "claude-code", format: c.get("format") });
  return meter.guard(async () => {
    const config = c.get("config");
    const bytes = await readBody(c.req.raw, config.maxBodyBytes);
    const body = parseJsonObject(bytes);
    // Refused here, before any sidecar is involved (none may be connected); the sidecar checks too.
    refuseClientTools(c.get("format"), body);
    const requested = typeof body.model === "string" ? body.model : null;
    // The sidecar resolves aliases with the same table; a run without a model is reserved as Opus,
    // Claude Code's default.
    const model = resolveModel(config.modelAliases, requested ?? "opus");
    meter.modelRequested = requested;
    meter.modelUpstream = model;
    meter.stream = body.stream === true;
    // An agent run is several model calls: reserve CC_RESERVE_TURNS of them; the SDK's real cost settles it.
    const est = estimateRequest(body, MIN_TURN_OUTPUT);
    const maxTokens = Math.max(MIN_TURN_OUTPUT, numberOr(body.max_completion_tokens, body.max_tokens));
    const turns = config.ccReserveTurns;
    const reserved = admitEstimate(model, { promptTokens: est.promptTokens, maxTokens }, turns);
    const caller = await meter.admit(requested === null ? null : model, reserved);
    // One ledger row and settlement, when the run has ended (Meter.finish records only the first).
    const record = (status: number, done: Promise<SidecarSummary>, ttfbMs: number | null) =>
      c.executionCtx.waitUntil(
        done.then((s) =>
          meter.finish({
            status,
            model: s.model,
            outcome: s.outcome,
            ttfbMs,
            // A run whose report never came (its sidecar's link dropped mid-run) is charged what was
            // reserved for it, flagged as an estimate: never free because the link broke.
            ...(s.usageKnown
              ? { usage: s.usage, costUsd: s.costUsd, estimated: s.estimated }
              : {
                  usage: {
                    ...emptyUsage(),
                    input_tokens: est.promptTokens * turns,
                    output_tokens: maxTokens * turns,
                  },
                  costUsd: reserved.usd,
                  estimated: true,
                }),
          }),
        ),
      );
    const url = new URL(c.req.url);
    const run = await dispatchToSidecar(
      c,
      caller,
      { format: c.get("format"), path: url.pathname + url.search, body: bytes },
      (done) => record(CLIENT_CLOSED, done, null),
    );
    record(run.response.status, run.done, meter.elapsed());
    return run.response;
  });
}

function numberOr(...values: unknown[]): number {
  for (const v of values) if (typeof v === "number" && Number.isFinite(v)) return v;
  return 0;
}

/** GET /tunnel: a sidecar's WebSocket upgrade, handed to the hub as is (it checks the handshake). */
export async function tunnel(c: Ctx): Promise<Response> {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket")
    throw new ProxyError(
      "invalid_request",
      "/tunnel is where CCProxy sidecars connect: a WebSocket endpoint (Upgrade: websocket). Run `npm run sidecar`.",
    );
  const res = await hub(c.env).fetch(c.req.raw);
  // A response from a stub has immutable headers; the request-id middleware adds to them.
  return new Response(res.body, { status: res.status, headers: res.headers, webSocket: res.webSocket });
}
