-- CCProxy keys. The key itself is never stored: only its SHA-256 (hex) and a short display prefix.
-- Documented in src/worker/storage/README.md.
CREATE TABLE keys (
  id TEXT PRIMARY KEY,                 -- "key_" + 16 base62 characters, public
  name TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,       -- sha256(full key) as 64 hex characters; the lookup index
  key_prefix TEXT NOT NULL,            -- "ccp_" + first 6 characters, to recognise a key in lists
  modes TEXT NOT NULL,                 -- JSON array of "api" | "claude-code"
  models TEXT,                         -- JSON array of glob patterns ("claude-*"); NULL = every model
  byo INTEGER NOT NULL DEFAULT 0,      -- 1: may bring its own upstream credential (x-ccproxy-key)
  rpm INTEGER,                         -- requests per rolling minute; NULL = unlimited
  max_concurrent INTEGER,
  budget_usd_day REAL,
  budget_usd_month REAL,
  tokens_per_day INTEGER,
  expires_at TEXT,                     -- ISO 8601 UTC; NULL = never
  revoked_at TEXT,                     -- ISO 8601 UTC; set once, never cleared
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
