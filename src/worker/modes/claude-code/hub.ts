// TunnelHub: the one Durable Object (idFromName("hub")) that holds every sidecar's tunnel WebSocket.
// It authenticates each connection (challenge–response on TUNNEL_SECRET), keeps a TunnelLink per
// sidecar, and relays Claude Code mode requests (Workers RPC `dispatch`) to the least busy eligible
// sidecar, streaming the answer back as the sidecar writes it.
//
// Hibernation: sidecars stay connected all day, mostly idle. With the hibernation API the idle hub
// is evicted and costs nothing, and keep-alive pings are answered by the runtime
// (setWebSocketAutoResponse) without waking it. While a request is relayed the hub is awake anyway
// (an RPC call or its stream is in flight), and a pending timer (handshake deadline, a request
// waiting for a sidecar) also keeps it awake, so the only state that must survive eviction is each
// ready link's hello and last stream id: the WebSocket attachment (README.md in this folder).

import { DurableObject } from "cloudflare:workers";
import { randomBase62 } from "../../../shared/ids.ts";
import {
  CLOSE_CODES,
  type DecodeResult,
  decodeFrame,
  encodeFrame,
  type HelloFrame,
  isUsableSecret,
  KEEPALIVE_PING,
  KEEPALIVE_PONG,
  type KeyCredential,
  lists,
  MIN_SECRET_LENGTH,
  type OutgoingRequest,
  PEER_TIMEOUT_MS,
  type RejectFrame,
  type RejectReason,
  ServerHandshake,
  type StreamFailure,
  TunnelLink,
} from "../../../shared/tunnel/index.ts";
import { loadConfig } from "../../env.ts";
import { getKeyWithHash, keyUnusable } from "../../storage/keys.ts";
import { PersonalKeys } from "./personal.ts";
import { Registry, type Sidecar } from "./registry.ts";
import { relayBody } from "./relay.ts";
import type { DispatchRequest, DispatchResult, HubStats, NoSidecar } from "./rpc.ts";
import { type SidecarSummary, summarize } from "./summary.ts";

/** Stored on each WebSocket (serializeAttachment), so a ready link survives hibernation. */
type Attachment =
  | { phase: "handshake"; linkId: string }
  | {
      phase: "ready";
      linkId: string;
      hello: HelloFrame;
      connectedAt: number;
      lastStream: number;
      peer: string;
    };

interface Handshaking {
  phase: "handshake";
  readonly ws: WebSocket;
  readonly linkId: string;
  readonly peer: string;
  readonly handshake: ServerHandshake;
  readonly timer: ReturnType<typeof setTimeout>;
  /** Handshake messages are verified one at a time, in order. */
  queue: Promise<void>;
  /** The hello, once seen, for the log line of a refusal. */
  hello: HelloFrame | null;
}

interface Ready {
  phase: "ready";
  readonly ws: WebSocket;
  readonly sidecar: Sidecar;
  /** What is stored on the socket; `lastStream` is refreshed as streams open. */
  readonly att: Attachment & { phase: "ready" };
}

type Conn = Handshaking | Ready;

/** A relayed request, until its outcome was collected (or the alarm drops it, uncollected). */
interface Relay {
  readonly out: OutgoingRequest;
  endedAt: number | null;
  /** What `outcome` answered, so a second caller (the client-gone path) gets the same. */
  summary?: Promise<SidecarSummary>;
}

/** An outcome nobody asked for within this long after its stream ended is dropped. */
const UNCOLLECTED_MS = 60_000;
/** A collected outcome is kept this long for a second caller (see `outcome`). */
const COLLECTED_GRACE_MS = 5_000;

const CANCELLED: NoSidecar = { code: "unavailable", message: "The request was cancelled.", retryAfter: 0 };

export class TunnelHub extends DurableObject<Env> {
  readonly #conns = new Map<WebSocket, Conn>();
  readonly #personal: PersonalKeys;
  readonly #registry: Registry;
  readonly #relays = new Map<string, Relay>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#personal = new PersonalKeys(ctx.storage.sql);
    this.#registry = new Registry((keyId) => this.#personal.has(keyId));
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(KEEPALIVE_PING, KEEPALIVE_PONG));
    for (const ws of ctx.getWebSockets()) this.#restore(ws);
  }

  // ---- Sidecar connections -----------------------------------------------------------------------

  /** A sidecar dialing `/tunnel` (the Worker forwards the upgrade request unchanged). */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket")
      return new Response("expected a WebSocket upgrade", { status: 426, headers: { upgrade: "websocket" } });
    const linkId = `lk_${randomBase62(16)}`;
    const peer = request.headers.get("cf-connecting-ip") ?? "unknown address";
    const handshake = new ServerHandshake({
      secret: this.#secret(peer),
      keyCredential: (keyId) => this.#keyCredential(keyId),
      host: new URL(request.url).host,
      linkId,
    });
    const pair = new WebSocketPair();
    const [client, ws] = [pair[0], pair[1]];
    this.ctx.acceptWebSocket(ws);
    ws.serializeAttachment({ phase: "handshake", linkId } satisfies Attachment);
    const conn: Handshaking = {
      phase: "handshake",
      ws,
      linkId,
      peer,
      handshake,
      hello: null,
      queue: Promise.resolve(),
      timer: setTimeout(() => this.#expire(conn), Math.max(0, handshake.deadline - Date.now())),
    };
    this.#conns.set(ws, conn);
    ws.send(encodeFrame(handshake.challenge));
    return new Response(null, { status: 101, webSocket: client });
  }

  override async webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> {
    const conn = this.#conns.get(ws) ?? this.#restore(ws);
    if (conn === undefined) return;
    if (conn.phase === "ready") {
      conn.sidecar.link.receiveMessage(message);
      return;
    }
    const decoded = decodeFrame(message);
    if (decoded.ok && decoded.frame.type === "hello") conn.hello = decoded.frame;
    conn.queue = conn.queue.then(() =>
      this.#handshakeStep(conn, decoded).catch((e: unknown) => {
        // The socket went away under us (send throws after close): drop the connection.
        log(`handshake with ${conn.peer} failed: ${e instanceof Error ? e.message : String(e)}`);
        this.#close(conn.ws, CLOSE_CODES.protocol, "handshake failed");
        this.#forget(conn.ws, "handshake failed");
      }),
    );
    await conn.queue;
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.#forget(ws, `closed by the sidecar (${code}${reason ? ` ${reason}` : ""})`);
    this.#close(ws, CLOSE_CODES.normal, "closed");
  }

  override async webSocketError(ws: WebSocket, error: unknown): Promise<void> {
    this.#forget(ws, `socket error: ${error instanceof Error ? error.message : String(error)}`);
  }

  /** Closes links that have been silent longer than PEER_TIMEOUT_MS; drops uncollected outcomes. */
  override async alarm(): Promise<void> {
    const now = Date.now();
    for (const conn of [...this.#conns.values()]) {
      if (conn.phase !== "ready") continue;
      if (now - this.#lastHeard(conn) <= PEER_TIMEOUT_MS) continue;
      log(`sidecar ${describe(conn.sidecar.hello)} silent for ${PEER_TIMEOUT_MS / 1000} s: closing its link`);
      this.#close(conn.ws, CLOSE_CODES.idle, "idle");
      this.#forget(conn.ws, "idle");
    }
    for (const [requestId, relay] of this.#relays)
      if (relay.endedAt !== null && now - relay.endedAt > UNCOLLECTED_MS) this.#relays.delete(requestId);
    await this.#schedule();
  }

  async #handshakeStep(conn: Handshaking, decoded: DecodeResult): Promise<void> {
    if (this.#conns.get(conn.ws) !== conn) return;
    const step = await conn.handshake.receive(decoded);
    if (this.#conns.get(conn.ws) !== conn) return;
    if (step.kind === "wait") return;
    if (step.kind === "reject") {
      this.#refuse(conn, step.reason, step.reply);
      return;
    }
    clearTimeout(conn.timer);
    conn.ws.send(encodeFrame(step.reply));
    this.#ready(conn.ws, {
      phase: "ready",
      linkId: conn.linkId,
      hello: step.hello,
      connectedAt: Date.now(),
      lastStream: 0,
      peer: conn.peer,
    });
  }

  #expire(conn: Handshaking): void {
    if (this.#conns.get(conn.ws) !== conn) return;
    const step = conn.handshake.expire();
    if (step.kind !== "reject") return;
    // Best effort: the peer may be gone. The close code says it anyway.
    this.#refuse(conn, step.reason, step.reply, CLOSE_CODES.handshakeTimeout);
  }

  #refuse(
    conn: Handshaking,
    reason: RejectReason,
    reply: RejectFrame,
    code: number = CLOSE_CODES.rejected,
  ): void {
    clearTimeout(conn.timer);
    this.#conns.delete(conn.ws);
    const who = conn.hello === null ? "a sidecar" : `sidecar ${describe(conn.hello)}`;
    const why =
      reason === "wrong_secret" &&
      conn.hello?.credential === undefined &&
      !isUsableSecret(loadConfig(this.env).tunnelSecret)
        ? "wrong_secret (no usable TUNNEL_SECRET is configured here)"
        : reason;
    log(`refused ${who} from ${conn.peer}: ${why}`);
    try {
      conn.ws.send(encodeFrame(reply));
    } catch {
      // already closed
    }
    this.#close(conn.ws, code, reason);
  }

  /** An authenticated link (new, or restored after hibernation). */
  #ready(ws: WebSocket, att: Attachment & { phase: "ready" }, restored = false): Ready {
    const { hello, linkId } = att;
    const link = new TunnelLink({
      role: "do",
      send: (message) => ws.send(message),
      maxStreams: hello.maxConcurrent,
      lastStream: att.lastStream,
      // The sidecar reports what a cancelled run used (`summary`); this hub always takes them.
      summaries: lists(hello.features, "summary"),
      onDrain: (frame) =>
        log(`sidecar ${describe(hello)} is draining${frame.reason ? `: ${frame.reason}` : ""}`),
      onViolation: (v) => {
        log(`sidecar ${describe(hello)} broke the protocol (${v.code}: ${v.message}): closing its link`);
        this.#close(ws, CLOSE_CODES.protocol, "protocol violation");
        this.#forget(ws, "protocol violation");
      },
    });
    const sidecar: Sidecar = { linkId, hello, link, connectedAt: att.connectedAt, lastPicked: 0 };
    const conn: Ready = { phase: "ready", ws, sidecar, att };
    ws.serializeAttachment(att);
    this.#conns.set(ws, conn);
    if (!restored) {
      const stale = this.#registry.bySidecarId(hello.sidecarId);
      const staleConn = stale === undefined ? undefined : this.#readyConn(stale.linkId);
      if (staleConn !== undefined) {
        log(`sidecar ${describe(hello)} reconnected: closing its previous link ${stale?.linkId}`);
        this.#close(staleConn.ws, CLOSE_CODES.replaced, "replaced by a newer connection");
        this.#forget(staleConn.ws, "replaced by a newer connection");
      }
      this.#personal.bind(hello.sidecarId, hello.name, hello.serveKeys);
      const serves =
        hello.serveKeys === undefined
          ? "shared"
          : hello.credential === "key"
            ? `personal, by its owner's key ${hello.serveKeys[0]}`
            : `personal, ${hello.serveKeys.length} key(s)`;
      log(
        `sidecar ${describe(hello)} connected from ${att.peer} as ${linkId} (${serves}, up to ${hello.maxConcurrent} concurrent, v${hello.version})`,
      );
    }
    this.#registry.add(sidecar);
    this.ctx.waitUntil(this.#schedule());
    return conn;
  }

  /** After hibernation: the in-memory state is gone, the sockets and their attachments are not. */
  #restore(ws: WebSocket): Conn | undefined {
    const att = ws.deserializeAttachment() as Attachment | null;
    if (att?.phase === "ready") return this.#ready(ws, att, true);
    // A handshake cannot hibernate (its deadline timer keeps the hub awake); this one was cut off.
    this.#close(ws, CLOSE_CODES.handshakeTimeout, "handshake interrupted");
    return undefined;
  }

  #forget(ws: WebSocket, reason: string): void {
    const conn = this.#conns.get(ws);
    if (conn === undefined) return;
    this.#conns.delete(ws);
    if (conn.phase === "handshake") {
      clearTimeout(conn.timer);
      return;
    }
    const { sidecar } = conn;
    this.#registry.remove(sidecar.linkId);
    const open = sidecar.link.openStreams;
    sidecar.link.close(`sidecar link closed: ${reason}`);
    if (sidecar.hello.serveKeys !== undefined) this.#personal.touch(sidecar.hello.sidecarId);
    log(
      `sidecar ${describe(sidecar.hello)} disconnected (${reason})${open > 0 ? `; ${open} request(s) in flight failed` : ""}`,
    );
    // Outcomes of the failed requests are swept by the alarm if nobody collects them.
    if (this.#relays.size > 0) this.ctx.waitUntil(this.#schedule());
  }

  #close(ws: WebSocket, code: number, reason: string): void {
    try {
      ws.close(code, reason);
    } catch {
      // already closed
    }
  }

  #readyConn(linkId: string): Ready | undefined {
    for (const conn of this.#conns.values())
      if (conn.phase === "ready" && conn.sidecar.linkId === linkId) return conn;
    return undefined;
  }

  #lastHeard(conn: Ready): number {
    const auto = this.ctx.getWebSocketAutoResponseTimestamp(conn.ws)?.getTime() ?? 0;
    return Math.max(conn.sidecar.link.lastSeen, auto);
  }

  /** The next idle check: when the quietest link would time out. None when no sidecar is connected. */
  async #schedule(): Promise<void> {
    let next = Number.POSITIVE_INFINITY;
    for (const conn of this.#conns.values())
      if (conn.phase === "ready") next = Math.min(next, this.#lastHeard(conn) + PEER_TIMEOUT_MS + 1000);
    if (this.#relays.size > 0) next = Math.min(next, Date.now() + UNCOLLECTED_MS);
    if (next === Number.POSITIVE_INFINITY) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > next)
      await this.ctx.storage.setAlarm(Math.max(next, Date.now() + 1000));
  }

  /** A personal sidecar authenticating with its owner's CCProxy key: the key's hash, and whether it may. */
  async #keyCredential(keyId: string): Promise<KeyCredential | null> {
    const found = await getKeyWithHash(this.env.DB, keyId);
    if (found === null) return null;
    const { record, keyHash } = found;
    const refusal =
      keyUnusable(record) ??
      (record.modes.includes("claude-code")
        ? null
        : "this CCProxy key may not use Claude Code mode, so it cannot have a sidecar");
    return { secret: keyHash, refusal };
  }

  #secret(peer: string): string | undefined {
    const secret = loadConfig(this.env).tunnelSecret;
    if (!isUsableSecret(secret))
      log(
        secret === undefined
          ? `TUNNEL_SECRET is not set: only sidecars proving a CCProxy key are accepted (dial from ${peer})`
          : `TUNNEL_SECRET is shorter than ${MIN_SECRET_LENGTH} characters: only sidecars proving a CCProxy key are accepted (dial from ${peer})`,
      );
    return secret;
  }

  // ---- Requests (Workers RPC from the Worker) ----------------------------------------------------

  /** Relays one request to the least busy eligible sidecar; resolves at its response head. */
  async dispatch(req: DispatchRequest): Promise<DispatchResult> {
    const { head } = req;
    const got = await this.#registry.acquire(
      { requestId: head.requestId, keyId: head.keyId, exclude: req.exclude, waitMs: req.waitMs },
      (sidecar) => this.#open(sidecar, req),
    );
    if (got.kind === "none") {
      if (!(req.body instanceof Uint8Array)) req.body.cancel().catch(() => {});
      return { ok: false, linkId: null, noSidecar: got.noSidecar };
    }
    const taken = got.value;
    if ("failure" in taken) return { ok: false, linkId: taken.sidecar.linkId, failure: taken.failure };
    const { sidecar, out } = taken;
    const response = await out.response;
    // Failed before the head: the relay stays until `outcome` collects it (a run cancelled before
    // its head, a long non-streaming one, still reports what it used) or the alarm drops it.
    if (!response.ok) return { ok: false, linkId: sidecar.linkId, failure: response.outcome };
    const contentType = response.headers.find(([name]) => name.toLowerCase() === "content-type")?.[1] ?? "";
    return {
      ok: true,
      linkId: sidecar.linkId,
      status: response.status,
      headers: response.headers,
      body: relayBody(response.body, {
        format: head.format,
        requestId: head.requestId,
        eventStream: contentType.toLowerCase().startsWith("text/event-stream"),
      }),
    };
  }

  /**
   * How the relay of `requestId` ended, with the sidecar's usage summary; waits for the end, and
   * after a cancel for the sidecar's `summary` of the stopped run (bounded: SUMMARY_WAIT_MS).
   */
  outcome(requestId: string): Promise<SidecarSummary> {
    const relay = this.#relays.get(requestId);
    if (relay === undefined) return Promise.resolve(summarize(null));
    relay.summary ??= Promise.all([relay.out.outcome, relay.out.trailer]).then(([outcome, trailer]) => {
      // Any second caller comes within moments (the client-gone path and the request's own);
      // then the relay goes, so a busy hub holds only what is in flight.
      setTimeout(() => {
        if (this.#relays.get(requestId) === relay) this.#relays.delete(requestId);
      }, COLLECTED_GRACE_MS);
      return summarize(outcome, trailer);
    });
    return relay.summary;
  }

  /** The client went away: stop waiting for a sidecar, or tell the sidecar to stop the run. */
  cancel(requestId: string, reason: string): void {
    if (this.#registry.cancelWait(requestId, CANCELLED)) return;
    this.#relays.get(requestId)?.out.cancel(reason);
  }

  stats(): HubStats {
    return { sidecars: this.#registry.size };
  }

  /** Opens the stream; runs synchronously when the registry hands over a sidecar. Never throws. */
  #open(
    sidecar: Sidecar,
    req: DispatchRequest,
  ): { sidecar: Sidecar; out: OutgoingRequest } | { sidecar: Sidecar; failure: StreamFailure } {
    let out: OutgoingRequest;
    try {
      out = sidecar.link.open(req.head, req.body instanceof Uint8Array ? bytesStream(req.body) : req.body);
    } catch (e) {
      // A head the codec refuses (FrameEncodeError): nothing was sent.
      log(`request ${req.head.requestId} could not be sent: ${e instanceof Error ? e.message : String(e)}`);
      if (!(req.body instanceof Uint8Array)) req.body.cancel().catch(() => {});
      const message = "The request could not be relayed to the Claude Code sidecar.";
      return { sidecar, failure: { kind: "error", code: "internal", message, headersSent: false } };
    }
    const relay: Relay = { out, endedAt: null };
    this.#relays.set(req.head.requestId, relay);
    const conn = this.#readyConn(sidecar.linkId);
    if (conn !== undefined) {
      conn.att.lastStream = sidecar.link.lastStream;
      conn.ws.serializeAttachment(conn.att);
    }
    void out.outcome.then(() => {
      relay.endedAt = Date.now();
      // A slot freed up: a waiting request may take it.
      this.#registry.serveWaiters();
    });
    return { sidecar, out };
  }
}

function bytesStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (bytes.byteLength > 0) controller.enqueue(bytes);
      controller.close();
    },
  });
}

function describe(hello: HelloFrame): string {
  return `"${hello.name}" (${hello.sidecarId})`;
}

function log(line: string): void {
  console.log(`tunnel: ${line}`);
}
