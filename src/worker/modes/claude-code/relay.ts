// The response body the hub hands back to the Worker: the sidecar's bytes as they arrive, pulled
// only when the client reads (so the tunnel's credit is what bounds buffering), ending with an
// in-stream error in the route's format when the stream breaks after its head.

import { inStreamError, type WireFormat } from "../../../shared/errors.ts";
import { TunnelStreamError } from "../../../shared/tunnel/index.ts";
import { failureError } from "./failures.ts";

const LF = 0x0a;
const CR = 0x0d;
/** A partial event held back longer than this is passed on as is (nothing waits without bound). */
const MAX_HELD_BYTES = 256 * 1024;

export interface RelayOptions {
  format: WireFormat;
  requestId: string;
  /** text/event-stream: pass on whole events only, and report a break as an `event: error`. */
  eventStream: boolean;
}

export function relayBody(body: ReadableStream<Uint8Array>, opts: RelayOptions): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const events = opts.eventStream ? new EventAligner() : null;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          let next: ReadableStreamReadResult<Uint8Array>;
          try {
            next = await reader.read();
          } catch (e) {
            // A JSON body cut short cannot be repaired: fail it, so the client sees a broken
            // response rather than a truncated one it might parse.
            if (events === null) controller.error(e);
            else {
              const err = e instanceof TunnelStreamError ? failureError(e.outcome) : failureError(lost());
              controller.enqueue(utf8(inStreamError(opts.format, err, opts.requestId)));
              controller.close();
            }
            return;
          }
          if (next.done) {
            const rest = events?.flush();
            if (rest !== undefined && rest.byteLength > 0) controller.enqueue(rest);
            controller.close();
            return;
          }
          const out = events === null ? next.value : events.push(next.value);
          if (out.byteLength > 0) {
            controller.enqueue(out);
            return;
          }
          // All of it was the start of an event: read on before answering the pull.
        }
      },
      cancel(reason) {
        // The client went away: cancelling the tunnel body sends `cancel` to the sidecar.
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

function lost() {
  return { kind: "lost", reason: "response body failed" } as const;
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/**
 * Splits an SSE byte stream at event boundaries (a blank line: LF LF or CRLF CRLF) and holds back a
 * trailing partial event until it completes, so an error event appended after a break always
 * starts on a clean line. A sidecar that writes whole events (the runner does) is never delayed.
 */
export class EventAligner {
  #held: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): Uint8Array {
    const data = this.#held.byteLength === 0 ? chunk : concat(this.#held, chunk);
    const end = lastBoundary(data, this.#held.byteLength);
    if (end === 0 && data.byteLength <= MAX_HELD_BYTES) {
      this.#held = data;
      return new Uint8Array(0);
    }
    const cut = end === 0 ? data.byteLength : end;
    this.#held = data.slice(cut);
    return data.subarray(0, cut);
  }

  /** The stream ended normally: whatever is held goes out as it is. */
  flush(): Uint8Array {
    const rest = this.#held;
    this.#held = new Uint8Array(0);
    return rest;
  }
}

/** The index just past the last blank line in `data`, or 0. Bytes before `from - 2` were already
 * searched (a boundary there would not have been held back), so the scan stops there. */
function lastBoundary(data: Uint8Array, from: number): number {
  const stop = Math.max(1, from - 2);
  for (let i = data.byteLength - 1; i >= stop; i--) {
    if (data[i] !== LF) continue;
    const prev = data[i - 1];
    if (prev === LF || (prev === CR && i >= 2 && data[i - 2] === LF)) return i + 1;
  }
  return 0;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}
