// Structured outputs: with output_config.format json_schema the mock answers JSON valid for the schema,
// as the API guarantees, streamed or not.
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type MockServer, startMock } from "../../src/mock/server.ts";

let mock: MockServer;
beforeAll(async () => {
  mock = await startMock({ quiet: true });
});
afterAll(() => mock.close());

const schema = {
  type: "object",
  properties: { city: { type: "string" }, days: { type: "integer", minimum: 3 }, unit: { enum: ["c", "f"] } },
  required: ["city", "days", "unit"],
  additionalProperties: false,
};

it("answers a JSON document valid for the requested schema", async () => {
  const client = new Anthropic({ baseURL: mock.url, apiKey: "test", maxRetries: 0 });
  const params = {
    model: "claude-sonnet-5-5",
    max_tokens: 100,
    messages: [{ role: "user" as const, content: "forecast" }],
    output_config: { format: { type: "json_schema" as const, schema } },
  };
  for (const msg of [
    await client.messages.create(params),
    await client.messages.stream(params).finalMessage(),
  ]) {
    const block = msg.content[0];
    expect(block?.type).toBe("text");
    expect(JSON.parse(block?.type === "text" ? block.text : "")).toEqual({
      city: "example",
      days: 3,
      unit: "c",
    });
  }
});
