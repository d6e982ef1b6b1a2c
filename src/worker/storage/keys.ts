// Key records in D1: create (returning the secret once), list, read, update, revoke, and the
// hash → id lookup used on every request.

import { type KeyRecord, LIMIT_FIELDS, type Limits, type Mode } from "../../shared/admin-api.ts";
import { randomBase62, sha256Hex } from "../../shared/ids.ts";

export { type KeyRecord, LIMIT_FIELDS, type Limits, MODES, type Mode } from "../../shared/admin-api.ts";

interface KeyRow extends Limits {
  id: string;
  name: string;
  key_prefix: string;
  modes: string;
  models: string | null;
  byo: number;
  expires_at: string | null;
  revoked_at: string | null;
  created_at: string;
  updated_at: string;
}

const COLUMNS =
  "id, name, key_prefix, modes, models, byo, rpm, max_concurrent, budget_usd_day, budget_usd_month, tokens_per_day, expires_at, revoked_at, created_at, updated_at";

function fromRow(row: KeyRow): KeyRecord {
  return {
    id: row.id,
    name: row.name,
    key_prefix: row.key_prefix,
    modes: JSON.parse(row.modes) as Mode[],
    models: row.models === null ? null : (JSON.parse(row.models) as string[]),
    byo: row.byo === 1,
    rpm: row.rpm,
    max_concurrent: row.max_concurrent,
    budget_usd_day: row.budget_usd_day,
    budget_usd_month: row.budget_usd_month,
    tokens_per_day: row.tokens_per_day,
    expires_at: row.expires_at,
    revoked_at: row.revoked_at,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export const KEY_PREFIX = "ccp_";

/** 32 base62 characters ≈ 190 random bits. */
export function newSecret(): string {
  return KEY_PREFIX + randomBase62(32);
}

/** Every field optional, and `undefined` accepted where it is (as zod's output has it). */
type Optional<T> = { [K in keyof T]?: T[K] | undefined };

export interface NewKey extends Optional<Limits> {
  name: string;
  modes: Mode[];
  models?: string[] | null | undefined;
  byo?: boolean | undefined;
  expires_at?: string | null | undefined;
}

export async function createKey(
  db: D1Database,
  input: NewKey,
): Promise<{ record: KeyRecord; secret: string }> {
  const secret = newSecret();
  const now = new Date().toISOString();
  const row: KeyRow = {
    id: `key_${randomBase62(16)}`,
    name: input.name,
    key_prefix: secret.slice(0, KEY_PREFIX.length + 6),
    modes: JSON.stringify(input.modes),
    models: input.models ? JSON.stringify(input.models) : null,
    byo: input.byo ? 1 : 0,
    rpm: input.rpm ?? null,
    max_concurrent: input.max_concurrent ?? null,
    budget_usd_day: input.budget_usd_day ?? null,
    budget_usd_month: input.budget_usd_month ?? null,
    tokens_per_day: input.tokens_per_day ?? null,
    expires_at: input.expires_at ?? null,
    revoked_at: null,
    created_at: now,
    updated_at: now,
  };
  await db
    .prepare(`INSERT INTO keys (${COLUMNS}, key_hash) VALUES (${"?, ".repeat(15)}?)`)
    .bind(
      row.id,
      row.name,
      row.key_prefix,
      row.modes,
      row.models,
      row.byo,
      row.rpm,
      row.max_concurrent,
      row.budget_usd_day,
      row.budget_usd_month,
      row.tokens_per_day,
      row.expires_at,
      row.revoked_at,
      row.created_at,
      row.updated_at,
      await sha256Hex(secret),
    )
    .run();
  return { record: fromRow(row), secret };
}

export async function listKeys(db: D1Database): Promise<KeyRecord[]> {
  const { results } = await db.prepare(`SELECT ${COLUMNS} FROM keys ORDER BY created_at, id`).all<KeyRow>();
  return results.map(fromRow);
}

export async function getKey(db: D1Database, id: string): Promise<KeyRecord | null> {
  const row = await db.prepare(`SELECT ${COLUMNS} FROM keys WHERE id = ?`).bind(id).first<KeyRow>();
  return row ? fromRow(row) : null;
}

/** Why a key may not be used at all any more (revoked, expired), or null. Mode and model are per request. */
export function keyUnusable(record: KeyRecord, now: number = Date.now()): string | null {
  if (record.revoked_at !== null) return "this CCProxy key has been revoked";
  if (record.expires_at !== null && Date.parse(record.expires_at) <= now)
    return `this CCProxy key expired at ${record.expires_at}`;
  return null;
}

export async function findKeyIdByHash(db: D1Database, keyHash: string): Promise<string | null> {
  return db.prepare("SELECT id FROM keys WHERE key_hash = ?").bind(keyHash).first<string>("id");
}

/** A key's record and its stored hash: what a personal sidecar authenticating by key is checked against. */
export async function getKeyWithHash(
  db: D1Database,
  id: string,
): Promise<{ record: KeyRecord; keyHash: string } | null> {
  const row = await db
    .prepare(`SELECT ${COLUMNS}, key_hash FROM keys WHERE id = ?`)
    .bind(id)
    .first<KeyRow & { key_hash: string }>();
  return row ? { record: fromRow(row), keyHash: row.key_hash } : null;
}

export type KeyPatch = Optional<Omit<NewKey, "name"> & { name: string }>;

/** Applies the fields present in `patch`; `null` clears a nullable field. Returns the new record. */
export async function updateKey(db: D1Database, id: string, patch: KeyPatch): Promise<KeyRecord | null> {
  const sets: string[] = [];
  const values: unknown[] = [];
  const set = (column: string, value: unknown) => {
    sets.push(`${column} = ?`);
    values.push(value);
  };
  if (patch.name !== undefined) set("name", patch.name);
  if (patch.modes !== undefined) set("modes", JSON.stringify(patch.modes));
  if (patch.models !== undefined) set("models", patch.models === null ? null : JSON.stringify(patch.models));
  if (patch.byo !== undefined) set("byo", patch.byo ? 1 : 0);
  if (patch.expires_at !== undefined) set("expires_at", patch.expires_at);
  for (const field of LIMIT_FIELDS) if (patch[field] !== undefined) set(field, patch[field]);
  set("updated_at", new Date().toISOString());
  const row = await db
    .prepare(`UPDATE keys SET ${sets.join(", ")} WHERE id = ? RETURNING ${COLUMNS}`)
    .bind(...values, id)
    .first<KeyRow>();
  return row ? fromRow(row) : null;
}

export async function revokeKey(db: D1Database, id: string): Promise<KeyRecord | null> {
  const now = new Date().toISOString();
  const row = await db
    .prepare(
      `UPDATE keys SET revoked_at = COALESCE(revoked_at, ?), updated_at = ? WHERE id = ? RETURNING ${COLUMNS}`,
    )
    .bind(now, now, id)
    .first<KeyRow>();
  return row ? fromRow(row) : null;
}

/** `claude-*` style patterns: `*` matches any run of characters, everything else is literal. */
export function modelAllowed(patterns: string[] | null, model: string): boolean {
  if (patterns === null) return true;
  return patterns.some((p) => {
    const parts = p.split("*");
    if (parts.length === 1) return p === model;
    const first = parts[0] ?? "";
    const last = parts[parts.length - 1] ?? "";
    if (!model.startsWith(first) || !model.endsWith(last) || model.length < first.length + last.length)
      return false;
    let at = first.length;
    for (const part of parts.slice(1, -1)) {
      const found = model.indexOf(part, at);
      if (found === -1 || found + part.length > model.length - last.length) return false;
      at = found + part.length;
    }
    return true;
  });
}
