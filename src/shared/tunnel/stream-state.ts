// One stream's lifecycle as a pure transition function. The same table checks the frames this side
// is about to send (a mistake in our code: throw) and the frames the peer sent (a protocol violation:
// close the link), so both ends agree on what a legal stream looks like.
//
//   req_head ─┬─ hasBody: req_body* req_end ─┐      (request half)
//             └─ no body ────────────────────┤
//   res_head res_body* res_end | error | cancel      (response half; ends the stream)
//
// The halves are independent: a sidecar may answer (even finish) before the request body is in.

import type { ReqHeadFrame, StreamFrame } from "./frames.ts";

export interface StreamState {
  /** "body": `req_body`/`req_end` may still come. "done": the request is complete. */
  readonly request: "body" | "done";
  /** "waiting": no `res_head` yet. "body": head sent, body frames may follow. */
  readonly response: "waiting" | "body";
}

/** How a stream ended: `res_end`, `error` or `cancel`. */
export type StreamEnd = "end" | "error" | "cancel";

export type Transition =
  | { ok: true; state: StreamState; end: StreamEnd | null }
  | { ok: false; message: string };

export function openStream(head: Pick<ReqHeadFrame, "hasBody">): StreamState {
  return { request: head.hasBody ? "body" : "done", response: "waiting" };
}

export function step(state: StreamState, frame: StreamFrame): Transition {
  switch (frame.type) {
    case "req_body":
      return state.request === "body"
        ? next(state)
        : bad("req_body after req_end or on a request without body");
    case "req_end":
      return state.request === "body"
        ? next({ ...state, request: "done" })
        : bad("req_end after req_end or on a request without body");
    case "res_head":
      return state.response === "waiting" ? next({ ...state, response: "body" }) : bad("second res_head");
    case "res_body":
      return state.response === "body" ? next(state) : bad("res_body before res_head");
    case "res_end":
      return state.response === "body" ? next(state, "end") : bad("res_end before res_head");
    case "error":
      return frame.headersSent === (state.response === "body")
        ? next(state, "error")
        : bad(
            `error says headersSent=${frame.headersSent} but res_head was ${frame.headersSent ? "not " : ""}sent`,
          );
    case "cancel":
      return next(state, "cancel");
    case "credit":
      // Credit for a half that has finished is harmless (it crossed the end on the wire).
      return next(state);
  }
}

function next(state: StreamState, end: StreamEnd | null = null): Transition {
  return { ok: true, state, end };
}

function bad(message: string): Transition {
  return { ok: false, message };
}
