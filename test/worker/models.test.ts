// GET /v1/models as both SDKs read it: Anthropic's list fields and OpenAI's, upstream models plus aliases.
import { env } from "cloudflare:workers";
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

/**
 * Both SDKs' list shape. The cursors name the first and last model that is not an alias: the
 * Anthropic SDK pages on with `after_id=<last_id>`, and the upstream knows no aliases.
 */
function shapeOk(list: List) {
  expect(list.object).toBe("list");
  expect(typeof list.has_more).toBe("boolean");
  const models = list.data.filter((m) => m.owned_by !== "ccproxy");
  expect(list.first_id).toBe(models[0]?.id ?? null);
  expect(list.last_id).toBe(models.at(-1)?.id ?? null);
  for (const m of list.data) entryOk(m);
}

function entryOk(m: Entry) {
  expect(m.type).toBe("model");
  expect(m.object).toBe("model");
  expect(typeof m.display_name).toBe("string");
  expect(Number.isNaN(Date.parse(m.created_at))).toBe(false);
  expect(m.created).toBe(Math.floor(Date.parse(m.created_at) / 1000));
  expect(typeof m.owned_by).toBe("string");
}

/** The upstream's whole catalogue, asked of the mock directly. */
async function upstreamIds(): Promise<string[]> {
  const res = await fetch(`${env.ANTHROPIC_BASE_URL}/v1/models?limit=1000`, {
    headers: { "x-api-key": "test" },
  });
  return ((await res.json()) as List).data.map((m) => m.id);
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

  it("API mode: paging on with after_id=last_id walks every upstream model once, aliases on the first page", async () => {
    const { key } = await newKey();
    const seen: string[] = [];
    let pages = 0;
    let after: string | null = null;
    for (;;) {
      const res = await call(`/api/v1/models?limit=2${after === null ? "" : `&after_id=${after}`}`, {
        headers: { "x-api-key": key },
      });
      expect(res.status).toBe(200);
      const page = (await res.json()) as List;
      shapeOk(page);
      const aliases = page.data.filter((m) => m.owned_by === "ccproxy");
      if (pages > 0) expect(aliases).toEqual([]);
      else expect(aliases.map((m) => m.id)).toContain("gpt-4o");
      seen.push(...page.data.map((m) => m.id));
      pages++;
      if (!page.has_more) break;
      after = page.last_id;
    }
    const upstream = await upstreamIds();
    expect(pages).toBe(Math.ceil(upstream.length / 2));
    expect(seen.filter((id) => upstream.includes(id))).toEqual(upstream);
    expect(new Set(seen).size).toBe(seen.length);
  });

  it("API mode: GET /v1/models/{id} answers an alias itself and the upstream's models with OpenAI fields", async () => {
    const { key } = await newKey();
    const get = (id: string) => call(`/api/v1/models/${id}`, { headers: { authorization: `Bearer ${key}` } });
    for (const id of ["gpt-4o", "gpt-4o-2024-08-06", "sonnet"]) {
      const res = await get(id);
      expect(res.status, id).toBe(200);
      const entry = (await res.json()) as Entry;
      entryOk(entry);
      expect(entry).toMatchObject({
        id,
        owned_by: "ccproxy",
        display_name: expect.stringMatching(/alias of claude-/),
      });
    }
    const real = await get("claude-sonnet-4-5");
    expect(real.status).toBe(200);
    const entry = (await real.json()) as Entry;
    entryOk(entry);
    expect(entry).toMatchObject({
      id: "claude-sonnet-4-5",
      display_name: "Claude Sonnet 4.5",
      owned_by: "anthropic",
    });
    const missing = await get("claude-nonexistent-9");
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { type: string } }).error.type).toBe("not_found_error");
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

  it("Claude Code mode: GET /v1/models/{id} for an alias or a known model, 404 otherwise", async () => {
    const { key } = await newKey({ modes: ["claude-code"] });
    const get = (id: string) => call(`/v1/models/${id}`, { headers: { authorization: `Bearer ${key}` } });
    expect(((await (await get("gpt-4o")).json()) as Entry).owned_by).toBe("ccproxy");
    expect(((await (await get("claude-opus-5-5")).json()) as Entry).id).toBe("claude-opus-5-5");
    expect((await get("no-such-model")).status).toBe(404);
  });

  it("needs a valid key", async () => {
    expect((await call("/v1/models")).status).toBe(401);
    expect((await call("/api/v1/models", { headers: { "x-api-key": "ccp_nope" } })).status).toBe(401);
  });
});
