// KeyGuard: one Durable Object per key, the single place that decides whether a request may run.
// It holds the key's current record, so a revoke or a limit change (pushed by the admin API before
// it answers) takes effect on the very next request in every location.

import { DurableObject } from "cloudflare:workers";
import type { ErrorCode } from "../../shared/errors.ts";
import { getKey, type KeyRecord, type Mode, modelAllowed } from "../storage/keys.ts";

export interface AdmitRequest {
  keyId: string;
  /** The mode the route runs in; null for routes any key may call (models, me, count_tokens). */
  mode: Mode | null;
  /** The upstream model the request asks for, when it names one. */
  model: string | null;
}

export type AdmitResult =
  | { ok: true; record: KeyRecord }
  | { ok: false; code: ErrorCode; message: string; retryAfter?: number };

export class KeyGuard extends DurableObject<Env> {
  #record: KeyRecord | null | undefined;

  async #load(keyId: string): Promise<KeyRecord | null> {
    if (this.#record === undefined || (this.#record !== null && this.#record.id !== keyId)) {
      this.#record = await getKey(this.env.DB, keyId);
    }
    return this.#record;
  }

  async admit(req: AdmitRequest): Promise<AdmitResult> {
    const record = await this.#load(req.keyId);
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
    return { ok: true, record };
  }

  /** Called by the admin API after it changed the key in D1; answers with the record now in force. */
  async reload(keyId: string): Promise<KeyRecord | null> {
    this.#record = await getKey(this.env.DB, keyId);
    return this.#record;
  }
}
