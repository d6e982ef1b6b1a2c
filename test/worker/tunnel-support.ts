// A sidecar for the Worker tests: a real WebSocket to `/tunnel` through the Worker under test,
// speaking the real protocol (ClientHandshake, TunnelLink). Only the agent is replaced, by the
// request handler each test gives: that is the network edge of the code under test.
import { exports } from "cloudflare:workers";
import {
  type AuthFrame,
  ClientHandshake,
  type DecodeResult,
  decodeFrame,
  encodeFrame,
  type Frame,
  type HelloFrame,
  type IncomingRequest,
  KEEPALIVE_PING,
  lists,
  type RejectReason,
  TunnelLink,
} from "../../src/shared/tunnel/index.ts";
import { BASE } from "./helpers.ts";

export const SECRET = "test-tunnel-secret-at-least-32-characters";
export const HOST = new URL(BASE).host;

export interface TestSidecar {
  readonly ws: WebSocket;
  readonly link: TunnelLink;
  readonly hello: HelloFrame;
  /** Every frame the hub sent after welcome, in order. */
  readonly frames: Frame[];
  /** Requests received, in order (also given to `onRequest`). */
  readonly requests: IncomingRequest[];
  /** The auth frame this sidecar sent (to replay it). */
  readonly auth: AuthFrame;
  nextRequest(timeoutMs?: number): Promise<IncomingRequest>;
  /** Resolves with the close code when the hub closes the socket. */
  readonly closed: Promise<number>;
  close(code?: number): void;
}

export type DialResult =
  | { ok: true; sidecar: TestSidecar }
  | { ok: false; reason: RejectReason; byPeer: boolean; message: string; closeCode: number };

export interface DialOptions {
  secret?: string;
  hello?: Partial<HelloFrame>;
  onRequest?: (req: IncomingRequest) => void;
}

let counter = 0;

export function helloFrame(fields: Partial<HelloFrame> = {}): HelloFrame {
  counter++;
  return {
    type: "hello",
    sidecarId: `sc_test_${counter}_${crypto.randomUUID().slice(0, 8)}`,
    name: `test-sidecar-${counter}`,
    version: "0.0.0-test",
    maxConcurrent: 4,
    ...fields,
  };
}

/** Opens a WebSocket to /tunnel through the Worker's fetch handler. */
export async function openSocket(): Promise<WebSocket> {
  const res = await exports.default.fetch(
    new Request(`${BASE}/tunnel`, { headers: { upgrade: "websocket" } }),
  );
  const ws = res.webSocket;
  if (res.status !== 101 || ws === null) throw new Error(`upgrade failed: ${res.status} ${await res.text()}`);
  ws.accept();
  // The standard default is Blob; the tunnel codec takes ArrayBuffers (as the sidecar sets too).
  ws.binaryType = "arraybuffer";
  return ws;
}

/** Connects and authenticates like a sidecar does. */
export async function dial(opts: DialOptions = {}): Promise<DialResult> {
  const ws = await openSocket();
  const hello = helloFrame(opts.hello);
  const handshake = new ClientHandshake({ secret: opts.secret ?? SECRET, host: HOST, hello });
  const frames: Frame[] = [];
  const requests: IncomingRequest[] = [];
  let link: TunnelLink | null = null;
  let auth: AuthFrame | null = null;
  let closeCode = 0;
  let onClosed: (code: number) => void = () => {};
  const closed = new Promise<number>((resolve) => {
    onClosed = resolve;
  });
  let settle: (r: DialResult) => void = () => {};
  const result = new Promise<DialResult>((resolve) => {
    settle = resolve;
  });
  let queue = Promise.resolve();

  const onHandshake = async (decoded: DecodeResult) => {
    const step = await handshake.receive(decoded);
    if (step.kind === "send") {
      auth = step.frame;
      ws.send(encodeFrame(step.frame));
    } else if (step.kind === "failed") {
      settle({
        ok: false,
        reason: step.reason,
        byPeer: step.byPeer,
        message: step.message,
        closeCode: await closed,
      });
    } else if (step.kind === "ready") {
      link = new TunnelLink({
        role: "sidecar",
        send: (m) => ws.send(m),
        maxStreams: hello.maxConcurrent,
        summaries: lists(hello.features, "summary") && lists(step.features, "summary"),
        onRequest: (req) => {
          requests.push(req);
          opts.onRequest?.(req);
        },
      });
      if (auth === null) throw new Error("ready before auth");
      const sidecar: TestSidecar = {
        ws,
        link,
        hello,
        frames,
        requests,
        auth,
        closed,
        nextRequest: (timeoutMs = 2000) => nextOf(requests, requests.length, timeoutMs),
        close: (code = 1000) => {
          link?.close("test closed the sidecar");
          ws.close(code, "test");
        },
      };
      settle({ ok: true, sidecar });
    }
  };

  ws.addEventListener("message", (ev) => {
    const data: unknown = ev.data;
    queue = queue.then(async () => {
      if (link === null) return onHandshake(decodeFrame(data));
      const decoded = decodeFrame(data);
      if (decoded.ok) frames.push(decoded.frame);
      link.receiveMessage(data);
    });
  });
  ws.addEventListener("close", (ev) => {
    closeCode = ev.code;
    link?.close("hub closed the link");
    onClosed(ev.code);
  });
  ws.send(encodeFrame(hello));
  return result.then((r) => (r.ok ? r : { ...r, closeCode: r.closeCode || closeCode }));
}

export async function connect(opts: DialOptions = {}): Promise<TestSidecar> {
  const r = await dial(opts);
  if (!r.ok) throw new Error(`sidecar refused: ${r.reason}`);
  // The hub registers the link right after sending welcome; one round trip makes sure it has.
  r.sidecar.ws.send(KEEPALIVE_PING);
  await settleFor(20);
  return r.sidecar;
}

async function nextOf(list: IncomingRequest[], index: number, timeoutMs: number): Promise<IncomingRequest> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const item = list[index];
    if (item !== undefined) return item;
    if (Date.now() > deadline) throw new Error("no request reached the sidecar");
    await settleFor(5);
  }
}

export function settleFor(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `/health`'s sidecar count. */
export async function sidecarCount(): Promise<number> {
  const res = await exports.default.fetch(new Request(`${BASE}/health`));
  return ((await res.json()) as { sidecars: number }).sidecars;
}

const utf8 = new TextEncoder();
export const bytes = (s: string) => utf8.encode(s);
export const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** Reads a request body to the end. */
export async function readAll(body: ReadableStream<Uint8Array> | null): Promise<Uint8Array> {
  if (body === null) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const c of body) {
    chunks.push(c);
    total += c.byteLength;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
