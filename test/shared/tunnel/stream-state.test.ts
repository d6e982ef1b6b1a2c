// The stream state machine: legal orders pass, every out-of-order frame is named as a violation.

import { describe, expect, it } from "vitest";
import type { StreamFrame } from "../../../src/shared/tunnel/frames.ts";
import {
  openStream,
  type StreamEnd,
  type StreamState,
  step,
} from "../../../src/shared/tunnel/stream-state.ts";

const S = 1;
const chunk = new Uint8Array([1]);
const F = {
  reqBody: { type: "req_body", stream: S, chunk },
  reqEnd: { type: "req_end", stream: S },
  resHead: { type: "res_head", stream: S, status: 200, headers: [] },
  resBody: { type: "res_body", stream: S, chunk },
  resEnd: { type: "res_end", stream: S },
  errorBefore: { type: "error", stream: S, code: "internal", message: "x", headersSent: false },
  errorAfter: { type: "error", stream: S, code: "internal", message: "x", headersSent: true },
  cancel: { type: "cancel", stream: S },
  credit: { type: "credit", stream: S, bytes: 10 },
} as const satisfies Record<string, StreamFrame>;
type Name = keyof typeof F;

/** Runs `names` from a fresh stream; returns how it ended, or the index and message of the violation. */
function run(hasBody: boolean, names: Name[]): { end: StreamEnd | null } | { at: number; message: string } {
  let state: StreamState = openStream({ hasBody });
  let end: StreamEnd | null = null;
  for (const [i, name] of names.entries()) {
    if (end !== null)
      throw new Error("frames after the end are the link's business, not the state machine's");
    const t = step(state, F[name]);
    if (!t.ok) return { at: i, message: t.message };
    state = t.state;
    end = t.end;
  }
  return { end };
}

describe("legal streams", () => {
  const legal: [string, boolean, Name[], StreamEnd | null][] = [
    ["no body, streamed answer", false, ["resHead", "resBody", "resBody", "resEnd"], "end"],
    ["body then answer", true, ["reqBody", "reqBody", "reqEnd", "resHead", "resBody", "resEnd"], "end"],
    ["empty body", true, ["reqEnd", "resHead", "resEnd"], "end"],
    [
      "answer before the body is in",
      true,
      ["reqBody", "resHead", "resBody", "reqBody", "reqEnd", "resEnd"],
      "end",
    ],
    ["early answer ends it mid-upload", true, ["reqBody", "resHead", "resEnd"], "end"],
    ["error before head", true, ["reqBody", "errorBefore"], "error"],
    ["error after head", false, ["resHead", "resBody", "errorAfter"], "error"],
    ["cancel before anything", true, ["cancel"], "cancel"],
    ["cancel mid-response", false, ["resHead", "resBody", "cancel"], "cancel"],
    ["credit any time", true, ["credit", "reqBody", "credit", "reqEnd", "credit", "resHead", "credit"], null],
  ];
  it.each(legal)("%s", (_name, hasBody, names, end) => {
    expect(run(hasBody, names)).toEqual({ end });
  });
});

describe("violations", () => {
  const illegal: [string, boolean, Name[], RegExp][] = [
    ["res_body before res_head", false, ["resBody"], /res_body before res_head/],
    ["res_end before res_head", false, ["resEnd"], /res_end before res_head/],
    ["second res_head", false, ["resHead", "resHead"], /second res_head/],
    ["req_body without a body", false, ["reqBody"], /req_body/],
    ["req_end without a body", false, ["reqEnd"], /req_end/],
    ["req_body after req_end", true, ["reqEnd", "reqBody"], /req_body after req_end/],
    ["second req_end", true, ["reqEnd", "reqEnd"], /req_end after req_end/],
    ["error claiming headers were sent before res_head", false, ["errorAfter"], /headersSent=true/],
    ["error denying headers after res_head", false, ["resHead", "errorBefore"], /headersSent=false/],
  ];
  it.each(illegal)("%s", (_name, hasBody, names, message) => {
    const result = run(hasBody, names);
    expect(result).toMatchObject({ at: names.length - 1 });
    expect("message" in result ? result.message : "").toMatch(message);
  });
});
