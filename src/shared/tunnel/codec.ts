// Frames to WebSocket messages and back. Control frames are JSON text messages; body chunks are
// binary messages with a fixed 8-byte header, so payloads cross the link without base64 or JSON.
// Decoding never throws: anything a peer sends becomes a frame or a typed error.

import {
  BODY_HEADER_BYTES,
  BODY_TYPE_CODES,
  type BodyFrame,
  type ControlFrame,
  type Frame,
  isBodyType,
  isControlType,
  MAX_BODY_FRAME_BYTES,
  MAX_CHUNK_BYTES,
  MAX_CONTROL_FRAME_BYTES,
  MAX_STREAM_ID,
  PROTOCOL_VERSION,
  parseControlFrame,
} from "./frames.ts";

export type FrameErrorCode =
  /** The frame's version is not PROTOCOL_VERSION (the peer runs another protocol). */
  | "bad_version"
  /** The `type` (or binary type byte) names no frame of this version. */
  | "unknown_type"
  /** Bigger than MAX_CONTROL_FRAME_BYTES / MAX_BODY_FRAME_BYTES. */
  | "too_large"
  /** A binary message shorter than its fixed header. */
  | "truncated"
  /** Not JSON, not an object, a field missing or of the wrong type, a body frame sent as text… */
  | "invalid";

export interface FrameError {
  code: FrameErrorCode;
  /** For logs. Names the offending field, never echoes its value. */
  message: string;
  /** The frame type, when it could be read. */
  frameType?: string;
}

export type DecodeResult = { ok: true; frame: Frame } | { ok: false; error: FrameError };

/** Thrown by `encodeFrame` when asked to send a frame that its own peer would refuse. */
export class FrameEncodeError extends Error {
  readonly error: FrameError;
  constructor(error: FrameError) {
    super(`cannot encode tunnel frame: ${error.message}`);
    this.name = "FrameEncodeError";
    this.error = error;
  }
}

/**
 * One frame as a WebSocket message: a string for control frames (send as text), bytes for body
 * frames (send as binary). Validates with the same rules the peer applies, so a bad frame fails here,
 * at its source, not as a protocol violation that takes the whole link down.
 */
export function encodeFrame(frame: Frame): string | Uint8Array<ArrayBuffer> {
  switch (frame.type) {
    case "req_body":
    case "res_body":
      return encodeBody(frame);
    default:
      return encodeControl(frame);
  }
}

function encodeBody(frame: BodyFrame): Uint8Array<ArrayBuffer> {
  const { chunk, stream } = frame;
  if (!Number.isInteger(stream) || stream < 1 || stream > MAX_STREAM_ID)
    throw new FrameEncodeError({ code: "invalid", message: "stream: out of range", frameType: frame.type });
  if (chunk.byteLength > MAX_CHUNK_BYTES)
    throw new FrameEncodeError({
      code: "too_large",
      message: `chunk of ${chunk.byteLength} bytes exceeds ${MAX_CHUNK_BYTES}`,
      frameType: frame.type,
    });
  const out = new Uint8Array(BODY_HEADER_BYTES + chunk.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, PROTOCOL_VERSION);
  view.setUint8(1, BODY_TYPE_CODES[frame.type]);
  view.setUint32(4, stream);
  out.set(chunk, BODY_HEADER_BYTES);
  return out;
}

function encodeControl(frame: ControlFrame): string {
  const parsed = parseControlFrame(frame.type, frame);
  if (!parsed.success) throw new FrameEncodeError(schemaError(frame.type, parsed.error.issues));
  const text = JSON.stringify({ v: PROTOCOL_VERSION, ...parsed.data });
  const size = utf8Length(text);
  if (size > MAX_CONTROL_FRAME_BYTES)
    throw new FrameEncodeError({
      code: "too_large",
      message: `${size} bytes exceeds ${MAX_CONTROL_FRAME_BYTES}`,
      frameType: frame.type,
    });
  return text;
}

/**
 * A WebSocket message (workerd: string | ArrayBuffer; Node's WebSocket: string | ArrayBuffer;
 * a Node Buffer is an ArrayBufferView) to a frame. Body chunks are views into `data`, not copies.
 */
export function decodeFrame(data: unknown): DecodeResult {
  if (typeof data === "string") return decodeControl(data);
  if (data instanceof ArrayBuffer) return decodeBody(new Uint8Array(data));
  if (ArrayBuffer.isView(data))
    return decodeBody(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return fail("invalid", "message is neither text nor binary");
}

function decodeControl(text: string): DecodeResult {
  // UTF-8 never takes fewer bytes than UTF-16 code units, so this cheap check comes first.
  if (text.length > MAX_CONTROL_FRAME_BYTES || utf8Length(text) > MAX_CONTROL_FRAME_BYTES)
    return fail("too_large", `text frame exceeds ${MAX_CONTROL_FRAME_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail("invalid", "text frame is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return fail("invalid", "text frame is not a JSON object");
  const v: unknown = Reflect.get(value, "v");
  const type: unknown = Reflect.get(value, "type");
  if (typeof v !== "number") return fail("invalid", "v: missing or not a number");
  if (v !== PROTOCOL_VERSION) return fail("bad_version", `version ${String(v)} is not ${PROTOCOL_VERSION}`);
  if (typeof type !== "string") return fail("invalid", "type: missing or not a string");
  if (isBodyType(type)) return fail("invalid", `${type} must be a binary message`, type);
  if (!isControlType(type)) return fail("unknown_type", "type: not a frame of this version");
  let parsed: ReturnType<typeof parseControlFrame>;
  try {
    parsed = parseControlFrame(type, value);
  } catch {
    // A pathologically nested trailer can exhaust the stack inside the validator.
    return fail("invalid", `${type}: too deeply nested`, type);
  }
  if (!parsed.success) return { ok: false, error: schemaError(type, parsed.error.issues) };
  return { ok: true, frame: parsed.data };
}

function decodeBody(bytes: Uint8Array): DecodeResult {
  if (bytes.byteLength > MAX_BODY_FRAME_BYTES)
    return fail("too_large", `binary frame exceeds ${MAX_BODY_FRAME_BYTES} bytes`);
  if (bytes.byteLength < BODY_HEADER_BYTES) return fail("truncated", "binary frame shorter than its header");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(0);
  if (version !== PROTOCOL_VERSION)
    return fail("bad_version", `version ${version} is not ${PROTOCOL_VERSION}`);
  const code = view.getUint8(1);
  const type =
    code === BODY_TYPE_CODES.req_body ? "req_body" : code === BODY_TYPE_CODES.res_body ? "res_body" : null;
  if (type === null) return fail("unknown_type", `binary type ${code} is not a body frame`);
  if (view.getUint16(2) !== 0) return fail("invalid", "reserved header bytes are not zero", type);
  const stream = view.getUint32(4);
  if (stream === 0) return fail("invalid", "stream: 0 is not a stream id", type);
  return { ok: true, frame: { type, stream, chunk: bytes.subarray(BODY_HEADER_BYTES) } };
}

function fail(code: FrameErrorCode, message: string, frameType?: string): DecodeResult {
  return { ok: false, error: frameType === undefined ? { code, message } : { code, message, frameType } };
}

function schemaError(
  frameType: string,
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
): FrameError {
  const first = issues[0];
  const where = first && first.path.length > 0 ? `${first.path.map(String).join(".")}: ` : "";
  return { code: "invalid", message: `${frameType}: ${where}${first?.message ?? "invalid"}`, frameType };
}

/** UTF-8 length of a JS string without encoding it (lone surrogates count as U+FFFD, 3 bytes). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}
