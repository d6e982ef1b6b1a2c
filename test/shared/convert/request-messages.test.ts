// OpenAI messages, content parts and tools → Anthropic: system hoisting, parts, tool calls and
// results, turn merging, and every refusal with its `param`.
import { describe, expect, it } from "vitest";
import { OPENING_USER_TEXT } from "../../../src/shared/convert/messages.ts";
import { openaiToAnthropicRequest } from "../../../src/shared/convert/request.ts";
import { ProxyError } from "../../../src/shared/errors.ts";
import { type AnyJson, anthropicRequestProblems } from "./helpers.ts";

const opts = { defaultMaxTokens: 1024, resolveModel: (name: string) => name };
const PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

function convert(messages: unknown[], extra: Record<string, unknown> = {}): AnyJson {
  const { body } = openaiToAnthropicRequest({ model: "claude-sonnet-4-5", messages, ...extra }, opts);
  expect(anthropicRequestProblems(body)).toEqual([]);
  return body;
}

function refusal(messages: unknown, extra: Record<string, unknown> = {}): ProxyError {
  try {
    openaiToAnthropicRequest({ model: "claude-sonnet-4-5", messages, ...extra }, opts);
  } catch (err) {
    if (err instanceof ProxyError) return err;
    throw err;
  }
  throw new Error("expected a 400");
}

const text = (t: string) => ({ type: "text", text: t });
const user = (content: unknown) => ({ role: "user", content });

describe("system and developer messages", () => {
  it("are hoisted into system, in order, one block per message or part, wherever they appear", () => {
    const body = convert([
      { role: "system", content: "You are terse.", name: "ops" },
      user("Hi"),
      {
        role: "developer",
        content: [text("Rule 1"), { type: "text", text: "Rule 2", cache_control: { type: "ephemeral" } }],
      },
      { role: "assistant", content: "Hello" },
      { role: "system", content: "" },
      user("Bye"),
    ]);
    expect(body.system).toEqual([
      text("You are terse."),
      text("Rule 1"),
      { type: "text", text: "Rule 2", cache_control: { type: "ephemeral" } },
    ]);
    expect(body.messages.map((m: AnyJson) => m.role)).toEqual(["user", "assistant", "user"]);
  });

  it("a conversation of only system messages is refused", () => {
    const err = refusal([{ role: "system", content: "x" }]);
    expect(err.param).toBe("messages");
  });
});

describe("user content", () => {
  it("string and text parts; empty text skipped; name dropped", () => {
    const body = convert([{ role: "user", name: "alice", content: [text("a"), text(""), text("b")] }]);
    expect(body.messages).toEqual([{ role: "user", content: [text("a"), text("b")] }]);
  });

  it("images: data URI → base64 source, http(s) → url source, PDFs → documents, cache marks kept", () => {
    const body = convert([
      user([
        text("Look"),
        { type: "image_url", image_url: { url: `data:image/png;base64,${PNG}`, detail: "high" } },
        {
          type: "image_url",
          image_url: { url: `data:image/jpg;base64,${PNG}` },
          cache_control: { type: "ephemeral", ttl: "1h" },
        },
        { type: "image_url", image_url: { url: "https://example.com/cat.webp" } },
        { type: "image_url", image_url: "http://example.com/dog.gif" },
        { type: "image_url", image_url: { url: "data:application/pdf;base64,JVBERi0=" } },
        { type: "image_url", image_url: { url: "https://example.com/paper.PDF?x=1" } },
        { type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0=", filename: "a.pdf" } },
        { type: "file", file: { file_data: "JVBERi0=", filename: "b.pdf" } },
        { type: "file", file: { file_data: `data:image/png;base64,${PNG}` } },
      ]),
    ]);
    expect(body.messages[0].content).toEqual([
      text("Look"),
      { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
      {
        type: "image",
        source: { type: "base64", media_type: "image/jpeg", data: PNG },
        cache_control: { type: "ephemeral", ttl: "1h" },
      },
      { type: "image", source: { type: "url", url: "https://example.com/cat.webp" } },
      { type: "image", source: { type: "url", url: "http://example.com/dog.gif" } },
      { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" } },
      { type: "document", source: { type: "url", url: "https://example.com/paper.PDF?x=1" } },
      {
        type: "document",
        source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" },
        title: "a.pdf",
      },
      {
        type: "document",
        source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" },
        title: "b.pdf",
      },
      { type: "image", source: { type: "base64", media_type: "image/png", data: PNG } },
    ]);
  });

  it.each([
    [
      [text("x"), { type: "input_audio", input_audio: { data: "AAAA", format: "wav" } }],
      "messages[0].content[1].type",
      /Audio input \(input_audio\) is not supported by Claude/,
    ],
    [
      [{ type: "video_url", video_url: { url: "https://x" } }],
      "messages[0].content[0].type",
      /'video_url' is not supported by Claude/,
    ],
    [
      [{ type: "image_url", image_url: { url: "data:image/svg+xml;base64,PHN2Zz4=" } }],
      "messages[0].content[0].image_url.url",
      /'image\/svg\+xml' is not supported by Claude/,
    ],
    [
      [{ type: "image_url", image_url: { url: "data:text/plain;base64,aGk=" } }],
      "messages[0].content[0].image_url.url",
      /'text\/plain' is not supported/,
    ],
    [
      [{ type: "image_url", image_url: { url: "data:image/png,rawbytes" } }],
      "messages[0].content[0].image_url.url",
      /must be base64-encoded/,
    ],
    [
      [{ type: "image_url", image_url: { url: "data:image/png;base64," } }],
      "messages[0].content[0].image_url.url",
      /no data/,
    ],
    [
      [{ type: "image_url", image_url: { url: "ftp://example.com/a.png" } }],
      "messages[0].content[0].image_url.url",
      /http\(s\) URLs or base64 data URIs/,
    ],
    [[{ type: "image_url" }], "messages[0].content[0].image_url", /Invalid type/],
    [
      [{ type: "file", file: { file_id: "file-abc" } }],
      "messages[0].content[0].file.file_id",
      /file ids cannot be read by Claude/,
    ],
    [
      [{ type: "file", file: { file_data: "JVBERi0=", filename: "notes.txt" } }],
      "messages[0].content[0].file.file_data",
      /base64 data URI/,
    ],
    [[{ type: "file", file: {} }], "messages[0].content[0].file.file_data", /Missing required parameter/],
    [
      [{ type: "text" }],
      "messages[0].content[0].text",
      /Missing required parameter: 'messages\[0\]\.content\[0\]\.text'/,
    ],
    [[5], "messages[0].content[0]", /expected a content part object|Invalid type/],
    [5, "messages[0].content", /expected a string or an array of content parts/],
    [undefined, "messages[0].content", /Missing required parameter: 'messages\[0\]\.content'/],
  ])("%j → 400 at %s", (content, param, message) => {
    const err = refusal([{ role: "user", content }]);
    expect(err.param).toBe(param);
    expect(err.message).toMatch(message);
  });
});

describe("assistant messages and tool calls", () => {
  it("text and tool_calls → text and tool_use blocks; empty arguments → {}", () => {
    const body = convert([
      user("Weather?"),
      {
        role: "assistant",
        content: "Checking.",
        tool_calls: [
          {
            id: "call_1",
            type: "function",
            function: { name: "weather", arguments: '{"city":"Rome","days":0}' },
          },
          { id: "call_2", type: "function", function: { name: "now", arguments: "" } },
        ],
      },
      { role: "tool", tool_call_id: "call_1", content: "20 C" },
      { role: "tool", tool_call_id: "call_2", content: [text("12:00"), text("UTC")] },
    ]);
    expect(body.messages.slice(1)).toEqual([
      {
        role: "assistant",
        content: [
          text("Checking."),
          { type: "tool_use", id: "call_1", name: "weather", input: { city: "Rome", days: 0 } },
          { type: "tool_use", id: "call_2", name: "now", input: {} },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "call_1", content: "20 C" },
          { type: "tool_result", tool_use_id: "call_2", content: [text("12:00"), text("UTC")] },
        ],
      },
    ]);
  });

  it("tool results come first in their user turn; user text after them merges in behind", () => {
    const body = convert([
      user("Go"),
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }],
      },
      user("(also, hurry)"),
      { role: "tool", tool_call_id: "c1", content: "" },
      user("Thanks"),
    ]);
    expect(body.messages[2]).toEqual({
      role: "user",
      content: [{ type: "tool_result", tool_use_id: "c1" }, text("(also, hurry)"), text("Thanks")],
    });
  });

  it("rewrites tool ids Anthropic would refuse, the same way on both sides", () => {
    const body = convert([
      user("Go"),
      {
        role: "assistant",
        tool_calls: [{ id: "functions.f:0", type: "function", function: { name: "f", arguments: "{}" } }],
      },
      { role: "tool", tool_call_id: "functions.f:0", content: "ok" },
    ]);
    expect(body.messages[1].content[0].id).toBe("functions_f_0");
    expect(body.messages[2].content[0].tool_use_id).toBe("functions_f_0");
  });

  it("legacy function_call and function results pair up by a minted id", () => {
    const body = convert([
      user("Go"),
      { role: "assistant", content: null, function_call: { name: "lookup", arguments: '{"q":"x"}' } },
      { role: "function", name: "lookup", content: "found" },
      { role: "assistant", content: "Done." },
    ]);
    expect(body.messages).toEqual([
      { role: "user", content: [text("Go")] },
      {
        role: "assistant",
        content: [{ type: "tool_use", id: "toolu_fn_1", name: "lookup", input: { q: "x" } }],
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_fn_1", content: "found" }] },
      { role: "assistant", content: [text("Done.")] },
    ]);
  });

  it("assistant refusal parts and the refusal field become text", () => {
    const parts = convert([
      user("x"),
      { role: "assistant", content: [{ type: "refusal", refusal: "I can't." }] },
      user("ok"),
    ]);
    expect(parts.messages[1].content).toEqual([text("I can't.")]);
    const field = convert([user("x"), { role: "assistant", content: null, refusal: "No." }, user("ok")]);
    expect(field.messages[1].content).toEqual([text("No.")]);
  });

  it.each([
    [
      [
        user("x"),
        {
          role: "assistant",
          tool_calls: [{ id: "call_9", type: "function", function: { name: "f", arguments: "{oops" } }],
        },
      ],
      "messages[1].tool_calls[0].function.arguments",
      /arguments of tool call 'call_9' are not valid JSON/,
    ],
    [
      [
        user("x"),
        {
          role: "assistant",
          tool_calls: [{ id: "call_9", type: "function", function: { name: "f", arguments: "[1]" } }],
        },
      ],
      "messages[1].tool_calls[0].function.arguments",
      /must be a JSON object/,
    ],
    [
      [
        user("x"),
        {
          role: "assistant",
          tool_calls: [{ id: "c", type: "custom", function: { name: "f", arguments: "" } }],
        },
      ],
      "messages[1].tool_calls[0].type",
      /'custom' is not supported/,
    ],
    [
      [
        user("x"),
        { role: "assistant", tool_calls: [{ type: "function", function: { name: "f", arguments: "" } }] },
      ],
      "messages[1].tool_calls[0].id",
      /Missing required parameter/,
    ],
    [
      [user("x"), { role: "assistant", function_call: { name: "f", arguments: "nope" } }],
      "messages[1].function_call.arguments",
      /function_call 'f' are not valid JSON/,
    ],
    [
      [user("x"), { role: "function", name: "f", content: "r" }],
      "messages[1].name",
      /No earlier assistant function_call named 'f'/,
    ],
    [[user("x"), { role: "tool", content: "r" }], "messages[1].tool_call_id", /Missing required parameter/],
    [
      [
        user("x"),
        {
          role: "tool",
          tool_call_id: "c",
          content: [{ type: "image_url", image_url: { url: "https://x" } }],
        },
      ],
      "messages[1].content[0].type",
      /only 'text' parts/,
    ],
    [
      [user("x"), { role: "critic", content: "hm" }],
      "messages[1].role",
      /'critic' is not one of system, developer, user, assistant, tool, function/,
    ],
    [["hello"], "messages[0]", /Invalid type for 'messages\[0\]'/],
    [[{ content: "no role" }], "messages[0].role", /Missing required parameter/],
  ])("refuses %j at %s", (messages, param, message) => {
    const err = refusal(messages);
    expect(err.param).toBe(param);
    expect(err.message).toMatch(message);
  });
});

describe("turn structure", () => {
  it("merges same-role runs and drops empty assistant turns, so roles strictly alternate", () => {
    const body = convert([
      user("a"),
      user([text("b")]),
      { role: "assistant", content: "" },
      { role: "assistant", content: null },
      user("c"),
      { role: "assistant", content: "d" },
      { role: "assistant", content: [text("e")] },
      user(""),
      user("f"),
    ]);
    expect(body.messages).toEqual([
      { role: "user", content: [text("a"), text("b"), text("c")] },
      { role: "assistant", content: [text("d"), text("e")] },
      { role: "user", content: [text("f")] },
    ]);
  });

  it("a conversation opening with the assistant gets a neutral user turn first", () => {
    const body = convert([{ role: "assistant", content: "How can I help?" }, user("Hi")]);
    expect(body.messages[0]).toEqual({ role: "user", content: [text(OPENING_USER_TEXT)] });
    expect(body.messages[1]).toEqual({ role: "assistant", content: [text("How can I help?")] });
  });

  it("trims trailing whitespace of a final assistant turn (a prefill Anthropic would refuse)", () => {
    const body = convert([user("Write a haiku"), { role: "assistant", content: "Autumn moon \n" }]);
    expect(body.messages[1].content).toEqual([text("Autumn moon")]);
    const blank = convert([user("Hi"), { role: "assistant", content: "  " }]);
    expect(blank.messages).toEqual([{ role: "user", content: [text("Hi")] }]);
  });
});

describe("tools", () => {
  const fn = (name: string, extra: Record<string, unknown> = {}) => ({
    type: "function",
    function: { name, ...extra },
  });

  it("tools and legacy functions → input_schema tools", () => {
    const body = convert([user("x")], {
      tools: [
        fn("a", {
          description: "A",
          parameters: { type: "object", properties: { q: { type: "string" } }, required: ["q"] },
        }),
        fn("b"),
        fn("c", { parameters: { properties: { n: { type: "integer" } } }, strict: false }),
        fn("d", {
          parameters: { type: "object", properties: { n: { type: "integer", minimum: 1 } } },
          strict: true,
        }),
      ],
      functions: [{ name: "e", description: "", parameters: { type: "object", properties: {} } }],
    });
    expect(body.tools).toEqual([
      {
        name: "a",
        description: "A",
        input_schema: { type: "object", properties: { q: { type: "string" } }, required: ["q"] },
      },
      { name: "b", input_schema: { type: "object", properties: {} } },
      { name: "c", input_schema: { type: "object", properties: { n: { type: "integer" } } } },
      {
        name: "d",
        strict: true,
        input_schema: {
          type: "object",
          properties: { n: { type: "integer", description: "{minimum: 1}" } },
          additionalProperties: false,
        },
      },
      { name: "e", description: "", input_schema: { type: "object", properties: {} } },
    ]);
  });

  it.each([
    ["auto", { type: "auto" }],
    ["required", { type: "any" }],
    ["none", { type: "none" }],
    [
      { type: "function", function: { name: "a" } },
      { type: "tool", name: "a" },
    ],
  ])("tool_choice %j → %j", (tool_choice, expected) => {
    expect(convert([user("x")], { tools: [fn("a")], tool_choice }).tool_choice).toEqual(expected);
  });

  it.each([
    ["auto", { type: "auto" }],
    ["none", { type: "none" }],
    [{ name: "a" }, { type: "tool", name: "a" }],
  ])("legacy function_call %j → %j", (function_call, expected) => {
    expect(convert([user("x")], { functions: [{ name: "a" }], function_call }).tool_choice).toEqual(expected);
  });

  it("tool_choice wins over function_call; no choice → none sent", () => {
    expect(
      convert([user("x")], { tools: [fn("a")], tool_choice: "required", function_call: "none" }).tool_choice,
    ).toEqual({
      type: "any",
    });
    expect(convert([user("x")], { tools: [fn("a")] }).tool_choice).toBeUndefined();
  });

  it.each([
    [undefined, { type: "auto", disable_parallel_tool_use: true }],
    ["auto", { type: "auto", disable_parallel_tool_use: true }],
    ["required", { type: "any", disable_parallel_tool_use: true }],
    [
      { type: "function", function: { name: "a" } },
      { type: "tool", name: "a", disable_parallel_tool_use: true },
    ],
    ["none", { type: "none" }],
  ])("parallel_tool_calls: false with tool_choice %j → %j", (tool_choice, expected) => {
    const extra: Record<string, unknown> = { tools: [fn("a")], parallel_tool_calls: false };
    if (tool_choice !== undefined) extra.tool_choice = tool_choice;
    expect(convert([user("x")], extra).tool_choice).toEqual(expected);
  });

  it("without tools, auto/none choices and parallel_tool_calls are dropped; forcing ones refused", () => {
    const body = convert([user("x")], { tool_choice: "none", parallel_tool_calls: false });
    expect(body.tools).toBeUndefined();
    expect(body.tool_choice).toBeUndefined();
    expect(refusal([user("x")], { tool_choice: "required" }).param).toBe("tool_choice");
    expect(refusal([user("x")], { function_call: { name: "f" } }).param).toBe("function_call");
  });

  it.each([
    [{ tools: [{ type: "custom", custom: { name: "x" } }] }, "tools[0].type", /'custom' is not supported/],
    [{ tools: [{ type: "function", function: {} }] }, "tools[0].function.name", /Missing required parameter/],
    [
      { tools: [{ type: "function", function: { name: "a", parameters: [] } }] },
      "tools[0].function.parameters",
      /Invalid type/,
    ],
    [{ functions: [{ description: "no name" }] }, "functions[0].name", /Missing required parameter/],
    [{ tools: [fn("a")], tool_choice: "sometimes" }, "tool_choice", /use "auto", "required", "none"/],
    [
      { tools: [fn("a")], tool_choice: { type: "allowed_tools", allowed_tools: {} } },
      "tool_choice",
      /Invalid value/,
    ],
    [
      { tools: [fn("a")], tool_choice: { type: "function", function: {} } },
      "tool_choice.function.name",
      /Missing/,
    ],
    [{ functions: [{ name: "a" }], function_call: 3 }, "function_call", /use "auto", "none"/],
  ])("%j → 400 at %s", (extra, param, message) => {
    const err = refusal([user("x")], extra);
    expect(err.param).toBe(param);
    expect(err.message).toMatch(message);
  });
});
