// Which Claude Code session a conversation continues. After a run completes, the conversation it
// answered plus the answer it produced is hashed (per key) and mapped to the SDK's session id; a
// follow-up whose earlier turns hash the same resumes that session. Kept in memory: after a restart
// a follow-up simply starts a new session with the earlier turns as context.
import { createHash } from "node:crypto";
import type { MessageParam } from "../shared/anthropic/types.ts";
import type { TokenUsage } from "../shared/pricing.ts";

export interface SessionEntry {
  sessionId: string;
  /** The session's running totals after that run (the SDK reports resumed sessions cumulatively). */
  totals: TokenUsage;
  costUsd: number;
}

/**
 * A digest of a conversation as both wire formats can send it back: per turn its role and its
 * text (blocks joined, trimmed: OpenAI clients hold one string where Anthropic clients hold blocks),
 * images and documents by their data, tool blocks as JSON; thinking is left out (OpenAI clients
 * drop it and its signature is not content).
 */
export function conversationDigest(keyId: string, system: string, messages: readonly MessageParam[]): string {
  const h = createHash("sha256");
  h.update(`ccproxy-conversation-v1\0${keyId}\0${system.trim()}\0`);
  for (const m of messages) {
    h.update(`\u0001${m.role}\u0002`);
    if (typeof m.content === "string") {
      h.update(m.content.trim());
      continue;
    }
    let text = "";
    const other: string[] = [];
    for (const b of m.content) {
      switch (b.type) {
        case "text":
          text += typeof b.text === "string" ? b.text : "";
          break;
        case "thinking":
        case "redacted_thinking":
          break;
        default:
          other.push(JSON.stringify(b.type === "image" || b.type === "document" ? [b.type, b.source] : b));
      }
    }
    h.update(text.trim());
    for (const o of other) h.update(`\u0003${o}`);
  }
  return h.digest("hex");
}

/** A bounded, expiring map from conversation digests to sessions. */
export class SessionMap {
  readonly #max: number;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, SessionEntry & { at: number }>();

  constructor(opts: { max?: number; ttlMs?: number; now?: () => number } = {}) {
    this.#max = opts.max ?? 10_000;
    this.#ttlMs = opts.ttlMs ?? 7 * 24 * 3600 * 1000;
    this.#now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(digest: string): SessionEntry | undefined {
    const e = this.#entries.get(digest);
    if (e === undefined) return undefined;
    if (this.#now() - e.at > this.#ttlMs) {
      this.#entries.delete(digest);
      return undefined;
    }
    // Re-insert: Map order is the LRU order.
    this.#entries.delete(digest);
    this.#entries.set(digest, e);
    return { sessionId: e.sessionId, totals: e.totals, costUsd: e.costUsd };
  }

  set(digest: string, entry: SessionEntry): void {
    this.#entries.delete(digest);
    this.#entries.set(digest, { ...entry, at: this.#now() });
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  delete(digest: string): void {
    this.#entries.delete(digest);
  }
}
