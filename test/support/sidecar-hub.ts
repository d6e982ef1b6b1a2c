// A Worker's tunnel hub in memory, for the sidecar's Node tests: a socket pair that behaves like a
// WebSocket (text stays text, binary arrives as Blob or ArrayBuffer per binaryType, close events on
// both ends), and a hub speaking the real protocol (ServerHandshake, TunnelLink) on the other end.
import {
  decodeFrame,
  encodeFrame,
  type HelloFrame,
  KEEPALIVE_PING,
  lists,
  ServerHandshake,
  TunnelLink,
} from "../../src/shared/tunnel/index.ts";
import type { TunnelSocket } from "../../src/sidecar/tunnel-client.ts";

type Listener = (ev: never) => void;

export class FakeSocket implements TunnelSocket {
  binaryType = "blob";
  peer: FakeSocket | null = null;
  closed = false;
  /** Drop everything sent, as a dead network would. */
  blackhole = false;
  readonly sent: (string | Uint8Array)[] = [];
  readonly #listeners = new Map<string, Listener[]>();

  addEventListener(type: string, listener: Listener): void {
    this.#listeners.set(type, [...(this.#listeners.get(type) ?? []), listener]);
  }

  emit(type: string, ev: unknown): void {
    for (const l of this.#listeners.get(type) ?? []) (l as (ev: unknown) => void)(ev);
  }

  send(data: string | Uint8Array<ArrayBuffer>): void {
    // As a WebSocket: sending on a closing socket drops the message silently.
    if (this.closed) return;
    this.sent.push(data);
    const peer = this.peer;
    if (peer === null || this.blackhole) return;
    const copy = typeof data === "string" ? data : data.slice();
    queueMicrotask(() => {
      if (peer.closed) return;
      const payload =
        typeof copy === "string" ? copy : peer.binaryType === "arraybuffer" ? copy.buffer : new Blob([copy]);
      peer.emit("message", { data: payload });
    });
  }

  close(code = 1000, reason = ""): void {
    if (this.closed) return;
    this.closed = true;
    const peer = this.peer;
    queueMicrotask(() => {
      this.emit("close", { code, reason });
      if (peer !== null && !peer.closed) {
        peer.closed = true;
        peer.emit("close", { code, reason });
      }
    });
  }
}

export interface HubConnection {
  readonly server: FakeSocket;
  readonly client: FakeSocket;
  hello: HelloFrame | null;
  link: TunnelLink | null;
  /** Text messages the hub received after the handshake (pings included). */
  readonly texts: string[];
}

export interface FakeHubOptions {
  secret: string | undefined;
  host: string;
  /** Sign welcome with garbage: a hub that does not know the secret but lets everyone in. */
  forgeWelcome?: boolean;
  /** Never send the challenge. */
  silent?: boolean;
  /** Leave `features` out of the welcome, as a Worker from before them would. */
  noFeatures?: boolean;
}

export class FakeHub {
  readonly connections: HubConnection[] = [];
  readonly #opts: FakeHubOptions;
  /** Stop answering keep-alive pings (a hub that went away without closing). */
  muted = false;

  constructor(opts: FakeHubOptions) {
    this.#opts = opts;
  }

  /** The `connect` option of TunnelClient. */
  readonly connect = (_url: string): FakeSocket => {
    const client = new FakeSocket();
    const server = new FakeSocket();
    server.binaryType = "arraybuffer";
    client.peer = server;
    server.peer = client;
    const conn: HubConnection = { server, client, hello: null, link: null, texts: [] };
    this.connections.push(conn);
    queueMicrotask(() => {
      client.emit("open", {});
      if (!this.#opts.silent) server.send(encodeFrame(handshake.challenge) as string);
    });
    const handshake = new ServerHandshake({
      secret: this.#opts.secret,
      host: this.#opts.host,
      linkId: `lk_fake_${this.connections.length}`,
    });
    let queue = Promise.resolve();
    server.addEventListener("message", ((ev: { data: unknown }) => {
      const data = ev.data;
      if (conn.link !== null) {
        if (typeof data === "string") conn.texts.push(data);
        if (data === KEEPALIVE_PING && this.muted) return;
        conn.link.receiveMessage(data);
        return;
      }
      queue = queue.then(async () => {
        const decoded = decodeFrame(data);
        if (decoded.ok && decoded.frame.type === "hello") conn.hello = decoded.frame;
        if (this.#opts.forgeWelcome && decoded.ok && decoded.frame.type === "auth") {
          server.send(encodeFrame({ type: "welcome", linkId: "lk_forged", mac: "A".repeat(43) }) as string);
          return;
        }
        const step = await handshake.receive(decoded);
        if (step.kind === "reject") {
          server.send(encodeFrame(step.reply) as string);
          server.close(4001, step.reason);
        } else if (step.kind === "accept") {
          const { features: _features, ...bare } = step.reply;
          server.send(encodeFrame(this.#opts.noFeatures ? bare : step.reply) as string);
          conn.link = new TunnelLink({
            role: "do",
            send: (m) => server.send(m),
            maxStreams: step.hello.maxConcurrent,
            // As the real hub: summaries when the sidecar sends them and this hub takes them.
            summaries: !this.#opts.noFeatures && lists(step.hello.features, "summary"),
          });
        }
      });
    }) as Listener);
    server.addEventListener("close", (() => conn.link?.close("socket closed")) as Listener);
    return client;
  };

  /** The newest connection whose handshake completed (works under fake timers: polls on setImmediate). */
  async ready(): Promise<HubConnection & { link: TunnelLink; hello: HelloFrame }> {
    for (let i = 0; i < 10_000; i++) {
      const conn = this.connections.at(-1);
      if (conn?.link && conn.hello && !conn.server.closed)
        return conn as HubConnection & { link: TunnelLink; hello: HelloFrame };
      await turn();
    }
    throw new Error("no sidecar connected to the fake hub");
  }
}

/** One turn of the event loop (setImmediate is left real by the tests' fake timers). */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Polls `check` on event-loop turns. */
export async function until(check: () => boolean, turns = 10_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (check()) return;
    await turn();
  }
  throw new Error("condition not met");
}
