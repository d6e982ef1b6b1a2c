// The sidecar's end of the tunnel: dials the Worker's /tunnel, authenticates (ClientHandshake),
// serves requests over a TunnelLink, keeps the link alive with pings, and reconnects with jittered
// backoff. A dropped link aborts the requests running on it, so their runs stop.

import {
  CLOSE_CODES,
  ClientHandshake,
  type ClientStep,
  decodeFrame,
  encodeFrame,
  FEATURES,
  HANDSHAKE_WINDOW_MS,
  type HelloFrame,
  type IncomingRequest,
  KEEPALIVE_INTERVAL_MS,
  KEEPALIVE_PING,
  lists,
  PEER_TIMEOUT_MS,
  RECONNECT,
  type RejectReason,
  reconnectDelay,
  TunnelLink,
  tunnelHost,
} from "../shared/tunnel/index.ts";

/** What the client needs of a WebSocket; Node's global WebSocket is one. */
export interface TunnelSocket {
  binaryType: string;
  send(data: string | Uint8Array<ArrayBuffer>): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "open", listener: () => void): void;
  addEventListener(type: "message", listener: (ev: { data: unknown }) => void): void;
  addEventListener(type: "close", listener: (ev: { code: number; reason: string }) => void): void;
  addEventListener(type: "error", listener: (ev: unknown) => void): void;
}

export interface TunnelClientOptions {
  /** `ws(s)://<worker>/tunnel`. */
  url: string;
  secret: string;
  hello: Omit<HelloFrame, "type">;
  /** A request to run. Its `signal` aborts when the Worker cancels it or the link drops. */
  onRequest: (request: IncomingRequest) => void;
  log: (line: string) => void;
  /** Opens a socket; default Node's global WebSocket. */
  connect?: (url: string) => TunnelSocket;
  random?: () => number;
}

type State = "idle" | "connecting" | "ready" | "waiting" | "stopped";

export class TunnelClient {
  readonly #opts: TunnelClientOptions;
  readonly #hello: HelloFrame;
  #state: State = "idle";
  /** drain() was called: no new connection after this one. */
  #stopping = false;
  #socket: TunnelSocket | null = null;
  #link: TunnelLink | null = null;
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;
  #onStopped: (() => void) | null = null;
  /** drain() callers waiting for the running requests to finish. */
  readonly #idleWaiters = new Set<() => void>();

  constructor(opts: TunnelClientOptions) {
    this.#opts = opts;
    // This client implements every optional part of the protocol it knows.
    this.#hello = { type: "hello", ...opts.hello, features: [...FEATURES] };
  }

  /** Connected and authenticated. */
  get ready(): boolean {
    return this.#state === "ready";
  }

  /** Requests running on the current link. */
  get openStreams(): number {
    return this.#link?.openStreams ?? 0;
  }

  start(): void {
    if (this.#state !== "idle") return;
    this.#dial();
  }

  /**
   * Shutting down: tell the Worker to send nothing new (`drain`), stop reconnecting, and resolve
   * once the running requests have finished (or at once when none run).
   */
  drain(reason = "sidecar shutting down"): Promise<void> {
    this.#stopReconnecting();
    const link = this.#link;
    if (link !== null && !link.closed && !link.draining) link.drain(reason);
    return this.#whenIdle();
  }

  /** Closes the connection (aborting whatever still runs on it) and stops for good. */
  close(): Promise<void> {
    this.#stopReconnecting();
    this.#state = "stopped";
    const socket = this.#socket;
    if (socket === null) return Promise.resolve();
    const closed = new Promise<void>((resolve) => {
      this.#onStopped = resolve;
    });
    this.#link?.close("sidecar shutting down");
    socket.close(CLOSE_CODES.normal, "sidecar shutting down");
    // A socket that never answers the close still lets the process exit.
    const timer = setTimeout(() => this.#onStopped?.(), 2_000);
    return closed.finally(() => clearTimeout(timer));
  }

  #stopReconnecting(): void {
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    if (this.#state === "waiting" || this.#state === "idle") this.#state = "stopped";
    else if (this.#state !== "stopped") this.#stopping = true;
  }

  #whenIdle(): Promise<void> {
    if (this.openStreams === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.add(resolve));
  }

  #checkIdle(): void {
    if (this.openStreams > 0) return;
    for (const resolve of this.#idleWaiters) resolve();
    this.#idleWaiters.clear();
  }

  #dial(): void {
    this.#state = "connecting";
    const url = this.#opts.url;
    let socket: TunnelSocket;
    try {
      socket = (this.#opts.connect ?? defaultConnect)(url);
    } catch (e) {
      this.#opts.log(`cannot dial ${url}: ${e instanceof Error ? e.message : String(e)}`);
      this.#retry(undefined, false);
      return;
    }
    this.#socket = socket;
    // Body frames are binary; the codec reads ArrayBuffers (the standard default is Blob).
    socket.binaryType = "arraybuffer";
    const handshake = new ClientHandshake({
      secret: this.#opts.secret,
      host: tunnelHost(url),
      hello: this.#hello,
    });
    let link: TunnelLink | null = null;
    let linkUpAt = 0;
    let rejected: RejectReason | undefined;
    let replaced = false;
    /** The Worker sent goaway: close once the running requests are done, then dial again. */
    let goingAway = false;
    let queue: Promise<void> = Promise.resolve();
    const timers: ReturnType<typeof setTimeout>[] = [];
    let keepalive: ReturnType<typeof setInterval> | null = null;
    const closeWith = (code: number, reason: string) => {
      try {
        socket.close(code, reason);
      } catch {
        // already closing
      }
    };

    const onStep = (step: ClientStep) => {
      switch (step.kind) {
        case "wait":
          return;
        case "send":
          socket.send(encodeFrame(step.frame));
          return;
        case "failed":
          rejected = step.reason;
          if (step.byPeer)
            this.#opts.log(
              step.reason === "wrong_secret"
                ? this.#hello.credential === "key"
                  ? "the Worker refused this sidecar: it does not accept CCPROXY_KEY"
                  : "the Worker refused this sidecar: TUNNEL_SECRET does not match the Worker's (or the Worker has none)"
                : `the Worker refused this sidecar: ${step.reason} (${step.message})`,
            );
          else this.#opts.log(`refused the Worker at ${url}: ${step.reason} (${step.message})`);
          closeWith(CLOSE_CODES.rejected, step.reason);
          return;
        case "ready": {
          for (const t of timers) clearTimeout(t);
          linkUpAt = Date.now();
          link = new TunnelLink({
            role: "sidecar",
            send: (message) => socket.send(message),
            maxStreams: this.#hello.maxConcurrent,
            summaries: lists(step.features, "summary"),
            onRequest: (request) => {
              void request.outcome.then(() => {
                if (goingAway && link?.openStreams === 0) closeWith(CLOSE_CODES.goingAway, "goaway");
                this.#checkIdle();
              });
              this.#opts.onRequest(request);
            },
            onViolation: (v) => {
              this.#opts.log(`the Worker broke the tunnel protocol (${v.code}: ${v.message}): reconnecting`);
              closeWith(CLOSE_CODES.protocol, "protocol violation");
            },
            onGoaway: (frame) => {
              this.#opts.log(
                `the Worker asked this sidecar to reconnect${frame.reason ? ` (${frame.reason})` : ""}`,
              );
              goingAway = true;
              if (link !== null && link.openStreams === 0) closeWith(CLOSE_CODES.goingAway, "goaway");
            },
          });
          this.#link = link;
          if (this.#stopping) link.drain("sidecar shutting down");
          else this.#state = "ready";
          const keys = this.#hello.serveKeys;
          this.#opts.log(
            `connected to ${url} as ${step.linkId} (${keys === undefined ? "shared" : `personal: ${keys.join(", ")}`}, up to ${this.#hello.maxConcurrent} requests)`,
          );
          keepalive = setInterval(() => {
            if (link === null) return;
            if (Date.now() - link.lastSeen > PEER_TIMEOUT_MS) {
              this.#opts.log(`no word from the Worker for ${PEER_TIMEOUT_MS / 1000} s: reconnecting`);
              closeWith(CLOSE_CODES.idle, "peer idle");
              return;
            }
            // The fixed ping: the Worker's runtime answers it without waking the hub.
            try {
              socket.send(KEEPALIVE_PING);
            } catch {
              // closing; the close event follows
            }
          }, KEEPALIVE_INTERVAL_MS);
          return;
        }
      }
    };

    socket.addEventListener("open", () => {
      socket.send(encodeFrame(this.#hello));
      timers.push(
        setTimeout(() => {
          if (link !== null) return;
          this.#opts.log(
            `the Worker at ${url} did not finish the handshake in ${HANDSHAKE_WINDOW_MS / 1000} s`,
          );
          closeWith(CLOSE_CODES.handshakeTimeout, "handshake timeout");
        }, HANDSHAKE_WINDOW_MS),
      );
    });
    socket.addEventListener("message", (ev) => {
      const data = ev.data;
      if (link !== null) {
        link.receiveMessage(data);
        return;
      }
      // The handshake is async (HMACs): keep messages in order until the link exists.
      queue = queue.then(async () => {
        if (link !== null) link.receiveMessage(data);
        else if (rejected === undefined) onStep(await handshake.receive(decodeFrame(data)));
      });
    });
    socket.addEventListener("error", () => {
      // A close event follows with the code; that is where this is handled.
    });
    // After any handshake step still being verified, so a refusal's reason is known here.
    socket.addEventListener("close", (ev) => {
      queue = queue.then(() => onClose(ev));
    });
    const onClose = (ev: { code: number; reason: string }) => {
      for (const t of timers) clearTimeout(t);
      if (keepalive !== null) clearInterval(keepalive);
      if (ev.code === CLOSE_CODES.replaced) replaced = true;
      const current = link;
      const running = current?.openStreams ?? 0;
      // Every run still on this link is aborted (their signals fire): no orphaned `claude` process.
      current?.close(`tunnel connection closed (${ev.code})`);
      if (this.#socket === socket) {
        this.#socket = null;
        this.#link = null;
      }
      this.#checkIdle();
      if (current !== null)
        this.#opts.log(
          `disconnected from the Worker (${ev.code}${ev.reason ? ` ${ev.reason}` : ""})${running > 0 ? `; ${running} running request(s) aborted` : ""}`,
        );
      else if (rejected === undefined)
        this.#opts.log(`could not connect to ${url} (${ev.code}${ev.reason ? ` ${ev.reason}` : ""})`);
      if (current !== null && Date.now() - linkUpAt >= RECONNECT.stableAfterMs) this.#attempt = 0;
      this.#retry(rejected, replaced);
    };
  }

  #retry(rejected: RejectReason | undefined, replaced: boolean): void {
    if (this.#state === "stopped" || this.#stopping) {
      this.#state = "stopped";
      this.#onStopped?.();
      return;
    }
    this.#state = "waiting";
    const delay = replaced
      ? RECONNECT.afterRejectMs
      : reconnectDelay(this.#attempt++, rejected, this.#opts.random);
    if (replaced)
      this.#opts.log(
        "another sidecar process with the same id took over this sidecar's place (set CC_SIDECAR_NAME or CC_SIDECAR_ID to run several on one host)",
      );
    this.#opts.log(`reconnecting in ${formatDelay(delay)}`);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (this.#state === "waiting") this.#dial();
    }, delay);
  }
}

function defaultConnect(url: string): TunnelSocket {
  return new WebSocket(url);
}

function formatDelay(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 1000).toFixed(1)} s`;
}
