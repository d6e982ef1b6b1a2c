// Test helpers for the mock upstream: raw HTTP calls, SSE parsing, and a checker for the
// Messages event grammar (what a strict client expects, event by event).
import { expect } from "vitest";
import { type SseEvent, SseParser } from "../../src/shared/sse/decode.ts";

export type Json = Record<string, unknown>;

export const KEY_HEADERS = { "x-api-key": "test", "content-type": "application/json" } as const;

export function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { ...KEY_HEADERS, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export function parseSse(text: string): SseEvent[] {
  const parser = new SseParser();
  return [...parser.push(text), ...parser.end()];
}

export interface StreamSummary {
  events: Array<{ event: string | undefined; data: Json }>;
  stopReason: unknown;
  outputTokens: unknown;
  text: string;
}

/**
 * Asserts the Messages stream grammar: message_start; per block start → deltas → stop with
 * consecutive indices; one ping right after the first block start; message_delta with a stop
 * reason; message_stop last. Returns the events and what they add up to.
 */
export function checkStream(text: string): StreamSummary {
  const events = parseSse(text).map((e) => ({ event: e.event, data: JSON.parse(e.data) as Json }));
  for (const e of events) expect(e.data.type).toBe(e.event);
  const names = events.map((e) => e.event);
  expect(names[0]).toBe("message_start");
  expect(names.at(-1)).toBe("message_stop");
  expect(names.at(-2)).toBe("message_delta");
  expect(names.filter((n) => n === "ping")).toHaveLength(1);
  expect(names[names.indexOf("content_block_start") + 1]).toBe("ping");
  const start = events[0]?.data.message as Json;
  expect(start.content).toEqual([]);
  expect(start.stop_reason).toBeNull();
  let open: number | undefined;
  let next = 0;
  let out = "";
  for (const { event, data } of events.slice(1, -2)) {
    if (event === "ping") continue;
    if (event === "content_block_start") {
      expect(open).toBeUndefined();
      expect(data.index).toBe(next);
      open = next++;
    } else if (event === "content_block_delta") {
      expect(data.index).toBe(open);
      const delta = data.delta as Json;
      if (delta.type === "text_delta") out += delta.text as string;
    } else if (event === "content_block_stop") {
      expect(data.index).toBe(open);
      open = undefined;
    } else {
      throw new Error(`unexpected event ${event}`);
    }
  }
  expect(open).toBeUndefined();
  const delta = events.at(-2)?.data as Json;
  const stopReason = (delta.delta as Json).stop_reason;
  expect(stopReason).not.toBeNull();
  return { events, stopReason, outputTokens: (delta.usage as Json).output_tokens, text: out };
}
