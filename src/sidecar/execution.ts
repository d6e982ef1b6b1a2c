// One agent run from start to summary: starts the agent (resuming a session when the conversation
// continues one), renders its messages into Anthropic stream events, reads the result (usage, cost,
// stop), and ends with either message_delta/message_stop or one failure. Pulled event by event by
// the response body, so nothing runs ahead of the client.
import type { SDKMessage, SDKResultMessage } from "@anthropic-ai/claude-agent-sdk";
import type { StreamEvent } from "../shared/anthropic/types.ts";
import { ProxyError } from "../shared/errors.ts";
import { emptyUsage, type TokenUsage } from "../shared/pricing.ts";
import { type AgentRun, type AgentStart, startAgent } from "./agent.ts";
import { apiError, thrownError } from "./agent-errors.ts";
import { appendedSystemPrompt } from "./context.ts";
import { AgentRenderer, addUsage } from "./render.ts";
import type { AgentRequest } from "./request.ts";
import type { SessionEntry } from "./sessions.ts";

/** A stream event, or the one failure that ends the stream. */
export type OutEvent = StreamEvent | { type: "failure"; error: ProxyError };

export type Outcome = "complete" | "aborted" | "error";

export interface ExecutionSummary {
  usage: TokenUsage;
  costUsd: number | null;
  model: string | null;
  outcome: Outcome;
  numTurns?: number;
  sessionId?: string;
  /** The session's running totals, to remember for the next resume. */
  totals?: TokenUsage;
  totalCostUsd?: number;
  /** The usage is (partly) an estimate: the run stopped before a model call reported its own. */
  estimated?: boolean;
}

export interface ExecutionOptions {
  request: AgentRequest;
  agent: Omit<AgentStart, "prompt" | "append" | "resume" | "onDenial" | "model" | "thinking" | "effort">;
  messageId: string;
  /** The session this conversation continues, if any. */
  resume: SessionEntry | undefined;
  /** Tests and the runner swap the agent starter. */
  start?: (o: AgentStart) => AgentRun;
}

const TERMINAL_STOPS: ReadonlySet<string> = new Set(["end_turn", "max_tokens", "refusal", "stop_sequence"]);

export class Execution {
  readonly renderer: AgentRenderer;
  readonly #opts: ExecutionOptions;
  #agent: AgentRun | undefined;
  #abortReason: ProxyError | "client" | undefined;
  #model: string | null = null;

  constructor(opts: ExecutionOptions) {
    this.#opts = opts;
    this.renderer = new AgentRenderer({
      messageId: opts.messageId,
      model: opts.request.model,
      workspace: opts.agent.cwd,
    });
  }

  get pid(): number | undefined {
    return this.#agent?.pid();
  }

  /** Interrupts the run: the client left (no reason) or the sidecar gave up on it (a ProxyError). */
  abort(reason?: ProxyError): void {
    this.#abortReason ??= reason ?? "client";
    this.#agent?.interrupt();
  }

  /**
   * The events of the answer. The summary is the generator's return value; the `claude` process has
   * exited by the time it returns.
   */
  async *events(): AsyncGenerator<OutEvent, ExecutionSummary> {
    const attempt = yield* this.#attempt(this.#opts.resume);
    if (attempt !== "retry-fresh") return attempt;
    // A remembered session whose transcript is gone (deleted, another CLAUDE_CONFIG_DIR): start afresh.
    const fresh = yield* this.#attempt(undefined);
    return fresh === "retry-fresh" ? this.#summary("error", emptyUsage(), null) : fresh;
  }

  async *#attempt(
    resume: SessionEntry | undefined,
  ): AsyncGenerator<OutEvent, ExecutionSummary | "retry-fresh"> {
    const req = this.#opts.request;
    const start = this.#opts.start ?? startAgent;
    const renderer = this.renderer;
    const agent = start({
      ...this.#opts.agent,
      model: req.model,
      thinking: req.thinking,
      effort: req.effort,
      prompt: req.prompt,
      // A resumed session already has the earlier turns (and the system text it was started with).
      append: appendedSystemPrompt(req.system, resume === undefined ? req.history : []),
      resume: resume?.sessionId,
      onDenial: (id, reason) => renderer.noteDenial(id, reason),
    });
    this.#agent = agent;
    if (this.#abortReason !== undefined) agent.interrupt();

    let result: SDKResultMessage | undefined;
    let thrown: unknown;
    let sessionId: string | undefined;
    try {
      try {
        for await (const m of agent.query as AsyncIterable<SDKMessage>) {
          if (m.type === "system" && m.subtype === "init") {
            sessionId = m.session_id;
            this.#model = m.model;
          }
          if (m.type === "result") {
            result = m;
            continue;
          }
          for (const ev of renderer.push(m)) yield ev;
        }
      } catch (err) {
        thrown = err; // query() also throws after an error result; the result says more
      }

      if (this.#abortReason !== undefined) {
        const usage = renderer.streamedUsage;
        if (this.#abortReason === "client") return this.#summary("aborted", usage, null, sessionId);
        yield* this.#fail(this.#abortReason);
        return this.#summary("error", usage, null, sessionId);
      }
      if (result === undefined) {
        yield* this.#fail(thrownError(thrown));
        return this.#summary("error", renderer.streamedUsage, null, sessionId);
      }

      const run = runUsage(result, resume);
      const base: Omit<ExecutionSummary, "outcome"> = {
        usage: run.usage,
        costUsd: run.costUsd,
        model: this.#model ?? req.model,
        numTurns: result.num_turns,
        sessionId: result.session_id,
        totals: run.totals,
        totalCostUsd: result.total_cost_usd,
      };

      if (result.subtype === "success" && !result.is_error) {
        const last = renderer.lastStopReason;
        const stop = last !== null && TERMINAL_STOPS.has(last) ? last : "end_turn";
        yield* renderer.finish(stop, run.usage);
        return { ...base, outcome: "complete" };
      }
      if (result.subtype === "error_max_turns") {
        const note = `[Stopped: the agent reached this sidecar's limit of ${this.#opts.agent.policy.maxTurns} turns before finishing. Send a follow-up (e.g. "continue") to let it go on.]`;
        yield* renderer.finish("max_tokens", run.usage, note);
        return { ...base, outcome: "complete" };
      }
      if (result.subtype === "success") {
        const e = renderer.apiError;
        yield* this.#fail(apiError(e?.kind, e?.message ?? result.result, result.api_error_status));
        return { ...base, outcome: "error" };
      }
      const errors = "errors" in result && Array.isArray(result.errors) ? result.errors : [];
      if (!renderer.started && resume !== undefined && errors.some((e) => /No conversation found/i.test(e))) {
        return "retry-fresh";
      }
      yield* this.#fail(new ProxyError("internal", "The Claude Code agent stopped with an error."));
      return { ...base, outcome: "error" };
    } finally {
      // However the consumer left (finished, cancelled, threw), the process is ended and waited for.
      if (result === undefined || this.#abortReason !== undefined) agent.interrupt();
      const exited = agent.exited();
      const timer = setTimeout(() => agent.interrupt(), 5_000);
      await exited;
      clearTimeout(timer);
    }
  }

  *#fail(err: ProxyError): Generator<OutEvent> {
    yield* this.renderer.fail();
    yield { type: "failure", error: err };
  }

  #summary(
    outcome: Outcome,
    usage: TokenUsage,
    costUsd: number | null,
    sessionId?: string,
  ): ExecutionSummary {
    const s: ExecutionSummary = { usage, costUsd, model: this.#model ?? this.#opts.request.model, outcome };
    if (sessionId !== undefined) s.sessionId = sessionId;
    if (this.renderer.usageEstimated) s.estimated = true;
    return s;
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const n = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/** ModelUsage entries (camelCase, per model) summed into API-shaped usage, and their cost. */
function sumModelUsage(map: unknown): { usage: TokenUsage; cost: number; any: boolean } {
  const usage = emptyUsage();
  let cost = 0;
  let any = false;
  if (!isObj(map)) return { usage, cost, any };
  for (const m of Object.values(map)) {
    if (!isObj(m)) continue;
    any = true;
    const u: TokenUsage = {
      input_tokens: n(m.inputTokens),
      output_tokens: n(m.outputTokens),
      cache_creation_input_tokens: n(m.cacheCreationInputTokens),
      cache_read_input_tokens: n(m.cacheReadInputTokens),
    };
    if (typeof m.cacheCreationEphemeral5mInputTokens === "number")
      u.cache_creation_5m = m.cacheCreationEphemeral5mInputTokens;
    if (typeof m.cacheCreationEphemeral1hInputTokens === "number")
      u.cache_creation_1h = m.cacheCreationEphemeral1hInputTokens;
    if (typeof m.webSearchRequests === "number") u.web_search_requests = m.webSearchRequests;
    addUsage(usage, u);
    cost += n(m.costUSD);
  }
  return { usage, cost, any };
}

/**
 * This run's usage and cost. A resumed session reports its running totals (earlier runs included),
 * so this run's share is the CLI's per-result figure when it gives one, else the totals minus what
 * the session had reached before.
 */
export function runUsage(
  result: SDKResultMessage,
  resumed: SessionEntry | undefined,
): { usage: TokenUsage; costUsd: number | null; totals: TokenUsage } {
  const totals = sumModelUsage(result.modelUsage);
  const since = sumModelUsage((result as unknown as Obj).model_usage_since_last_result);
  if (since.any) return { usage: since.usage, costUsd: since.cost, totals: totals.usage };
  if (!totals.any)
    return { usage: emptyUsage(), costUsd: result.total_cost_usd ?? null, totals: totals.usage };
  if (resumed === undefined)
    return { usage: totals.usage, costUsd: result.total_cost_usd, totals: totals.usage };
  const b = resumed.totals;
  const d = (x: number, y: number) => Math.max(0, x - y);
  const usage: TokenUsage = {
    input_tokens: d(totals.usage.input_tokens, b.input_tokens),
    output_tokens: d(totals.usage.output_tokens, b.output_tokens),
    cache_creation_input_tokens: d(totals.usage.cache_creation_input_tokens, b.cache_creation_input_tokens),
    cache_read_input_tokens: d(totals.usage.cache_read_input_tokens, b.cache_read_input_tokens),
  };
  return { usage, costUsd: Math.max(0, result.total_cost_usd - resumed.costUsd), totals: totals.usage };
}
