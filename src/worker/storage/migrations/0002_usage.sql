-- The usage ledger: one row per request a key made, written after the response (never delaying it).
-- Documented in src/worker/storage/README.md.
CREATE TABLE usage (
  request_id TEXT PRIMARY KEY,           -- CCProxy's x-request-id
  key_id TEXT NOT NULL,
  created_at TEXT NOT NULL,              -- ISO 8601 UTC, when the request arrived
  day TEXT NOT NULL,                     -- YYYY-MM-DD (UTC) of created_at, for grouping
  mode TEXT NOT NULL,                    -- "api" | "claude-code" | "any" (count_tokens and other free routes)
  route TEXT NOT NULL,                   -- method and path, e.g. "POST /api/v1/messages"
  format TEXT NOT NULL,                  -- "anthropic" | "openai"
  model_requested TEXT,                  -- the name the client sent
  model_upstream TEXT,                   -- the model that answered (as the upstream reported it) or was asked of it
  status INTEGER NOT NULL,
  stream INTEGER NOT NULL,               -- 1 for a streamed response
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cache_creation_input_tokens INTEGER NOT NULL,
  cache_read_input_tokens INTEGER NOT NULL,
  cost_usd REAL,                         -- NULL: tokens were used but no price is known (never guessed)
  ttfb_ms INTEGER,                       -- time to the first response byte
  duration_ms INTEGER NOT NULL,
  outcome TEXT NOT NULL,                 -- "complete" | "aborted" (client left) | "error" (stream failed) | "refused"
  error_type TEXT                        -- Anthropic error type, if the request failed
);
CREATE INDEX usage_by_time ON usage (created_at);
CREATE INDEX usage_by_key_time ON usage (key_id, created_at);
