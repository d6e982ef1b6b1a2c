// The tunnel's frame vocabulary: every frame type with its fields, who may send it, and the limits.
// The zod schemas here are the boundary check for JSON control frames; body frames are binary and
// decoded by hand in codec.ts. README.md in this folder is the prose version of this file.

import { z } from "zod";
import { ERROR_CODES, type ErrorCode, type WireFormat } from "../errors.ts";

/** Carried by every frame (`v` in JSON, byte 0 in binary). A frame of another version is refused. */
export const PROTOCOL_VERSION = 1;

/** Largest body payload in one `req_body`/`res_body` frame; bigger writes are split. */
export const MAX_CHUNK_BYTES = 64 * 1024;
/** Fixed header of a binary body frame: version u8, type u8, reserved u16 (zero), stream u32 BE. */
export const BODY_HEADER_BYTES = 8;
export const MAX_BODY_FRAME_BYTES = BODY_HEADER_BYTES + MAX_CHUNK_BYTES;
/** Largest JSON control frame, in UTF-8 bytes. Request heads are the biggest (client headers). */
export const MAX_CONTROL_FRAME_BYTES = 64 * 1024;

/** Body bytes each side may send on a new stream before the receiver returns credit. */
export const INITIAL_WINDOW = 256 * 1024;
/** Credit a receiver may have outstanding on one stream; granting beyond it is a violation. */
export const MAX_WINDOW = 16 * 1024 * 1024;

/** Stream ids are u32, allocated by the Durable Object, strictly increasing, never reused on a link. */
export const MAX_STREAM_ID = 0xffff_ffff;
/** Random bytes in each handshake nonce (256 bits; 43 base64url characters). */
export const NONCE_BYTES = 32;
/** A sidecar may not claim more concurrent runs than this. */
export const MAX_CONCURRENT = 1024;
export const MAX_HEADERS = 256;
export const MAX_SERVE_KEYS = 256;
/** Longest `error.message`, and longest free-text reason (cancel, drain, goaway, reject). */
export const MAX_ERROR_MESSAGE = 4096;
export const MAX_NOTE = 1024;

export const FRAME_TYPES = [
  "hello",
  "challenge",
  "auth",
  "welcome",
  "reject",
  "req_head",
  "req_body",
  "req_end",
  "res_head",
  "res_body",
  "res_end",
  "error",
  "cancel",
  "credit",
  "ping",
  "pong",
  "drain",
  "goaway",
  "summary",
] as const;
export type FrameType = (typeof FRAME_TYPES)[number];

export type LinkRole = "do" | "sidecar";

/** Who may send each frame. A frame from the wrong side is a protocol violation. */
export const FRAME_SENDER = {
  hello: "sidecar",
  challenge: "do",
  auth: "sidecar",
  welcome: "do",
  reject: "do",
  req_head: "do",
  req_body: "do",
  req_end: "do",
  res_head: "sidecar",
  res_body: "sidecar",
  res_end: "sidecar",
  error: "sidecar",
  cancel: "both",
  credit: "both",
  ping: "both",
  pong: "both",
  drain: "sidecar",
  goaway: "do",
  summary: "sidecar",
} as const satisfies Record<FrameType, LinkRole | "both">;

/** Body frames travel as binary WebSocket messages; every other frame is a JSON text message. */
export const BODY_TYPE_CODES = { req_body: 1, res_body: 2 } as const;

export const HANDSHAKE_FAILURES = [
  "wrong_secret",
  "replayed",
  "expired",
  "unknown_nonce",
  "bad_version",
  "malformed",
] as const;
export type HandshakeFailure = (typeof HANDSHAKE_FAILURES)[number];

/** `policy`: the Worker refuses for a reason of its own (tunnel disabled, key already served…). */
export const REJECT_REASONS = [...HANDSHAKE_FAILURES, "policy"] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type Header = [name: string, value: string];
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** Free-form summary at the end of a response (usage, cost, session id) for the usage ledger. */
export type Trailer = { [key: string]: JsonValue };

/**
 * Optional behaviours a peer announces in `hello` (sidecar) or `welcome` (Worker); each is used only
 * when both sides list it, so either side may be older. Unknown names are ignored.
 *   summary: after a stream was cancelled, the sidecar still sends its run's trailer in a `summary`
 *            frame (what the run used until it stopped, for the usage ledger).
 */
export const FEATURES = ["summary"] as const;
export type Feature = (typeof FEATURES)[number];
const MAX_FEATURES = 32;

/** Whether a peer's `features` list names `feature`. */
export function lists(features: readonly string[] | undefined, feature: Feature): boolean {
  return features?.includes(feature) ?? false;
}

export interface HelloFrame {
  type: "hello";
  /** Stable per sidecar installation; the Worker uses it to replace a stale connection. */
  sidecarId: string;
  name: string;
  /** The sidecar's software version, for logs and /health. */
  version: string;
  maxConcurrent: number;
  /** Key ids this sidecar serves exclusively (a personal sidecar). Absent: a shared sidecar. */
  serveKeys?: string[];
  /**
   * How the sidecar proves itself. Absent: it knows TUNNEL_SECRET (an operator's sidecar, shared or
   * personal). `"key"`: a personal sidecar proving its owner's CCProxy key instead — the MAC is keyed
   * with the key's SHA-256 (hex), `serveKeys` names exactly that key's id, and `sidecarId` starts with
   * `<key id>:` — so a key holder can serve only their own key and replace only their own sidecars.
   */
  credential?: "key";
  /** What this sidecar supports (FEATURES; unknown names ignored). Not bound by the MAC: it only
   * says which optional frames the sidecar sends, which changes nothing the secret protects. */
  features?: string[];
}
export interface ChallengeFrame {
  type: "challenge";
  nonce: string;
  /** The Worker's clock (ms since epoch) when it issued the nonce; informational, bound by the MAC. */
  ts: number;
}
export interface AuthFrame {
  type: "auth";
  /** The challenge nonce this answers. */
  challenge: string;
  /** The sidecar's own fresh nonce, which the Worker's `welcome` must sign. */
  nonce: string;
  mac: string;
}
export interface WelcomeFrame {
  type: "welcome";
  /** The Worker's id for this connection, for logs on both sides. */
  linkId: string;
  mac: string;
  /** What this Worker supports (FEATURES; unknown names ignored). */
  features?: string[];
}
export interface RejectFrame {
  type: "reject";
  reason: RejectReason;
  message: string;
}
export interface ReqHeadFrame {
  type: "req_head";
  stream: number;
  requestId: string;
  method: string;
  /** Path and query as the client sent them, e.g. `/v1/messages?beta=true`. */
  path: string;
  headers: Header[];
  keyId: string;
  keyName: string;
  /** The route's wire format: which API shape the response must take. */
  format: WireFormat;
  /** True: `req_body`* then `req_end` follow. False: the request is complete with this frame. */
  hasBody: boolean;
}
export interface ReqBodyFrame {
  type: "req_body";
  stream: number;
  chunk: Uint8Array;
}
export interface ReqEndFrame {
  type: "req_end";
  stream: number;
}
export interface ResHeadFrame {
  type: "res_head";
  stream: number;
  status: number;
  headers: Header[];
}
export interface ResBodyFrame {
  type: "res_body";
  stream: number;
  chunk: Uint8Array;
}
export interface ResEndFrame {
  type: "res_end";
  stream: number;
  trailer?: Trailer;
}
export interface ErrorFrame {
  type: "error";
  stream: number;
  code: ErrorCode;
  /** Safe to show the client; internal detail belongs in the sidecar's log. */
  message: string;
  /** Whether `res_head` was already sent: the Worker then reports the error inside the stream. */
  headersSent: boolean;
  /** Seconds, for `overloaded`/`rate_limited`/`unavailable`. */
  retryAfter?: number;
}
export interface CancelFrame {
  type: "cancel";
  stream: number;
  reason?: string;
}
export interface CreditFrame {
  type: "credit";
  stream: number;
  /** More body bytes the sender of this frame is ready to receive on the stream. */
  bytes: number;
}
export interface PingFrame {
  type: "ping";
  nonce: string;
  ts: number;
}
export interface PongFrame {
  type: "pong";
  /** The ping's nonce and ts, echoed, so the pinger measures the round trip on its own clock. */
  nonce: string;
  ts: number;
}
export interface DrainFrame {
  type: "drain";
  reason?: string;
}
export interface GoawayFrame {
  type: "goaway";
  reason?: string;
  /** When the sidecar should dial a new connection (it finishes running streams on this one). */
  reconnectAfterMs?: number;
}

/** After a stream ended by `cancel` (the client left) or `error`: what the run used until it
 * stopped, for the usage ledger. At most once per stream, only when both sides list the `summary`
 * feature; a stream that completes carries this in `res_end` instead. */
export interface SummaryFrame {
  type: "summary";
  stream: number;
  trailer: Trailer;
}

export type HandshakeFrame = HelloFrame | ChallengeFrame | AuthFrame | WelcomeFrame | RejectFrame;
export type BodyFrame = ReqBodyFrame | ResBodyFrame;
/** Frames that belong to one stream (after its `req_head`). */
export type StreamFrame =
  | ReqBodyFrame
  | ReqEndFrame
  | ResHeadFrame
  | ResBodyFrame
  | ResEndFrame
  | ErrorFrame
  | CancelFrame
  | CreditFrame;
export type LinkFrame = PingFrame | PongFrame | DrainFrame | GoawayFrame;
export type Frame = HandshakeFrame | ReqHeadFrame | StreamFrame | LinkFrame | SummaryFrame;
export type ControlFrame = Exclude<Frame, BodyFrame>;
export type ControlFrameType = ControlFrame["type"];

// ---- Schemas (JSON control frames) -------------------------------------------------------------

const ERROR_CODE_LIST = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];
/** RFC 9110 token: header names and methods. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Header values reach the sidecar's HTTP stack: no CR, LF or NUL (no header injection). */
const HEADER_VALUE = /^[^\r\n\0]*$/;
/** An origin-form request target: visible ASCII only, as on the HTTP wire. */
const PATH = /^\/[\x21-\x7e]*$/;
const B64URL_256 = /^[A-Za-z0-9_-]{43}$/;

const streamId = z.number().int().min(1).max(MAX_STREAM_ID);
const id = z.string().min(1).max(128);
const note = z.string().max(MAX_NOTE);
const epochMs = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const b64url256 = z.string().regex(B64URL_256, "expected 32 bytes as unpadded base64url");
const headers = z
  .array(
    z.tuple([
      z.string().min(1).max(256).regex(TOKEN),
      z
        .string()
        .max(16 * 1024)
        .regex(HEADER_VALUE),
    ]),
  )
  .max(MAX_HEADERS);

const helloSchema: z.ZodType<HelloFrame> = z
  .object({
    type: z.literal("hello"),
    sidecarId: id,
    name: z.string().min(1).max(128),
    version: z.string().min(1).max(64),
    maxConcurrent: z.number().int().min(1).max(MAX_CONCURRENT),
    // At least one key when present: "absent" (shared) and "empty" must not mean different things.
    serveKeys: z
      .array(id)
      .min(1)
      .max(MAX_SERVE_KEYS)
      .refine((keys) => new Set(keys).size === keys.length, "duplicate key id")
      .exactOptional(),
    credential: z.literal("key").exactOptional(),
    features: z.array(z.string().max(64)).max(MAX_FEATURES).exactOptional(),
  })
  .refine(
    (h) =>
      h.credential === undefined ||
      (h.serveKeys?.length === 1 && h.sidecarId.startsWith(`${h.serveKeys[0]}:`)),
    'a sidecar with credential "key" serves exactly its key (serveKeys: [id]) under a sidecarId starting with "<id>:"',
  );

const schemas = {
  hello: helloSchema,
  challenge: z.object({ type: z.literal("challenge"), nonce: b64url256, ts: epochMs }),
  auth: z.object({ type: z.literal("auth"), challenge: b64url256, nonce: b64url256, mac: b64url256 }),
  welcome: z.object({
    type: z.literal("welcome"),
    linkId: id,
    mac: b64url256,
    features: z.array(z.string().max(64)).max(MAX_FEATURES).exactOptional(),
  }),
  reject: z.object({ type: z.literal("reject"), reason: z.enum(REJECT_REASONS), message: note }),
  req_head: z.object({
    type: z.literal("req_head"),
    stream: streamId,
    requestId: id,
    method: z.string().min(1).max(32).regex(TOKEN),
    path: z
      .string()
      .max(8 * 1024)
      .regex(PATH),
    headers,
    keyId: id,
    keyName: z.string().max(256),
    format: z.enum(["anthropic", "openai"]),
    hasBody: z.boolean(),
  }),
  req_end: z.object({ type: z.literal("req_end"), stream: streamId }),
  res_head: z.object({
    type: z.literal("res_head"),
    stream: streamId,
    status: z.number().int().min(200).max(599),
    headers,
  }),
  res_end: z.object({
    type: z.literal("res_end"),
    stream: streamId,
    trailer: z.record(z.string(), z.json()).exactOptional(),
  }),
  error: z.object({
    type: z.literal("error"),
    stream: streamId,
    code: z.enum(ERROR_CODE_LIST),
    message: z.string().max(MAX_ERROR_MESSAGE),
    headersSent: z.boolean(),
    retryAfter: z.number().min(0).max(86_400).exactOptional(),
  }),
  cancel: z.object({ type: z.literal("cancel"), stream: streamId, reason: note.exactOptional() }),
  credit: z.object({
    type: z.literal("credit"),
    stream: streamId,
    bytes: z.number().int().min(1).max(MAX_WINDOW),
  }),
  ping: z.object({ type: z.literal("ping"), nonce: z.string().min(1).max(64), ts: epochMs }),
  pong: z.object({ type: z.literal("pong"), nonce: z.string().min(1).max(64), ts: epochMs }),
  drain: z.object({ type: z.literal("drain"), reason: note.exactOptional() }),
  goaway: z.object({
    type: z.literal("goaway"),
    reason: note.exactOptional(),
    reconnectAfterMs: z.number().int().min(0).max(3_600_000).exactOptional(),
  }),
  summary: z.object({
    type: z.literal("summary"),
    stream: streamId,
    trailer: z.record(z.string(), z.json()),
  }),
} as const satisfies { [T in ControlFrameType]: z.ZodType<Extract<ControlFrame, { type: T }>> };

/** Validates a decoded JSON value as a control frame of `type`. Unknown keys are stripped, so they
 * never reach the application (a later minor addition is ignored by older peers, not misread). */
export function parseControlFrame(
  type: ControlFrameType,
  value: unknown,
): z.ZodSafeParseResult<ControlFrame> {
  const schema: z.ZodType<ControlFrame> = schemas[type];
  return schema.safeParse(value);
}

export function isControlType(type: string): type is ControlFrameType {
  return Object.hasOwn(schemas, type);
}

export function isBodyType(type: string): type is BodyFrame["type"] {
  return type === "req_body" || type === "res_body";
}
