// Metering one request from the moment its key is known: admission (with a cost reservation) by the
// key's KeyGuard, the usage read off the response as it streams, and — after the response ended,
// through waitUntil so it never delays a byte — the settlement and one ledger row. Exactly once.

import { anthropicErrorType, ProxyError, type WireFormat } from "../../shared/errors.ts";
import type { Estimate } from "../../shared/estimate.ts";
import { clientResponseHeaders } from "../../shared/http/headers.ts";
import { costUsd, emptyUsage, reservationUsd, type TokenUsage, totalTokens } from "../../shared/pricing.ts";
import { type Outcome, tapUsage, type UsageSummary } from "../../shared/usage.ts";
import type { Ctx } from "../context.ts";
import type { AdmitEstimate } from "../limits/key-guard.ts";
import { spendsNothing } from "../limits/unmetered.ts";
import { admit, type Caller, type Identity, keyGuard } from "../middleware/auth.ts";
import type { Mode } from "../storage/keys.ts";
import { insertUsage } from "./ledger.ts";

export interface MeterInfo {
  mode: Mode | null;
  format: WireFormat;
}

export interface Finish {
  status: number;
  usage?: TokenUsage;
  /** The model that answered, as the upstream or the sidecar reported it. */
  model?: string | null;
  /** When set (Claude Code mode: the Agent SDK's own figure), used instead of the price table. */
  costUsd?: number | null;
  errorType?: string | null;
  outcome: Outcome | "refused";
  /** Default: when the upstream's response headers arrived (see upstream()). */
  ttfbMs?: number | null;
  /** The usage is (partly) CCProxy's estimate, not the upstream's report (a stream that ended early). */
  estimated?: boolean;
}

/** What a request may cost before it runs, to reserve against the key's budgets. */
export function admitEstimate(model: string | null, est: Estimate, multiplier = 1): AdmitEstimate {
  const usd =
    model === null ? null : reservationUsd(model, est.promptTokens, est.maxTokens, est.webSearches ?? 0);
  return {
    usd: usd === null ? null : usd * multiplier,
    tokens: (est.promptTokens + est.maxTokens) * multiplier,
    maxTokens: est.maxTokens,
  };
}

const roundMs = (ms: number | null): number | null => (ms === null ? null : Math.round(ms));

/** A request that spends no tokens (count_tokens, listings): counted for rate and concurrency only. */
export const FREE: AdmitEstimate = { usd: 0, tokens: 0 };

export class Meter {
  readonly #c: Ctx;
  readonly #identity: Identity;
  readonly #info: MeterInfo;
  readonly #startedAt = Date.now();
  readonly #perfStart = performance.now();
  #reservation: string | null = null;
  #admitMs: number | null = null;
  #upstreamMs: number | null = null;
  /** ms from arrival to the upstream's response headers. */
  #headersAt: number | null = null;
  #done = false;
  modelRequested: string | null = null;
  modelUpstream: string | null = null;
  stream = false;

  constructor(c: Ctx, identity: Identity, info: MeterInfo) {
    this.#c = c;
    this.#identity = identity;
    this.#info = info;
  }

  /** ms since the request arrived. */
  elapsed(): number {
    return performance.now() - this.#perfStart;
  }

  /** Runs the request; any error it throws is recorded (with its status) before it reaches the error handler. */
  async guard(run: () => Promise<Response>): Promise<Response> {
    try {
      return await run();
    } catch (e) {
      const err = e instanceof ProxyError ? e : null;
      const refused = err !== null && this.#reservation === null;
      this.finish({
        status: err?.status ?? 500,
        errorType: anthropicErrorType(err?.code ?? "internal"),
        outcome: refused ? "refused" : "error",
      });
      throw e;
    }
  }

  /**
   * Admission by the key's KeyGuard; throws the refusal in the route's format. `call` is the upstream
   * method and path of a request passed through unread (estimate null), so keys with a budget or a
   * model allowlist can be refused the calls that might spend.
   */
  async admit(
    model: string | null,
    estimate: AdmitEstimate | null,
    call?: { method: string; path: string },
  ): Promise<Caller> {
    const t0 = performance.now();
    const unmetered =
      call !== undefined && !spendsNothing(call.method, call.path) ? `${call.method} ${call.path}` : null;
    const caller = await admit(this.#c, this.#identity, {
      mode: this.#info.mode,
      model,
      estimate,
      unmetered,
    });
    this.#admitMs = performance.now() - t0;
    this.#reservation = caller.reservation;
    return caller;
  }

  /** Times the upstream call up to its response headers (for Server-Timing). */
  async upstream(call: () => Promise<Response>): Promise<Response> {
    const t0 = performance.now();
    try {
      const res = await call();
      this.#headersAt = this.elapsed();
      return res;
    } finally {
      this.#upstreamMs = performance.now() - t0;
    }
  }

  /**
   * `Server-Timing`: the KeyGuard check, the wait for the upstream's headers, and everything CCProxy
   * did before the response headers, so operators (and `npm run bench`) can see CCProxy's own share.
   */
  serverTiming(headers: Headers): Headers {
    const parts: string[] = [];
    if (this.#admitMs !== null) parts.push(`ccproxy-admit;dur=${this.#admitMs.toFixed(2)}`);
    if (this.#upstreamMs !== null) parts.push(`ccproxy-upstream;dur=${this.#upstreamMs.toFixed(2)}`);
    parts.push(`ccproxy-total;dur=${this.elapsed().toFixed(2)}`);
    headers.append("server-timing", parts.join(", "));
    return headers;
  }

  /** The upstream's Anthropic-format answer, passed through with usage read on the side. */
  passthrough(upstream: Response): Response {
    const body = this.tap(upstream.body, upstream.headers.get("content-type"), upstream.status);
    const headers = this.serverTiming(clientResponseHeaders(upstream.headers));
    return new Response(body, { status: upstream.status, headers });
  }

  /** Wraps an Anthropic-format body so the row is written when it ends; null bodies finish now. */
  tap(body: ReadableStream<Uint8Array> | null, contentType: string | null, status: number) {
    if (body === null) {
      this.finish({ status, outcome: "complete", ttfbMs: Date.now() - this.#startedAt });
      return null;
    }
    return tapUsage(body, {
      contentType,
      startedAt: this.#startedAt,
      onDone: (s: UsageSummary) =>
        this.finish({
          status,
          usage: s.usage,
          model: s.model,
          errorType: s.errorType,
          outcome: s.outcome,
          ttfbMs: s.ttfbMs,
          estimated: s.estimated,
        }),
    });
  }

  /** Records the request once: the ledger row and the settlement, after the response, via waitUntil. */
  finish(f: Finish): void {
    if (this.#done) return;
    this.#done = true;
    const c = this.#c;
    const usage = f.usage ?? emptyUsage();
    const model = f.model ?? this.modelUpstream ?? this.modelRequested;
    const tokens = totalTokens(usage);
    const cost =
      f.costUsd !== undefined && f.costUsd !== null
        ? f.costUsd
        : tokens === 0 && !usage.web_search_requests
          ? 0
          : model === null
            ? null
            : costUsd(model, usage);
    const now = Date.now();
    const created = new Date(this.#startedAt).toISOString();
    const url = new URL(c.req.url);
    // The tap's last pull resolves just before this runs; starting the D1 insert in that same turn
    // held the response's last byte back by ~2 ms (npm run bench, bare workerd), so the row is
    // written one macrotask later. The settlement stays immediate: the key's next request must see
    // what this one spent.
    const writes: Promise<unknown>[] = [
      scheduler.wait(0).then(() =>
        insertUsage(c.env.DB, {
          request_id: c.get("requestId"),
          key_id: this.#identity.keyId,
          created_at: created,
          day: created.slice(0, 10),
          mode: this.#info.mode ?? "any",
          route: `${c.req.method} ${url.pathname}`,
          format: this.#info.format,
          model_requested: this.modelRequested,
          model_upstream: f.model ?? this.modelUpstream,
          status: f.status,
          stream: this.stream ? 1 : 0,
          input_tokens: usage.input_tokens,
          output_tokens: usage.output_tokens,
          cache_creation_input_tokens: usage.cache_creation_input_tokens,
          cache_read_input_tokens: usage.cache_read_input_tokens,
          cost_usd: cost,
          ttfb_ms: f.ttfbMs === undefined ? roundMs(this.#headersAt) : roundMs(f.ttfbMs),
          duration_ms: now - this.#startedAt,
          outcome: f.outcome,
          error_type: f.errorType ?? null,
          usage_estimated: f.estimated ? 1 : 0,
        }),
      ),
    ];
    if (this.#reservation !== null) {
      writes.push(keyGuard(c, this.#identity.keyId).settle(this.#reservation, { usd: cost, tokens }));
    }
    c.executionCtx.waitUntil(
      Promise.all(writes).catch((e: unknown) => {
        console.error(
          `usage record failed (${c.get("requestId")}): ${e instanceof Error ? e.message : String(e)}`,
        );
      }),
    );
  }
}
