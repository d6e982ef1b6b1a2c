// In-memory tunnel links for tests: a connected Worker/sidecar pair whose messages go through the real
// codec on a microtask, and a lone link whose output is recorded so a test can play the peer by hand.

import { decodeFrame } from "../../../src/shared/tunnel/codec.ts";
import type { Frame, LinkRole } from "../../../src/shared/tunnel/frames.ts";
import {
  type IncomingRequest,
  type LinkViolation,
  TunnelLink,
  type TunnelLinkOptions,
} from "../../../src/shared/tunnel/link.ts";

type ExtraOptions = Partial<Omit<TunnelLinkOptions, "role" | "send">>;

function decoded(message: unknown): Frame {
  const result = decodeFrame(message);
  if (!result.ok) throw new Error(`link sent an undecodable message: ${result.error.message}`);
  return result.frame;
}

export function linkPair(opts: { worker?: ExtraOptions; sidecar?: ExtraOptions } = {}) {
  const toSidecar: Frame[] = [];
  const toWorker: Frame[] = [];
  const violations: { worker: LinkViolation[]; sidecar: LinkViolation[] } = { worker: [], sidecar: [] };
  const requests: IncomingRequest[] = [];
  const peers: { worker?: TunnelLink; sidecar?: TunnelLink } = {};
  const worker = new TunnelLink({
    role: "do",
    send: (message) => {
      toSidecar.push(decoded(message));
      queueMicrotask(() => peers.sidecar?.receiveMessage(message));
    },
    onViolation: (v) => violations.worker.push(v),
    ...opts.worker,
  });
  const sidecar = new TunnelLink({
    role: "sidecar",
    send: (message) => {
      toWorker.push(decoded(message));
      queueMicrotask(() => peers.worker?.receiveMessage(message));
    },
    onViolation: (v) => violations.sidecar.push(v),
    onRequest: (request) => requests.push(request),
    ...opts.sidecar,
  });
  peers.worker = worker;
  peers.sidecar = sidecar;
  return { worker, sidecar, toSidecar, toWorker, violations, requests };
}

/** One link with nobody on the other end: the test feeds it frames and reads what it sent. */
export function loneLink(role: LinkRole, opts: Partial<Omit<TunnelLinkOptions, "role">> = {}) {
  const sent: Frame[] = [];
  const raw: (string | Uint8Array)[] = [];
  const violations: LinkViolation[] = [];
  const requests: IncomingRequest[] = [];
  const link = new TunnelLink({
    role,
    send: (message) => {
      raw.push(message);
      sent.push(decoded(message));
    },
    onViolation: (v) => violations.push(v),
    ...(role === "sidecar" ? { onRequest: (r: IncomingRequest) => requests.push(r) } : {}),
    ...opts,
  });
  return { link, sent, raw, violations, requests };
}

export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const part of stream) {
    parts.push(part);
    total += part.byteLength;
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

export function bodyBytes(frames: Frame[], type: "req_body" | "res_body", stream?: number): number {
  let total = 0;
  for (const f of frames)
    if (f.type === type && (stream === undefined || f.stream === stream)) total += f.chunk.byteLength;
  return total;
}

/** A pull-based source of `total` patterned bytes in `chunkSize` pieces that counts what was pulled. */
export function countingSource(total: number, chunkSize: number) {
  const stats = { pulled: 0 };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (stats.pulled >= total) {
        controller.close();
        return;
      }
      const n = Math.min(chunkSize, total - stats.pulled);
      const chunk = new Uint8Array(n);
      for (let i = 0; i < n; i++) chunk[i] = (stats.pulled + i) % 251;
      stats.pulled += n;
      controller.enqueue(chunk);
    },
  });
  return { stream, stats };
}

export function patterned(total: number): Uint8Array {
  const out = new Uint8Array(total);
  for (let i = 0; i < total; i++) out[i] = i % 251;
  return out;
}

/** Byte equality that stays fast on megabytes (a deep toEqual walks every element generically). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
