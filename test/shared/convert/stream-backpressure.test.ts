// The byte stream converter is pull-based: a slow reader holds the upstream back, a cancelled reader
// cancels the upstream, and a fatal error stops reading the upstream.
import { describe, expect, it } from "vitest";
import { AnthropicToOpenAIStream } from "../../../src/shared/convert/stream.ts";

const enc = new TextEncoder();
const sse = (ev: Record<string, unknown>) =>
  enc.encode(`event: ${String(ev.type)}\ndata: ${JSON.stringify(ev)}\n\n`);
const START = sse({
  type: "message_start",
  message: { id: "msg_1", content: [], usage: { input_tokens: 1, output_tokens: 1 } },
});
const BLOCK = sse({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
const DELTA = sse({ type: "content_block_delta", index: 0, delta: { type: "text_delta", text: "tok " } });

/** An endless upstream (one event per chunk) that counts pulls and records cancellation. */
function upstream(first: Uint8Array[] = [START, BLOCK]) {
  const state = { pulls: 0, cancelled: false as boolean, reason: undefined as unknown };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      state.pulls++;
      controller.enqueue(first[state.pulls - 1] ?? DELTA);
    },
    cancel(reason) {
      state.cancelled = true;
      state.reason = reason;
    },
  });
  return { stream, state };
}

const tick = () => new Promise((r) => setTimeout(r, 10));

describe("backpressure and cancel", () => {
  it("does not read ahead of a slow reader", async () => {
    const { stream, state } = upstream();
    const reader = stream
      .pipeThrough(new AnthropicToOpenAIStream({ model: "m", includeUsage: false }))
      .getReader();
    await tick();
    const idle = state.pulls;
    expect(idle).toBeLessThanOrEqual(4); // only the queues' high-water marks, not the upstream
    for (let reads = 1; reads <= 20; reads++) {
      const { value } = await reader.read();
      expect(value).toBeInstanceOf(Uint8Array);
      await tick();
      expect(state.pulls).toBeLessThanOrEqual(reads + 4);
    }
    const before = state.pulls;
    await tick();
    await tick();
    expect(state.pulls).toBe(before); // nobody reads: nothing more is pulled
    await reader.cancel("client went away");
  });

  it("cancelling the output cancels the upstream", async () => {
    const { stream, state } = upstream();
    const reader = stream
      .pipeThrough(new AnthropicToOpenAIStream({ model: "m", includeUsage: true }))
      .getReader();
    await reader.read();
    await reader.read();
    await reader.cancel("client went away");
    await tick();
    expect(state.cancelled).toBe(true);
    expect(state.reason).toBe("client went away");
    const pulls = state.pulls;
    await tick();
    expect(state.pulls).toBe(pulls);
  });

  it("stops reading and cancels the upstream after a fatal error chunk", async () => {
    const { stream, state } = upstream([
      START,
      BLOCK,
      enc.encode("event: content_block_delta\ndata: {not json\n\n"),
    ]);
    const reader = stream
      .pipeThrough(new AnthropicToOpenAIStream({ model: "m", includeUsage: false }))
      .getReader();
    let text = "";
    const dec = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += dec.decode(value);
    }
    expect(text).toContain('data: {"error":');
    expect(text).not.toContain("[DONE]");
    await tick();
    expect(state.cancelled).toBe(true);
  });
});
