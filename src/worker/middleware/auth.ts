// Who is calling: the CCProxy key from `x-ccproxy-key`, `x-api-key` or `Authorization: Bearer`,
// checked by hash, then admitted (revocation, expiry, mode, model) by the key's KeyGuard object.

import { ProxyError } from "../../shared/errors.ts";
import { sha256Hex } from "../../shared/ids.ts";
import type { Ctx } from "../context.ts";
import type { AdmitRequest, GuardStatus } from "../limits/key-guard.ts";
import { findKeyIdByHash, KEY_PREFIX, type KeyRecord } from "../storage/keys.ts";

export interface Identity {
  keyId: string;
  /** True when the key came in `x-ccproxy-key`, leaving `authorization`/`x-api-key` to the client's own credential. */
  viaCcproxyHeader: boolean;
}

export interface Caller extends Identity {
  record: KeyRecord;
  /** The KeyGuard reservation this request holds until it is settled. */
  reservation: string;
}

/** hash → key id. Ids never change for a hash, so entries never go stale; unknown hashes are kept briefly. */
const idCache = new Map<string, { id: string | null; until: number }>();
const NEGATIVE_TTL_MS = 60_000;
const CACHE_MAX = 10_000;

function presentedKey(headers: Headers): { key: string; viaCcproxyHeader: boolean } | null {
  const own = headers.get("x-ccproxy-key");
  if (own) return { key: own.trim(), viaCcproxyHeader: true };
  const apiKey = headers.get("x-api-key");
  if (apiKey) return { key: apiKey.trim(), viaCcproxyHeader: false };
  const auth = headers.get("authorization");
  if (auth) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m?.[1]) return { key: m[1], viaCcproxyHeader: false };
  }
  return null;
}

export async function identify(c: Ctx): Promise<Identity> {
  const presented = presentedKey(c.req.raw.headers);
  if (presented === null) {
    throw new ProxyError(
      "authentication",
      "missing CCProxy key: send it as x-api-key, Authorization: Bearer, or x-ccproxy-key",
    );
  }
  if (!presented.key.startsWith(KEY_PREFIX)) throw new ProxyError("authentication", "invalid CCProxy key");
  const hash = await sha256Hex(presented.key);
  const now = Date.now();
  let entry = idCache.get(hash);
  if (entry === undefined || (entry.id === null && entry.until < now)) {
    const id = await findKeyIdByHash(c.env.DB, hash);
    if (idCache.size >= CACHE_MAX) idCache.clear();
    entry = { id, until: now + NEGATIVE_TTL_MS };
    idCache.set(hash, entry);
  }
  if (entry.id === null) throw new ProxyError("authentication", "invalid CCProxy key");
  return { keyId: entry.id, viaCcproxyHeader: presented.viaCcproxyHeader };
}

export function keyGuard(c: Ctx, keyId: string) {
  return c.env.KEYS.get(c.env.KEYS.idFromName(keyId));
}

export async function admit(c: Ctx, identity: Identity, req: Omit<AdmitRequest, "keyId">): Promise<Caller> {
  const result = await keyGuard(c, identity.keyId).admit({ keyId: identity.keyId, ...req });
  if (!result.ok) {
    throw new ProxyError(
      result.code,
      result.message,
      result.retryAfter === undefined ? {} : { retryAfter: result.retryAfter },
    );
  }
  return { ...identity, record: result.record, reservation: result.reservation };
}

/** A valid key's current state (routes that spend nothing: /v1/me, /v1/models); refusals as 401. */
export async function authenticate(c: Ctx): Promise<{ identity: Identity; status: GuardStatus }> {
  const identity = await identify(c);
  const status = await keyGuard(c, identity.keyId).status(identity.keyId);
  if ("ok" in status) {
    const refusal = status.ok ? null : status;
    throw new ProxyError(refusal?.code ?? "internal", refusal?.message ?? "unexpected key state");
  }
  return { identity, status };
}

/**
 * The credential headers the upstream request carries: the client's own (bring your own seat, only
 * for keys that allow it and only via `x-ccproxy-key`), else the team key as `x-api-key`.
 */
export function upstreamCredential(c: Ctx, caller: Caller): Headers {
  const out = new Headers();
  const client = c.req.raw.headers;
  if (caller.viaCcproxyHeader && caller.record.byo) {
    const auth = client.get("authorization");
    const apiKey = client.get("x-api-key");
    if (auth !== null) out.set("authorization", auth);
    if (apiKey !== null) out.set("x-api-key", apiKey);
    if (auth !== null || apiKey !== null) return out;
  }
  const team = c.get("config").upstreamKey;
  if (team === undefined) {
    throw new ProxyError(
      "unavailable",
      "CCProxy has no upstream credential configured (the ANTHROPIC_API_KEY secret is not set).",
    );
  }
  out.set("x-api-key", team);
  return out;
}
