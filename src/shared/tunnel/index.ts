// The tunnel protocol between the Worker's Durable Object and the sidecar: one import for both sides.
// README.md in this folder specifies the wire format.

export * from "./codec.ts";
export * from "./frames.ts";
export * from "./handshake.ts";
export * from "./handshake-flow.ts";
export * from "./lifecycle.ts";
export * from "./link.ts";
export * from "./outcome.ts";
