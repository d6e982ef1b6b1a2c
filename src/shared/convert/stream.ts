// Anthropic SSE body → OpenAI SSE body as a pull-based bytes → bytes TransformStream, for
// `upstream.body.pipeThrough(new AnthropicToOpenAIStream(opts))` in the Worker.
import { type SseEvent, SseParser } from "../sse/decode.ts";
import { OpenAIStreamConverter, type StreamOptions } from "./stream-converter.ts";

export { OpenAIStreamConverter, type StreamOptions } from "./stream-converter.ts";

/**
 * Bytes of an Anthropic SSE body in, bytes of an OpenAI SSE body out:
 * `upstream.body.pipeThrough(new AnthropicToOpenAIStream(opts))`. Pull-based (nothing is read ahead
 * of the reader) and cancel-aware; after an error chunk it terminates, which cancels the upstream.
 */
export class AnthropicToOpenAIStream extends TransformStream<Uint8Array, Uint8Array> {
  constructor(opts: StreamOptions) {
    const decoder = new TextDecoder();
    const encoder = new TextEncoder();
    const parser = new SseParser();
    const converter = new OpenAIStreamConverter(opts);
    const emit = (
      events: SseEvent[],
      controller: TransformStreamDefaultController<Uint8Array>,
      final: boolean,
    ): void => {
      let out = "";
      for (const ev of events) out += converter.pushSse(ev);
      if (final) out += converter.end();
      if (out !== "") controller.enqueue(encoder.encode(out));
      if (converter.failed && !final) controller.terminate();
    };
    super({
      transform(chunk, controller) {
        if (converter.finished) return; // bytes after message_stop or an error are not ours to send
        emit(parser.push(decoder.decode(chunk, { stream: true })), controller, false);
      },
      flush(controller) {
        if (converter.finished) return;
        const events = parser.push(decoder.decode());
        for (const ev of parser.end()) events.push(ev);
        emit(events, controller, true);
      },
    });
  }
}
