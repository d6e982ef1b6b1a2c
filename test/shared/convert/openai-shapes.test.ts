// Our OpenAI output against real OpenAI captures (test/fixtures/recorded/openai-*): the same keys,
// value types and nesting, and the same fields null vs absent, in every kind of chunk (role, content,
// tool call, arguments, finish, usage), in non-streaming responses and in error bodies. Values differ
// (other model, other text); the shapes are what clients parse.
import { describe, expect, it } from "vitest";
import type { Message } from "../../../src/shared/anthropic/types.ts";
import { translateUpstreamError } from "../../../src/shared/convert/errors.ts";
import { anthropicToOpenAIResponse } from "../../../src/shared/convert/response.ts";
import { AnthropicToOpenAIStream } from "../../../src/shared/convert/stream.ts";
import {
  type AnyJson,
  fixtureBytes,
  fixtureJson,
  fixtureText,
  parseOpenAISse,
  readAllText,
  sourceOf,
} from "./helpers.ts";

/**
 * Keys real OpenAI sends that we leave out on purpose: `obfuscation` (random padding against
 * length side channels), `system_fingerprint` (OpenAI's backend build), `service_tier` (OpenAI's
 * tiers; the older captures lack it too), and the usage counters Claude has no counterpart for
 * (`audio_tokens`, predicted-output tokens).
 */
const NOT_OURS = new Set([
  "obfuscation",
  "system_fingerprint",
  "service_tier",
  "audio_tokens",
  "accepted_prediction_tokens",
  "rejected_prediction_tokens",
]);

/** Keys, value types and nesting; `null` is a type of its own, an array has its first element's shape. */
function shape(v: unknown): unknown {
  if (v === null) return "null";
  if (Array.isArray(v)) return v.length === 0 ? "[]" : [shape(v[0])];
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .filter((k) => !NOT_OURS.has(k))
        .sort()
        .map((k) => [k, shape(o[k])]),
    );
  }
  return typeof v;
}

/** A tool call with no text before it, as Claude answers with a forced tool choice. */
const TOOL_FIRST = [
  {
    type: "message_start",
    message: {
      id: "msg_01T",
      type: "message",
      role: "assistant",
      content: [],
      usage: { input_tokens: 61, output_tokens: 1 },
    },
  },
  {
    type: "content_block_start",
    index: 0,
    content_block: { type: "tool_use", id: "toolu_01", name: "weather", input: {} },
  },
  { type: "content_block_delta", index: 0, delta: { type: "input_json_delta", partial_json: "" } },
  {
    type: "content_block_delta",
    index: 0,
    delta: { type: "input_json_delta", partial_json: '{"location":' },
  },
  {
    type: "content_block_delta",
    index: 0,
    delta: { type: "input_json_delta", partial_json: '"Florence, Italy"}' },
  },
  { type: "content_block_stop", index: 0 },
  {
    type: "message_delta",
    delta: { stop_reason: "tool_use", stop_sequence: null },
    usage: { output_tokens: 16 },
  },
  { type: "message_stop" },
]
  .map((ev) => `event: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`)
  .join("");

async function ours(file: string, includeUsage: boolean): Promise<AnyJson[]> {
  const bytes = file === "tool-first" ? new TextEncoder().encode(TOOL_FIRST) : fixtureBytes(file);
  const out = sourceOf([bytes]).pipeThrough(
    new AnthropicToOpenAIStream({ model: "gpt-4o", includeUsage, created: 1 }),
  );
  return parseOpenAISse(await readAllText(out)).chunks;
}

function real(file: string): AnyJson[] {
  return parseOpenAISse(fixtureText(file)).chunks;
}

const delta = (c: AnyJson) => c.choices[0]?.delta;
const isRole = (c: AnyJson) => delta(c)?.role !== undefined;
const isContent = (c: AnyJson) => typeof delta(c)?.content === "string" && delta(c).content !== "";
const isFinish = (c: AnyJson) => c.choices[0]?.finish_reason != null;
const isUsage = (c: AnyJson) => c.choices.length === 0;
const toolCall = (c: AnyJson) => delta(c)?.tool_calls?.[0];
const isAnnouncement = (c: AnyJson) => toolCall(c)?.id !== undefined;
const isArguments = (c: AnyJson) => toolCall(c) !== undefined && toolCall(c).id === undefined;

/** The one chunk of each kind, ours and theirs, with the tool-call delta reduced to its own shape. */
function pick(chunks: AnyJson[], which: (c: AnyJson) => boolean): AnyJson {
  const found = chunks.find(which);
  expect(found).toBeDefined();
  return found;
}

/**
 * OpenAI sends the first tool call either in the role chunk (one call) or after a role-only chunk
 * (parallel calls); we always send the role chunk alone. Compared: the role chunk without its
 * tool_calls, and the tool-call announcement alone.
 */
function roleOnly(chunk: AnyJson): AnyJson {
  const copy = structuredClone(chunk);
  delete copy.choices[0].delta.tool_calls;
  return copy;
}

describe("streams: every kind of chunk has OpenAI's shape", () => {
  it("a text stream with include_usage (openai-usage.sse): role, content, finish and usage chunks", async () => {
    const theirs = real("openai-usage.sse");
    const mine = await ours("anthropic-text.sse", true);
    for (const which of [isRole, isContent, isFinish]) {
      expect(shape(pick(mine, which))).toEqual(shape(pick(theirs, which)));
    }
    // Usage: the same counters, minus the details Claude never reports (no reasoning count was sent).
    const theirUsage = shape(pick(theirs, isUsage)) as AnyJson;
    delete theirUsage.usage.completion_tokens_details;
    expect(shape(pick(mine, isUsage))).toEqual(theirUsage);
    // Field for field: `usage: null` on every chunk but the last, `logprobs: null`, delta `{}` to finish.
    expect(pick(mine, isFinish).choices[0].delta).toEqual(pick(theirs, isFinish).choices[0].delta);
    expect(mine.slice(0, -1).every((c) => c.usage === null)).toBe(
      theirs.slice(0, -1).every((c) => c.usage === null),
    );
  });

  it("a text stream without include_usage (openai-text.sse): no usage key anywhere, same chunks", async () => {
    const theirs = real("openai-text.sse");
    const mine = await ours("anthropic-text.sse", false);
    for (const which of [isRole, isContent, isFinish]) {
      expect(shape(pick(mine, which))).toEqual(shape(pick(theirs, which)));
    }
    expect(theirs.some((c) => "usage" in c)).toBe(false);
    expect(mine.some((c) => "usage" in c)).toBe(false);
  });

  it("a tool-call stream (openai-tool.sse): role chunk with content null, announcement, argument fragments", async () => {
    // OpenAI puts a single call into the role chunk; we send the role chunk alone (as it does for
    // parallel calls), so each is compared on its own.
    const theirs = real("openai-tool.sse");
    const mine = await ours("tool-first", true);
    expect(shape(roleOnly(pick(mine, isRole)))).toEqual(shape(roleOnly(pick(theirs, isRole))));
    expect(delta(pick(mine, isRole)).content).toBeNull();
    expect(shape(toolCall(pick(mine, isAnnouncement)))).toEqual(
      shape(toolCall(pick(theirs, isAnnouncement))),
    );
    expect(shape(pick(mine, isArguments))).toEqual(shape(pick(theirs, isArguments)));
    expect(shape(pick(mine, isFinish))).toEqual(shape(pick(theirs, isFinish)));
  });

  it("parallel tool calls (openai-tool-parallel.sse): each call announced once under its own index", async () => {
    const theirs = real("openai-tool-parallel.sse");
    const mine = await ours("anthropic-tool-parallel.sse", true);
    const announced = (chunks: AnyJson[]) => chunks.filter(isAnnouncement).map((c) => toolCall(c).index);
    expect(announced(mine)).toEqual(announced(theirs));
    expect(shape(toolCall(pick(mine, isAnnouncement)))).toEqual(
      shape(toolCall(pick(theirs, isAnnouncement))),
    );
    for (const which of [isArguments, isFinish]) {
      expect(shape(pick(mine, which))).toEqual(shape(pick(theirs, which)));
    }
  });
});

describe("non-streaming responses have OpenAI's shape", () => {
  it.each([
    ["anthropic-text.nonstream.response.json", "openai-text.nonstream.response.json"],
    ["anthropic-tool.nonstream.response.json", "openai-tool.nonstream.response.json"],
  ])("%s ≈ %s", (anthropic, openai) => {
    const theirs = fixtureJson<AnyJson>(openai);
    const message = fixtureJson<Message>(anthropic);
    // OpenAI's capture called the tool without a word: so does the Claude message compared with it.
    if (theirs.choices[0].message.content === null)
      message.content = message.content.filter((b) => b.type !== "text");
    const mine = anthropicToOpenAIResponse(message, { model: "gpt-4o" });
    const theirShape = shape(theirs) as AnyJson;
    delete theirShape.usage.completion_tokens_details; // Claude reports no reasoning count here
    expect(shape(mine)).toEqual(theirShape);
    // null, not absent: content with tool calls only, refusal, logprobs.
    expect(mine.choices[0]?.message.content === null).toBe(theirs.choices[0].message.content === null);
    expect(mine.choices[0]?.message.refusal).toBeNull();
    expect(mine.choices[0]?.logprobs).toBeNull();
  });
});

describe("error bodies have OpenAI's shape", () => {
  it("an upstream 400 becomes {error:{message,type,param,code}} like openai-error-400.json", () => {
    const theirs = fixtureJson<AnyJson>("openai-error-400.json");
    const t = translateUpstreamError(400, fixtureText("anthropic-error-400.json"), new Headers());
    const mine = JSON.parse(t.body);
    expect(Object.keys(mine.error).sort()).toEqual(Object.keys(theirs.error).sort());
    expect(Object.keys(mine)).toEqual(["error"]);
    expect(mine.error).toMatchObject({ type: theirs.error.type, code: null });
    expect(typeof mine.error.message).toBe("string");
    expect(mine.error.param === null || typeof mine.error.param === "string").toBe(true);
  });
});
