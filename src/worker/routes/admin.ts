// The admin API (`Authorization: Bearer $ADMIN_TOKEN`): create, list, read, update and revoke keys.

import { Hono } from "hono";
import { z } from "zod";
import { ProxyError } from "../../shared/errors.ts";
import { timingSafeEqual } from "../../shared/ids.ts";
import type { AppEnv, Ctx } from "../context.ts";
import { parseJsonObject, readBody } from "../http/body.ts";
import { keyGuard } from "../middleware/auth.ts";
import { createKey, getKey, type KeyRecord, listKeys, MODES, revokeKey, updateKey } from "../storage/keys.ts";
import { GROUPS, type GroupBy, usageReport } from "../usage/ledger.ts";

const limit = (int: boolean) => {
  const n = int ? z.number().int().positive() : z.number().positive();
  return n.nullable().optional();
};

const fields = {
  modes: z.array(z.enum(MODES)).min(1),
  models: z.array(z.string().min(1).max(200)).min(1).nullable(),
  expires_at: z.iso.datetime({ offset: true }).nullable(),
  byo: z.boolean(),
  rpm: limit(true),
  max_concurrent: limit(true),
  budget_usd_day: limit(false),
  budget_usd_month: limit(false),
  tokens_per_day: limit(true),
};

const CreateKey = z.strictObject({
  name: z.string().trim().min(1).max(200),
  modes: fields.modes.optional(),
  models: fields.models.optional(),
  expires_at: fields.expires_at.optional(),
  byo: fields.byo.optional(),
  rpm: fields.rpm,
  max_concurrent: fields.max_concurrent,
  budget_usd_day: fields.budget_usd_day,
  budget_usd_month: fields.budget_usd_month,
  tokens_per_day: fields.tokens_per_day,
});

const PatchKey = CreateKey.partial();

async function parse<T extends z.ZodType>(c: Ctx, schema: T): Promise<z.infer<T>> {
  const body = parseJsonObject(await readBody(c.req.raw, 1024 * 1024));
  const result = schema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
    throw new ProxyError("invalid_request", `${where}${issue?.message ?? "invalid request"}`);
  }
  return result.data;
}

/** ISO 8601 with any offset, stored as UTC. */
function utc(iso: string | null | undefined): string | null | undefined {
  return iso ? new Date(iso).toISOString() : iso;
}

async function pushToGuard(c: Ctx, record: KeyRecord): Promise<void> {
  await keyGuard(c, record.id).reload(record.id);
}

export const admin = new Hono<AppEnv>();

admin.use("*", async (c, next) => {
  const expected = c.get("config").adminToken;
  if (expected === undefined) {
    throw new ProxyError(
      "authentication",
      "the admin API is disabled: set the ADMIN_TOKEN secret to enable it",
    );
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "");
  if (!m?.[1] || !timingSafeEqual(m[1], expected)) {
    throw new ProxyError("authentication", "admin API: send Authorization: Bearer <ADMIN_TOKEN>");
  }
  await next();
});

admin.post("/keys", async (c) => {
  const input = await parse(c, CreateKey);
  const { record, secret } = await createKey(c.env.DB, {
    ...input,
    modes: input.modes ?? [...MODES],
    expires_at: utc(input.expires_at),
  });
  return c.json({ ...record, key: secret }, 201);
});

admin.get("/keys", async (c) => c.json({ data: await listKeys(c.env.DB) }));

admin.get("/keys/:id", async (c) => {
  const record = await getKey(c.env.DB, c.req.param("id"));
  if (record === null) throw new ProxyError("not_found", "no such key");
  return c.json(record);
});

admin.patch("/keys/:id", async (c) => {
  const patch = await parse(c, PatchKey);
  const expires = utc(patch.expires_at);
  const record = await updateKey(c.env.DB, c.req.param("id"), {
    ...patch,
    ...(expires === undefined ? {} : { expires_at: expires }),
  });
  if (record === null) throw new ProxyError("not_found", "no such key");
  await pushToGuard(c, record);
  return c.json(record);
});

admin.delete("/keys/:id", async (c) => {
  const record = await revokeKey(c.env.DB, c.req.param("id"));
  if (record === null) throw new ProxyError("not_found", "no such key");
  await pushToGuard(c, record);
  return c.json(record);
});

/** `YYYY-MM-DD` (UTC midnight) or ISO 8601, as ISO 8601 UTC. */
function instant(value: string | undefined, fallback: string, name: string): string {
  if (value === undefined || value === "") return fallback;
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(ms))
    throw new ProxyError("invalid_request", `${name}: expected YYYY-MM-DD or ISO 8601, got "${value}"`);
  return new Date(ms).toISOString();
}

function usageQuery(c: Ctx, groups: readonly GroupBy[], fallback: GroupBy) {
  const now = new Date();
  const from = instant(c.req.query("from"), `${now.toISOString().slice(0, 7)}-01T00:00:00.000Z`, "from");
  const to = instant(c.req.query("to"), now.toISOString(), "to");
  const groupBy = (c.req.query("group_by") ?? fallback) as GroupBy;
  if (!groups.includes(groupBy)) {
    throw new ProxyError("invalid_request", `group_by: expected one of ${groups.join(", ")}`, {
      param: "group_by",
    });
  }
  return { from, to, groupBy };
}

admin.get("/usage", async (c) => {
  const q = usageQuery(c, GROUPS, "key");
  const report = await usageReport(c.env.DB, q);
  return c.json({ from: q.from, to: q.to, group_by: q.groupBy, ...report });
});

admin.get("/keys/:id/usage", async (c) => {
  const id = c.req.param("id");
  if ((await getKey(c.env.DB, id)) === null) throw new ProxyError("not_found", "no such key");
  const q = usageQuery(c, ["day", "model"], "day");
  const report = await usageReport(c.env.DB, { ...q, keyId: id });
  return c.json({ key_id: id, from: q.from, to: q.to, group_by: q.groupBy, ...report });
});
