// One budget (USD per day or month, tokens per day) checked for one admission, and the refusal a
// client should read when the request does not fit. Three different situations, three answers:
// the budget is really spent (wait for the reset), requests in flight hold what is left (retry in a
// moment, like a concurrency limit), or this one request may cost more than is left (lower max_tokens).

import type { ErrorCode } from "../../shared/errors.ts";

export interface Budget {
  period: "daily" | "monthly";
  unit: "usd" | "tokens";
  limit: number;
  /** Settled usage this period. */
  spent: number;
  /** Reserved by requests still in flight. */
  held: number;
  /** The most this request may use. */
  request: number;
  /** The request's max_tokens, when known, to say what to lower. */
  maxTokens: number | null;
  /** When the period ends (ms). */
  resetAt: number;
}

export interface BudgetRefusal {
  code: ErrorCode;
  message: string;
  retryAfter: number;
}

/** Seconds a client should wait when requests in flight hold the budget: most finish within seconds. */
export const HELD_RETRY_AFTER_S = 2;

/** Cents for dollars, more digits for the small sums a single request costs. */
const usd = (n: number) => `$${n.toFixed(n >= 1 ? 2 : n >= 0.001 || n === 0 ? 4 : 6)}`;
const tokens = (n: number) => `${Math.round(n).toLocaleString("en-US")} tokens`;

function amount(b: Budget, n: number): string {
  return b.unit === "usd" ? usd(n) : tokens(n);
}

function name(b: Budget): string {
  return b.unit === "usd" ? `${b.period} budget of ${usd(b.limit)}` : `daily allowance of ${tokens(b.limit)}`;
}

/** Null when the request fits; otherwise the refusal, most definite reason first. */
export function checkBudget(b: Budget, now: number): BudgetRefusal | null {
  const resets = new Date(b.resetAt).toISOString();
  const untilReset = Math.max(1, Math.ceil((b.resetAt - now) / 1000));
  if (b.spent >= b.limit) {
    return {
      code: "budget_exhausted",
      message: `budget exhausted: this key's ${name(b)} is used up (${amount(b, b.spent)} ${b.unit === "usd" ? "spent" : "used"}); it resets at ${resets}`,
      retryAfter: untilReset,
    };
  }
  const left = Math.max(0, b.limit - b.spent - b.held);
  const when = b.period === "daily" ? "today" : "this month";
  if (b.spent + b.request > b.limit) {
    // Even with every request in flight settled at nothing, this one would not fit.
    const cost =
      b.unit === "usd" ? `could cost up to ${usd(b.request)}` : `could use up to ${tokens(b.request)}`;
    const max = b.maxTokens === null ? "" : ` (max_tokens ${b.maxTokens})`;
    const held = b.held > 0 ? `, and requests in flight hold ${amount(b, b.held)} more` : "";
    return {
      code: "budget_exhausted",
      message: `this request ${cost}${max}; ${amount(b, left)} ${b.unit === "usd" ? "is" : "are"} left ${when} of this key's ${name(b)}${held} — lower max_tokens (it resets at ${resets})`,
      retryAfter: untilReset,
    };
  }
  if (b.spent + b.held + b.request > b.limit) {
    return {
      code: "rate_limited",
      message: `budget held: this key's ${name(b)} has ${amount(b, b.limit - b.spent)} left ${when}, but requests in flight hold ${amount(b, b.held)} of it and this request may need ${amount(b, b.request)}; retry when they finish`,
      retryAfter: HELD_RETRY_AFTER_S,
    };
  }
  return null;
}
