// The model catalogue behind GET /v1/models: a handful of current Claude models plus any names the
// mock was started with, newest first as the API lists them.

export interface ModelInfo {
  type: "model";
  id: string;
  display_name: string;
  created_at: string;
}

// The 5.x entries are the defaults of the Claude Code release CCProxy targets (2.1.331); their
// created_at stamps are placeholders, not the real release dates.
const BUILT_IN: readonly ModelInfo[] = [
  ["claude-opus-5-5", "Claude Opus 5.5", "2026-08-01T00:00:00Z"],
  ["claude-sonnet-5-5", "Claude Sonnet 5.5", "2026-08-01T00:00:00Z"],
  ["claude-haiku-5-5", "Claude Haiku 5.5", "2026-08-01T00:00:00Z"],
  ["claude-opus-4-5", "Claude Opus 4.5", "2025-11-24T00:00:00Z"],
  ["claude-haiku-4-5", "Claude Haiku 4.5", "2025-10-15T00:00:00Z"],
  ["claude-sonnet-4-5", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"],
  ["claude-opus-4-1", "Claude Opus 4.1", "2025-08-05T00:00:00Z"],
  ["claude-opus-4-20250514", "Claude Opus 4", "2025-05-22T00:00:00Z"],
  ["claude-sonnet-4-20250514", "Claude Sonnet 4", "2025-05-22T00:00:00Z"],
  ["claude-3-7-sonnet-20250219", "Claude Sonnet 3.7", "2025-02-24T00:00:00Z"],
  ["claude-3-5-haiku-20241022", "Claude Haiku 3.5", "2024-10-22T00:00:00Z"],
].map(([id, display_name, created_at]) => ({ type: "model", id, display_name, created_at }) as ModelInfo);

/** "claude-foo-4-5" → "Claude Foo 4.5"; other names are shown as they are. */
function displayName(id: string): string {
  const m = /^claude-([a-z]+)-(\d+)-(\d+)$/.exec(id);
  if (!m) return id;
  const family = m[1] as string;
  return `Claude ${family[0]?.toUpperCase()}${family.slice(1)} ${m[2]}.${m[3]}`;
}

export function modelCatalogue(extra: readonly string[] = []): ModelInfo[] {
  const known = new Set(BUILT_IN.map((m) => m.id));
  const added = [...new Set(extra)]
    .filter((id) => !known.has(id))
    .map(
      (id): ModelInfo => ({
        type: "model",
        id,
        display_name: displayName(id),
        created_at: "2026-01-01T00:00:00Z",
      }),
    );
  return [...added, ...BUILT_IN];
}
