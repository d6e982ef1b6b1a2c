-- Marks ledger rows whose output count CCProxy estimated: a stream that ended (client gone, upstream
-- dropped, in-stream error) before its final message_delta reported the usage. Documented in
-- src/worker/storage/README.md.
ALTER TABLE usage ADD COLUMN usage_estimated INTEGER NOT NULL DEFAULT 0;  -- 1 = output_tokens is at least the estimate of what was streamed
