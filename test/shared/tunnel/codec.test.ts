// The codec: every frame type round-trips, binary bodies keep every byte, and every malformed,
// truncated, oversize or foreign message becomes a typed error instead of an exception.

import { describe, expect, it } from "vitest";
import { decodeFrame, encodeFrame, FrameEncodeError, utf8Length } from "../../../src/shared/tunnel/codec.ts";
import {
  BODY_HEADER_BYTES,
  FRAME_TYPES,
  type Frame,
  MAX_BODY_FRAME_BYTES,
  MAX_CHUNK_BYTES,
  MAX_CONTROL_FRAME_BYTES,
  MAX_WINDOW,
  PROTOCOL_VERSION,
} from "../../../src/shared/tunnel/frames.ts";
import { NONCE_A, prng, SAMPLE_FRAMES } from "./fixtures.ts";

function roundTrip(frame: Frame): Frame {
  const decoded = decodeFrame(encodeFrame(frame));
  if (!decoded.ok) throw new Error(`decode failed: ${decoded.error.message}`);
  return decoded.frame;
}

function errorOf(data: unknown) {
  const decoded = decodeFrame(data);
  if (decoded.ok) throw new Error(`expected a decode error, got ${decoded.frame.type}`);
  return decoded.error;
}

/** A JSON text message: a valid sample frame of `type` with `patch` applied (undefined deletes). */
function text(type: string, patch: Record<string, unknown> = {}): string {
  const base = SAMPLE_FRAMES.find((f) => f.type === type);
  const obj: Record<string, unknown> = { v: PROTOCOL_VERSION, ...(base ?? { type }) };
  for (const [k, val] of Object.entries(patch)) {
    if (val === undefined) delete obj[k];
    else obj[k] = val;
  }
  return JSON.stringify(obj);
}

function binary(header: number[], payload: Uint8Array = new Uint8Array()): Uint8Array {
  const out = new Uint8Array(header.length + payload.byteLength);
  out.set(header);
  out.set(payload, header.length);
  return out;
}

describe("round trip", () => {
  it("covers every frame type", () => {
    const covered = new Set(SAMPLE_FRAMES.map((f) => f.type));
    expect([...covered].sort()).toEqual([...FRAME_TYPES].sort());
  });

  it.each(SAMPLE_FRAMES.map((f, i) => [`${i} ${f.type}`, f] as const))("%s", (_name, frame) => {
    expect(roundTrip(frame)).toEqual(frame);
  });

  it("sends control frames as text and body frames as binary", () => {
    for (const frame of SAMPLE_FRAMES) {
      const message = encodeFrame(frame);
      const isBody = frame.type === "req_body" || frame.type === "res_body";
      expect(typeof message === "string").toBe(!isBody);
    }
  });

  it("puts the version in every text frame", () => {
    const message = encodeFrame({ type: "credit", stream: 7, bytes: 1 });
    expect(JSON.parse(message as string)).toEqual({ v: 1, type: "credit", stream: 7, bytes: 1 });
  });

  it("lays out a body frame as version, type, reserved, stream u32 BE, payload", () => {
    const message = encodeFrame({ type: "res_body", stream: 0x01020304, chunk: new Uint8Array([9, 8]) });
    expect([...(message as Uint8Array)]).toEqual([1, 2, 0, 0, 1, 2, 3, 4, 9, 8]);
  });

  it("keeps every byte value of a binary body", () => {
    const chunk = new Uint8Array(256 * 4);
    for (let i = 0; i < chunk.length; i++) chunk[i] = i % 256;
    const back = roundTrip({ type: "req_body", stream: 5, chunk });
    expect(back).toEqual({ type: "req_body", stream: 5, chunk });
  });

  it("carries an empty body chunk", () => {
    const message = encodeFrame({ type: "res_body", stream: 1, chunk: new Uint8Array() });
    expect((message as Uint8Array).byteLength).toBe(BODY_HEADER_BYTES);
    expect(roundTrip({ type: "res_body", stream: 1, chunk: new Uint8Array() })).toEqual({
      type: "res_body",
      stream: 1,
      chunk: new Uint8Array(),
    });
  });

  it("carries a chunk of exactly MAX_CHUNK_BYTES and refuses one byte more", () => {
    const chunk = new Uint8Array(MAX_CHUNK_BYTES).map((_, i) => (i * 31) & 0xff);
    expect(roundTrip({ type: "req_body", stream: 1, chunk })).toEqual({ type: "req_body", stream: 1, chunk });
    const tooBig = { type: "req_body", stream: 1, chunk: new Uint8Array(MAX_CHUNK_BYTES + 1) } as const;
    expect(() => encodeFrame(tooBig)).toThrow(FrameEncodeError);
    try {
      encodeFrame(tooBig);
    } catch (err) {
      expect((err as FrameEncodeError).error.code).toBe("too_large");
    }
    expect(errorOf(binary([1, 1, 0, 0, 0, 0, 0, 1], new Uint8Array(MAX_CHUNK_BYTES + 1))).code).toBe(
      "too_large",
    );
  });

  it("decodes ArrayBuffer, Uint8Array and a view into a larger buffer (as Node's Buffer is)", () => {
    const message = encodeFrame({
      type: "res_body",
      stream: 3,
      chunk: new Uint8Array([7, 7, 7]),
    }) as Uint8Array;
    const big = new Uint8Array(message.byteLength + 10);
    big.set(message, 5);
    const views: unknown[] = [
      message.buffer,
      message,
      big.subarray(5, 5 + message.byteLength),
      new DataView(big.buffer, 5, message.byteLength),
    ];
    for (const data of views) {
      expect(decodeFrame(data)).toEqual({
        ok: true,
        frame: { type: "res_body", stream: 3, chunk: new Uint8Array([7, 7, 7]) },
      });
    }
  });

  it("strips unknown keys instead of passing them on", () => {
    const decoded = decodeFrame(
      JSON.stringify({ v: 1, type: "credit", stream: 1, bytes: 5, extra: { x: 1 } }),
    );
    expect(decoded).toEqual({ ok: true, frame: { type: "credit", stream: 1, bytes: 5 } });
  });

  it("accepts a control frame of exactly the maximum size and refuses one byte more", () => {
    const base = { type: "reject", reason: "policy", message: "" } as const;
    const overhead = (encodeFrame(base) as string).length;
    // Make the frame land exactly on the limit by padding a header value.
    const head = SAMPLE_FRAMES.find((f) => f.type === "req_head");
    if (head?.type !== "req_head") throw new Error("fixture");
    const skeleton = { ...head, headers: [] as [string, string][] };
    const size = (value: string) =>
      utf8Length(encodeFrame({ ...skeleton, headers: [["x-pad", value]] }) as string);
    const valueLen = 16 * 1024;
    const perHeader = size("a".repeat(valueLen)) - size("");
    const headersNeeded = Math.floor((MAX_CONTROL_FRAME_BYTES - size("")) / perHeader);
    const headers: [string, string][] = Array.from({ length: headersNeeded }, () => [
      "x-pad",
      "a".repeat(valueLen),
    ]);
    const fill = (extra: number) => [...headers, ["x-last", "b".repeat(extra)] as [string, string]];
    const frameSize = (extra: number) =>
      utf8Length(JSON.stringify({ v: 1, ...skeleton, headers: fill(extra) }));
    const extra = MAX_CONTROL_FRAME_BYTES - frameSize(0);
    expect(overhead).toBeGreaterThan(0);
    expect(frameSize(extra)).toBe(MAX_CONTROL_FRAME_BYTES);
    const exact = { ...skeleton, headers: fill(extra) };
    expect(roundTrip(exact)).toEqual(exact);
    expect(() => encodeFrame({ ...skeleton, headers: fill(extra + 1) })).toThrow(/exceeds/);
    expect(errorOf(JSON.stringify({ v: 1, ...skeleton, headers: fill(extra + 1) })).code).toBe("too_large");
  });

  it("measures the limit in UTF-8 bytes, not characters", () => {
    const reason = "é".repeat(MAX_CONTROL_FRAME_BYTES / 2);
    const message = JSON.stringify({ v: 1, type: "drain", reason });
    expect(message.length).toBeLessThan(MAX_CONTROL_FRAME_BYTES);
    expect(errorOf(message).code).toBe("too_large");
  });
});

describe("invalid text frames", () => {
  const cases: [string, unknown, string][] = [
    ["not JSON", "{", "invalid"],
    ["JSON array", "[1,2]", "invalid"],
    ["JSON null", "null", "invalid"],
    ["JSON string", '"ping"', "invalid"],
    ["empty string", "", "invalid"],
    ["missing v", JSON.stringify({ type: "drain" }), "invalid"],
    ["v as string", JSON.stringify({ v: "1", type: "drain" }), "invalid"],
    ["v = 2", JSON.stringify({ v: 2, type: "drain" }), "bad_version"],
    ["v = 0", JSON.stringify({ v: 0, type: "hello" }), "bad_version"],
    ["missing type", JSON.stringify({ v: 1 }), "invalid"],
    ["type as number", JSON.stringify({ v: 1, type: 3 }), "invalid"],
    ["unknown type", JSON.stringify({ v: 1, type: "upgrade" }), "unknown_type"],
    ["type from Object.prototype", JSON.stringify({ v: 1, type: "constructor" }), "unknown_type"],
    ["body frame as text", JSON.stringify({ v: 1, type: "req_body", stream: 1, chunk: "AAEC" }), "invalid"],
    ["hello without sidecarId", text("hello", { sidecarId: undefined }), "invalid"],
    ["hello with empty name", text("hello", { name: "" }), "invalid"],
    ["hello maxConcurrent 0", text("hello", { maxConcurrent: 0 }), "invalid"],
    ["hello maxConcurrent 1.5", text("hello", { maxConcurrent: 1.5 }), "invalid"],
    ["hello maxConcurrent as string", text("hello", { maxConcurrent: "4" }), "invalid"],
    ["hello serveKeys empty", text("hello", { serveKeys: [] }), "invalid"],
    ["hello serveKeys duplicate", text("hello", { serveKeys: ["k", "k"] }), "invalid"],
    ["hello serveKeys not strings", text("hello", { serveKeys: [1] }), "invalid"],
    ["hello serveKeys null", text("hello", { serveKeys: null }), "invalid"],
    ["challenge nonce too short", text("challenge", { nonce: "abc" }), "invalid"],
    ["challenge nonce padded", text("challenge", { nonce: `${NONCE_A.slice(0, 42)}=` }), "invalid"],
    ["challenge nonce with +", text("challenge", { nonce: `${NONCE_A.slice(0, 42)}+` }), "invalid"],
    ["challenge ts negative", text("challenge", { ts: -1 }), "invalid"],
    ["auth empty mac", text("auth", { mac: "" }), "invalid"],
    ["auth without mac", text("auth", { mac: undefined }), "invalid"],
    ["welcome without linkId", text("welcome", { linkId: undefined }), "invalid"],
    ["reject unknown reason", text("reject", { reason: "nope" }), "invalid"],
    ["req_head stream 0", text("req_head", { stream: 0 }), "invalid"],
    ["req_head stream negative", text("req_head", { stream: -1 }), "invalid"],
    ["req_head stream fractional", text("req_head", { stream: 1.5 }), "invalid"],
    ["req_head stream above u32", text("req_head", { stream: 2 ** 32 }), "invalid"],
    ["req_head stream as string", text("req_head", { stream: "1" }), "invalid"],
    ["req_head lower-case bad method", text("req_head", { method: "PO ST" }), "invalid"],
    ["req_head path without /", text("req_head", { path: "v1/messages" }), "invalid"],
    ["req_head absolute URL", text("req_head", { path: "https://evil.example/v1" }), "invalid"],
    ["req_head path with space", text("req_head", { path: "/v1/a b" }), "invalid"],
    ["req_head header with CRLF", text("req_head", { headers: [["x-a", "1\r\nx-b: 2"]] }), "invalid"],
    ["req_head header with NUL", text("req_head", { headers: [["x-a", "\u0000"]] }), "invalid"],
    ["req_head header name with colon", text("req_head", { headers: [["x:a", "1"]] }), "invalid"],
    ["req_head header empty name", text("req_head", { headers: [["", "1"]] }), "invalid"],
    ["req_head header as object", text("req_head", { headers: { a: "1" } }), "invalid"],
    ["req_head header triple", text("req_head", { headers: [["a", "1", "2"]] }), "invalid"],
    ["req_head too many headers", text("req_head", { headers: Array(257).fill(["a", "1"]) }), "invalid"],
    ["req_head format grpc", text("req_head", { format: "grpc" }), "invalid"],
    ["req_head hasBody as string", text("req_head", { hasBody: "true" }), "invalid"],
    ["req_head without keyId", text("req_head", { keyId: undefined }), "invalid"],
    ["res_head status 99", text("res_head", { status: 99 }), "invalid"],
    ["res_head status 101", text("res_head", { status: 101 }), "invalid"],
    ["res_head status 600", text("res_head", { status: 600 }), "invalid"],
    ["res_end trailer array", text("res_end", { trailer: [1] }), "invalid"],
    ["res_end trailer string", text("res_end", { trailer: "x" }), "invalid"],
    ["error unknown code", text("error", { code: "teapot" }), "invalid"],
    ["error without headersSent", text("error", { headersSent: undefined }), "invalid"],
    ["error negative retryAfter", text("error", { retryAfter: -1 }), "invalid"],
    ["credit 0 bytes", text("credit", { bytes: 0 }), "invalid"],
    ["credit negative", text("credit", { bytes: -5 }), "invalid"],
    ["credit beyond MAX_WINDOW", text("credit", { bytes: MAX_WINDOW + 1 }), "invalid"],
    ["credit NaN via string", text("credit", { bytes: "NaN" }), "invalid"],
    ["ping empty nonce", text("ping", { nonce: "" }), "invalid"],
    ["ping huge nonce", text("ping", { nonce: "n".repeat(65) }), "invalid"],
    ["pong without ts", text("pong", { ts: undefined }), "invalid"],
    ["goaway negative reconnect", text("goaway", { reconnectAfterMs: -1 }), "invalid"],
    ["cancel reason too long", text("cancel", { reason: "r".repeat(1025) }), "invalid"],
  ];

  it.each(cases)("%s", (_name, data, code) => {
    expect(errorOf(data).code).toBe(code);
  });

  it("names the field in the message without echoing the value", () => {
    const error = errorOf(text("req_head", { headers: [["x-a", "secret-value\r\n"]] }));
    expect(error.frameType).toBe("req_head");
    expect(error.message).toMatch(/^req_head: headers\.0\.1: /);
    expect(error.message).not.toContain("secret-value");
  });

  it("survives a pathologically nested trailer", () => {
    const depth = 20_000;
    const data = `{"v":1,"type":"res_end","stream":1,"trailer":{"a":${"[".repeat(depth)}${"]".repeat(depth)}}}`;
    expect(data.length).toBeLessThan(MAX_CONTROL_FRAME_BYTES);
    expect(errorOf(data).code).toBe("invalid");
  });

  it("does not let a __proto__ key in a trailer reach an object's prototype", () => {
    const decoded = decodeFrame(
      '{"v":1,"type":"res_end","stream":1,"trailer":{"__proto__":{"polluted":true},"a":1}}',
    );
    expect(decoded.ok).toBe(true);
    if (decoded.ok && decoded.frame.type === "res_end") {
      expect(Object.getPrototypeOf(decoded.frame.trailer)).toBe(Object.prototype);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
  });
});

describe("invalid binary frames", () => {
  it.each([0, 1, 2, 3, 4, 5, 6, 7])("refuses a %d-byte message as truncated", (length) => {
    expect(errorOf(new Uint8Array(length).fill(1)).code).toBe("truncated");
  });

  const cases: [string, number[], string][] = [
    ["version 0", [0, 1, 0, 0, 0, 0, 0, 1], "bad_version"],
    ["version 2", [2, 1, 0, 0, 0, 0, 0, 1], "bad_version"],
    ["type 0", [1, 0, 0, 0, 0, 0, 0, 1], "unknown_type"],
    ["type 3", [1, 3, 0, 0, 0, 0, 0, 1], "unknown_type"],
    ["JSON in a binary message", [...new TextEncoder().encode('{"v":1,"type":"drain"}')], "bad_version"],
    ["reserved byte set", [1, 1, 0, 1, 0, 0, 0, 1], "invalid"],
    ["stream 0", [1, 2, 0, 0, 0, 0, 0, 0], "invalid"],
  ];
  it.each(cases)("%s", (_name, bytes, code) => {
    expect(errorOf(new Uint8Array(bytes)).code).toBe(code);
  });

  it("refuses anything larger than MAX_BODY_FRAME_BYTES before reading it", () => {
    expect(errorOf(new ArrayBuffer(MAX_BODY_FRAME_BYTES + 1)).code).toBe("too_large");
    expect(errorOf(new ArrayBuffer(10 * 1024 * 1024)).code).toBe("too_large");
  });
});

describe("foreign messages", () => {
  it.each([
    ["undefined", undefined],
    ["null", null],
    ["number", 42],
    ["object", { type: "drain" }],
    ["array", [1, 2]],
    ["Blob", new Blob(["x"])],
  ])("refuses %s", (_name, data) => {
    expect(errorOf(data).code).toBe("invalid");
  });

  it("never throws on random bytes or random text", () => {
    const random = prng(42);
    const thrown: unknown[] = [];
    const attempt = (data: unknown) => {
      try {
        decodeFrame(data);
      } catch (err) {
        thrown.push(err);
      }
    };
    for (let i = 0; i < 3000; i++) {
      const length = Math.floor(random() * 64);
      const bytes = new Uint8Array(length).map(() => Math.floor(random() * 256));
      if (length > 1 && random() < 0.5) bytes[0] = 1; // reach past the version check
      attempt(bytes);
      const valid = text(SAMPLE_FRAMES[i % SAMPLE_FRAMES.length]?.type ?? "drain");
      const at = Math.floor(random() * valid.length);
      attempt(valid.slice(0, at) + String.fromCharCode(Math.floor(random() * 0x3000)) + valid.slice(at + 1));
    }
    expect(thrown).toEqual([]);
  });
});

describe("encode", () => {
  it("refuses to send what the peer would refuse", () => {
    const bad: Frame[] = [
      { type: "res_head", stream: 1, status: 200, headers: [["x-a", "1\n2"]] },
      { type: "credit", stream: 0, bytes: 1 },
      { type: "req_body", stream: 0, chunk: new Uint8Array() },
      { type: "res_body", stream: 2 ** 32, chunk: new Uint8Array() },
      { type: "hello", sidecarId: "s", name: "n", version: "1", maxConcurrent: 1, serveKeys: [] },
    ];
    for (const frame of bad) expect(() => encodeFrame(frame), frame.type).toThrow(FrameEncodeError);
  });
});

describe("utf8Length", () => {
  it.each(["", "abc", "é", "€", "😀", "a\u{10ffff}b", "\ud800", "\udc00x", "x\ud800\ud800"])(
    "matches TextEncoder for %j",
    (s) => {
      expect(utf8Length(s)).toBe(new TextEncoder().encode(s).byteLength);
    },
  );
});
