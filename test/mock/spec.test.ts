// The scenario spec parser: names, flags, bare/quoted/JSON values, markers inside user text.
import { describe, expect, it } from "vitest";
import { findMarker, parseSpec, SpecError, stripMarkers } from "../../src/mock/spec.ts";

describe("parseSpec", () => {
  it.each([
    ["tool", { name: "tool", params: {} }],
    ["  tool   name=Read  ", { name: "tool", params: { name: "Read" } }],
    ["error status=429 retry_after=3", { name: "error", params: { status: "429", retry_after: "3" } }],
    ['text text="hello \\"world\\" ]]"', { name: "text", params: { text: 'hello "world" ]]' } }],
    ['text text="line\\nbreak é"', { name: "text", params: { text: "line\nbreak é" } }],
    [
      'tool name=Read input={"file_path":"/tmp/a b]]","n":[1,{"x":"}"}]} notext',
      {
        name: "tool",
        params: { name: "Read", input: { file_path: "/tmp/a b]]", n: [1, { x: "}" }] }, notext: true },
      },
    ],
    [
      'parallel calls=[{"name":"a","input":{}},{"name":"b"}]',
      { name: "parallel", params: { calls: [{ name: "a", input: {} }, { name: "b" }] } },
    ],
    ["ttfb=50", { name: "text", params: { ttfb: "50" } }],
    ["", { name: "text", params: {} }],
    ["slow delay=5 ttfb=1", { name: "slow", params: { delay: "5", ttfb: "1" } }],
  ])("%s", (input, expected) => {
    expect(parseSpec(input)).toEqual(expected);
  });

  it.each([
    ['text text="unterminated', "unterminated string"],
    ["tool input={", "unbalanced JSON value"],
    ["tool input={bad json}", "invalid JSON object"],
    ["tool name=", "missing value"],
    ["tool !x", "unexpected character"],
  ])("rejects %s", (input, message) => {
    expect(() => parseSpec(input)).toThrow(SpecError);
    expect(() => parseSpec(input)).toThrow(message);
  });
});

describe("markers", () => {
  it("finds a marker anywhere in a text and stops at ]] outside values", () => {
    const text = 'Please [[mock:tool name=Read input={"file_path":"/x]]"}]] and more [[mock:echo]]';
    expect(findMarker(text)).toEqual({
      name: "tool",
      params: { name: "Read", input: { file_path: "/x]]" } },
    });
    expect(stripMarkers(text)).toBe("Please  and more ");
  });

  it("reads bare values up to the closing brackets", () => {
    expect(findMarker("x [[mock:drop after=2]]")).toEqual({ name: "drop", params: { after: "2" } });
  });

  it("reports an unterminated marker", () => {
    expect(() => findMarker("[[mock:tool name=Read")).toThrow("unterminated marker");
  });

  it("returns undefined without a marker", () => {
    expect(findMarker("just text [[not a marker]]")).toBeUndefined();
  });
});
