// POST /v1/messages and /v1/messages/count_tokens: validate like the API, pick the scenario, then
// answer (streamed or not), fail as the scenario says, or replay a recorded fixture.
import { setTimeout as sleep } from "node:timers/promises";
import { SSE_HEADERS } from "../shared/sse/encode.ts";
import { deliver } from "./delivery.ts";
import { MockHttpError, statusForErrorType } from "./errors.ts";
import { accumulateSse, type FixtureStore, replayCandidates, splitEvents } from "./fixtures.ts";
import { type Ctx, type Route, rateLimitHeaders, sendBytes, sendJson } from "./http.ts";
import { newMessageId } from "./ids.ts";
import { renderEvents, renderMessage } from "./render.ts";
import { type Delivery, type ErrorPlan, type Plan, planFor } from "./scenarios.ts";
import { SpecError } from "./spec.ts";
import { estimateInputTokens } from "./tokens.ts";
import { validateMessagesBody } from "./validate.ts";

export interface MessagesDeps {
  fixtures: FixtureStore;
  /** Throws the API's 404 for a model the mock was told does not exist. */
  checkModel(model: string): void;
}

/** A scenario's error as the API would send it (with retry-after when the scenario sets one). */
export function scenarioError(plan: ErrorPlan): MockHttpError {
  const headers: Record<string, string> =
    plan.retryAfter === undefined ? {} : { "retry-after": String(plan.retryAfter) };
  return new MockHttpError(plan.status, plan.message, { type: plan.type, headers });
}

export function messagesRoutes(deps: MessagesDeps): Route[] {
  async function messages(ctx: Ctx): Promise<void> {
    // On every Messages response, errors included (a 429 without them would puzzle a client).
    for (const [name, value] of Object.entries(rateLimitHeaders())) ctx.res.setHeader(name, value);
    const body = validateMessagesBody(ctx.json());
    deps.checkModel(body.model as string);
    let plan: Plan;
    try {
      plan = planFor(body, ctx.req.headers["x-mock-scenario"] as string | undefined, ctx.body);
    } catch (err) {
      if (err instanceof SpecError) throw new MockHttpError(400, `mock scenario: ${err.message}`);
      throw err;
    }
    ctx.record.scenario = plan.scenario;
    const { delivery } = plan;
    if (delivery.ttfbMs > 0) await sleep(delivery.ttfbMs, undefined, { signal: ctx.signal });
    if (plan.kind === "error") throw scenarioError(plan);
    const stream = body.stream === true;
    if (delivery.dropAfter !== undefined && !stream) {
      ctx.markDropped();
      ctx.res.socket?.destroy();
      return;
    }
    if (plan.kind === "replay") return replay(ctx, plan.file, stream, delivery);

    const render = {
      messageId: newMessageId(),
      model: body.model as string,
      inputTokens: estimateInputTokens(body),
      cacheRead: delivery.cacheRead,
      cacheWrite: delivery.cacheWrite,
    };
    if (!stream) {
      sendJson(ctx.res, 200, renderMessage(plan.answer, render));
      return;
    }
    startStream(ctx);
    await deliver(
      ctx.res,
      renderEvents(plan.answer, render, delivery.midstreamError),
      deliveryOptions(ctx, delivery),
    );
  }

  async function replay(ctx: Ctx, file: string, stream: boolean, delivery: Delivery): Promise<void> {
    const found = await deps.fixtures.first(replayCandidates(file, stream));
    if (!found) throw new MockHttpError(400, `mock scenario: no fixture "${file}" in ${deps.fixtures.dir}`);
    if (found.name.endsWith(".sse")) {
      if (!stream) {
        sendJson(ctx.res, 200, accumulateSse(found.bytes));
        return;
      }
      startStream(ctx);
      await deliver(ctx.res, splitEvents(found.bytes), deliveryOptions(ctx, delivery));
      return;
    }
    // A recorded JSON body goes out byte for byte; a recorded error keeps its status.
    let status = 200;
    try {
      const parsed = JSON.parse(found.bytes.toString("utf8")) as Record<string, unknown>;
      const error = parsed.error as Record<string, unknown> | undefined;
      if (parsed.type === "error" && typeof error?.type === "string") status = statusForErrorType(error.type);
    } catch {
      // not JSON: sent as it is
    }
    sendBytes(ctx.res, status, "application/json", found.bytes);
  }

  function countTokens(ctx: Ctx): void {
    const body = validateMessagesBody(ctx.json(), { countTokens: true });
    deps.checkModel(body.model as string);
    sendJson(ctx.res, 200, { input_tokens: estimateInputTokens(body) });
  }

  return [
    { pattern: /^\/v1\/messages$/, methods: { POST: messages }, headerScenario: false },
    { pattern: /^\/v1\/messages\/count_tokens$/, methods: { POST: countTokens }, headerScenario: true },
  ];
}

/** Status and headers go out at once, as the API's do, even when the first event is delayed. */
function startStream(ctx: Ctx): void {
  ctx.res.writeHead(200, SSE_HEADERS);
  ctx.res.flushHeaders();
}

function deliveryOptions(ctx: Ctx, delivery: Delivery) {
  return {
    delayMs: delivery.delayMs,
    dropAfter: delivery.dropAfter,
    signal: ctx.signal,
    onDrop: ctx.markDropped,
  };
}
