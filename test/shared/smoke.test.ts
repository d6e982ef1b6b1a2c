import { expect, it } from "vitest";
import { SseParser } from "../../src/shared/sse/decode.ts";

it("parses", () => {
  const p = new SseParser();
  expect(p.push("event: a\ndata: 1\n\n")).toEqual([{ event: "a", data: "1" }]);
});
