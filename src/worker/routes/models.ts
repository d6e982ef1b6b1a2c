// GET /v1/models under every prefix: one body that both SDKs parse — Anthropic's list fields
// (`type`, `display_name`, `created_at`, `has_more`, `first_id`, `last_id`) and OpenAI's (`object`,
// `created`, `owned_by`). API mode lists the upstream's models plus the aliases; Claude Code mode
// lists the aliases and the Claude models CCProxy knows.

import { clientResponseHeaders } from "../../shared/http/headers.ts";
import { aliasModelEntries, type ModelListEntry, modelListEntry } from "../../shared/models.ts";
import { PRICES } from "../../shared/pricing.ts";
import type { Ctx } from "../context.ts";
import { authenticate, type Caller } from "../middleware/auth.ts";
import { callUpstream } from "../modes/api/passthrough.ts";

interface UpstreamModel {
  id: string;
  display_name?: string;
  created_at?: string;
  [k: string]: unknown;
}

function list(data: ModelListEntry[], hasMore = false) {
  return {
    object: "list",
    data,
    has_more: hasMore,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
  };
}

/** Every model id of the price table, newest families first as the table lists them. */
const KNOWN = new Date("2026-11-01T00:00:00Z");
function knownModels(): ModelListEntry[] {
  return PRICES.map((p) => modelListEntry(p.model, p.model, KNOWN));
}

function withAliases(c: Ctx, models: ModelListEntry[], firstPage: boolean): ModelListEntry[] {
  if (!firstPage) return models;
  const seen = new Set(models.map((m) => m.id));
  return [...models, ...aliasModelEntries(c.get("config").modelAliases).filter((a) => !seen.has(a.id))];
}

export async function claudeCodeModels(c: Ctx): Promise<Response> {
  await authenticate(c);
  return c.json(list(withAliases(c, knownModels(), true)));
}

export async function apiModels(c: Ctx): Promise<Response> {
  const { identity, status } = await authenticate(c);
  const caller: Caller = { ...identity, record: status.record, reservation: "" };
  const upstream = await callUpstream(c, caller, { path: "/v1/models", method: "GET", body: null });
  if (!upstream.ok) {
    return new Response(upstream.body, {
      status: upstream.status,
      headers: clientResponseHeaders(upstream.headers),
    });
  }
  const page = (await upstream.json()) as { data?: UpstreamModel[]; has_more?: boolean };
  const models = (page.data ?? []).map((m) => ({
    ...m,
    ...modelListEntry(m.id, m.display_name ?? m.id, new Date(m.created_at ?? KNOWN.toISOString())),
  }));
  const search = new URL(c.req.url).searchParams;
  const firstPage = !search.has("after_id") && !search.has("before_id");
  return c.json(list(withAliases(c, models, firstPage), page.has_more === true));
}
