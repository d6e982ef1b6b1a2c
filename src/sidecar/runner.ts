// The sidecar's entry point for one Claude Code mode request (already authenticated by the Worker and
// relayed by the tunnel): validate, wait for a slot, run the agent in the key's workspace and answer
// in the route's format, streamed or whole. Errors before the answer starts are ordinary HTTP errors;
// later ones travel inside the stream. Whatever happens, `done` reports usage and cost once the
// `claude` process is gone.
import { accessSync, constants } from "node:fs";
import { anthropicToOpenAIResponse } from "../shared/convert/response.ts";
import { errorResponse, ProxyError, type WireFormat } from "../shared/errors.ts";
import { randomBase62 } from "../shared/ids.ts";
import { emptyUsage, type TokenUsage } from "../shared/pricing.ts";
import { SSE_HEADERS } from "../shared/sse/encode.ts";
import type { AgentRun, AgentStart } from "./agent.ts";
import { cliMissing } from "./agent-errors.ts";
import { Gate, type Release } from "./capacity.ts";
import { Execution, type ExecutionSummary, type OutEvent } from "./execution.ts";
import { MessageAccumulator, sseEncoder } from "./output.ts";
import type { Policy } from "./policy.ts";
import { type AgentRequest, parseRunBody } from "./request.ts";
import { conversationDigest, SessionMap } from "./sessions.ts";
import { workspaceFor } from "./workspace.ts";

export type { Policy } from "./policy.ts";

export interface RunRequest {
  format: WireFormat;
  /** The parsed JSON body. */
  body: unknown;
  keyId: string;
  keyName: string;
  requestId: string;
  /** Aborted when the client disconnects. */
  signal: AbortSignal;
}

export interface RunSummary {
  usage: TokenUsage;
  /** What the SDK says the run cost; null when it reported nothing (aborted, failed early). */
  costUsd: number | null;
  model: string | null;
  outcome: "complete" | "aborted" | "error";
  numTurns?: number;
  sessionId?: string;
  /** The usage is (partly) an estimate of what an interrupted model call streamed. */
  estimated?: boolean;
}

export interface RunResponse {
  status: number;
  headers: Record<string, string>;
  body: ReadableStream<Uint8Array>;
  done: Promise<RunSummary>;
}

export interface RunnerOptions {
  /** Keep-alive interval while the agent works silently (default 15 s). */
  heartbeatMs?: number;
  /** Replaces the Agent SDK starter (tests). */
  start?: (o: AgentStart) => AgentRun;
}

type Step = IteratorResult<OutEvent, ExecutionSummary>;
const encoder = new TextEncoder();
/** After a timeout, how long the error waits for a client to read it before the run is wound down anyway. */
const STALLED_CLIENT_MS = 30_000;

export class Runner {
  readonly #policy: Policy;
  readonly #gate: Gate;
  readonly #sessions = new SessionMap();
  readonly #heartbeatMs: number;
  readonly #start: ((o: AgentStart) => AgentRun) | undefined;
  #draining = false;

  constructor(policy: Policy, options: RunnerOptions = {}) {
    this.#policy = policy;
    this.#gate = new Gate(policy.maxConcurrent, policy.queueSize, policy.queueWaitMs);
    this.#heartbeatMs = options.heartbeatMs ?? 15_000;
    this.#start = options.start;
  }

  /** Runs holding a slot (streams still being read included). */
  get active(): number {
    return this.#gate.active;
  }

  /** Refuses new runs (503) and resolves when the in-flight and queued ones have finished. */
  drain(): Promise<void> {
    this.#draining = true;
    return this.#gate.idle();
  }

  async run(req: RunRequest): Promise<RunResponse> {
    if (this.#draining) return errorRun(req, new ProxyError("unavailable", "This sidecar is shutting down."));
    let parsed: AgentRequest;
    try {
      parsed = parseRunBody(req.format, req.body, this.#policy);
    } catch (err) {
      return errorRun(
        req,
        err instanceof ProxyError ? err : new ProxyError("invalid_request", "Invalid request."),
      );
    }
    if (!this.#cliAvailable())
      return errorRun(req, cliMissing(this.#policy.claudeExecutable), "error", parsed.model);

    let release: Release;
    try {
      release = await this.#gate.acquire(req.signal);
    } catch (err) {
      if (err instanceof ProxyError) return errorRun(req, err, "error", parsed.model);
      return errorRun(req, new ProxyError("unavailable", "The client went away."), "aborted", parsed.model);
    }

    let cwd: string;
    try {
      cwd = await workspaceFor(this.#policy.workspaceRoot, req.keyId);
    } catch {
      release();
      return errorRun(req, new ProxyError("internal", "The key's workspace could not be prepared."), "error");
    }
    return this.#execute(req, parsed, cwd, release);
  }

  #cliAvailable(): boolean {
    const path = this.#policy.claudeExecutable;
    if (path === null) return true; // the bundled binary; a missing one surfaces as the SDK's error (503)
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }

  async #execute(req: RunRequest, parsed: AgentRequest, cwd: string, release: Release): Promise<RunResponse> {
    const resume =
      parsed.history.length > 0
        ? this.#sessions.get(conversationDigest(req.keyId, parsed.system, parsed.history))
        : undefined;
    const exe = new Execution({
      request: parsed,
      agent: { policy: this.#policy, cwd },
      messageId: `msg_${randomBase62(24)}`,
      resume,
      ...(this.#start === undefined ? {} : { start: this.#start }),
    });
    const events = exe.events();

    // The client left: interrupt, and wind the run down even if nobody reads the body any more.
    const onAbort = () => {
      exe.abort();
      void drainEvents();
    };
    const limitS = Math.round(this.#policy.runTimeoutMs / 1000);
    let timeout = setTimeout(() => {
      exe.abort(new ProxyError("timeout", `The agent run exceeded this sidecar's limit of ${limitS} s.`));
      // The client gets the error in its stream; one that stopped reading does not hold the slot for ever.
      timeout = setTimeout(() => void drainEvents(), STALLED_CLIENT_MS);
    }, this.#policy.runTimeoutMs);

    let settle!: (s: RunSummary) => void;
    const done = new Promise<RunSummary>((resolve) => {
      settle = resolve;
    });
    let finished = false;
    const finish = (s: ExecutionSummary) => {
      if (finished) return;
      finished = true;
      clearTimeout(timeout);
      req.signal.removeEventListener("abort", onAbort);
      if (s.outcome === "complete" && s.sessionId !== undefined) {
        const answered = [
          ...parsed.history,
          { role: "user" as const, content: parsed.prompt },
          { role: "assistant" as const, content: exe.renderer.text },
        ];
        this.#sessions.set(conversationDigest(req.keyId, parsed.system, answered), {
          sessionId: s.sessionId,
          totals: s.totals ?? s.usage,
          costUsd: s.totalCostUsd ?? s.costUsd ?? 0,
        });
      }
      release();
      const summary: RunSummary = { usage: s.usage, costUsd: s.costUsd, model: s.model, outcome: s.outcome };
      if (s.numTurns !== undefined) summary.numTurns = s.numTurns;
      if (s.sessionId !== undefined) summary.sessionId = s.sessionId;
      if (s.estimated === true) summary.estimated = true;
      settle(summary);
    };
    const next = async (): Promise<Step> => {
      try {
        const step = await events.next();
        if (step.done) finish(step.value);
        return step;
      } catch {
        // A bug, not an agent error (those are events): end cleanly all the same.
        const s: ExecutionSummary = {
          usage: emptyUsage(),
          costUsd: null,
          model: parsed.model,
          outcome: "error",
        };
        finish(s);
        return { done: true, value: s };
      }
    };
    const drainEvents = async () => {
      for (;;) if ((await next()).done) return;
    };
    req.signal.addEventListener("abort", onAbort, { once: true });
    if (req.signal.aborted) exe.abort();

    // Wait for the answer to begin, so a failure to start is a real HTTP error.
    const first = await next();
    const head = first.done ? undefined : first.value;
    if (head === undefined || head.type === "failure") {
      const err =
        head?.type === "failure"
          ? head.error
          : new ProxyError("internal", "The Claude Code agent produced no answer.");
      await drainEvents();
      return withDone(errorRun(req, err, "error"), done);
    }

    if (!parsed.stream) return this.#whole(req, parsed, head, next, done);
    return this.#streamed(req, parsed, exe, head, next, drainEvents, done);
  }

  async #whole(
    req: RunRequest,
    parsed: AgentRequest,
    first: OutEvent,
    next: () => Promise<Step>,
    done: Promise<RunSummary>,
  ): Promise<RunResponse> {
    const acc = new MessageAccumulator();
    acc.push(first);
    for (let step = await next(); !step.done; step = await next()) acc.push(step.value);
    const summary = await done;
    const message = acc.message;
    if (acc.error !== undefined || message === undefined || summary.outcome !== "complete") {
      const err =
        acc.error ?? new ProxyError("internal", "The Claude Code agent produced no complete answer.");
      return withDone(errorRun(req, err, summary.outcome === "aborted" ? "aborted" : "error"), done);
    }
    const body =
      parsed.format === "anthropic"
        ? message
        : anthropicToOpenAIResponse(message, { model: parsed.clientModel });
    const headers = idHeaders(req);
    headers["content-type"] = "application/json";
    if (summary.costUsd !== null) headers["x-ccproxy-cost-usd"] = String(summary.costUsd);
    return { status: 200, headers, body: bytesStream(JSON.stringify(body)), done };
  }

  #streamed(
    req: RunRequest,
    parsed: AgentRequest,
    exe: Execution,
    first: OutEvent,
    next: () => Promise<Step>,
    drainEvents: () => Promise<void>,
    done: Promise<RunSummary>,
  ): RunResponse {
    const sse = sseEncoder(parsed.format, {
      requestId: req.requestId,
      clientModel: parsed.clientModel,
      includeUsage: parsed.includeUsage,
    });
    let buffered: OutEvent | undefined = first;
    let pending: Promise<Step> | undefined;
    const heartbeatMs = this.#heartbeatMs;
    const body = new ReadableStream<Uint8Array>(
      {
        async pull(controller) {
          for (;;) {
            let text: string;
            if (buffered !== undefined) {
              text = sse.encode(buffered);
              buffered = undefined;
            } else {
              pending ??= next();
              const step = await beforeTimeout(pending, heartbeatMs);
              if (step === undefined) {
                controller.enqueue(encoder.encode(sse.heartbeat()));
                return;
              }
              pending = undefined;
              if (step.done) {
                const tail = sse.end();
                if (tail !== "") controller.enqueue(encoder.encode(tail));
                controller.close();
                return;
              }
              text = sse.encode(step.value);
            }
            if (text !== "") {
              controller.enqueue(encoder.encode(text));
              return;
            }
          }
        },
        async cancel() {
          // The client stopped reading: interrupt the agent and let the run wind down in the background.
          exe.abort();
          void drainEvents();
        },
      },
      { highWaterMark: 0 },
    );
    const headers = idHeaders(req);
    Object.assign(headers, SSE_HEADERS);
    return { status: 200, headers, body, done };
  }
}

function idHeaders(req: RunRequest): Record<string, string> {
  const h: Record<string, string> = { "x-request-id": req.requestId };
  if (req.format === "anthropic") h["request-id"] = req.requestId;
  return h;
}

function bytesStream(text: string): ReadableStream<Uint8Array> {
  const bytes = encoder.encode(text);
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

/** An error answer in the route's format, with its summary already settled. */
function errorRun(
  req: RunRequest,
  err: ProxyError,
  outcome: RunSummary["outcome"] = "error",
  model: string | null = null,
): RunResponse {
  const res = errorResponse(req.format, err, req.requestId);
  const headers: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return {
    status: res.status,
    headers,
    body: res.body ?? bytesStream(""),
    done: Promise.resolve({ usage: emptyUsage(), costUsd: null, model, outcome }),
  };
}

function withDone(res: RunResponse, done: Promise<RunSummary>): RunResponse {
  return { ...res, done };
}

/** The step if it settles within `ms`, else undefined (the promise stays pending for the next try). */
async function beforeTimeout<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
