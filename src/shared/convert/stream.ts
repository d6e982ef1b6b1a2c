// Anthropic SSE body → OpenAI SSE body as a pull-based byte stream, for
// `upstream.body.pipeThrough(new AnthropicToOpenAIStream(opts))` in the Worker.
import { type SseEvent, SseParser } from "../sse/decode.ts";
import { OpenAIStreamConverter, type StreamOptions } from "./stream-converter.ts";

export { OpenAIStreamConverter, type StreamOptions } from "./stream-converter.ts";

/**
 * Bytes of an Anthropic SSE body in, bytes of an OpenAI SSE body out:
 * `upstream.body.pipeThrough(new AnthropicToOpenAIStream(opts))`.
 *
 * Not a TransformStream: when the upstream body fails mid-stream (the connection drops), a
 * TransformStream can only error its output, and the client sees a reset connection. Here the
 * output reads the upstream itself, so a read failure becomes `data: {"error":…}` and a clean end.
 * Pull-based (the upstream is read only when the client reads) and cancel-aware (cancelling the
 * output cancels the upstream); after an error chunk the upstream is cancelled, not read further.
 */
export class AnthropicToOpenAIStream implements ReadableWritablePair<Uint8Array, Uint8Array> {
  readonly writable: WritableStream<Uint8Array>;
  readonly readable: ReadableStream<Uint8Array>;

  constructor(opts: StreamOptions) {
    // An identity pipe carries pipeThrough's backpressure and error propagation; a source error
    // arrives as a rejected read below instead of erroring what the client reads.
    const pipe = new TransformStream<Uint8Array, Uint8Array>();
    this.writable = pipe.writable;
    this.readable = convertAnthropicStream(pipe.readable, opts);
  }
}

/** The same conversion over a stream the caller already has. */
export function convertAnthropicStream(
  source: ReadableStream<Uint8Array>,
  opts: StreamOptions,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  const parser = new SseParser();
  const converter = new OpenAIStreamConverter(opts);
  const convert = (events: SseEvent[]): string => {
    let out = "";
    for (const ev of events) out += converter.pushSse(ev);
    return out;
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        // Read until there is something to send (a chunk of bytes may hold no complete event).
        for (;;) {
          let out: string;
          let last = false;
          try {
            const { done, value } = await reader.read();
            if (done) {
              const events = parser.push(decoder.decode());
              for (const ev of parser.end()) events.push(ev);
              out = convert(events) + converter.end();
              last = true;
            } else {
              out = convert(parser.push(decoder.decode(value, { stream: true })));
            }
          } catch {
            out = converter.abort(); // the upstream connection failed: tell the client, then end
            last = true;
          }
          if (out !== "") controller.enqueue(encoder.encode(out));
          if (!last && converter.failed) {
            // After an error chunk nothing more is the client's: stop reading the upstream.
            controller.close();
            await reader.cancel().catch(() => undefined);
            return;
          }
          if (!last && converter.finished) {
            // [DONE] is out. The upstream ends right after message_stop; read it to its end so it
            // completes normally (the usage tap records a complete response, not a cancelled one).
            await drain(reader);
            last = true;
          }
          if (last) {
            controller.close();
            return;
          }
          if (out !== "") return;
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** Reads a stream to its end, discarding the bytes; a failure there changes nothing for the client. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  try {
    for (;;) if ((await reader.read()).done) return;
  } catch {
    // the answer was complete already
  }
}
