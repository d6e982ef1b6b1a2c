// One tunnel request served by the runner: the body read (which returns credit to the Worker) and
// parsed, the run started with the request's abort signal, its head and body streamed back as the
// Worker grants credit, and its summary sent as the `res_end` trailer for the usage ledger — or,
// when the client left (or the stream failed) before that, as a `summary` once the run has stopped.
// A refusal before anything ran (429/503/529) goes back as a tunnel `error`, so the Worker can try
// another sidecar.

import type { ErrorCode } from "../shared/errors.ts";
import type { Header, IncomingRequest, JsonValue, Trailer } from "../shared/tunnel/index.ts";
import type { RunRequest, RunResponse, RunSummary } from "./runner.ts";

export type { RunRequest, RunResponse, RunSummary } from "./runner.ts";

export type RunHandler = (req: RunRequest) => Promise<RunResponse>;

/** The Worker allows 32 MiB; anything beyond is not a request it sent. */
const MAX_BODY_BYTES = 33 * 1024 * 1024;

/** Runner statuses that mean "not now, nothing ran": the Worker may retry on another sidecar. */
const REFUSALS: Record<number, ErrorCode> = { 429: "rate_limited", 503: "unavailable", 529: "overloaded" };

export async function serve(
  request: IncomingRequest,
  run: RunHandler,
  log: (line: string) => void,
): Promise<void> {
  let done: Promise<RunSummary> | undefined;
  try {
    await respond(request, run, log, (d) => {
      done = d;
    });
  } finally {
    await reportStopped(request, done);
  }
}

/**
 * A stream that ended without `res_end` — the Worker cancelled it (the client left) or it failed —
 * still owes the Worker what the run used until it stopped (the client's budget pays for it): sent
 * as a `summary` once the run has wound down. Nothing ran: an empty one, so the Worker need not wait.
 */
async function reportStopped(request: IncomingRequest, done: Promise<RunSummary> | undefined) {
  const outcome = await request.outcome;
  // The Worker waits for one after these only (an error before the head means nothing was served).
  if (outcome.kind !== "cancelled" && !(outcome.kind === "error" && outcome.headersSent)) return;
  const summary = done === undefined ? null : await done.catch(() => null);
  request.summarize(
    summary === null ? { usage: {}, costUsd: 0, model: null, outcome: "aborted" } : trailer(summary),
  );
}

async function respond(
  request: IncomingRequest,
  run: RunHandler,
  log: (line: string) => void,
  started: (done: Promise<RunSummary>) => void,
): Promise<void> {
  const { head } = request;
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(await readBody(request.body)));
  } catch (e) {
    if (request.signal.aborted) return;
    const tooLarge = e instanceof RangeError;
    request.fail(
      tooLarge ? "request_too_large" : "invalid_request",
      tooLarge ? "The request body is too large." : "The request body is not valid JSON.",
    );
    return;
  }

  let res: RunResponse;
  try {
    res = await run({
      format: head.format,
      body,
      keyId: head.keyId,
      keyName: head.keyName,
      requestId: head.requestId,
      signal: request.signal,
    });
    started(res.done);
  } catch (e) {
    log(`request ${head.requestId}: the run failed to start: ${e instanceof Error ? e.message : String(e)}`);
    request.fail("internal", "The Claude Code run failed to start on the sidecar.");
    return;
  }

  const refusal = REFUSALS[res.status];
  if (refusal !== undefined) {
    const text = await new Response(res.body).text().catch(() => "");
    const retryAfter = Number(res.headers["retry-after"] ?? res.headers["Retry-After"]);
    request.fail(
      refusal,
      errorMessage(text) ?? "The sidecar cannot take this request now.",
      Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined,
    );
    void res.done.catch(() => {});
    return;
  }

  const reader = res.body.getReader();
  try {
    if (!request.respond(res.status, headerList(res.headers))) {
      await reader.cancel("the request was cancelled");
      return;
    }
  } catch (e) {
    // A header the tunnel cannot carry (the codec refused it): nothing was sent.
    log(
      `request ${head.requestId}: cannot send the response head: ${e instanceof Error ? e.message : String(e)}`,
    );
    await reader.cancel("response head refused");
    request.fail("internal", "The sidecar produced a response the tunnel cannot carry.");
    return;
  }

  for (;;) {
    let next: Awaited<ReturnType<typeof reader.read>>;
    try {
      next = await reader.read();
    } catch (e) {
      if (!request.signal.aborted) {
        log(
          `request ${head.requestId}: the response stream failed: ${e instanceof Error ? e.message : String(e)}`,
        );
        request.fail("internal", "The Claude Code run failed mid-response.");
      }
      return;
    }
    if (next.done) break;
    // False: the client went away or the link dropped (the run's signal has fired): stop reading.
    if (!(await request.write(next.value))) {
      await reader.cancel("the request was cancelled").catch(() => {});
      return;
    }
  }
  let summary: RunSummary | null = null;
  try {
    summary = await res.done;
  } catch (e) {
    log(`request ${head.requestId}: no run summary: ${e instanceof Error ? e.message : String(e)}`);
  }
  await request.end(summary === null ? undefined : trailer(summary));
}

async function readBody(body: ReadableStream<Uint8Array> | null): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > MAX_BODY_BYTES) throw new RangeError("body too large");
    chunks.push(chunk);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

function headerList(headers: Record<string, string>): Header[] {
  return Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]);
}

/** `error.message` of an Anthropic or OpenAI error body. */
function errorMessage(text: string): string | null {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null) return null;
    const error: unknown = Reflect.get(value, "error");
    if (typeof error !== "object" || error === null) return null;
    const message: unknown = Reflect.get(error, "message");
    return typeof message === "string" ? message : null;
  } catch {
    return null;
  }
}

/** The run summary as JSON for `res_end` (the Worker's summary.ts reads it back). */
export function trailer(summary: RunSummary): Trailer {
  const usage: { [key: string]: JsonValue } = {};
  for (const [k, v] of Object.entries(summary.usage)) if (typeof v === "number") usage[k] = v;
  const out: Trailer = { usage, costUsd: summary.costUsd, model: summary.model, outcome: summary.outcome };
  if (summary.numTurns !== undefined) out.numTurns = summary.numTurns;
  if (summary.sessionId !== undefined) out.sessionId = summary.sessionId;
  if (summary.estimated === true) out.estimated = true;
  return out;
}
