// Ending an SSE body cleanly when its source fails: whole events pass at once, only an incomplete
// tail waits, a failure drops that tail and appends one error event; CR, LF and CRLF, in any split.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { SseEventBoundaries, SseParser } from "../../../src/shared/sse/decode.ts";
import { wholeEventsOrError } from "../../../src/shared/sse/whole-events.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const ERROR_EVENT = 'event: error\ndata: {"type":"error","error":{"type":"api_error","message":"lost"}}\n\n';
const onLoss = () => enc.encode(ERROR_EVENT);
const fixture = (name: string) => readFileSync(new URL(`../../fixtures/recorded/${name}`, import.meta.url));

/** A source the test feeds by hand, recording how often it was pulled and whether it was cancelled. */
function manualSource() {
  let ctrl!: ReadableStreamDefaultController<Uint8Array>;
  const state = { pulls: 0, cancelled: undefined as unknown };
  const stream = new ReadableStream<Uint8Array>(
    {
      start(c) {
        ctrl = c;
      },
      pull() {
        state.pulls++;
      },
      cancel(reason) {
        state.cancelled = reason ?? "cancelled";
      },
    },
    { highWaterMark: 0 },
  );
  return {
    stream,
    state,
    send: (text: string) => ctrl.enqueue(enc.encode(text)),
    fail: () => ctrl.error(new TypeError("Network connection lost.")),
    end: () => ctrl.close(),
  };
}

/** Splits bytes at the given offsets into a source that then errors (or ends). */
function splitSource(bytes: Uint8Array, cuts: number[], then: "error" | "end"): ReadableStream<Uint8Array> {
  const parts: Uint8Array[] = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    parts.push(bytes.slice(at, c));
    at = c;
  }
  return new ReadableStream({
    pull(c) {
      const next = parts.shift();
      if (next !== undefined) c.enqueue(next);
      else if (then === "error") c.error(new TypeError("Network connection lost."));
      else c.close();
    },
  });
}

async function chunksOf(stream: ReadableStream<Uint8Array>): Promise<string[]> {
  const out: string[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out.push(dec.decode(value));
  }
}

/** True when `text` is a sequence of whole events (it ends on a blank line). */
function endsOnBoundary(text: string): boolean {
  const b = new SseEventBoundaries();
  const bytes = enc.encode(text);
  return text.length === 0 || b.push(bytes) === bytes.length;
}

describe("SseEventBoundaries", () => {
  it.each([
    ["LF", "event: a\ndata: 1\n\nevent: b\ndata: 2", 18],
    ["CRLF", "event: a\r\ndata: 1\r\n\r\nevent: b", 21],
    ["CR", "event: a\rdata: 1\r\revent: b", 18],
    ["a comment is an event's worth of bytes", ": ping\n\ndata: x", 8],
    ["no blank line yet", "event: a\ndata: 1\n", -1],
    ["two events in one chunk: the later end", "data: 1\n\ndata: 2\n\ndata: 3", 18],
  ])("%s", (_name, text, cut) => {
    expect(new SseEventBoundaries().push(enc.encode(text))).toBe(cut);
  });

  it("a CRLF split across chunks: the LF stays with the event it closes", () => {
    const b = new SseEventBoundaries();
    expect(b.push(enc.encode("data: 1\r\n\r"))).toBe(10);
    expect(b.push(enc.encode("\ndata: 2"))).toBe(1);
  });

  it("a CR that ends a line is not a blank line when its LF comes in the next chunk", () => {
    const b = new SseEventBoundaries();
    expect(b.push(enc.encode("data: 1\r"))).toBe(-1);
    expect(b.push(enc.encode("\ndata: 2\n"))).toBe(-1);
    expect(b.push(enc.encode("\n"))).toBe(1);
  });
});

describe("wholeEventsOrError", () => {
  it("passes a chunk that ends on an event boundary on at once, without reading ahead", async () => {
    const src = manualSource();
    const reader = wholeEventsOrError(src.stream, onLoss).getReader();
    const tick = () => new Promise((r) => setTimeout(r, 10));
    await tick();
    expect(src.state.pulls, "nothing read before the client asks").toBe(0);
    const first = reader.read();
    await tick();
    expect(src.state.pulls).toBe(1);
    src.send("event: a\ndata: 1\n\n");
    expect(dec.decode((await first).value)).toBe("event: a\ndata: 1\n\n");
    await tick();
    expect(src.state.pulls, "no read-ahead after the event was delivered").toBe(1);
    reader.releaseLock();
  });

  it("holds back only the incomplete tail, and sends it when its event completes", async () => {
    const src = manualSource();
    const reader = wholeEventsOrError(src.stream, onLoss).getReader();
    let read = reader.read();
    src.send("event: a\ndata: 1\n\nevent: b\nda");
    expect(dec.decode((await read).value)).toBe("event: a\ndata: 1\n\n");
    read = reader.read();
    src.send("ta: 2\n");
    src.send("\nevent: c");
    expect(dec.decode((await read).value)).toBe("event: b\ndata: 2\n\n");
    read = reader.read();
    src.end();
    // A stream that ends normally keeps its unterminated last bytes.
    expect(dec.decode((await read).value)).toBe("event: c");
    expect((await reader.read()).done).toBe(true);
  });

  it("on a read error drops the partial event, appends the error event and ends normally", async () => {
    const src = manualSource();
    const out = chunksOf(wholeEventsOrError(src.stream, onLoss));
    src.send('event: a\ndata: 1\n\nevent: content_block_delta\ndata: {"type":"content_');
    await new Promise((r) => setTimeout(r, 10));
    src.fail();
    const chunks = await out;
    expect(chunks.join("")).toBe(`event: a\ndata: 1\n\n${ERROR_EVENT}`);
    const events = new SseParser().push(chunks.join(""));
    expect(events.map((e) => e.event)).toEqual(["a", "error"]);
  });

  it("on a read error before any byte, the body is just the error event", async () => {
    const src = manualSource();
    const out = chunksOf(wholeEventsOrError(src.stream, onLoss));
    src.fail();
    expect((await out).join("")).toBe(ERROR_EVENT);
  });

  it("cancelling the body cancels the source", async () => {
    const src = manualSource();
    const body = wholeEventsOrError(src.stream, onLoss);
    const reader = body.getReader();
    const read = reader.read();
    src.send("data: 1\n\n");
    await read;
    await reader.cancel("client left");
    expect(src.state.cancelled).toBe("client left");
  });

  for (const name of ["anthropic-text.sse", "anthropic-tool.sse", "anthropic-thinking.sse"]) {
    for (const eol of ["\n", "\r\n", "\r"]) {
      it(`${name} with ${JSON.stringify(eol)} line ends, split everywhere: bytes unchanged, cuts on boundaries, drops end clean`, async () => {
        const text = dec.decode(fixture(name)).replace(/\r\n|\r|\n/g, eol);
        const bytes = enc.encode(text);
        const step = Math.max(1, Math.floor(bytes.length / 60));
        for (let size = 1; size < bytes.length; size += step) {
          const cuts: number[] = [];
          for (let at = size; at < bytes.length; at += size) cuts.push(at);
          const whole = await chunksOf(wholeEventsOrError(splitSource(bytes, cuts, "end"), onLoss));
          expect(whole.join(""), `split ${size}`).toBe(text);
          // Every chunk but the unterminated last one ends on an event boundary.
          for (const c of whole.slice(0, -1)) expect(endsOnBoundary(c), `split ${size}`).toBe(true);

          // The same stream dropped in the middle: whole events, then exactly one error event.
          const dropAt = cuts[Math.floor(cuts.length / 2)] ?? 1;
          const dropped = (
            await chunksOf(
              wholeEventsOrError(
                splitSource(
                  bytes.slice(0, dropAt),
                  cuts.filter((c) => c < dropAt),
                  "error",
                ),
                onLoss,
              ),
            )
          ).join("");
          expect(dropped.endsWith(ERROR_EVENT), `split ${size}`).toBe(true);
          const before = dropped.slice(0, -ERROR_EVENT.length);
          expect(text.startsWith(before)).toBe(true);
          expect(endsOnBoundary(before), `split ${size}`).toBe(true);
          const events = new SseParser().push(dropped);
          expect(events.at(-1)?.event).toBe("error");
          expect(events.filter((e) => e.event === "error")).toHaveLength(1);
        }
      });
    }
  }
});
