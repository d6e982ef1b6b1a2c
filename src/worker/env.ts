// The Worker's one typed environment (wrangler's generated bindings plus the secrets) and its config,
// parsed once per isolate into a frozen object that fails fast with a readable message.

import { z } from "zod";
import { type ModelAliasTable, parseModelAliases } from "../shared/models.ts";

declare global {
  interface __BaseEnv_Env {
    /** The team's Anthropic API key, injected upstream as `x-api-key`. Secret. Never logged or returned. */
    ANTHROPIC_API_KEY?: string;
    /** Bearer token for `/admin/*`. Secret. Generate with `openssl rand -base64 32`. Unset: admin API disabled. */
    ADMIN_TOKEN?: string;
    /** Shared secret that sidecars prove knowledge of when they dial `/tunnel`. Secret. */
    TUNNEL_SECRET?: string;
    /** JSON table of model aliases (see src/shared/models.ts); defaults built in. */
    MODEL_ALIASES?: string;
    /** `max_tokens` for OpenAI-format requests that send none. Default 4096. */
    DEFAULT_MAX_TOKENS?: string;
    /** Largest accepted request body in bytes. Default 33554432 (32 MiB, as the Anthropic API). */
    MAX_BODY_BYTES?: string;
    /** How long a Claude Code mode request waits for a free sidecar before a 503/529, in ms. Default 5000. */
    SIDECAR_WAIT_MS?: string;
    /** Model turns a Claude Code run is assumed to take when its cost is reserved against a budget. Default 10. */
    CC_RESERVE_TURNS?: string;
  }
}

export type AppBindings = Env;

const positiveInt = (name: string, fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return fallback;
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n <= 0) {
        ctx.addIssue({ code: "custom", message: `${name} must be a positive integer` });
        return z.NEVER;
      }
      return n;
    });

const ConfigSchema = z.object({
  ANTHROPIC_BASE_URL: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const raw = v?.trim() || "https://api.anthropic.com";
      try {
        const url = new URL(raw);
        if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error("scheme");
        if (url.search || url.hash) throw new Error("query");
        return url;
      } catch {
        ctx.addIssue({
          code: "custom",
          message: "ANTHROPIC_BASE_URL must be an http(s) URL without query or fragment",
        });
        return z.NEVER;
      }
    }),
  ANTHROPIC_API_KEY: z.string().optional(),
  ADMIN_TOKEN: z.string().optional(),
  TUNNEL_SECRET: z.string().optional(),
  MODEL_ALIASES: z.string().optional(),
  DEFAULT_MAX_TOKENS: positiveInt("DEFAULT_MAX_TOKENS", 4096),
  MAX_BODY_BYTES: positiveInt("MAX_BODY_BYTES", 32 * 1024 * 1024),
  SIDECAR_WAIT_MS: positiveInt("SIDECAR_WAIT_MS", 5000),
  CC_RESERVE_TURNS: positiveInt("CC_RESERVE_TURNS", 10),
});

export interface Config {
  readonly upstreamBase: URL;
  readonly upstreamKey: string | undefined;
  readonly adminToken: string | undefined;
  readonly tunnelSecret: string | undefined;
  readonly modelAliases: ModelAliasTable;
  readonly defaultMaxTokens: number;
  readonly maxBodyBytes: number;
  readonly sidecarWaitMs: number;
  readonly ccReserveTurns: number;
}

/**
 * A Worker variable that cannot be used. Its message names the variable and the rule, never the
 * value: a secret pasted into the wrong variable must not reach a log line or a client.
 */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const cache = new WeakMap<object, Config>();

export function loadConfig(env: AppBindings): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  const parsed = ConfigSchema.safeParse(env);
  if (!parsed.success) {
    // Only our own messages (custom issues name the variable); zod's built-in ones could quote input.
    const reasons = parsed.error.issues.map((i) =>
      i.code === "custom" ? i.message : `${String(i.path[0] ?? "a variable")} has the wrong type`,
    );
    throw new ConfigError(`invalid configuration: ${reasons.join("; ")}`);
  }
  const e = parsed.data;
  const nonEmpty = (s: string | undefined) => (s && s.length > 0 ? s : undefined);
  let modelAliases: ModelAliasTable;
  try {
    modelAliases = parseModelAliases(nonEmpty(e.MODEL_ALIASES));
  } catch {
    // The parser's own message may quote the value (JSON.parse does), so it is not passed on.
    throw new ConfigError(
      "invalid configuration: MODEL_ALIASES must be a JSON object of alias → model (see src/shared/models.ts)",
    );
  }
  const config: Config = Object.freeze({
    upstreamBase: e.ANTHROPIC_BASE_URL,
    upstreamKey: nonEmpty(e.ANTHROPIC_API_KEY),
    adminToken: nonEmpty(e.ADMIN_TOKEN),
    tunnelSecret: nonEmpty(e.TUNNEL_SECRET),
    modelAliases,
    defaultMaxTokens: e.DEFAULT_MAX_TOKENS,
    maxBodyBytes: e.MAX_BODY_BYTES,
    sidecarWaitMs: e.SIDECAR_WAIT_MS,
    ccReserveTurns: e.CC_RESERVE_TURNS,
  });
  cache.set(env, config);
  return config;
}
