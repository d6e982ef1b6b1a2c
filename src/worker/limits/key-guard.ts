// KeyGuard: one Durable Object per key, the single place that decides whether a request may run.
// It holds the key's current record (so a revoke or a limit change pushed by the admin API holds on
// the very next request everywhere) and its limits: requests per rolling minute, requests in flight,
// and day/month budgets in USD and tokens, enforced with reservations taken before the request is
// forwarded and settled with the real usage after it. Every check and the reservation happen in one
// synchronous section, so concurrent requests cannot both pass a check meant for one of them.

import { DurableObject } from "cloudflare:workers";
import type { ErrorCode } from "../../shared/errors.ts";
import { randomBase62 } from "../../shared/ids.ts";
import { getKey, type KeyRecord, type Mode, modelAllowed } from "../storage/keys.ts";

export interface AdmitEstimate {
  /** The most the request may cost; null when its model has no known price. */
  usd: number | null;
  tokens: number;
}

export interface AdmitRequest {
  keyId: string;
  /** The mode the route runs in; null for routes any key may call (count_tokens, models). */
  mode: Mode | null;
  /** The upstream model the request asks for, when it names one. */
  model: string | null;
  /** What the request may use; null for requests that spend no tokens (files, batches listings…). */
  estimate: AdmitEstimate | null;
}

export type AdmitResult =
  | { ok: true; record: KeyRecord; reservation: string }
  | { ok: false; code: ErrorCode; message: string; retryAfter?: number };

export interface Actual {
  usd: number | null;
  tokens: number;
}

interface Reservation {
  usd: number;
  tokens: number;
  day: string;
  month: string;
  at: number;
}

interface Spend {
  usd: number;
  tokens: number;
}

export interface GuardStatus {
  record: KeyRecord;
  spent: { day: Spend; month: Spend };
  inFlight: { requests: number; usd: number; tokens: number };
  requestsLastMinute: number;
  resets: { day: string; month: string };
}

const MINUTE_MS = 60_000;
/** A reservation never settled (its Worker died) stops counting after this long. */
const RESERVATION_TTL_MS = 60 * MINUTE_MS;

export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
export const utcMonth = (ms: number): string => new Date(ms).toISOString().slice(0, 7);
function nextDay(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}
function nextMonth(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}
const usd = (n: number) => `$${n.toFixed(n < 1 ? 4 : 2)}`;

export class KeyGuard extends DurableObject<Env> {
  #record: KeyRecord | null | undefined;
  /** Admission times within the last minute, oldest first. */
  #window: number[] = [];
  readonly #reservations = new Map<string, Reservation>();
  readonly #spend = new Map<string, Spend>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS spend (period TEXT PRIMARY KEY, usd REAL NOT NULL, tokens INTEGER NOT NULL)",
    );
  }

  async #load(keyId: string): Promise<KeyRecord | null> {
    if (this.#record === undefined || (this.#record !== null && this.#record.id !== keyId)) {
      this.#record = await getKey(this.env.DB, keyId);
    }
    return this.#record;
  }

  /** Settled spend of a period ("d:2026-11-25", "m:2026-11"), from memory or storage. */
  #spent(period: string): Spend {
    let s = this.#spend.get(period);
    if (s === undefined) {
      const row = this.ctx.storage.sql
        .exec<{ usd: number; tokens: number }>("SELECT usd, tokens FROM spend WHERE period = ?", period)
        .toArray()[0];
      s = { usd: row?.usd ?? 0, tokens: row?.tokens ?? 0 };
      this.#spend.set(period, s);
    }
    return s;
  }

  #reserved(now: number, day: string, month: string): { day: Spend; month: Spend } {
    const out = { day: { usd: 0, tokens: 0 }, month: { usd: 0, tokens: 0 } };
    for (const [id, r] of this.#reservations) {
      if (now - r.at > RESERVATION_TTL_MS) {
        this.#reservations.delete(id);
        continue;
      }
      if (r.day === day) {
        out.day.usd += r.usd;
        out.day.tokens += r.tokens;
      }
      if (r.month === month) {
        out.month.usd += r.usd;
        out.month.tokens += r.tokens;
      }
    }
    return out;
  }

  /** Revoked, expired, mode and model: the checks that need no counting. */
  #refusal(record: KeyRecord | null, req: AdmitRequest): AdmitResult | null {
    if (record === null) return { ok: false, code: "authentication", message: "invalid CCProxy key" };
    if (record.revoked_at !== null) {
      return { ok: false, code: "authentication", message: "this CCProxy key has been revoked" };
    }
    if (record.expires_at !== null && Date.parse(record.expires_at) <= Date.now()) {
      return {
        ok: false,
        code: "authentication",
        message: `this CCProxy key expired at ${record.expires_at}`,
      };
    }
    if (req.mode !== null && !record.modes.includes(req.mode)) {
      const hint = req.mode === "api" ? "API mode (/api/...)" : "Claude Code mode (/v1/..., /cc/...)";
      return { ok: false, code: "permission", message: `this key is not allowed to use ${hint}` };
    }
    if (req.model !== null && !modelAllowed(record.models, req.model)) {
      return {
        ok: false,
        code: "permission",
        message: `this key is not allowed to use model "${req.model}"`,
      };
    }
    return null;
  }

  async admit(req: AdmitRequest): Promise<AdmitResult> {
    const record = await this.#load(req.keyId);
    // From here on nothing awaits: the checks and the reservation are one atomic step.
    const refused = this.#refusal(record, req);
    if (refused !== null || record === null)
      return refused ?? { ok: false, code: "internal", message: "no record" };

    const now = Date.now();
    const window = this.#window;
    while (window.length > 0 && (window[0] ?? 0) <= now - MINUTE_MS) window.shift();
    if (record.rpm !== null && window.length >= record.rpm) {
      const retryAfter = Math.max(1, Math.ceil(((window[0] ?? now) + MINUTE_MS - now) / 1000));
      return {
        ok: false,
        code: "rate_limited",
        message: `rate limit: this key allows ${record.rpm} requests per minute`,
        retryAfter,
      };
    }
    const day = utcDay(now);
    const month = utcMonth(now);
    const reserved = this.#reserved(now, day, month);
    if (record.max_concurrent !== null && this.#reservations.size >= record.max_concurrent) {
      return {
        ok: false,
        code: "rate_limited",
        message: `concurrency limit: this key allows ${record.max_concurrent} requests at once`,
        retryAfter: 1,
      };
    }
    const est = req.estimate;
    const budgets = [
      {
        limit: record.budget_usd_day,
        period: "daily",
        spent: this.#spent(`d:${day}`).usd,
        held: reserved.day.usd,
      },
      {
        limit: record.budget_usd_month,
        period: "monthly",
        spent: this.#spent(`m:${month}`).usd,
        held: reserved.month.usd,
      },
    ];
    for (const b of budgets) {
      if (b.limit === null) continue;
      if (est !== null && est.usd === null) {
        return {
          ok: false,
          code: "permission",
          message: `no price is known for model "${req.model}", and this key has a ${b.period} USD budget`,
        };
      }
      if (b.spent + b.held + (est?.usd ?? 0) > b.limit || b.spent >= b.limit) {
        const resetAt = b.period === "daily" ? nextDay(now) : nextMonth(now);
        return {
          ok: false,
          code: "budget_exhausted",
          message:
            `budget exhausted: this key's ${b.period} budget of ${usd(b.limit)} is used up ` +
            `(${usd(b.spent)} spent, ${usd(b.held)} held by requests in flight, this request may cost up to ${usd(est?.usd ?? 0)}); ` +
            `it resets at ${new Date(resetAt).toISOString()}`,
          retryAfter: Math.ceil((resetAt - now) / 1000),
        };
      }
    }
    if (record.tokens_per_day !== null) {
      const spent = this.#spent(`d:${day}`).tokens;
      if (
        spent + reserved.day.tokens + (est?.tokens ?? 0) > record.tokens_per_day ||
        spent >= record.tokens_per_day
      ) {
        const resetAt = nextDay(now);
        return {
          ok: false,
          code: "budget_exhausted",
          message:
            `budget exhausted: this key's daily allowance of ${record.tokens_per_day} tokens is used up ` +
            `(${spent} used, ${reserved.day.tokens} held by requests in flight); it resets at ${new Date(resetAt).toISOString()}`,
          retryAfter: Math.ceil((resetAt - now) / 1000),
        };
      }
    }
    window.push(now);
    const id = randomBase62(12);
    this.#reservations.set(id, { usd: est?.usd ?? 0, tokens: est?.tokens ?? 0, day, month, at: now });
    return { ok: true, record, reservation: id };
  }

  /** The request ended: release its reservation and book what it really used. */
  settle(reservation: string, actual: Actual): void {
    const r = this.#reservations.get(reservation);
    this.#reservations.delete(reservation);
    const now = Date.now();
    const usdSpent = actual.usd ?? 0;
    if (usdSpent === 0 && actual.tokens === 0) return;
    for (const period of [`d:${r?.day ?? utcDay(now)}`, `m:${r?.month ?? utcMonth(now)}`]) {
      this.ctx.storage.sql.exec(
        "INSERT INTO spend (period, usd, tokens) VALUES (?, ?, ?) ON CONFLICT(period) DO UPDATE SET usd = usd + excluded.usd, tokens = tokens + excluded.tokens",
        period,
        usdSpent,
        actual.tokens,
      );
      const s = this.#spent(period);
      this.#spend.set(period, { usd: s.usd + usdSpent, tokens: s.tokens + actual.tokens });
    }
  }

  /** For GET /v1/me: the record and what is spent, held and left, without counting as a request. */
  async status(keyId: string): Promise<GuardStatus | AdmitResult> {
    const record = await this.#load(keyId);
    const refused = this.#refusal(record, { keyId, mode: null, model: null, estimate: null });
    if (refused !== null || record === null)
      return refused ?? { ok: false, code: "internal", message: "no record" };
    const now = Date.now();
    const day = utcDay(now);
    const month = utcMonth(now);
    const reserved = this.#reserved(now, day, month);
    while (this.#window.length > 0 && (this.#window[0] ?? 0) <= now - MINUTE_MS) this.#window.shift();
    return {
      record,
      spent: { day: { ...this.#spent(`d:${day}`) }, month: { ...this.#spent(`m:${month}`) } },
      inFlight: { requests: this.#reservations.size, usd: reserved.month.usd, tokens: reserved.day.tokens },
      requestsLastMinute: this.#window.length,
      resets: { day: new Date(nextDay(now)).toISOString(), month: new Date(nextMonth(now)).toISOString() },
    };
  }

  /** Called by the admin API after it changed the key in D1; answers with the record now in force. */
  async reload(keyId: string): Promise<KeyRecord | null> {
    this.#record = await getKey(this.env.DB, keyId);
    return this.#record;
  }
}
