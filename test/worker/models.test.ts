// GET /v1/models as both SDKs read it: Anthropic's list fields and OpenAI's, upstream models plus aliases.
import { describe, expect, it } from "vitest";
import { call, newKey } from "./helpers.ts";

interface Entry {
  type: string;
  id: string;
  display_name: string;
  created_at: string;
  object: string;
  created: number;
  owned_by: string;
}
interface List {
  object: string;
  data: Entry[];
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}

function shapeOk(list: List) {
  expect(list.object).toBe("list");
  expect(typeof list.has_more).toBe("boolean");
  expect(list.first_id).toBe(list.data[0]?.id);
  expect(list.last_id).toBe(list.data.at(-1)?.id);
  for (const m of list.data) {
    expect(m.type).toBe("model");
    expect(m.object).toBe("model");
    expect(typeof m.display_name).toBe("string");
    expect(Number.isNaN(Date.parse(m.created_at))).toBe(false);
    expect(m.created).toBe(Math.floor(Date.parse(m.created_at) / 1000));
    expect(typeof m.owned_by).toBe("string");
  }
}

describe("/v1/models", () => {
  it("API mode: the upstream's models with OpenAI fields added, plus the aliases", async () => {
    const { key } = await newKey();
    const res = await call("/api/v1/models", { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    const list = (await res.json()) as List;
    shapeOk(list);
    const ids = list.data.map((m) => m.id);
    expect(ids).toContain("claude-sonnet-4-5");
    expect(ids).toContain("gpt-4o");
    expect(ids).toContain("sonnet");
    const alias = list.data.find((m) => m.id === "gpt-4o");
    expect(alias?.owned_by).toBe("ccproxy");
    expect(alias?.display_name).toMatch(/alias of claude-/);
  });

  it("API mode: later pages are the upstream's alone", async () => {
    const { key } = await newKey();
    const first = (await (
      await call("/api/v1/models?limit=2", { headers: { "x-api-key": key } })
    ).json()) as List;
    expect(first.has_more).toBe(true);
    const next = await call(`/api/v1/models?limit=2&after_id=${first.data[1]?.id}`, {
      headers: { "x-api-key": key },
    });
    const page = (await next.json()) as List;
    shapeOk(page);
    expect(page.data.some((m) => m.owned_by === "ccproxy")).toBe(false);
  });

  it("Claude Code mode: the known Claude models and the aliases, without calling upstream", async () => {
    const { key } = await newKey({ modes: ["claude-code"] });
    for (const p of ["/v1/models", "/cc/v1/models"]) {
      const res = await call(p, { headers: { authorization: `Bearer ${key}` } });
      expect(res.status, p).toBe(200);
      const list = (await res.json()) as List;
      shapeOk(list);
      expect(list.data.map((m) => m.id)).toEqual(
        expect.arrayContaining(["claude-opus-5-5", "opus", "gpt-4o-mini"]),
      );
    }
  });

  it("needs a valid key", async () => {
    expect((await call("/v1/models")).status).toBe(401);
    expect((await call("/api/v1/models", { headers: { "x-api-key": "ccp_nope" } })).status).toBe(401);
  });
});
