// One authenticated tunnel connection, on either side, after the handshake: streams multiplexed over
// one message channel, each with its state machine and credit windows, plus keep-alive pings and
// drain/goaway. Transport-agnostic: it sends encoded messages through a callback and is fed the
// messages that arrive, so the Durable Object, the sidecar and the tests wire it to what they have.

import type { ErrorCode } from "../errors.ts";
import { randomBase64url } from "./base64url.ts";
import { decodeFrame, encodeFrame } from "./codec.ts";
import { ReceiveWindow, SendWindow } from "./credit.ts";
import {
  type BodyFrame,
  type DrainFrame,
  FRAME_SENDER,
  type Frame,
  type GoawayFrame,
  type Header,
  type LinkRole,
  MAX_CHUNK_BYTES,
  MAX_ERROR_MESSAGE,
  MAX_NOTE,
  MAX_STREAM_ID,
  type ReqHeadFrame,
  type ResHeadFrame,
  type StreamFrame,
  type SummaryFrame,
  type Trailer,
} from "./frames.ts";
import { Inbox } from "./inbox.ts";
import {
  cancelled,
  errorOutcome,
  type StreamOutcome,
  type TunnelResponse,
  TunnelStreamError,
} from "./outcome.ts";
import { openStream, type StreamState, step } from "./stream-state.ts";

/** What the Worker tells the sidecar about a request (a `req_head` without the framing fields). */
export type RequestHead = Omit<ReqHeadFrame, "type" | "stream" | "hasBody">;

/** The Durable Object's handle on a request it sent. Its promises never reject. */
export interface OutgoingRequest {
  readonly stream: number;
  /** Resolves at `res_head`, or with the reason there will be none. */
  readonly response: Promise<TunnelResponse>;
  /** Resolves when the stream is over, however it ended (the trailer is here). */
  readonly outcome: Promise<StreamOutcome>;
  /**
   * What the run used: `res_end`'s trailer; after a cancel or an error after the head, the sidecar's
   * `summary` (when both sides support it, waited for up to `summaryWaitMs`); undefined when none
   * came (link lost, error before the head, older sidecar, timeout).
   */
  readonly trailer: Promise<Trailer | undefined>;
  /** The client went away: tell the sidecar to abort the run. */
  cancel(reason?: string): void;
}

/** The sidecar's handle on a request to run. */
export interface IncomingRequest {
  readonly stream: number;
  readonly head: RequestHead;
  /** Null when the request has no body. Reading it is what returns credit to the Worker. */
  readonly body: ReadableStream<Uint8Array> | null;
  /** Aborted when the Worker cancels (the client went away) or the link is lost: stop the run. */
  readonly signal: AbortSignal;
  readonly outcome: Promise<StreamOutcome>;
  /** Sends `res_head`. False if the stream is already over. Throws if called twice. */
  respond(status: number, headers: Header[]): boolean;
  /** Sends body bytes, waiting for credit; resolves false once the stream is over (stop writing). */
  write(chunk: Uint8Array): Promise<boolean>;
  /** Sends `res_end` after the pending writes. False if the stream was already over. */
  end(trailer?: Trailer): Promise<boolean>;
  /** Sends `error` now (pending writes are dropped). False if the stream was already over. */
  fail(code: ErrorCode, message: string, retryAfter?: number): boolean;
  cancel(reason?: string): void;
  /**
   * After the stream was cancelled (the client left) or failed: sends what the run used until it
   * stopped, as a `summary` frame, once. False (nothing sent) when the stream is open or ended with
   * `res_end`, the Worker does not take summaries, the link is gone, or one was already sent.
   */
  summarize(trailer: Trailer): boolean;
}

export type ViolationCode =
  | "decode"
  | "wrong_direction"
  | "unexpected_frame"
  | "unknown_stream"
  | "stream_reused"
  | "bad_order"
  | "flow_control";

export interface LinkViolation {
  code: ViolationCode;
  message: string;
  stream?: number;
}

export interface TunnelLinkOptions {
  role: LinkRole;
  /** Writes one message: a string as a text message, bytes as a binary message. */
  send: (message: string | Uint8Array<ArrayBuffer>) => void;
  /** Sidecar: its own maxConcurrent (more streams are refused as `overloaded`). Worker: the sidecar's
   * hello.maxConcurrent (`canOpen` is false at that many). */
  maxStreams?: number;
  /** Worker: the last stream id used on this connection, when restoring after hibernation. */
  lastStream?: number;
  /** Sidecar: a request arrived. Without it every request is refused as `unavailable`. */
  onRequest?: (request: IncomingRequest) => void;
  /** The peer broke the protocol. The link is already closed; close the socket (CLOSE_CODES.protocol). */
  onViolation?: (violation: LinkViolation) => void;
  /** Worker: the sidecar will take no new requests. */
  onDrain?: (frame: DrainFrame) => void;
  /** Sidecar: the Worker will send no new requests here; dial a new connection. */
  onGoaway?: (frame: GoawayFrame) => void;
  /** Both sides listed the `summary` feature in the handshake: cancelled streams get a `summary`. */
  summaries?: boolean;
  /** Worker: how long `trailer` waits for the `summary` of a cancelled stream (default 10 s). */
  summaryWaitMs?: number;
  now?: () => number;
}

interface Stream {
  readonly id: number;
  state: StreamState;
  readonly sendWindow: SendWindow;
  /** The body this side receives: the response on the Worker (from res_head), the request on the sidecar. */
  inbox: Inbox | null;
  /** Serializes the sidecar's writes and `end`, so `res_end` never overtakes a waiting write. */
  writing: Promise<unknown>;
  /** Worker: stops reading the client's upload when the stream ends first. */
  stopUpload: (() => void) | null;
  readonly onHead: (frame: ResHeadFrame) => void;
  readonly settle: (outcome: StreamOutcome) => void;
  /** How the stream ended, once it has. */
  ended: StreamOutcome | null;
}

const MAX_PENDING_PINGS = 8;
/** A run interrupted on the sidecar stops within seconds (SIGTERM, SIGKILL after 2 s). */
export const SUMMARY_WAIT_MS = 10_000;

/** Worker: a cancelled stream whose `summary` is still expected. */
interface AwaitedSummary {
  readonly resolve: (trailer: Trailer | undefined) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export class TunnelLink {
  readonly role: LinkRole;
  readonly #opts: TunnelLinkOptions;
  readonly #now: () => number;
  readonly #streams = new Map<number, Stream>();
  readonly #pings = new Map<string, (rtt: number | null) => void>();
  readonly #summaries = new Map<number, AwaitedSummary>();
  #lastStream: number;
  #lastSeen: number;
  #closed = false;
  /** This side said drain (sidecar) or goaway (Worker). */
  #draining = false;
  /** The peer said drain (sidecar) or goaway (Worker). */
  #peerDraining = false;

  constructor(opts: TunnelLinkOptions) {
    this.role = opts.role;
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#lastStream = opts.lastStream ?? 0;
    this.#lastSeen = this.#now();
  }

  get closed(): boolean {
    return this.#closed;
  }
  get openStreams(): number {
    return this.#streams.size;
  }
  /** The highest stream id seen; the Worker persists it across hibernation (`lastStream` option). */
  get lastStream(): number {
    return this.#lastStream;
  }
  /** When the last message arrived, for dead-peer detection. */
  get lastSeen(): number {
    return this.#lastSeen;
  }
  get draining(): boolean {
    return this.#draining || this.#peerDraining;
  }
  /** Worker: whether `open` may be called now. */
  get canOpen(): boolean {
    return (
      this.role === "do" &&
      !this.#closed &&
      !this.draining &&
      this.#streams.size < (this.#opts.maxStreams ?? Number.POSITIVE_INFINITY) &&
      this.#lastStream < MAX_STREAM_ID
    );
  }

  // ---- Input ---------------------------------------------------------------------------------------

  /** Feeds one WebSocket message. An undecodable one is a violation: the link closes. */
  receiveMessage(data: unknown): void {
    if (this.#closed) return;
    const decoded = decodeFrame(data);
    if (!decoded.ok) {
      this.#violate("decode", `${decoded.error.code}: ${decoded.error.message}`);
      return;
    }
    this.receive(decoded.frame);
  }

  receive(frame: Frame): void {
    if (this.#closed) return;
    this.#lastSeen = this.#now();
    const sender = FRAME_SENDER[frame.type];
    if (sender === this.role) {
      this.#violate("wrong_direction", `${frame.type} is sent by the ${sender}, not to it`);
      return;
    }
    switch (frame.type) {
      case "hello":
      case "challenge":
      case "auth":
      case "welcome":
      case "reject":
        this.#violate("unexpected_frame", `${frame.type} after the handshake`);
        return;
      case "req_head":
        this.#onRequestHead(frame);
        return;
      case "ping":
        this.#sendFrame({ type: "pong", nonce: frame.nonce, ts: frame.ts });
        return;
      case "pong": {
        const resolve = this.#pings.get(frame.nonce);
        this.#pings.delete(frame.nonce);
        resolve?.(Math.max(0, this.#now() - frame.ts));
        return;
      }
      case "drain":
        this.#peerDraining = true;
        this.#opts.onDrain?.(frame);
        return;
      case "goaway":
        this.#peerDraining = true;
        this.#opts.onGoaway?.(frame);
        return;
      case "summary":
        this.#onSummary(frame);
        return;
      default:
        this.#onStreamFrame(frame);
    }
  }

  #onStreamFrame(frame: StreamFrame): void {
    const s = this.#streams.get(frame.stream);
    if (s === undefined) {
      // Ids only grow, so a known id with no stream is one that ended here while this frame was in
      // flight (after a cancel, say): drop it. A higher id was never opened.
      if (frame.stream > this.#lastStream)
        this.#violate(
          "unknown_stream",
          `${frame.type} for stream ${frame.stream}, never opened`,
          frame.stream,
        );
      return;
    }
    const t = step(s.state, frame);
    if (!t.ok) {
      this.#violate("bad_order", t.message, s.id);
      return;
    }
    s.state = t.state;
    switch (frame.type) {
      case "credit":
        if (!s.sendWindow.grant(frame.bytes))
          this.#violate("flow_control", "credit beyond the maximum window", s.id);
        return;
      case "req_body":
      case "res_body":
        if (s.inbox === null) this.#violate("bad_order", `${frame.type} with no body expected`, s.id);
        else if (!s.inbox.push(frame.chunk))
          this.#violate("flow_control", `${frame.chunk.byteLength} bytes beyond the granted credit`, s.id);
        return;
      case "req_end":
        s.inbox?.end();
        return;
      case "res_head":
        s.onHead(frame);
        return;
      case "res_end":
        this.#finish(
          s,
          frame.trailer === undefined ? { kind: "end" } : { kind: "end", trailer: frame.trailer },
        );
        return;
      case "error":
        this.#finish(s, errorOutcome(frame));
        return;
      case "cancel":
        this.#finish(s, cancelled("peer", frame.reason));
        return;
    }
  }

  // ---- Worker side -------------------------------------------------------------------------------

  /**
   * Sends a request to the sidecar and streams `body` (if any) as credit allows: the body is read
   * only when the sidecar can take more. Throws if `canOpen` is false, or FrameEncodeError if the
   * head cannot be sent (headers too large or invalid) — nothing is sent then.
   */
  open(head: RequestHead, body: ReadableStream<Uint8Array> | null): OutgoingRequest {
    if (!this.canOpen) throw new Error("tunnel link cannot take a new stream (closed, draining or full)");
    const id = this.#lastStream + 1;
    const frame: ReqHeadFrame = { type: "req_head", stream: id, ...head, hasBody: body !== null };
    const message = encodeFrame(frame);
    this.#lastStream = id;

    let resolveResponse: (r: TunnelResponse) => void = () => {};
    const response = new Promise<TunnelResponse>((resolve) => {
      resolveResponse = resolve;
    });
    let resolveOutcome: (o: StreamOutcome) => void = () => {};
    const outcome = new Promise<StreamOutcome>((resolve) => {
      resolveOutcome = resolve;
    });
    let resolveTrailer: (t: Trailer | undefined) => void = () => {};
    const trailer = new Promise<Trailer | undefined>((resolve) => {
      resolveTrailer = resolve;
    });
    const s: Stream = {
      id,
      state: openStream(frame),
      sendWindow: new SendWindow(),
      inbox: null,
      writing: Promise.resolve(),
      stopUpload: null,
      ended: null,
      onHead: (res) => {
        const inbox = this.#inbox(s, (reason) =>
          this.#cancel(s, reasonText(reason, "response body cancelled")),
        );
        s.inbox = inbox;
        resolveResponse({ ok: true, status: res.status, headers: res.headers, body: inbox.readable });
      },
      settle: (o) => {
        if (o.kind !== "end") resolveResponse({ ok: false, outcome: o });
        resolveOutcome(o);
        if (o.kind === "end") resolveTrailer(o.trailer);
        else if (this.#opts.summaries && !this.#closed && ranAndStopped(o))
          this.#awaitSummary(id, resolveTrailer);
        else resolveTrailer(undefined);
      },
    };
    this.#streams.set(id, s);
    this.#transmit(message);
    if (body !== null) void this.#pump(s, body);
    return { stream: id, response, outcome, trailer, cancel: (reason) => this.#cancel(s, reason) };
  }

  #awaitSummary(id: number, resolve: (t: Trailer | undefined) => void): void {
    const timer = setTimeout(() => {
      this.#summaries.delete(id);
      resolve(undefined);
    }, this.#opts.summaryWaitMs ?? SUMMARY_WAIT_MS);
    this.#summaries.set(id, { resolve, timer });
  }

  /** Worker: a cancelled stream's summary. Late or unasked-for ones are dropped like other frames
   * of ended streams; one for a stream still open or never opened breaks the protocol. */
  #onSummary(frame: SummaryFrame): void {
    if (this.#streams.has(frame.stream)) {
      this.#violate("bad_order", `summary for stream ${frame.stream}, which is still open`, frame.stream);
      return;
    }
    if (frame.stream > this.#lastStream) {
      this.#violate("unknown_stream", `summary for stream ${frame.stream}, never opened`, frame.stream);
      return;
    }
    const waiting = this.#summaries.get(frame.stream);
    if (waiting === undefined) return;
    this.#summaries.delete(frame.stream);
    clearTimeout(waiting.timer);
    waiting.resolve(frame.trailer);
  }

  /** Pulls the request body only as credit arrives, so the Worker holds at most one chunk. */
  async #pump(s: Stream, body: ReadableStream<Uint8Array>): Promise<void> {
    try {
      const reader = body.getReader();
      // The stream may end (res_end, cancel, link lost) while a read waits on a slow client.
      s.stopUpload = () => {
        reader.cancel("tunnel stream ended").catch(() => {});
      };
      if (!this.#streams.has(s.id)) s.stopUpload();
      for (;;) {
        if (!(await s.sendWindow.ready())) return;
        const { done, value } = await reader.read();
        if (done) {
          this.#sendOn(s, { type: "req_end", stream: s.id });
          return;
        }
        if (!(await this.#sendBody(s, "req_body", value))) return;
      }
    } catch {
      // The client's upload failed or was aborted: end the run, not the link.
      this.#cancel(s, "request body failed");
    }
  }

  /** Worker: no new requests on this link; running ones finish. The sidecar should reconnect. */
  goaway(frame: Omit<GoawayFrame, "type"> = {}): void {
    if (this.role !== "do") throw new Error("goaway is sent by the Worker");
    this.#draining = true;
    this.#sendFrame({ type: "goaway", ...frame });
  }

  // ---- Sidecar side ------------------------------------------------------------------------------

  #onRequestHead(frame: ReqHeadFrame): void {
    if (frame.stream <= this.#lastStream) {
      this.#violate(
        "stream_reused",
        `req_head for stream ${frame.stream} after ${this.#lastStream}`,
        frame.stream,
      );
      return;
    }
    this.#lastStream = frame.stream;
    const onRequest = this.#opts.onRequest;
    // Refusals before anything ran: the Worker may retry them on another sidecar.
    if (this.#draining || onRequest === undefined) {
      this.#refuse(frame.stream, "unavailable", "sidecar is not taking requests");
      return;
    }
    if (this.#streams.size >= (this.#opts.maxStreams ?? Number.POSITIVE_INFINITY)) {
      this.#refuse(frame.stream, "overloaded", "sidecar is at its concurrency limit");
      return;
    }
    const { type: _type, stream: id, hasBody, ...head } = frame;
    const controller = new AbortController();
    let resolveOutcome: (o: StreamOutcome) => void = () => {};
    const outcome = new Promise<StreamOutcome>((resolve) => {
      resolveOutcome = resolve;
    });
    const s: Stream = {
      id,
      state: openStream(frame),
      sendWindow: new SendWindow(),
      inbox: null,
      writing: Promise.resolve(),
      stopUpload: null,
      ended: null,
      onHead: () => {},
      settle: (o) => {
        if (o.kind === "cancelled" || o.kind === "lost") controller.abort(new TunnelStreamError(o));
        resolveOutcome(o);
      },
    };
    // The runner no longer wants the request body: drop the rest (still acknowledging it, so the
    // Worker is never stuck); the stream itself ends with the response.
    if (hasBody) s.inbox = this.#inbox(s, () => {});
    this.#streams.set(id, s);
    const request = this.#incoming(s, head, controller.signal, outcome);
    try {
      onRequest(request);
    } catch {
      // A throwing handler must not take the link down with it; the Worker gets a clean error.
      request.fail("internal", "sidecar failed to start the request");
    }
  }

  #incoming(
    s: Stream,
    head: RequestHead,
    signal: AbortSignal,
    outcome: Promise<StreamOutcome>,
  ): IncomingRequest {
    let summarized = false;
    return {
      stream: s.id,
      head,
      body: s.inbox?.readable ?? null,
      signal,
      outcome,
      respond: (status, headers) => this.#sendOn(s, { type: "res_head", stream: s.id, status, headers }),
      write: (chunk) => {
        const p = s.writing.then(() => this.#sendBody(s, "res_body", chunk));
        s.writing = p.catch(() => {});
        return p;
      },
      end: (trailer) => {
        const p = s.writing.then(() =>
          this.#sendOn(
            s,
            trailer === undefined
              ? { type: "res_end", stream: s.id }
              : { type: "res_end", stream: s.id, trailer },
          ),
        );
        s.writing = p.catch(() => {});
        return p;
      },
      fail: (code, text, retryAfter) => {
        const headersSent = s.state.response === "body";
        // Messages are often built from exception text: cut them to fit rather than fail to fail.
        const message = text.slice(0, MAX_ERROR_MESSAGE);
        return this.#sendOn(
          s,
          retryAfter === undefined
            ? { type: "error", stream: s.id, code, message, headersSent }
            : { type: "error", stream: s.id, code, message, headersSent, retryAfter },
        );
      },
      cancel: (reason) => this.#cancel(s, reason),
      summarize: (trailer) => {
        const ended = s.ended?.kind;
        if (!this.#opts.summaries || summarized || (ended !== "cancelled" && ended !== "error")) return false;
        summarized = true;
        try {
          return this.#transmit(encodeFrame({ type: "summary", stream: s.id, trailer }));
        } catch {
          return false; // a trailer the codec refuses (too large): the Worker falls back
        }
      },
    };
  }

  #refuse(stream: number, code: ErrorCode, message: string): void {
    this.#sendFrame({ type: "error", stream, code, message, headersSent: false, retryAfter: 1 });
  }

  /** Sidecar: take no new requests (they are refused as `unavailable`); running ones finish. */
  drain(reason?: string): void {
    if (this.role !== "sidecar") throw new Error("drain is sent by the sidecar");
    this.#draining = true;
    this.#sendFrame(reason === undefined ? { type: "drain" } : { type: "drain", reason });
  }

  // ---- Both sides --------------------------------------------------------------------------------

  /** Sends a ping; resolves with the round trip in ms, or null if the link closes first. */
  ping(): Promise<number | null> {
    if (this.#closed) return Promise.resolve(null);
    if (this.#pings.size >= MAX_PENDING_PINGS) {
      const [oldest, resolve] = this.#pings.entries().next().value ?? [];
      if (oldest !== undefined) this.#pings.delete(oldest);
      resolve?.(null);
    }
    const nonce = randomBase64url(12);
    const rtt = new Promise<number | null>((resolve) => this.#pings.set(nonce, resolve));
    this.#sendFrame({ type: "ping", nonce, ts: this.#now() });
    return rtt;
  }

  /** The transport closed (or is being closed): every open stream ends as `lost`. Idempotent. */
  close(reason = "tunnel link closed"): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of [...this.#streams.values()]) this.#finish(s, { kind: "lost", reason });
    for (const resolve of this.#pings.values()) resolve(null);
    this.#pings.clear();
    for (const { resolve, timer } of this.#summaries.values()) {
      clearTimeout(timer);
      resolve(undefined);
    }
    this.#summaries.clear();
  }

  // ---- Internals ---------------------------------------------------------------------------------

  #inbox(s: Stream, onCancel: (reason: unknown) => void): Inbox {
    return new Inbox({
      window: new ReceiveWindow(),
      grant: (bytes) => {
        if (this.#streams.has(s.id)) this.#sendFrame({ type: "credit", stream: s.id, bytes });
      },
      onCancel,
    });
  }

  /** Sends body bytes in chunks of at most MAX_CHUNK_BYTES and never beyond the granted credit. */
  async #sendBody(s: Stream, type: BodyFrame["type"], chunk: Uint8Array): Promise<boolean> {
    let offset = 0;
    while (offset < chunk.byteLength) {
      if (!(await s.sendWindow.ready())) return false;
      const n = s.sendWindow.take(Math.min(chunk.byteLength - offset, MAX_CHUNK_BYTES));
      if (n === 0) continue;
      if (!this.#sendOn(s, { type, stream: s.id, chunk: chunk.subarray(offset, offset + n) })) return false;
      offset += n;
    }
    return this.#streams.has(s.id);
  }

  /** Sends a frame of stream `s` if it is still open. Throws if our own side breaks the stream's order. */
  #sendOn(s: Stream, frame: StreamFrame): boolean {
    if (this.#closed || !this.#streams.has(s.id)) return false;
    const t = step(s.state, frame);
    if (!t.ok) throw new Error(`tunnel stream ${s.id}: ${t.message}`);
    // Encoding may throw (FrameEncodeError: bad header, oversize trailer); do it before the state moves.
    const message = encodeFrame(frame);
    s.state = t.state;
    if (!this.#transmit(message)) return false;
    switch (t.end) {
      case null:
        break;
      case "end":
        this.#finish(s, { kind: "end" });
        break;
      case "error":
        if (frame.type === "error") this.#finish(s, errorOutcome(frame));
        break;
      case "cancel":
        this.#finish(s, cancelled("local", frame.type === "cancel" ? frame.reason : undefined));
        break;
    }
    return true;
  }

  #cancel(s: Stream, reason: string | undefined): void {
    this.#sendOn(
      s,
      reason === undefined
        ? { type: "cancel", stream: s.id }
        : { type: "cancel", stream: s.id, reason: reason.slice(0, MAX_NOTE) },
    );
  }

  #sendFrame(frame: Frame): boolean {
    return this.#transmit(encodeFrame(frame));
  }

  #transmit(message: string | Uint8Array<ArrayBuffer>): boolean {
    if (this.#closed) return false;
    try {
      this.#opts.send(message);
      return true;
    } catch {
      // The socket is gone (workerd throws on send after close): the link is lost.
      this.close("tunnel send failed");
      return false;
    }
  }

  #finish(s: Stream, outcome: StreamOutcome): void {
    if (!this.#streams.delete(s.id)) return;
    s.ended = outcome;
    s.sendWindow.close();
    s.stopUpload?.();
    if (s.inbox !== null) {
      // The Worker's response body ends with res_end; anything else breaks whichever body is open.
      if (outcome.kind === "end" && this.role === "do") s.inbox.end();
      else
        s.inbox.fail(
          new TunnelStreamError(outcome.kind === "end" ? cancelled("local", "response ended") : outcome),
        );
    }
    s.settle(outcome);
  }

  #violate(code: ViolationCode, message: string, stream?: number): void {
    if (this.#closed) return;
    this.close(`tunnel protocol violation: ${message}`);
    this.#opts.onViolation?.(stream === undefined ? { code, message } : { code, message, stream });
  }
}

/** A stream that may have run for a while and then stopped without `res_end`: cancelled, or failed
 * after its head. Its summary is worth waiting for; an error before the head means nothing ran. */
function ranAndStopped(o: StreamOutcome): boolean {
  return o.kind === "cancelled" || (o.kind === "error" && o.headersSent);
}

function reasonText(reason: unknown, fallback: string): string {
  return reason instanceof Error ? reason.message : typeof reason === "string" ? reason : fallback;
}
