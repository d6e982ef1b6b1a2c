// API-mode calls CCProxy passes through unread (files, batches, model details, anything else under
// /v1): keys with a budget or a model allowlist may make the ones that cannot spend, and are refused
// — 403, in Anthropic's format, saying why — the ones that might.
import { describe, expect, it } from "vitest";
import { call, ledgerRow, newKey, upstreamSaw } from "./helpers.ts";

function req(method: string, path: string, key: string, init: RequestInit = {}, testId?: string) {
  const headers = new Headers(init.headers);
  headers.set("x-api-key", key);
  if (testId) headers.set("x-test-id", testId);
  return call(path, { ...init, method, headers });
}

async function upload(key: string, testId?: string): Promise<Response> {
  const form = new FormData();
  form.append("file", new File(["hello, files"], "hello.txt", { type: "text/plain" }));
  return req("POST", "/api/v1/files", key, { body: form }, testId);
}

describe("unmetered API paths", () => {
  it.each([
    ["a USD budget", { budget_usd_month: 10 }, /this key has a budget/],
    ["a token budget", { tokens_per_day: 100000 }, /this key has a budget/],
    ["a model allowlist", { models: ["claude-haiku-*"] }, /this key has a model allowlist/],
  ])("a key with %s may read and delete, and is refused a POST that could spend", async (_, limits, why) => {
    const k = await newKey(limits);
    const testId = crypto.randomUUID();

    // Free: uploads, listings, downloads, deletes, batch reads, model details.
    const up = await upload(k.key, testId);
    expect(up.status).toBe(200);
    const file = (await up.json()) as { id: string };
    for (const [method, path] of [
      ["GET", "/api/v1/files"],
      ["GET", `/api/v1/files/${file.id}`],
      ["GET", `/api/v1/files/${file.id}/content`],
      ["GET", "/api/v1/messages/batches"],
      ["GET", "/api/v1/models/claude-haiku-4-5"],
      ["DELETE", `/api/v1/files/${file.id}`],
    ] as const) {
      const res = await req(method, path, k.key, {}, testId);
      expect(res.status, `${method} ${path}`).toBe(200);
      await res.text();
    }

    // Might spend, and CCProxy cannot price it or check its model: refused before it goes upstream.
    const spend = await req(
      "POST",
      "/api/v1/complete",
      k.key,
      {
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "claude-opus-4-5",
          prompt: "\n\nHuman: hi\n\nAssistant:",
          max_tokens_to_sample: 10,
        }),
      },
      testId,
    );
    expect(spend.status).toBe(403);
    const body = (await spend.json()) as { type: string; error: { type: string; message: string } };
    expect(body.type).toBe("error");
    expect(body.error.type).toBe("permission_error");
    expect(body.error.message).toMatch(why);
    expect(body.error.message).toContain(
      "POST /v1/complete could spend tokens CCProxy cannot meter or check",
    );
    const seen = await upstreamSaw(testId);
    expect(seen.map((r) => `${r.method} ${new URL(r.url, "http://x").pathname}`)).not.toContain(
      "POST /v1/complete",
    );
    expect(await ledgerRow(spend.headers.get("x-request-id"))).toMatchObject({
      status: 403,
      outcome: "refused",
      error_type: "permission_error",
    });
  });

  it("a key without budget or allowlist passes every /v1 call through", async () => {
    const k = await newKey({ rpm: 100 });
    const testId = crypto.randomUUID();
    const res = await req(
      "POST",
      "/api/v1/complete",
      k.key,
      { headers: { "content-type": "application/json" }, body: "{}" },
      testId,
    );
    // The mock has no /v1/complete: its 404 comes back unchanged, proving the call went upstream.
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe("not_found_error");
    expect((await upstreamSaw(testId)).map((r) => r.method)).toEqual(["POST"]);
  });
});
