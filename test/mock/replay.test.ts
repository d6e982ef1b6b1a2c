// `replay file=…`: recorded fixtures go out byte for byte (streams), as their recorded JSON
// (non-streaming), or accumulated into a Message when only a stream was recorded.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_FIXTURES_DIR } from "../../src/mock/fixtures.ts";
import { type MockServer, startMock } from "../../src/mock/server.ts";
import { type Json, parseSse, post } from "./helpers.ts";

const sseFiles = readdirSync(DEFAULT_FIXTURES_DIR).filter((f) => f.endsWith(".sse"));
const request = (stream: boolean) => ({
  model: "claude-sonnet-5-5",
  max_tokens: 50,
  stream,
  messages: [{ role: "user", content: "replay please" }],
});

let mock: MockServer;
beforeAll(async () => {
  mock = await startMock({ quiet: true });
});
afterAll(() => mock.close());

describe("replay", () => {
  it("finds the recorded fixtures by default", () => {
    expect(DEFAULT_FIXTURES_DIR).toBe(path.resolve("test/fixtures/recorded"));
    expect(sseFiles.length).toBeGreaterThan(10);
  });

  it.each(sseFiles)("streams %s byte for byte", async (file) => {
    const res = await post(`${mock.url}/v1/messages`, request(true), {
      "x-mock-scenario": `replay file=${file}`,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.equals(readFileSync(path.join(DEFAULT_FIXTURES_DIR, file)))).toBe(true);
  });

  it("also through a slow drip, by name without extension, from a marker", async () => {
    const body = request(true);
    body.messages[0] = { role: "user", content: "[[mock:replay file=anthropic-text delay=1]]" };
    const res = await post(`${mock.url}/v1/messages`, body);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.equals(readFileSync(path.join(DEFAULT_FIXTURES_DIR, "anthropic-text.sse")))).toBe(true);
  });

  it("answers a non-streaming request with the recorded JSON", async () => {
    const res = await post(`${mock.url}/v1/messages`, request(false), {
      "x-mock-scenario": "replay file=anthropic-text.nonstream",
    });
    expect(res.status).toBe(200);
    const expected = readFileSync(path.join(DEFAULT_FIXTURES_DIR, "anthropic-text.nonstream.response.json"));
    expect(Buffer.from(await res.arrayBuffer()).equals(expected)).toBe(true);
  });

  it("accumulates a recorded stream when no JSON answer was recorded", async () => {
    const res = await post(`${mock.url}/v1/messages`, request(false), {
      "x-mock-scenario": "replay file=anthropic-tool-2.sse",
    });
    const msg = (await res.json()) as Json;
    const sse = readFileSync(path.join(DEFAULT_FIXTURES_DIR, "anthropic-tool-2.sse"), "utf8");
    const events = parseSse(sse).map((e) => JSON.parse(e.data) as Json);
    const start = events[0]?.message as Json;
    const text = events
      .filter((e) => e.type === "content_block_delta" && (e.delta as Json).type === "text_delta")
      .map((e) => (e.delta as Json).text)
      .join("");
    const json = events
      .filter((e) => e.type === "content_block_delta" && (e.delta as Json).type === "input_json_delta")
      .map((e) => (e.delta as Json).partial_json)
      .join("");
    expect(msg.id).toBe(start.id);
    expect(msg.stop_reason).toBe("tool_use");
    expect(msg.content).toEqual([
      { type: "text", text },
      expect.objectContaining({ type: "tool_use", name: "weather", input: JSON.parse(json) }),
    ]);
    const finalDelta = events.at(-2) as Json;
    expect((msg.usage as Json).output_tokens).toBe((finalDelta.usage as Json).output_tokens);
  });

  it("replays a recorded error with its status", async () => {
    const res = await post(`${mock.url}/v1/messages`, request(true), {
      "x-mock-scenario": "replay file=anthropic-error-404.json",
    });
    expect(res.status).toBe(404);
    const expected = readFileSync(path.join(DEFAULT_FIXTURES_DIR, "anthropic-error-404.json"));
    expect(Buffer.from(await res.arrayBuffer()).equals(expected)).toBe(true);
  });

  it("refuses files outside the fixtures folder and unknown names", async () => {
    for (const file of ["../claude-code/requests.json", "/etc/passwd", "nope.sse"]) {
      const res = await post(`${mock.url}/v1/messages`, request(true), {
        "x-mock-scenario": `replay file=${file}`,
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: Json }).error.type).toBe("invalid_request_error");
    }
  });

  it("reads from fixturesDir when given", async () => {
    const other = await startMock({ quiet: true, fixturesDir: path.resolve("test/mock/fixtures") });
    try {
      const res = await post(`${other.url}/v1/messages`, request(true), {
        "x-mock-scenario": "replay file=tiny.sse",
      });
      expect(await res.text()).toBe(readFileSync("test/mock/fixtures/tiny.sse", "utf8"));
    } finally {
      await other.close();
    }
  });
});
