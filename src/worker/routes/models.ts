// GET /v1/models and /v1/models/{id} under every prefix: one body that both SDKs parse — Anthropic's
// list fields (`type`, `display_name`, `created_at`, `has_more`, `first_id`, `last_id`) and OpenAI's
// (`object`, `created`, `owned_by`). API mode lists the upstream's models plus the aliases; Claude
// Code mode lists the aliases and the Claude models CCProxy knows.

import { ProxyError } from "../../shared/errors.ts";
import { clientResponseHeaders } from "../../shared/http/headers.ts";
import {
  aliasModelEntries,
  aliasModelEntry,
  type ModelAliasTable,
  type ModelListEntry,
  modelListEntry,
  resolveModel,
} from "../../shared/models.ts";
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

interface UpstreamPage {
  data?: UpstreamModel[];
  has_more?: boolean;
  first_id?: string | null;
  last_id?: string | null;
}

/**
 * The list body. `first_id`/`last_id` are the cursors of the upstream's page, never an alias: the
 * Anthropic SDK pages on with `after_id=<last_id>` (and back with `before_id=<first_id>`), and the
 * upstream knows nothing of aliases, so a cursor on one would lose every model after it.
 */
function list(
  data: ModelListEntry[],
  page: { hasMore: boolean; firstId: string | null; lastId: string | null },
) {
  return { object: "list", data, has_more: page.hasMore, first_id: page.firstId, last_id: page.lastId };
}

/** Every model id of the price table, newest families first as the table lists them. */
const KNOWN = new Date("2026-11-01T00:00:00Z");
function knownModels(): ModelListEntry[] {
  return PRICES.map((p) => modelListEntry(p.model, p.model, KNOWN));
}

/** The aliases not already listed, appended to the first page only, so a full walk sees each once. */
function withAliases(aliases: ModelAliasTable, models: ModelListEntry[]): ModelListEntry[] {
  const seen = new Set(models.map((m) => m.id));
  return [...models, ...aliasModelEntries(aliases).filter((a) => !seen.has(a.id))];
}

/**
 * The entry for a client model name the alias table rewrites (`gpt-4o`, and `gpt-4o-2024-08-06`
 * through the `gpt-4o*` rule), so `openai.models.retrieve("gpt-4o")` finds what chat completions accept.
 */
function aliasEntry(aliases: ModelAliasTable, id: string): ModelListEntry | undefined {
  const target = resolveModel(aliases, id);
  return target === id ? undefined : aliasModelEntry(id, target);
}

function fromUpstream(m: UpstreamModel): ModelListEntry & Record<string, unknown> {
  return {
    ...m,
    ...modelListEntry(m.id, m.display_name ?? m.id, new Date(m.created_at ?? KNOWN.toISOString())),
  };
}

function isFirstPage(c: Ctx): boolean {
  const search = new URL(c.req.url).searchParams;
  return !search.has("after_id") && !search.has("before_id");
}

export async function claudeCodeModels(c: Ctx): Promise<Response> {
  await authenticate(c);
  const known = knownModels();
  return c.json(
    list(withAliases(c.get("config").modelAliases, known), {
      hasMore: false,
      firstId: known[0]?.id ?? null,
      lastId: known.at(-1)?.id ?? null,
    }),
  );
}

export async function claudeCodeModel(c: Ctx): Promise<Response> {
  await authenticate(c);
  const id = c.req.param("id") ?? "";
  const entry =
    aliasEntry(c.get("config").modelAliases, id) ?? knownModels().find((m) => m.id === id) ?? undefined;
  if (entry === undefined) throw new ProxyError("not_found", `model: ${id}`);
  return c.json(entry);
}

async function upstreamCaller(c: Ctx): Promise<Caller> {
  const { identity, status } = await authenticate(c);
  return { ...identity, record: status.record, reservation: "" };
}

function passUpstreamError(upstream: Response): Response {
  return new Response(upstream.body, {
    status: upstream.status,
    headers: clientResponseHeaders(upstream.headers),
  });
}

export async function apiModels(c: Ctx): Promise<Response> {
  const caller = await upstreamCaller(c);
  const upstream = await callUpstream(c, caller, { path: "/v1/models", method: "GET", body: null });
  if (!upstream.ok) return passUpstreamError(upstream);
  const page = (await upstream.json()) as UpstreamPage;
  const models = (page.data ?? []).map(fromUpstream);
  const data = isFirstPage(c) ? withAliases(c.get("config").modelAliases, models) : models;
  return c.json(
    list(data, {
      hasMore: page.has_more === true,
      firstId: page.first_id ?? models[0]?.id ?? null,
      lastId: page.last_id ?? models.at(-1)?.id ?? null,
    }),
  );
}

/** An alias answers itself; anything else is the upstream's model, with the OpenAI fields added. */
export async function apiModel(c: Ctx): Promise<Response> {
  const caller = await upstreamCaller(c);
  const id = c.req.param("id") ?? "";
  const alias = aliasEntry(c.get("config").modelAliases, id);
  if (alias !== undefined) return c.json(alias);
  const upstream = await callUpstream(c, caller, {
    path: `/v1/models/${encodeURIComponent(id)}`,
    method: "GET",
    body: null,
  });
  if (!upstream.ok) return passUpstreamError(upstream);
  return c.json(fromUpstream((await upstream.json()) as UpstreamModel));
}
