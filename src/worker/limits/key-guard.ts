// KeyGuard: one Durable Object per key, the single place that decides whether a request may run.
// It holds the key's current record (so a revoke or a limit change pushed by the admin API holds on
// the very next request everywhere) and its limits: requests per rolling minute, requests in flight,
// and day/month budgets in USD and tokens, enforced with reservations taken before the request is
// forwarded and settled with the real usage after it. Every check and the reservation happen in one
// synchronous section, so concurrent requests cannot both pass a check meant for one of them.
//
// What it counts survives eviction: the admission times of the last minute and the open reservations
// are written to the object's own storage as they change (and read back when it starts), the settled
// spend lives in its SQLite table. See src/worker/storage/README.md.

import { DurableObject } from "cloudflare:workers";
import type { ErrorCode } from "../../shared/errors.ts";
import { randomBase62 } from "../../shared/ids.ts";
import { getKey, type KeyRecord, keyUnusable, type Mode, modelAllowed } from "../storage/keys.ts";
import { type Budget, checkBudget } from "./budget.ts";
import { MINUTE_MS, nextDay, nextMonth, utcDay, utcMonth } from "./periods.ts";

export { utcDay, utcMonth } from "./periods.ts";

export interface AdmitEstimate {
  /** The most the request may cost; null when its model has no known price. */
  usd: number | null;
  tokens: number;
  /** The request's max_tokens, so a refusal can say what to lower. */
  maxTokens?: number | undefined;
}

export interface AdmitRequest {
  keyId: string;
  /** The mode the route runs in; null for routes any key may call (count_tokens, models). */
  mode: Mode | null;
  /** The upstream model the request asks for, when it names one. */
  model: string | null;
  /** What the request may use; null for requests that spend no tokens (files, batches listings…). */
  estimate: AdmitEstimate | null;
  /**
   * Set (to "METHOD /v1/path") for a call passed through unread that might spend tokens: CCProxy can
   * neither price it nor check its model, so keys with a budget or a model allowlist are refused it.
   */
  unmetered?: string | null;
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
  /** Requests in flight and what they hold of today's and this month's budgets. */
  inFlight: { requests: number; day: Spend; month: Spend };
  requestsLastMinute: number;
  resets: { day: string; month: string };
}

/** A reservation never settled (its Worker died) stops counting after this long. */
const RESERVATION_TTL_MS = 60 * MINUTE_MS;
/** Storage keys: `res:<id>` → Reservation, `adm:<id>` → admission time (ms). */
const RES = "res:";
const ADM = "adm:";
/**
 * Reservation and admission changes are written just after the answer that made them, not before:
 * a write in the admission itself holds its answer until storage confirms it (measured locally: the
 * KeyGuard check went from ~0.7 ms to ~2.3 ms mean; in production it would wait for replication).
 * Written a moment later, and without holding later answers either (allowUnconfirmed), a burst of
 * admissions costs one write; memory stays the authority while the object lives, and an evicted
 * object has long flushed them. Only a crash in that moment could lose one, letting one more in.
 */
const UNCONFIRMED = { allowUnconfirmed: true } as const;
const DELETED = Symbol("deleted");

function hasBudget(r: KeyRecord): boolean {
  return r.budget_usd_day !== null || r.budget_usd_month !== null || r.tokens_per_day !== null;
}

export class KeyGuard extends DurableObject<Env> {
  #record: KeyRecord | null | undefined;
  /** Bumped by every reload, so only the newest one's read is kept. */
  #generation = 0;
  /** Admissions within the last minute, oldest first. */
  readonly #window: Array<{ at: number; id: string }> = [];
  readonly #reservations = new Map<string, Reservation>();
  readonly #spend = new Map<string, Spend>();
  /** Changes to `adm:`/`res:` keys not yet written: key → new value, or DELETED. */
  readonly #unsaved = new Map<string, number | Reservation | typeof DELETED>();
  #flushTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      "CREATE TABLE IF NOT EXISTS spend (period TEXT PRIMARY KEY, usd REAL NOT NULL, tokens INTEGER NOT NULL)",
    );
    // Synchronous reads: nothing can be admitted before the counts are back in memory.
    for (const [key, r] of ctx.storage.kv.list<Reservation>({ prefix: RES })) {
      this.#reservations.set(key.slice(RES.length), r);
    }
    for (const [key, at] of ctx.storage.kv.list<number>({ prefix: ADM })) {
      this.#window.push({ at, id: key.slice(ADM.length) });
    }
    this.#window.sort((a, b) => a.at - b.at);
  }

  /** Records a change to write once the current call has answered (see UNCONFIRMED). */
  #save(key: string, value: number | Reservation | typeof DELETED): void {
    this.#unsaved.set(key, value);
    this.#flushTimer ??= setTimeout(() => this.#flush(), 0);
  }

  #flush(): void {
    this.#flushTimer = null;
    const puts: Record<string, number | Reservation> = {};
    const deletes: string[] = [];
    for (const [key, value] of this.#unsaved) {
      if (value === DELETED) deletes.push(key);
      else puts[key] = value;
    }
    this.#unsaved.clear();
    const writes: Promise<unknown>[] = [];
    // The storage API takes at most 128 keys per call.
    const putKeys = Object.keys(puts);
    for (let i = 0; i < putKeys.length; i += 128) {
      const batch = Object.fromEntries(putKeys.slice(i, i + 128).map((k) => [k, puts[k]]));
      writes.push(this.ctx.storage.put(batch, UNCONFIRMED));
    }
    for (let i = 0; i < deletes.length; i += 128) {
      writes.push(this.ctx.storage.delete(deletes.slice(i, i + 128), UNCONFIRMED));
    }
    Promise.all(writes).catch((e: unknown) => {
      console.error(`KeyGuard storage write failed: ${e instanceof Error ? e.message : String(e)}`);
    });
  }

  async #load(keyId: string): Promise<KeyRecord | null> {
    if (this.#record === undefined || (this.#record !== null && this.#record.id !== keyId)) {
      // No other call (a reload included) runs while the first read is out: a read that began before
      // an admin change committed can never land after the fresher record reload() set, and 50
      // requests hitting a cold object make one D1 read, not 50.
      await this.ctx.blockConcurrencyWhile(async () => {
        if (this.#record === undefined || (this.#record !== null && this.#record.id !== keyId)) {
          this.#record = await getKey(this.env.DB, keyId);
        }
      });
    }
    return this.#record ?? null;
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

  /** Drops admissions older than a minute; the rest are the rpm window. */
  #pruneWindow(now: number): void {
    while (this.#window.length > 0 && (this.#window[0]?.at ?? 0) <= now - MINUTE_MS) {
      const gone = this.#window.shift();
      if (gone !== undefined) this.#save(ADM + gone.id, DELETED);
    }
  }

  /** What open reservations hold of `day` and `month`; expired ones are dropped on the way. */
  #reserved(now: number, day: string, month: string): { day: Spend; month: Spend } {
    const out = { day: { usd: 0, tokens: 0 }, month: { usd: 0, tokens: 0 } };
    for (const [id, r] of this.#reservations) {
      if (now - r.at > RESERVATION_TTL_MS) {
        this.#reservations.delete(id);
        this.#save(RES + id, DELETED);
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

  /** Revoked, expired, mode, model and unmetered calls: the checks that need no counting. */
  #refusal(record: KeyRecord | null, req: AdmitRequest): AdmitResult | null {
    if (record === null) return { ok: false, code: "authentication", message: "invalid CCProxy key" };
    const unusable = keyUnusable(record);
    if (unusable !== null) return { ok: false, code: "authentication", message: unusable };
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
    if (req.unmetered && (hasBudget(record) || record.models !== null)) {
      const why = hasBudget(record) ? "a budget" : "a model allowlist";
      return {
        ok: false,
        code: "permission",
        message:
          `this key has ${why}, and ${req.unmetered} could spend tokens CCProxy cannot meter or check; ` +
          "keys like it may use /v1/messages, count_tokens, and reading or deleting files, batches and models",
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
    this.#pruneWindow(now);
    const window = this.#window;
    if (record.rpm !== null && window.length >= record.rpm) {
      const oldest = window[window.length - record.rpm]?.at ?? now;
      const retryAfter = Math.max(1, Math.ceil((oldest + MINUTE_MS - now) / 1000));
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
    const budgetRefusal = this.#checkBudgets(record, req, now, day, month, reserved);
    if (budgetRefusal !== null) return budgetRefusal;

    const id = randomBase62(12);
    const est = req.estimate;
    const reservation: Reservation = { usd: est?.usd ?? 0, tokens: est?.tokens ?? 0, day, month, at: now };
    window.push({ at: now, id });
    this.#reservations.set(id, reservation);
    this.#save(ADM + id, now);
    this.#save(RES + id, reservation);
    return { ok: true, record, reservation: id };
  }

  #checkBudgets(
    record: KeyRecord,
    req: AdmitRequest,
    now: number,
    day: string,
    month: string,
    reserved: { day: Spend; month: Spend },
  ): AdmitResult | null {
    const est = req.estimate;
    const usdBudgets = [
      { limit: record.budget_usd_day, period: "daily" as const, key: `d:${day}`, held: reserved.day.usd },
      {
        limit: record.budget_usd_month,
        period: "monthly" as const,
        key: `m:${month}`,
        held: reserved.month.usd,
      },
    ];
    if (est !== null && est.usd === null) {
      const priced = usdBudgets.find((b) => b.limit !== null);
      if (priced !== undefined) {
        return {
          ok: false,
          code: "permission",
          message: `no price is known for model "${req.model}", and this key has a ${priced.period} USD budget`,
        };
      }
    }
    // A call that spends nothing (count_tokens, listings) cannot overrun a budget, spent or not.
    if (est === null || ((est.usd ?? 0) === 0 && est.tokens === 0)) return null;

    const budgets: Budget[] = [];
    for (const b of usdBudgets) {
      if (b.limit === null) continue;
      budgets.push({
        period: b.period,
        unit: "usd",
        limit: b.limit,
        spent: this.#spent(b.key).usd,
        held: b.held,
        request: est.usd ?? 0,
        maxTokens: est.maxTokens ?? null,
        resetAt: b.period === "daily" ? nextDay(now) : nextMonth(now),
      });
    }
    if (record.tokens_per_day !== null) {
      budgets.push({
        period: "daily",
        unit: "tokens",
        limit: record.tokens_per_day,
        spent: this.#spent(`d:${day}`).tokens,
        held: reserved.day.tokens,
        request: est.tokens,
        maxTokens: est.maxTokens ?? null,
        resetAt: nextDay(now),
      });
    }
    for (const b of budgets) {
      const refusal = checkBudget(b, now);
      if (refusal !== null) return { ok: false, ...refusal };
    }
    return null;
  }

  /** The request ended: release its reservation and book what it really used. */
  settle(reservation: string, actual: Actual): void {
    const r = this.#reservations.get(reservation);
    if (r !== undefined) {
      this.#reservations.delete(reservation);
      this.#save(RES + reservation, DELETED);
    }
    const now = Date.now();
    const usdSpent = actual.usd ?? 0;
    if (usdSpent === 0 && actual.tokens === 0) return;
    for (const period of [`d:${r?.day ?? utcDay(now)}`, `m:${r?.month ?? utcMonth(now)}`]) {
      // Read (and cache) the total before the write: read after it, a cold cache would count this twice.
      const s = this.#spent(period);
      this.ctx.storage.sql.exec(
        "INSERT INTO spend (period, usd, tokens) VALUES (?, ?, ?) ON CONFLICT(period) DO UPDATE SET usd = usd + excluded.usd, tokens = tokens + excluded.tokens",
        period,
        usdSpent,
        actual.tokens,
      );
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
    this.#pruneWindow(now);
    return {
      record,
      spent: { day: { ...this.#spent(`d:${day}`) }, month: { ...this.#spent(`m:${month}`) } },
      inFlight: { requests: this.#reservations.size, day: reserved.day, month: reserved.month },
      requestsLastMinute: this.#window.length,
      resets: { day: new Date(nextDay(now)).toISOString(), month: new Date(nextMonth(now)).toISOString() },
    };
  }

  /** Called by the admin API after it changed the key in D1; answers with the record now in force. */
  async reload(keyId: string): Promise<KeyRecord | null> {
    const generation = ++this.#generation;
    const record = await getKey(this.env.DB, keyId);
    // Two changes close together: the read that started last saw the newest row; keep that one.
    if (generation === this.#generation) this.#record = record;
    return record;
  }
}
