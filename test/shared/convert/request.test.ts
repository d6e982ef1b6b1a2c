// OpenAI chat request → Anthropic request: the recorded requests, every top-level field, the
// refusals with their 400 messages and `param`, the ignored knobs, reasoning and response_format.
import { describe, expect, it } from "vitest";
import { modelProfile } from "../../../src/shared/convert/capabilities.ts";
import { openaiToAnthropicRequest } from "../../../src/shared/convert/request.ts";
import { JSON_OBJECT_INSTRUCTION } from "../../../src/shared/convert/response-format.ts";
import { ProxyError } from "../../../src/shared/errors.ts";
import { DEFAULT_MODEL_ALIASES, resolveModel } from "../../../src/shared/models.ts";
import { type AnyJson, anthropicRequestProblems, fixtureJson } from "./helpers.ts";

const opts = {
  defaultMaxTokens: 4096,
  resolveModel: (name: string) => resolveModel(DEFAULT_MODEL_ALIASES, name),
};
const USER = [{ role: "user", content: "Hi" }];
/** Models with each profile: every sampling knob / one knob / none. */
const LEGACY = "claude-3-7-sonnet-20250219";
const ONE_KNOB = "claude-sonnet-4-5";
const CURRENT = "claude-sonnet-5-5";

function convert(extra: Record<string, unknown>, model = LEGACY): AnyJson {
  const { body } = openaiToAnthropicRequest({ model, messages: USER, ...extra }, opts);
  expect(anthropicRequestProblems(body)).toEqual([]);
  return body;
}

function refusal(body: unknown): ProxyError {
  try {
    openaiToAnthropicRequest(body, opts);
  } catch (err) {
    if (err instanceof ProxyError) return err;
    throw err;
  }
  throw new Error("expected a 400");
}

describe("recorded OpenAI requests", () => {
  it.each([
    "openai-text.nonstream.request.json",
    "openai-tool.nonstream.request.json",
    "openai-tool.request.json",
    "openai-tool-parallel.request.json",
    "openai-tool-result.request.json",
    "openai-usage.request.json",
  ])("%s converts to a valid Anthropic request", (file) => {
    const req = fixtureJson<AnyJson>(file);
    const { body, context } = openaiToAnthropicRequest(req, opts);
    expect(anthropicRequestProblems(body)).toEqual([]);
    expect(body.model).toBe("claude-sonnet-5-5");
    expect(body.max_tokens).toBe(4000);
    expect(body.system).toEqual([{ type: "text", text: req.messages[0].content }]);
    expect(context).toEqual({
      model: "gpt-4o",
      stream: req.stream === true,
      includeUsage: req.stream_options?.include_usage === true,
    });
  });

  it("matches the Anthropic request recorded for the same conversation (tool, non-stream)", () => {
    const { body } = openaiToAnthropicRequest(fixtureJson("openai-tool.nonstream.request.json"), opts);
    const recorded = fixtureJson<AnyJson>("anthropic-tool.nonstream.request.json");
    expect(body.messages).toEqual(recorded.messages);
    expect(body.system).toEqual(recorded.system);
    expect(body.tools).toEqual(recorded.tools);
    expect(body.tool_choice).toEqual({ type: "auto" });
    expect(body.stream).toBeUndefined();
  });

  it("matches the Anthropic request recorded for the same conversation (text, non-stream)", () => {
    const { body } = openaiToAnthropicRequest(fixtureJson("openai-text.nonstream.request.json"), opts);
    const recorded = fixtureJson<AnyJson>("anthropic-text.nonstream.request.json");
    expect(body.messages).toEqual(recorded.messages);
    expect(body.system).toEqual(recorded.system);
  });

  it("openai-tool-result.request.json: the tool result is the first block of the user turn after the call", () => {
    const { body } = openaiToAnthropicRequest(fixtureJson("openai-tool-result.request.json"), opts);
    expect(body.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "What's the weather in Florence,Italy?" }] },
      {
        role: "assistant",
        content: [
          {
            type: "tool_use",
            id: "call_7kE4IjtnwXcGbX6hDM7xFu8T",
            name: "weather",
            input: { location: "Florence, Italy" },
          },
        ],
      },
      {
        role: "user",
        content: [{ type: "tool_result", tool_use_id: "call_7kE4IjtnwXcGbX6hDM7xFu8T", content: "40 C" }],
      },
    ]);
  });
});

describe("top-level fields", () => {
  it.each([
    [{}, 4096],
    [{ max_tokens: 100 }, 100],
    [{ max_completion_tokens: 200, max_tokens: 100 }, 200],
    [{ max_completion_tokens: null, max_tokens: 50 }, 50],
  ])("max tokens %j → max_tokens %i", (extra, max) => {
    expect(convert(extra).max_tokens).toBe(max);
  });

  it("keeps max_tokens 0 (Anthropic's cache pre-warm) instead of defaulting it", () => {
    expect(
      openaiToAnthropicRequest({ model: LEGACY, messages: USER, max_tokens: 0 }, opts).body.max_tokens,
    ).toBe(0);
  });

  it.each([
    ["END", ["END"]],
    [
      ["a", "b"],
      ["a", "b"],
    ],
    [["a", "\n", " ", ""], ["a"]],
    [["\n\n"], undefined],
    [[], undefined],
    [null, undefined],
  ])("stop %j → stop_sequences %j (whitespace-only entries dropped)", (stop, expected) => {
    expect(convert({ stop }).stop_sequences).toEqual(expected);
  });

  it.each([
    [LEGACY, { temperature: 0 }, { temperature: 0 }],
    [LEGACY, { temperature: 0.7 }, { temperature: 0.7 }],
    [LEGACY, { temperature: 1.5 }, { temperature: 1 }],
    [LEGACY, { temperature: 2 }, { temperature: 1 }],
    [LEGACY, { temperature: 0.2, top_p: 0.9, top_k: 5 }, { temperature: 0.2, top_p: 0.9, top_k: 5 }],
    [ONE_KNOB, { temperature: 0.2, top_p: 0.9 }, { temperature: 0.2 }],
    [ONE_KNOB, { top_p: 0.9 }, { top_p: 0.9 }],
    [CURRENT, { temperature: 0.2, top_p: 0.9, top_k: 5 }, {}],
  ])("%s with %j → %j", (model, extra, expected) => {
    const body = convert(extra, model);
    expect({ temperature: body.temperature, top_p: body.top_p, top_k: body.top_k }).toEqual({
      temperature: undefined,
      top_p: undefined,
      top_k: undefined,
      ...expected,
    });
  });

  it.each([
    [{ user: "user-123" }, { user_id: "user-123" }],
    [{ safety_identifier: "hash-9" }, { user_id: "hash-9" }],
    [{ user: "u", safety_identifier: "s" }, { user_id: "u" }],
    [{ user: "" }, undefined],
    [{}, undefined],
  ])("%j → metadata %j", (extra, metadata) => {
    expect(convert(extra).metadata).toEqual(metadata);
  });

  it("stream and stream_options", () => {
    const s = openaiToAnthropicRequest(
      { model: "gpt-4o", messages: USER, stream: true, stream_options: { include_usage: true } },
      opts,
    );
    expect(s.body.stream).toBe(true);
    expect(s.context).toEqual({ model: "gpt-4o", stream: true, includeUsage: true });
    const n = openaiToAnthropicRequest(
      { model: "gpt-4o", messages: USER, stream_options: { include_usage: true } },
      opts,
    );
    expect(n.body.stream).toBeUndefined();
    expect(n.context.includeUsage).toBe(false);
  });

  it("resolves the model through the alias table and echoes the requested name", () => {
    const r = openaiToAnthropicRequest({ model: "gpt-4o-mini", messages: USER }, opts);
    expect(r.body.model).toBe("claude-haiku-5-5");
    expect(r.context.model).toBe("gpt-4o-mini");
    expect(openaiToAnthropicRequest({ model: "claude-opus-4-7", messages: USER }, opts).body.model).toBe(
      "claude-opus-4-7",
    );
  });

  it("ignores OpenAI-only knobs that change nothing Claude can honour", () => {
    const plain = convert({});
    const noisy = convert({
      seed: 7,
      presence_penalty: 0.5,
      frequency_penalty: 0.5,
      logit_bias: { "50256": -100 },
      store: true,
      metadata: { team: "a" },
      service_tier: "flex",
      prompt_cache_key: "k",
      stream_options: { include_obfuscation: false },
      parallel_tool_calls: true,
      modalities: ["text"],
      n: 1,
      logprobs: false,
      top_logprobs: 0,
      prediction: { type: "content", content: "x" },
      verbosity: "low",
    });
    expect(noisy).toEqual(plain);
  });
});

describe("refusals: 400 with the offending field", () => {
  const base = { model: "gpt-4o", messages: USER };
  it.each([
    [{ ...base, n: 2 }, "n", /n > 1 is not supported/],
    [{ ...base, logprobs: true }, "logprobs", /logprobs are not supported/],
    [{ ...base, top_logprobs: 3 }, "top_logprobs", /not supported/],
    [{ ...base, modalities: ["text", "audio"] }, "modalities", /modality 'audio'/],
    [{ ...base, audio: { voice: "alloy", format: "mp3" } }, "audio", /Audio output/],
    [{ ...base, web_search_options: {} }, "web_search_options", /not supported/],
    [{ messages: USER }, "model", /^Missing required parameter: 'model'\.$/],
    [{ ...base, model: "" }, "model", /Invalid value for 'model'/],
    [{ ...base, model: 5 }, "model", /^Invalid type for 'model': expected string\.$/],
    [{ model: "gpt-4o" }, "messages", /Missing required parameter: 'messages'/],
    [{ ...base, messages: [] }, "messages", /Invalid value for 'messages'/],
    [{ ...base, messages: "hi" }, "messages", /Invalid type for 'messages'/],
    [{ ...base, temperature: 3 }, "temperature", /Invalid value for 'temperature'/],
    [{ ...base, temperature: "hot" }, "temperature", /Invalid type for 'temperature'/],
    [{ ...base, max_tokens: -1 }, "max_tokens", /Invalid value for 'max_tokens'/],
    [{ ...base, max_tokens: 1.5 }, "max_tokens", /max_tokens/],
    [{ ...base, stop: 5 }, "stop", /expected a string or an array of strings/],
    [{ ...base, stream: "yes" }, "stream", /Invalid type for 'stream'/],
    [{ ...base, reasoning_effort: "extreme" }, "reasoning_effort", /'extreme' is not one of none, minimal/],
    [{ ...base, response_format: { type: "grammar" } }, "response_format.type", /'grammar' is not supported/],
    [{ ...base, response_format: "json" }, "response_format", /Invalid type for 'response_format'/],
    [
      { ...base, response_format: { type: "json_schema", json_schema: { name: "x", schema: "nope" } } },
      "response_format.json_schema.schema",
      /Invalid type/,
    ],
  ])("%j → param %s", (body, param, message) => {
    const err = refusal(body);
    expect(err.code).toBe("invalid_request");
    expect(err.status).toBe(400);
    expect(err.param).toBe(param);
    expect(err.message).toMatch(message);
  });

  it("a body that is not an object names the request body and has no param", () => {
    for (const body of ["x", null, [1], 5]) {
      const err = refusal(body);
      expect(err.param).toBeNull();
      expect(err.message).toMatch(/the request body/);
    }
  });
});

describe("reasoning_effort", () => {
  it.each([
    ["minimal", 1024],
    ["low", 2048],
    ["medium", 8192],
    ["high", 16384],
    ["xhigh", 32000],
    ["max", 32000],
  ])("budget models: %s → thinking budget %i, max_tokens raised above it", (effort, budget) => {
    const body = convert({ reasoning_effort: effort, max_tokens: 1000 }, ONE_KNOB);
    expect(body.thinking).toEqual({ type: "enabled", budget_tokens: budget });
    expect(body.max_tokens).toBe(1000 + budget);
    expect(body.output_config).toBeUndefined();
  });

  it("keeps max_tokens when it already leaves room above the budget", () => {
    expect(convert({ reasoning_effort: "high", max_completion_tokens: 30000 }, LEGACY).max_tokens).toBe(
      30000,
    );
    expect(convert({ reasoning_effort: "low" }, LEGACY)).toMatchObject({ max_tokens: 4096 }); // default already > 2048
    expect(convert({ reasoning_effort: "medium" }, LEGACY)).toMatchObject({ max_tokens: 4096 + 8192 });
  });

  it("max_tokens 0 with reasoning still leaves budget_tokens below max_tokens", () => {
    expect(convert({ reasoning_effort: "low", max_tokens: 0 }, LEGACY)).toMatchObject({
      max_tokens: 2049,
      thinking: { type: "enabled", budget_tokens: 2048 },
    });
  });

  it("none → no thinking", () => {
    expect(convert({ reasoning_effort: "none" }, ONE_KNOB).thinking).toBeUndefined();
    expect(convert({ reasoning_effort: "none" }, CURRENT).output_config).toBeUndefined();
  });

  it.each([
    ["minimal", "low"],
    ["low", "low"],
    ["medium", "medium"],
    ["high", "high"],
    ["xhigh", "xhigh"],
    ["max", "max"],
  ])("adaptive models (4.7+): %s → thinking adaptive (summarized) + effort %s", (effort, level) => {
    const body = convert({ reasoning_effort: effort, max_tokens: 500 }, CURRENT);
    expect(body.thinking).toEqual({ type: "adaptive", display: "summarized" });
    expect(body.output_config).toEqual({ effort: level });
    expect(body.max_tokens).toBe(500);
  });

  it("Claude 4.6: adaptive without display; xhigh (a 400 there) becomes max", () => {
    const body = convert({ reasoning_effort: "xhigh" }, "claude-opus-4-6");
    expect(body.thinking).toEqual({ type: "adaptive" });
    expect(body.output_config).toEqual({ effort: "max" });
  });

  it("thinking drops temperature and top_k and raises top_p to 0.95", () => {
    const body = convert({ reasoning_effort: "low", temperature: 0.3, top_p: 0.5, top_k: 10 }, LEGACY);
    expect(body.thinking?.type).toBe("enabled");
    expect([body.temperature, body.top_k, body.top_p]).toEqual([undefined, undefined, 0.95]);
    expect(convert({ reasoning_effort: "low", top_p: 0.97 }, LEGACY).top_p).toBe(0.97);
  });

  it("a forced tool choice wins over reasoning: no thinking, the tool choice kept", () => {
    const tools = [
      { type: "function", function: { name: "f", parameters: { type: "object", properties: {} } } },
    ];
    for (const tool_choice of ["required", { type: "function", function: { name: "f" } }]) {
      for (const model of [ONE_KNOB, "claude-opus-4-7"]) {
        const body = convert({ reasoning_effort: "high", tools, tool_choice }, model);
        expect(body.thinking).toBeUndefined();
        expect(body.output_config).toBeUndefined();
        expect(["any", "tool"]).toContain(body.tool_choice.type);
      }
    }
  });

  it("an Anthropic thinking object sent as an extension wins over reasoning_effort", () => {
    const body = convert(
      { reasoning_effort: "high", thinking: { type: "enabled", budget_tokens: 3000 } },
      LEGACY,
    );
    expect(body.thinking).toEqual({ type: "enabled", budget_tokens: 3000 });
  });

  describe("a tool loop with thinking: the signed blocks go back, or thinking stays off", () => {
    const tools = [
      { type: "function", function: { name: "get_weather", parameters: { type: "object", properties: {} } } },
    ];
    const call = { id: "toolu_01", type: "function", function: { name: "get_weather", arguments: "{}" } };
    const SIGNED = { type: "thinking", thinking: "I should look it up.", signature: "EqQBCkYsig==" };
    const REDACTED = { type: "redacted_thinking", data: "EmwKAhgBEgy3va3pzix" };
    const loop = (assistant: Record<string, unknown>) => [
      { role: "user", content: "Weather in Paris?" },
      { role: "assistant", content: null, tool_calls: [call], ...assistant },
      { role: "tool", tool_call_id: "toolu_01", content: "18°C" },
    ];

    it("thinking_blocks come back first in the assistant turn, signed, and thinking stays on", () => {
      const body = convert(
        {
          reasoning_effort: "low",
          tools,
          messages: loop({ reasoning_content: SIGNED.thinking, thinking_blocks: [SIGNED, REDACTED] }),
        },
        ONE_KNOB,
      );
      expect(body.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
      expect(body.messages[1].content).toEqual([
        SIGNED,
        REDACTED,
        { type: "tool_use", id: "toolu_01", name: "get_weather", input: {} },
      ]);
    });

    it("without them (aider, n8n: reasoning_content at most), budget thinking is left off for this request", () => {
      for (const assistant of [{}, { reasoning_content: "I should look it up." }]) {
        const body = convert({ reasoning_effort: "high", tools, messages: loop(assistant) }, ONE_KNOB);
        expect(body.thinking).toBeUndefined();
        expect(body.messages[1].content.map((b: AnyJson) => b.type)).toEqual(["tool_use"]);
      }
      // Also for an Anthropic thinking object sent as an extension.
      const explicit = convert(
        { thinking: { type: "enabled", budget_tokens: 2000 }, tools, messages: loop({}) },
        ONE_KNOB,
      );
      expect(explicit.thinking).toBeUndefined();
    });

    it("a thinking block without a signature is dropped (it cannot be verified upstream)", () => {
      const body = convert(
        {
          reasoning_effort: "low",
          tools,
          messages: loop({ thinking_blocks: [{ type: "thinking", thinking: "hm", signature: null }] }),
        },
        ONE_KNOB,
      );
      expect(JSON.stringify(body.messages)).not.toContain('"thinking"');
      expect(body.thinking).toBeUndefined();
    });

    it("adaptive models keep thinking on: adaptive thinking may skip a step, so the turn is valid as it is", () => {
      const body = convert({ reasoning_effort: "high", tools, messages: loop({}) }, CURRENT);
      expect(body.thinking).toEqual({ type: "adaptive", display: "summarized" });
      expect(body.output_config).toEqual({ effort: "high" });
    });

    it("a new user question after the tool loop gets thinking again", () => {
      const body = convert(
        {
          reasoning_effort: "low",
          tools,
          messages: [
            ...loop({}),
            { role: "assistant", content: "18°C in Paris." },
            { role: "user", content: "And Rome?" },
          ],
        },
        ONE_KNOB,
      );
      expect(body.thinking).toEqual({ type: "enabled", budget_tokens: 2048 });
    });

    it("with thinking off, a final assistant prefill loses its thinking blocks", () => {
      const body = convert({
        messages: [
          { role: "user", content: "Hi" },
          { role: "assistant", content: "Hel", thinking_blocks: [SIGNED] },
        ],
      });
      expect(body.messages[1]).toEqual({ role: "assistant", content: [{ type: "text", text: "Hel" }] });
    });

    it("refuses a thinking block of an unknown type, naming it", () => {
      const err = refusal({
        model: ONE_KNOB,
        messages: loop({ thinking_blocks: [{ type: "reasoning", text: "x" }] }),
      });
      expect(err.param).toBe("messages[1].thinking_blocks[0].type");
      expect(err.message).toMatch(/'reasoning' is not supported/);
      expect(refusal({ model: ONE_KNOB, messages: loop({ thinking_blocks: "x" }) }).param).toBe(
        "messages[1].thinking_blocks",
      );
    });
  });

  it("an assistant turn with reasoning_content produces no thinking block and a valid request", () => {
    const body = convert(
      {
        reasoning_effort: "medium",
        messages: [
          { role: "user", content: "2+2?" },
          { role: "assistant", content: "4", reasoning_content: "Adding two and two." },
          { role: "user", content: "and 3+3?" },
        ],
      },
      ONE_KNOB,
    );
    expect(body.messages[1]).toEqual({ role: "assistant", content: [{ type: "text", text: "4" }] });
    expect(JSON.stringify(body.messages)).not.toContain("Adding two");
  });
});

describe("the model's output limit", () => {
  const OPUS_41 = "claude-opus-4-1-20250805";

  it("opus-4-1, high, max_tokens 16384: capped at 32000, the budget shrinks to keep the answer's room", () => {
    const body = convert({ reasoning_effort: "high", max_tokens: 16384 }, OPUS_41);
    expect(body.max_tokens).toBe(32000);
    expect(body.thinking).toEqual({ type: "enabled", budget_tokens: 32000 - 16384 });
  });

  it("the budget never goes below 1024 and stays below max_tokens", () => {
    for (const [effort, max, budget] of [
      ["xhigh", 4096, 27904],
      ["high", 31500, 16384], // fits: nothing to do
      ["high", 40000, 1024],
      ["minimal", 64000, 1024],
    ] as const) {
      const body = convert({ reasoning_effort: effort, max_tokens: max }, OPUS_41);
      expect(body.max_tokens, `${effort} ${max}`).toBeLessThanOrEqual(32000);
      expect(body.thinking.budget_tokens, `${effort} ${max}`).toBe(budget);
    }
  });

  it("a max_tokens above the limit is capped without thinking too, and an extension budget kept below it", () => {
    expect(convert({ max_tokens: 50000 }, OPUS_41).max_tokens).toBe(32000);
    expect(convert({ max_tokens: 50000 }, "claude-3-5-haiku-20241022").max_tokens).toBe(8192);
    expect(convert({ max_tokens: 200000 }, CURRENT).max_tokens).toBe(128000);
    const body = convert({ max_tokens: 50000, thinking: { type: "enabled", budget_tokens: 40000 } }, OPUS_41);
    expect([body.max_tokens, body.thinking.budget_tokens]).toEqual([32000, 31999]);
    expect(convert({ max_tokens: 50000 }, "my-custom-model").max_tokens).toBe(50000); // unknown: as asked
  });
});

describe("what older or newer models cannot take: said in words instead", () => {
  const OPUS_41 = "claude-opus-4-1-20250805";
  const schema = {
    type: "object",
    properties: { name: { type: "string", maxLength: 20 } },
    required: ["name"],
  };

  it("json_schema on a model without structured outputs: the schema as a system instruction", () => {
    const body = convert(
      { response_format: { type: "json_schema", json_schema: { name: "city", schema } } },
      OPUS_41,
    );
    expect(body.output_config).toBeUndefined();
    const instruction = body.system.at(-1).text;
    expect(instruction.startsWith(JSON_OBJECT_INSTRUCTION)).toBe(true);
    expect(instruction).toContain(JSON.stringify(schema));
    // Models with it get constrained decoding.
    expect(
      convert({ response_format: { type: "json_schema", json_schema: { name: "c", schema } } }, ONE_KNOB),
    ).toMatchObject({ output_config: { format: { type: "json_schema" } } });
  });

  it("a strict tool on a model without structured outputs goes as a plain tool, schema untouched", () => {
    const tools = [{ type: "function", function: { name: "f", parameters: schema, strict: true } }];
    const old = convert({ tools }, OPUS_41);
    expect(old.tools[0]).toEqual({ name: "f", input_schema: schema });
    expect(convert({ tools }, ONE_KNOB).tools[0].strict).toBe(true);
  });

  it("a forcing tool_choice on Opus/Sonnet 5.5 (a 400 there): auto, and the demand in the system prompt", () => {
    const tools = [
      { type: "function", function: { name: "get_weather", parameters: { type: "object", properties: {} } } },
    ];
    const named = convert(
      {
        tools,
        tool_choice: { type: "function", function: { name: "get_weather" } },
        parallel_tool_calls: false,
      },
      CURRENT,
    );
    expect(named.tool_choice).toEqual({ type: "auto", disable_parallel_tool_use: true });
    expect(named.system).toEqual([
      { type: "text", text: "You must call the tool `get_weather` in this response." },
    ]);
    const any = convert({ tools, tool_choice: "required", reasoning_effort: "low" }, "claude-opus-5-5");
    expect(any.tool_choice).toEqual({ type: "auto" });
    expect(any.system[0].text).toMatch(/at least one of the available tools/);
    expect(any.thinking).toEqual({ type: "adaptive", display: "summarized" }); // nothing forced any more
    // Models that take it keep it.
    expect(convert({ tools, tool_choice: "required" }, "claude-haiku-5-5").tool_choice).toEqual({
      type: "any",
    });
  });
});

describe("model profiles", () => {
  it.each([
    ["claude-3-7-sonnet-20250219", "budget", "all"],
    ["claude-sonnet-4-20250514", "budget", "all"],
    ["claude-opus-4-1-20250805", "budget", "one"],
    ["claude-sonnet-4-5", "budget", "one"],
    ["claude-haiku-4-5-20251001", "budget", "one"],
    ["claude-opus-4-6", "adaptive", "one"],
    ["claude-sonnet-4-6", "adaptive", "one"],
    ["claude-opus-4-7", "adaptive", "none"],
    ["claude-opus-5", "adaptive", "none"],
    ["claude-haiku-5-5", "adaptive", "none"],
    ["claude-mythos-preview", "adaptive", "none"],
    ["claude-fable-5-2", "adaptive", "none"],
    ["my-custom-model", "budget", "all"],
  ])("%s: %s thinking, %s sampling", (model, thinking, sampling) => {
    expect(modelProfile(model)).toMatchObject({ thinking, sampling });
  });

  it.each([
    ["claude-3-opus-20240229", 4096, false, true],
    ["claude-3-5-haiku-20241022", 8192, false, true],
    ["claude-3-7-sonnet-20250219", 64000, false, true],
    ["claude-opus-4-20250514", 32000, false, true],
    ["claude-sonnet-4-20250514", 64000, false, true],
    ["claude-opus-4-1-20250805", 32000, false, true],
    ["claude-sonnet-4-5", 64000, true, true],
    ["claude-haiku-4-5-20251001", 64000, true, true],
    ["claude-opus-4-6", 128000, true, true],
    ["claude-opus-5", 128000, true, true],
    ["claude-haiku-5-5", 128000, true, true],
    ["claude-sonnet-5-5", 128000, true, false],
    ["claude-opus-5-5", 128000, true, false],
    ["claude-fable-5-1", 128000, true, false],
    ["claude-mythos-preview", 128000, true, true],
    ["my-custom-model", undefined, true, true],
  ])(
    "%s: max output %s, structured outputs %s, forced tool choice %s",
    (model, maxOutput, structuredOutputs, forcedToolChoice) => {
      expect(modelProfile(model)).toMatchObject({ maxOutput, structuredOutputs, forcedToolChoice });
    },
  );
});

describe("response_format", () => {
  it("text → nothing", () => {
    expect(convert({ response_format: { type: "text" } })).toEqual(convert({}));
  });

  it("json_object → a system instruction (an open object schema is a 400 upstream)", () => {
    const body = convert({
      response_format: { type: "json_object" },
      messages: [{ role: "system", content: "Be brief." }, ...USER],
    });
    expect(body.system).toEqual([
      { type: "text", text: "Be brief." },
      { type: "text", text: JSON_OBJECT_INSTRUCTION },
    ]);
    expect(body.output_config).toBeUndefined();
  });

  it("json_schema → output_config.format with the schema closed for constrained decoding", () => {
    const body = convert(
      {
        response_format: {
          type: "json_schema",
          json_schema: {
            name: "person",
            description: "A person",
            strict: true,
            schema: {
              type: "object",
              properties: {
                name: { type: "string", minLength: 1 },
                tags: { type: "array", items: { type: "object", properties: {} } },
              },
              required: ["name", "tags"],
            },
          },
        },
      },
      CURRENT,
    );
    expect(body.output_config).toEqual({
      format: {
        type: "json_schema",
        schema: {
          type: "object",
          description: "A person",
          properties: {
            name: { type: "string", description: "{minLength: 1}" },
            tags: { type: "array", items: { type: "object", properties: {}, additionalProperties: false } },
          },
          additionalProperties: false,
          required: ["name", "tags"],
        },
      },
    });
  });

  it("json_schema with reasoning keeps both in output_config", () => {
    const body = convert(
      {
        reasoning_effort: "low",
        response_format: {
          type: "json_schema",
          json_schema: { name: "x", schema: { type: "object", properties: {} } },
        },
      },
      CURRENT,
    );
    expect(body.output_config).toEqual({
      effort: "low",
      format: {
        type: "json_schema",
        schema: { type: "object", properties: {}, additionalProperties: false },
      },
    });
  });

  it("json_schema without a schema is JSON mode", () => {
    const body = convert({ response_format: { type: "json_schema", json_schema: { name: "x" } } });
    expect(body.system).toEqual([{ type: "text", text: JSON_OBJECT_INSTRUCTION }]);
  });
});
