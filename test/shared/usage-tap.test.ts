// The usage tap: the client gets the exact bytes, nothing is read ahead, and usage is reported once
// however the stream ends.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SseParser } from "../../src/shared/sse/decode.ts";
import { tapUsage, type UsageSummary } from "../../src/shared/usage.ts";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/recorded/${name}`, import.meta.url));

function chunked(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(at, at + size));
      at += size;
    },
  });
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** The last usage the stream reported, read independently of the tap. */
function lastUsage(text: string) {
  const parser = new SseParser();
  let last: Record<string, number> = {};
  for (const ev of [...parser.push(text), ...parser.end()]) {
    const data = JSON.parse(ev.data) as {
      type: string;
      message?: { usage: Record<string, number> };
      usage?: Record<string, number>;
    };
    if (data.type === "message_start" && data.message) last = { ...last, ...data.message.usage };
    if (data.type === "message_delta" && data.usage) last = { ...last, ...data.usage };
  }
  return last;
}

describe("tapUsage", () => {
  it.each([
    "anthropic-text.sse",
    "anthropic-text-2.sse",
    "anthropic-tool-parallel.sse",
    "anthropic-thinking.sse",
    "anthropic-server-tool-websearch.sse",
    "anthropic-pause-turn.sse",
  ])("passes %s through byte for byte and reads its final usage", async (name) => {
    const bytes = fixture(name);
    let summary: UsageSummary | undefined;
    const out = await drain(
      tapUsage(chunked(bytes, 7), {
        contentType: "text/event-stream; charset=utf-8",
        onDone: (s) => (summary = s),
      }),
    );
    expect(Buffer.from(out).equals(bytes)).toBe(true);
    const expected = lastUsage(bytes.toString("utf8"));
    expect(summary?.outcome).toBe("complete");
    expect(summary?.usage.input_tokens).toBe(expected.input_tokens);
    expect(summary?.usage.output_tokens).toBe(expected.output_tokens);
    expect(summary?.usage.cache_read_input_tokens).toBe(expected.cache_read_input_tokens ?? 0);
    expect(summary?.model).toMatch(/^claude-/);
  });

  it("reads a JSON message's usage and an error body's type", async () => {
    let summary: UsageSummary | undefined;
    await drain(
      tapUsage(chunked(fixture("anthropic-tool.nonstream.response.json"), 50), {
        contentType: "application/json",
        onDone: (s) => (summary = s),
      }),
    );
    const msg = JSON.parse(fixture("anthropic-tool.nonstream.response.json").toString()) as {
      usage: { input_tokens: number; output_tokens: number };
      stop_reason: string;
    };
    expect(summary?.usage.input_tokens).toBe(msg.usage.input_tokens);
    expect(summary?.usage.output_tokens).toBe(msg.usage.output_tokens);
    expect(summary?.stopReason).toBe(msg.stop_reason);

    let err: UsageSummary | undefined;
    await drain(
      tapUsage(chunked(fixture("anthropic-error-400.json"), 10), {
        contentType: "application/json",
        onDone: (s) => (err = s),
      }),
    );
    expect(err?.errorType).toBe("invalid_request_error");

    let ev: UsageSummary | undefined;
    await drain(
      tapUsage(chunked(fixture("anthropic-error-event.sse"), 10), {
        contentType: "text/event-stream",
        onDone: (s) => (ev = s),
      }),
    );
    expect(ev?.errorType).toBe("overloaded_error");
  });

  it("reads only what the client pulls, and a client cancel cancels the source and reports 'aborted'", async () => {
    let pulls = 0;
    let cancelled = false;
    const source = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          pulls++;
          controller.enqueue(new TextEncoder().encode(`event: ping\ndata: {"type":"ping"}\n\n`));
        },
        cancel() {
          cancelled = true;
        },
      },
      { highWaterMark: 0 },
    );
    const summaries: UsageSummary[] = [];
    const reader = tapUsage(source, {
      contentType: "text/event-stream",
      onDone: (s) => summaries.push(s),
    }).getReader();
    await reader.read();
    await reader.read();
    await new Promise((r) => setTimeout(r, 20));
    expect(pulls).toBeLessThanOrEqual(3);
    await reader.cancel();
    expect(cancelled).toBe(true);
    expect(summaries).toHaveLength(1);
    expect(summaries[0]?.outcome).toBe("aborted");
  });

  it("reports 'error' once when the upstream breaks off", async () => {
    const summaries: UsageSummary[] = [];
    let n = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (n++ === 0) controller.enqueue(new Uint8Array(fixture("anthropic-text.sse").subarray(0, 400)));
        else controller.error(new Error("connection reset"));
      },
    });
    await expect(
      drain(tapUsage(source, { contentType: "text/event-stream", onDone: (s) => summaries.push(s) })),
    ).rejects.toThrow();
    expect(summaries.map((s) => s.outcome)).toEqual(["error"]);
    expect(summaries[0]?.usage.input_tokens).toBeGreaterThan(0);
    // Nothing named the failure: the ledger says the connection was lost rather than nothing.
    expect(summaries[0]?.errorType).toBe("connection_lost");
  });

  it("a complete stream's reported usage is final, never replaced by the estimate", async () => {
    for (const name of ["anthropic-text.sse", "anthropic-thinking.sse", "anthropic-tool-parallel.sse"]) {
      let summary: UsageSummary | undefined;
      const bytes = fixture(name);
      await drain(
        tapUsage(chunked(bytes, 13), { contentType: "text/event-stream", onDone: (s) => (summary = s) }),
      );
      expect(summary?.estimated).toBe(false);
      expect(summary?.usage.output_tokens).toBe(lastUsage(bytes.toString("utf8")).output_tokens);
    }
  });

  it.each([
    ["text", "text_delta", "text"],
    ["thinking", "thinking_delta", "thinking"],
    ["tool input", "input_json_delta", "partial_json"],
  ])(
    "a stream cut before its message_delta records at least the %s it streamed, flagged estimated",
    async (_, type, field) => {
      const piece = "abcdefghij".repeat(7); // 70 characters per delta
      const events = [
        'event: message_start\ndata: {"type":"message_start","message":{"model":"claude-haiku-4-5","usage":{"input_tokens":12,"output_tokens":1}}}\n\n',
        ...Array.from(
          { length: 10 },
          () =>
            `event: content_block_delta\ndata: ${JSON.stringify({ type: "content_block_delta", index: 0, delta: { type, [field]: piece } })}\n\n`,
        ),
      ];
      const summaries: UsageSummary[] = [];
      const reader = tapUsage(chunked(new TextEncoder().encode(events.join("")), 64), {
        contentType: "text/event-stream",
        onDone: (s) => summaries.push(s),
      }).getReader();
      let received = "";
      while (received.split(piece).length - 1 < 6) {
        const { value } = await reader.read();
        received += new TextDecoder().decode(value);
      }
      await reader.cancel();
      const streamedChars = (received.split(piece).length - 1) * piece.length;
      expect(summaries).toHaveLength(1);
      expect(summaries[0]).toMatchObject({ outcome: "aborted", estimated: true });
      expect(summaries[0]?.usage.input_tokens).toBe(12);
      // At least a token per 4 characters received (the API's own rule of thumb), never message_start's 1.
      expect(summaries[0]?.usage.output_tokens).toBeGreaterThanOrEqual(Math.ceil(streamedChars / 4));
    },
  );

  it("an in-stream error before message_delta is estimated too, and keeps the error's type", async () => {
    const sse = [
      'event: message_start\ndata: {"type":"message_start","message":{"model":"claude-haiku-4-5","usage":{"input_tokens":5,"output_tokens":1}}}\n\n',
      `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"${"x".repeat(400)}"}}\n\n`,
      'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n',
    ].join("");
    let summary: UsageSummary | undefined;
    await drain(
      tapUsage(chunked(new TextEncoder().encode(sse), 33), {
        contentType: "text/event-stream",
        onDone: (s) => (summary = s),
      }),
    );
    expect(summary).toMatchObject({ outcome: "complete", errorType: "overloaded_error", estimated: true });
    expect(summary?.usage.output_tokens).toBeGreaterThanOrEqual(100);
  });
});
