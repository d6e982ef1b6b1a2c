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
  });
});
