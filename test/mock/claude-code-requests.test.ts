// Every request Claude Code 2.1.331 really sent (headers and bodies, recorded in
// test/fixtures/claude-code/requests.json) is accepted by the mock with a valid answer.
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MockServer, startMock } from "../../src/mock/server.ts";
import { checkStream, type Json } from "./helpers.ts";

interface Recorded {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Json | null;
}

const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/claude-code/requests.json", import.meta.url), "utf8"),
) as { scenarios: Array<{ name: string; requests: Recorded[] }> };

const cases = fixture.scenarios.flatMap((s) => s.requests.map((r, i) => [`${s.name} #${i}`, r] as const));

// Hop-by-hop and framing headers belong to the recorded connection, not to this replay.
const DROP = new Set(["host", "connection", "content-length", "accept-encoding", "transfer-encoding"]);

let mock: MockServer;
beforeAll(async () => {
  mock = await startMock({ quiet: true, apiKeys: ["test", "tok-123"] });
});
afterAll(() => mock.close());

describe("Claude Code's recorded requests", () => {
  it("covers both the Messages and the count_tokens and warm-up requests", () => {
    expect(cases.length).toBeGreaterThan(20);
    expect(cases.some(([, r]) => r.method === "HEAD")).toBe(true);
  });

  it.each(cases)("%s", async (_name, recorded) => {
    const headers = Object.fromEntries(Object.entries(recorded.headers).filter(([k]) => !DROP.has(k)));
    const body = recorded.body === null ? undefined : JSON.stringify(recorded.body);
    const res = await fetch(mock.url + recorded.url, {
      method: recorded.method,
      headers,
      body: body ?? null,
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    expect(res.headers.get("request-id")).toMatch(/^req_011C/);
    if (recorded.url.startsWith("/v1/messages/count_tokens")) {
      expect(JSON.parse(text)).toEqual({ input_tokens: expect.any(Number) });
    } else if (recorded.body?.stream === true) {
      expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
      const summary = checkStream(text);
      expect(summary.text.length).toBeGreaterThan(0);
      expect(summary.stopReason).toBe("end_turn");
    } else if (recorded.body) {
      expect(JSON.parse(text)).toMatchObject({ type: "message", role: "assistant", stop_reason: "end_turn" });
    }
    const seen = mock.requests.find((r) => r.id === res.headers.get("request-id"));
    expect(seen?.body.toString("utf8")).toBe(body ?? "");
  });

  it("answers a tool_result turn with the tool's output", async () => {
    const second = fixture.scenarios
      .find((s) => s.name === "bash-tool-use")
      ?.requests.find((r) => JSON.stringify(r.body).includes("tool_result"));
    if (!second?.body) throw new Error("fixture changed: no tool_result request");
    const res = await fetch(mock.url + second.url, {
      method: "POST",
      headers: { "x-api-key": "test", "content-type": "application/json" },
      body: JSON.stringify(second.body),
    });
    expect(checkStream(await res.text()).text).toBe("Tool result: hi");
  });
});
