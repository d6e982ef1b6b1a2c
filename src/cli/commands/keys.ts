// `ccproxy keys create|list|show|update|revoke`: one admin API call each, printed as a table, a field
// list, or (with --json) the API's JSON.

import { isCreatedKey, isKeyList, isKeyRecord, type KeyRecord } from "../api.ts";
import { call, unexpected } from "../client.ts";
import { UsageError } from "../errors.ts";
import { formatTime } from "../format.ts";
import { createdKey, keyFields, keysTable } from "../render/keys.ts";
import { type Context, printJson } from "./context.ts";
import { keyBody } from "./key-body.ts";

function keyId(ctx: Context): string {
  const id = ctx.args[0]?.trim();
  if (!id) throw new UsageError("the key id is empty", ctx.command);
  return id;
}

const keyPath = (id: string) => `/keys/${encodeURIComponent(id)}`;

async function oneKey(ctx: Context, method: "GET" | "PATCH" | "DELETE", body?: unknown): Promise<KeyRecord> {
  const id = keyId(ctx);
  const res = await call(ctx.conn, { method, path: keyPath(id), keyId: id, ...(body ? { body } : {}) });
  if (!isKeyRecord(res)) throw unexpected(ctx.conn, `${method} /admin/keys/${id}`);
  return res;
}

export async function createKey(ctx: Context): Promise<void> {
  if (ctx.values.name === undefined) throw new UsageError("keys create needs --name NAME", "keys create");
  const body = keyBody(ctx.values, "keys create", ctx.now);
  const res = await call(ctx.conn, { method: "POST", path: "/keys", body });
  if (!isCreatedKey(res)) throw unexpected(ctx.conn, "POST /admin/keys");
  if (ctx.values.json) printJson(ctx, res);
  else ctx.print(createdKey(res, ctx.now));
}

export async function listKeys(ctx: Context): Promise<void> {
  const res = await call(ctx.conn, { method: "GET", path: "/keys" });
  if (!isKeyList(res)) throw unexpected(ctx.conn, "GET /admin/keys");
  const all = ctx.values.all === true;
  const keys = all ? res.data : res.data.filter((k) => k.revoked_at === null);
  if (ctx.values.json) return printJson(ctx, { ...res, data: keys });
  const hidden = res.data.length - keys.length;
  const note = hidden > 0 ? `(${hidden} revoked key${hidden === 1 ? "" : "s"} hidden; --all shows them)` : "";
  if (keys.length === 0) {
    ctx.print([hidden > 0 ? `No active keys. ${note}` : "No keys yet: ccproxy keys create --name NAME"]);
    return;
  }
  ctx.print([...keysTable(keys, ctx.now), ...(note ? ["", note] : [])]);
}

export async function showKey(ctx: Context): Promise<void> {
  const key = await oneKey(ctx, "GET");
  if (ctx.values.json) printJson(ctx, key);
  else ctx.print(keyFields(key, ctx.now));
}

export async function updateKey(ctx: Context): Promise<void> {
  const body = keyBody(ctx.values, "keys update", ctx.now);
  if (Object.keys(body).length === 0)
    throw new UsageError("nothing to change: give at least one option", "keys update");
  const key = await oneKey(ctx, "PATCH", body);
  if (ctx.values.json) printJson(ctx, key);
  else ctx.print([`Updated key ${key.id} (${key.name}).`, "", ...keyFields(key, ctx.now)]);
}

export async function revokeKey(ctx: Context): Promise<void> {
  const key = await oneKey(ctx, "DELETE");
  if (ctx.values.json) return printJson(ctx, key);
  // The API keeps the first revocation time and bumps updated_at: different times mean it was already revoked.
  const already = key.revoked_at !== null && key.revoked_at !== key.updated_at;
  ctx.print([
    already
      ? `Key ${key.id} (${key.name}) was already revoked on ${formatTime(key.revoked_at)}.`
      : `Revoked key ${key.id} (${key.name}): it is refused from now on.`,
  ]);
}
