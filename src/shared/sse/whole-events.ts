// An SSE body that ends cleanly when its source fails: whole events pass on as they arrive, and a
// read error becomes one final event (SPEC §7: after the headers, errors travel inside the stream).

import { SseEventBoundaries } from "./decode.ts";

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.byteLength === 0) return b;
  if (b.byteLength === 0) return a;
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

const EMPTY: Uint8Array = new Uint8Array(0);

/**
 * The source's bytes, unchanged, except that a read error ends the stream with `onLoss`'s bytes (an
 * error event) instead of a broken connection. So the appended event starts on an event boundary,
 * only the incomplete tail after a chunk's last complete event is held back until the event
 * completes; a chunk that ends on a boundary passes on at once. A partial event at the moment of the
 * failure is dropped. Pull-based: nothing is read before the consumer asks; a cancel reaches the source.
 */
export function wholeEventsOrError(
  source: ReadableStream<Uint8Array>,
  onLoss: (error: unknown) => Uint8Array,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  const boundaries = new SseEventBoundaries();
  let held: Uint8Array = EMPTY;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          let result: Awaited<ReturnType<typeof reader.read>>;
          try {
            result = await reader.read();
          } catch (e) {
            held = EMPTY;
            controller.enqueue(onLoss(e));
            controller.close();
            return;
          }
          if (result.done) {
            // A stream that ended normally keeps its last bytes, terminated or not.
            if (held.byteLength > 0) controller.enqueue(held);
            held = EMPTY;
            controller.close();
            return;
          }
          const chunk = result.value;
          const cut = boundaries.push(chunk);
          if (cut === -1) {
            held = concat(held, chunk);
            continue;
          }
          const ready = cut === chunk.byteLength ? chunk : chunk.subarray(0, cut);
          const out = concat(held, ready);
          held = cut === chunk.byteLength ? EMPTY : chunk.slice(cut);
          controller.enqueue(out);
          return;
        }
      },
      async cancel(reason) {
        held = EMPTY;
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
