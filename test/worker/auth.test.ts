// Per-user keys as clients present them: x-api-key (Anthropic SDK, Claude Code), Bearer (OpenAI SDK,
// Anthropic SDK 1.13, ANTHROPIC_AUTH_TOKEN), x-ccproxy-key; refusals in the route's format.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  admin,
  call,
  ledgerRow,
  messageBody,
  newKey,
  type Recorded,
  TEAM_KEY,
  upstreamSaw,
} from "./helpers.ts";

const countBody = JSON.stringify({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }] });

function post(path: string, headers: Record<string, string>, body: string = countBody) {
  return call(path, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
}

describe("keys", () => {
  it("accepts the key in x-api-key, Authorization: Bearer and x-ccproxy-key", async () => {
    const k = await newKey();
    for (const headers of [
      { "x-api-key": k.key },
      { authorization: `Bearer ${k.key}` },
      { "x-ccproxy-key": k.key },
    ]) {
      const res = await post("/api/v1/messages/count_tokens", headers);
      expect(res.status, JSON.stringify(Object.keys(headers))).toBe(200);
    }
  });

  it("refuses missing, malformed and unknown keys with 401 in Anthropic format", async () => {
    const cases: Array<Record<string, string>> = [
      {},
      { "x-api-key": "" },
      { "x-api-key": "sk-ant-not-ours" },
      { "x-api-key": "ccp_unknownunknownunknownunknown00" },
      { authorization: "Basic abc" },
    ];
    for (const headers of cases) {
      const res = await post("/api/v1/messages", headers, JSON.stringify(messageBody()));
      expect(res.status).toBe(401);
      const body = (await res.json()) as { type: string; error: { type: string; message: string } };
      expect(body).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    }
  });

  it.each([
    ["GET", "/api/v1/files", "anthropic"],
    ["POST", "/api/v1/files", "anthropic"],
    ["POST", "/api/v1/messages/batches", "anthropic"],
    ["POST", "/claude/v1/messages", "anthropic"],
    ["POST", "/cc/v1/messages/count_tokens", "anthropic"],
    ["POST", "/sdk/v1/messages", "anthropic"],
    ["GET", "/v1/models", "anthropic"],
    ["GET", "/v1/me", "anthropic"],
    ["POST", "/v1/chat/completions", "openai"],
    ["POST", "/api/v1/chat/completions", "openai"],
  ])("%s %s without a key: 401 in %s format, nothing sent upstream", async (method, path, format) => {
    const marker = `marker-${crypto.randomUUID()}`;
    const body =
      method === "GET"
        ? null
        : path.endsWith("/chat/completions")
          ? JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: marker }] })
          : JSON.stringify(messageBody({ messages: [{ role: "user", content: marker }] }));
    const res = await call(path, {
      method,
      headers: { "content-type": "application/json", "x-test-id": marker },
      body,
    });
    expect(res.status).toBe(401);
    const json = (await res.json()) as Record<string, unknown> & {
      error: { type: string; message: string; code?: string | null };
    };
    if (format === "openai") {
      expect(json).not.toHaveProperty("type");
      expect(json.error).toMatchObject({ type: "invalid_request_error", code: "invalid_api_key" });
      expect(res.headers.get("request-id")).toBeNull();
    } else {
      expect(json.type).toBe("error");
      expect(json.error.type).toBe("authentication_error");
      expect(res.headers.get("request-id")).toMatch(/^req_/);
    }
    expect(json.error.message).toMatch(/missing CCProxy key/);
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
    const all = (await (await fetch(`${env.ANTHROPIC_BASE_URL}/_mock/requests`)).json()) as Recorded[];
    expect(all.filter((r) => r.body.includes(marker) || r.headers["x-test-id"] === marker)).toEqual([]);
  });

  it("stores only the key's SHA-256: no column of its row, or of its usage row, holds the key", async () => {
    const k = await newKey({ name: "hash-check" });
    const res = await post("/api/v1/messages/count_tokens", { "x-api-key": k.key });
    expect(res.status).toBe(200);
    await res.text(); // the usage row is written once the body has been read
    const row = await env.DB.prepare("SELECT * FROM keys WHERE id = ?")
      .bind(k.id)
      .first<Record<string, unknown>>();
    expect(row).not.toBeNull();
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(k.key));
    const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    expect(row?.key_hash).toBe(hex);
    // The display prefix ("ccp_" + 6 characters) is the most of the key any column may hold.
    const tooMuch = k.key.slice(0, 11);
    for (const [column, value] of Object.entries(row ?? {})) {
      expect(String(value), column).not.toContain(tooMuch);
    }
    const usage = await ledgerRow(res.headers.get("x-request-id"));
    expect(JSON.stringify(usage)).not.toContain(tooMuch);
  });

  it("refuses with 401 in OpenAI format on chat completions routes", async () => {
    for (const path of ["/api/v1/chat/completions", "/v1/chat/completions"]) {
      const res = await post(path, { authorization: "Bearer ccp_nope" }, "{}");
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: { message: string; type: string; code: string | null } };
      expect(body.error.code).toBe("invalid_api_key");
      expect(body).not.toHaveProperty("type");
      expect(res.headers.get("x-request-id")).toMatch(/^req_/);
    }
  });

  it("refuses an expired key", async () => {
    const k = await newKey({ expires_at: "2020-01-01T00:00:00Z" });
    const res = await post("/api/v1/messages/count_tokens", { "x-api-key": k.key });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/expired/);
  });

  it("refuses a mode the key does not allow with 403", async () => {
    const apiOnly = await newKey({ modes: ["api"] });
    const res = await post("/v1/messages", { "x-api-key": apiOnly.key }, JSON.stringify(messageBody()));
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe("permission_error");

    const ccOnly = await newKey({ modes: ["claude-code"] });
    const api = await post("/api/v1/messages", { "x-api-key": ccOnly.key }, JSON.stringify(messageBody()));
    expect(api.status).toBe(403);
    // count_tokens is free: any key may call it.
    expect((await post("/v1/messages/count_tokens", { "x-api-key": ccOnly.key })).status).toBe(200);
  });

  it("refuses a model outside the key's allowlist with 403 and never calls upstream", async () => {
    const k = await newKey({ models: ["claude-haiku-*"] });
    const testId = crypto.randomUUID();
    const res = await post(
      "/api/v1/messages",
      { "x-api-key": k.key, "x-test-id": testId },
      JSON.stringify(messageBody({ model: "claude-opus-4-5" })),
    );
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/claude-opus-4-5/);
    const ok = await post(
      "/api/v1/messages",
      { "x-api-key": k.key, "x-test-id": testId },
      JSON.stringify(messageBody({ model: "claude-haiku-4-5" })),
    );
    expect(ok.status).toBe(200);
    const seen = await upstreamSaw(testId);
    expect(seen).toHaveLength(1);
    expect(JSON.parse(seen[0]?.body ?? "{}").model).toBe("claude-haiku-4-5");
  });

  it("injects the team key upstream and strips the client's key", async () => {
    const k = await newKey();
    for (const headers of [{ "x-api-key": k.key }, { authorization: `Bearer ${k.key}` }]) {
      const testId = crypto.randomUUID();
      const res = await post(
        "/api/v1/messages",
        { ...headers, "x-test-id": testId },
        JSON.stringify(messageBody()),
      );
      expect(res.status).toBe(200);
      const [seen] = await upstreamSaw(testId);
      expect(seen?.headers["x-api-key"]).toBe(TEAM_KEY);
      expect(seen?.headers.authorization).toBeUndefined();
      expect(JSON.stringify(seen?.headers)).not.toContain(k.key);
    }
  });

  it("bring your own seat: a byo key's own credential goes upstream untouched, only via x-ccproxy-key", async () => {
    const byo = await newKey({ byo: true });
    const own = "fake-user-oauth-token-for-byo-test";
    let testId = crypto.randomUUID();
    let res = await post(
      "/api/v1/messages",
      { "x-ccproxy-key": byo.key, authorization: `Bearer ${own}`, "x-test-id": testId },
      JSON.stringify(messageBody()),
    );
    expect(res.status).toBe(200);
    let [seen] = await upstreamSaw(testId);
    expect(seen?.headers.authorization).toBe(`Bearer ${own}`);
    expect(seen?.headers["x-api-key"]).toBeUndefined();
    expect(seen?.headers["x-ccproxy-key"]).toBeUndefined();

    // The same request from a key without byo: the team key replaces the client's credential.
    const plain = await newKey();
    testId = crypto.randomUUID();
    res = await post(
      "/api/v1/messages",
      { "x-ccproxy-key": plain.key, authorization: `Bearer ${own}`, "x-test-id": testId },
      JSON.stringify(messageBody()),
    );
    expect(res.status).toBe(200);
    [seen] = await upstreamSaw(testId);
    expect(seen?.headers["x-api-key"]).toBe(TEAM_KEY);
    expect(seen?.headers.authorization).toBeUndefined();
  });

  it("a revoked key is refused on the very next request, by every header style", async () => {
    const k = await newKey();
    expect((await post("/api/v1/messages/count_tokens", { "x-api-key": k.key })).status).toBe(200);
    expect((await admin("DELETE", `/keys/${k.id}`)).status).toBe(200);
    for (const headers of [
      { "x-api-key": k.key },
      { authorization: `Bearer ${k.key}` },
      { "x-ccproxy-key": k.key },
    ]) {
      expect((await post("/api/v1/messages/count_tokens", headers)).status).toBe(401);
    }
  });
});
