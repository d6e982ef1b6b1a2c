// The admin API as an operator uses it: keys created, shown once, listed without secrets, updated, revoked.
import { describe, expect, it } from "vitest";
import { admin, call, messageBody, newKey } from "./helpers.ts";

describe("admin API", () => {
  it("refuses requests without the admin token, in Anthropic's error format", async () => {
    for (const headers of [{}, { authorization: "Bearer wrong" }, { "x-api-key": "test-admin-token" }]) {
      const res = await call("/admin/keys", { headers });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { type: string; error: { type: string } };
      expect(body.type).toBe("error");
      expect(body.error.type).toBe("authentication_error");
      expect(res.headers.get("request-id")).toMatch(/^req_/);
    }
  });

  it("creates a key with defaults and shows the secret only in the creation answer", async () => {
    const res = await admin("POST", "/keys", { name: "alice" });
    expect(res.status).toBe(201);
    const created = (await res.json()) as Record<string, unknown>;
    expect(created.key).toMatch(/^ccp_[0-9A-Za-z]{32}$/);
    expect(created.id).toMatch(/^key_/);
    expect(created.name).toBe("alice");
    expect(created.modes).toEqual(["api", "claude-code"]);
    expect(created.models).toBeNull();
    expect(created.key_prefix).toBe((created.key as string).slice(0, 10));

    const list = (await (await admin("GET", "/keys")).json()) as { data: Record<string, unknown>[] };
    const listed = list.data.find((k) => k.id === created.id);
    expect(listed).toBeDefined();
    const text = JSON.stringify(list);
    expect(text).not.toContain(created.key as string);
    expect(listed).not.toHaveProperty("key");
    expect(listed).not.toHaveProperty("key_hash");

    const one = (await (await admin("GET", `/keys/${created.id}`)).json()) as Record<string, unknown>;
    expect(one.name).toBe("alice");
    expect(one).not.toHaveProperty("key");
  });

  it("stores every field given at creation", async () => {
    const created = await newKey({
      modes: ["api"],
      models: ["claude-*"],
      expires_at: "2030-01-01T00:00:00+02:00",
      byo: true,
      rpm: 5,
      max_concurrent: 2,
      budget_usd_day: 1.5,
      budget_usd_month: 20,
      tokens_per_day: 100000,
    });
    expect(created).toMatchObject({
      modes: ["api"],
      models: ["claude-*"],
      expires_at: "2029-12-31T22:00:00.000Z",
      byo: true,
      rpm: 5,
      max_concurrent: 2,
      budget_usd_day: 1.5,
      budget_usd_month: 20,
      tokens_per_day: 100000,
    });
  });

  it("rejects bad input with a message naming the field", async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{}, /name/],
      [{ name: "" }, /name/],
      [{ name: "x", modes: ["bogus"] }, /modes/],
      [{ name: "x", modes: [] }, /modes/],
      [{ name: "x", expires_at: "tomorrow" }, /expires_at/],
      [{ name: "x", rpm: -1 }, /rpm/],
      [{ name: "x", rpm: 1.5 }, /rpm/],
      [{ name: "x", budget: 5 }, /budget/],
    ];
    for (const [body, message] of cases) {
      const res = await admin("POST", "/keys", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const err = (await res.json()) as { error: { type: string; message: string } };
      expect(err.error.type).toBe("invalid_request_error");
      expect(err.error.message).toMatch(message);
    }
    const bad = await call("/admin/keys", {
      method: "POST",
      headers: { authorization: "Bearer test-admin-token", "content-type": "application/json" },
      body: "{not json",
    });
    expect(bad.status).toBe(400);
  });

  it("updates a key and the change holds on the next request", async () => {
    const k = await newKey({ modes: ["api"] });
    const cc = () =>
      call("/v1/messages", {
        method: "POST",
        headers: { "x-api-key": k.key, "content-type": "application/json" },
        body: JSON.stringify(messageBody()),
      });
    expect((await cc()).status).toBe(403);
    const res = await admin("PATCH", `/keys/${k.id}`, { modes: ["api", "claude-code"], name: "renamed" });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ modes: ["api", "claude-code"], name: "renamed" });
    // Allowed now: the request gets past the key check (503: no sidecar connected in this test).
    expect((await cc()).status).toBe(503);
    const cleared = await admin("PATCH", `/keys/${k.id}`, { rpm: 3 });
    expect(await cleared.json()).toMatchObject({ rpm: 3, name: "renamed" });
    const unset = await admin("PATCH", `/keys/${k.id}`, { rpm: null });
    expect(await unset.json()).toMatchObject({ rpm: null });
  });

  it("answers 404 for an unknown key id", async () => {
    expect((await admin("GET", "/keys/key_nope")).status).toBe(404);
    expect((await admin("PATCH", "/keys/key_nope", { name: "x" })).status).toBe(404);
    expect((await admin("DELETE", "/keys/key_nope")).status).toBe(404);
  });

  it("revokes: the next request with the key is refused, the key stays listed as revoked", async () => {
    const k = await newKey();
    const count = () =>
      call("/v1/messages/count_tokens", {
        method: "POST",
        headers: { "x-api-key": k.key, "content-type": "application/json" },
        body: JSON.stringify({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }] }),
      });
    expect((await count()).status).toBe(200);
    const del = await admin("DELETE", `/keys/${k.id}`);
    expect(del.status).toBe(200);
    expect(((await del.json()) as { revoked_at: string | null }).revoked_at).not.toBeNull();
    const after = await count();
    expect(after.status).toBe(401);
    expect(((await after.json()) as { error: { message: string } }).error.message).toMatch(/revoked/);
  });
});
