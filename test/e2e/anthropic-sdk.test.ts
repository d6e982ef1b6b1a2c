// The official Anthropic SDK pointed at CCProxy's API mode (`baseURL: <ccproxy>/api`) with a CCProxy key.
import Anthropic from "@anthropic-ai/sdk";
import { beforeAll, describe, expect, it } from "vitest";
import { byTestId, newKey, upstreamRequests, url } from "./helpers.ts";

let key: string;
beforeAll(async () => {
  key = (await newKey()).key;
});

function client(opts: { apiKey?: string; headers?: Record<string, string> } = {}) {
  return new Anthropic({
    baseURL: `${url()}/api`,
    apiKey: opts.apiKey ?? key,
    maxRetries: 0,
    defaultHeaders: opts.headers ?? {},
  });
}

const params = {
  model: "claude-sonnet-4-5",
  max_tokens: 256,
  messages: [{ role: "user" as const, content: "Say hello" }],
};

describe("@anthropic-ai/sdk through CCProxy API mode", () => {
  it("creates a message", async () => {
    const msg = await client().messages.create(params);
    expect(msg.type).toBe("message");
    expect(msg.role).toBe("assistant");
    expect(msg.content[0]?.type).toBe("text");
    expect(msg.stop_reason).toBe("end_turn");
    expect(msg.usage.output_tokens).toBeGreaterThan(0);
  });

  it("streams a message and accumulates it", async () => {
    const stream = client().messages.stream(params);
    const deltas: string[] = [];
    stream.on("text", (t) => deltas.push(t));
    const msg = await stream.finalMessage();
    expect(deltas.length).toBeGreaterThan(1);
    const first = msg.content[0];
    expect(first?.type === "text" ? first.text : "").toBe(deltas.join(""));
  });

  it("streams tool use with the input reassembled", async () => {
    const msg = await client({
      headers: { "x-mock-scenario": 'tool name=get_weather input={"city":"Paris","unit":"c"}' },
    })
      .messages.stream({
        ...params,
        tools: [
          { name: "get_weather", input_schema: { type: "object", properties: { city: { type: "string" } } } },
        ],
      })
      .finalMessage();
    const tool = msg.content.find((b) => b.type === "tool_use");
    expect(tool?.type === "tool_use" ? tool.input : null).toEqual({ city: "Paris", unit: "c" });
    expect(msg.stop_reason).toBe("tool_use");
  });

  it("counts tokens", async () => {
    const res = await client().messages.countTokens({ model: params.model, messages: params.messages });
    expect(res.input_tokens).toBeGreaterThan(0);
  });

  it("sends what the SDK sends: its version header, its key replaced by the team key", async () => {
    const testId = crypto.randomUUID();
    await client({ headers: { "x-test-id": testId } }).messages.create(params);
    const [seen] = await upstreamRequests(byTestId(testId));
    expect(seen?.headers["anthropic-version"]).toBeTruthy();
    expect(seen?.headers["x-stainless-lang"]).toBe("js");
    expect(JSON.stringify(seen?.headers)).not.toContain(key);
  });

  it("raises the SDK's error classes", async () => {
    await expect(client().messages.create({ ...params, max_tokens: 0 })).rejects.toBeInstanceOf(
      Anthropic.BadRequestError,
    );
    await expect(client({ apiKey: "ccp_wrong" }).messages.create(params)).rejects.toBeInstanceOf(
      Anthropic.AuthenticationError,
    );
    const apiOnlyForOtherModel = (await newKey({ models: ["claude-haiku-*"] })).key;
    await expect(client({ apiKey: apiOnlyForOtherModel }).messages.create(params)).rejects.toBeInstanceOf(
      Anthropic.PermissionDeniedError,
    );
    const limited = client({ headers: { "x-mock-scenario": "error status=429 retry_after=3" } });
    const err = await limited.messages.create(params).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    expect((err as InstanceType<typeof Anthropic.RateLimitError>).headers?.get("retry-after")).toBe("3");
    const overloaded = client({ headers: { "x-mock-scenario": "error status=529" } });
    const err529 = await overloaded.messages.create(params).catch((e: unknown) => e);
    expect(err529).toBeInstanceOf(Anthropic.APIError);
    expect((err529 as InstanceType<typeof Anthropic.APIError>).status).toBe(529);
  });

  it("surfaces a mid-stream error event as a stream error", async () => {
    const stream = client({ headers: { "x-mock-scenario": "midstream_error" } }).messages.stream(params);
    await expect(stream.finalMessage()).rejects.toThrow(/Overloaded/);
  });

  it("an upstream that drops mid-stream reaches the SDK as an API error with a message, not a network error", async () => {
    const deltas: string[] = [];
    const stream = client({ headers: { "x-mock-scenario": "drop after=4" } }).messages.stream(params);
    stream.on("text", (t) => deltas.push(t));
    const err = await stream.finalMessage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect(err).not.toBeInstanceOf(Anthropic.APIConnectionError);
    const apiError = err as InstanceType<typeof Anthropic.APIError>;
    expect(apiError.message).toMatch(/upstream connection to the Anthropic API was lost/);
    expect((apiError.error as { error?: { type?: string } }).error?.type).toBe("api_error");
    // What arrived before the drop still reached the SDK.
    expect(deltas.length).toBeGreaterThan(0);
  });
});
