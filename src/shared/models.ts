// Model aliases: which Claude model a client's model name (an OpenAI name, or a short Claude name)
// runs on. Configured as a flat JSON object; keys ending in `*` are prefix rules.
import { z } from "zod";

/** Current models per family (`@anthropic-ai/sdk` 1.13.0 lists these first; Claude Code 2.1.331 defaults to Opus 5.5). */
export const CLAUDE_OPUS = "claude-opus-5-5";
export const CLAUDE_SONNET = "claude-sonnet-5-5";
export const CLAUDE_HAIKU = "claude-haiku-5-5";

/**
 * The built-in rules, in the same shape an operator writes in `MODEL_ALIASES`. Flagship OpenAI names
 * go to Opus or Sonnet, their `mini`/`nano` tiers one step down; reasoning (o-series) names to Opus.
 */
export const DEFAULT_ALIAS_RULES: Readonly<Record<string, string>> = Object.freeze({
  "gpt-5*": CLAUDE_OPUS,
  "gpt-5-mini*": CLAUDE_SONNET,
  "gpt-5-nano*": CLAUDE_HAIKU,
  "gpt-4.1*": CLAUDE_SONNET,
  "gpt-4.1-mini*": CLAUDE_HAIKU,
  "gpt-4.1-nano*": CLAUDE_HAIKU,
  "gpt-4o*": CLAUDE_SONNET,
  "gpt-4o-mini*": CLAUDE_HAIKU,
  "chatgpt-4o-latest": CLAUDE_SONNET,
  "gpt-4*": CLAUDE_SONNET,
  "gpt-3.5*": CLAUDE_HAIKU,
  "o1*": CLAUDE_OPUS,
  "o1-mini*": CLAUDE_SONNET,
  "o3*": CLAUDE_OPUS,
  "o3-mini*": CLAUDE_SONNET,
  "o4-mini*": CLAUDE_SONNET,
  opus: CLAUDE_OPUS,
  sonnet: CLAUDE_SONNET,
  haiku: CLAUDE_HAIKU,
});

export interface ModelAliasTable {
  /** Lower-cased client name → target model. */
  readonly exact: ReadonlyMap<string, string>;
  /** Lower-cased prefix → target, longest prefix first so the most specific rule wins. */
  readonly prefix: ReadonlyArray<readonly [prefix: string, target: string]>;
}

const KEY = /^[^\s*]+\*?$/;
const TARGET = /^\S+$/;

/** `null` removes a built-in rule; any other value adds or replaces one. */
const AliasConfig = z.record(
  z.string().regex(KEY, "a model name, optionally ending in * for a prefix rule (no spaces, no other *)"),
  z.string().regex(TARGET, "a non-empty model id without spaces").nullable(),
);

/** Builds a table from rules in the config shape. Later rules win; rules are not chained. */
export function aliasTable(rules: Readonly<Record<string, string | null>>): ModelAliasTable {
  const exact = new Map<string, string>();
  const prefix = new Map<string, string>();
  for (const [rawKey, target] of Object.entries(rules)) {
    const key = rawKey.toLowerCase();
    const isPrefix = key.endsWith("*");
    const map = isPrefix ? prefix : exact;
    const name = isPrefix ? key.slice(0, -1) : key;
    if (target === null) map.delete(name);
    else map.set(name, target);
  }
  const sorted = [...prefix].sort((a, b) => b[0].length - a[0].length || (a[0] < b[0] ? -1 : 1));
  return Object.freeze({ exact, prefix: Object.freeze(sorted) });
}

export const DEFAULT_MODEL_ALIASES: ModelAliasTable = aliasTable(DEFAULT_ALIAS_RULES);

/**
 * Parses the `MODEL_ALIASES` setting (a JSON object, merged over the built-in rules) and fails fast
 * with a message naming the bad entry. An empty or absent setting means the defaults.
 */
export function parseModelAliases(config: string | undefined | null): ModelAliasTable {
  if (config === undefined || config === null || config.trim() === "") return DEFAULT_MODEL_ALIASES;
  let raw: unknown;
  try {
    raw = JSON.parse(config);
  } catch (err) {
    throw new Error(`MODEL_ALIASES is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = AliasConfig.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where =
      issue && issue.path.length > 0 ? `MODEL_ALIASES[${JSON.stringify(issue.path[0])}]` : "MODEL_ALIASES";
    let what = issue?.message;
    if (issue?.code === "invalid_type" && issue.path.length === 0) what = "must be a JSON object";
    else if (issue?.code === "invalid_key") what = issue.issues[0]?.message ?? what;
    throw new Error(
      `${where}: ${what ?? "invalid"}. Expected {"client-name": "claude-model", "prefix*": "claude-model", "name": null}.`,
    );
  }
  return aliasTable({ ...DEFAULT_ALIAS_RULES, ...parsed.data });
}

/** Exact rule, else the longest matching prefix rule, else the name unchanged (real Claude ids pass). */
export function resolveModel(table: ModelAliasTable, name: string): string {
  const key = name.toLowerCase();
  const exact = table.exact.get(key);
  if (exact !== undefined) return exact;
  for (const [prefix, target] of table.prefix) {
    if (key.startsWith(prefix)) return target;
  }
  return name;
}

/** One `/v1/models` entry that both SDKs parse: Anthropic's fields and OpenAI's. */
export interface ModelListEntry {
  type: "model";
  id: string;
  display_name: string;
  created_at: string;
  object: "model";
  created: number;
  owned_by: string;
}

export function modelListEntry(
  id: string,
  displayName: string,
  createdAt: Date,
  ownedBy = "anthropic",
): ModelListEntry {
  return {
    type: "model",
    id,
    display_name: displayName,
    created_at: createdAt.toISOString().replace(".000Z", "Z"),
    object: "model",
    created: Math.floor(createdAt.getTime() / 1000),
    owned_by: ownedBy,
  };
}

/** Aliases have no release date of their own; a fixed one keeps the list stable between calls. */
const ALIAS_CREATED = new Date("2026-11-01T00:00:00Z");

/** The list entry of one client model name that runs on `target`. */
export function aliasModelEntry(id: string, target: string, createdAt: Date = ALIAS_CREATED): ModelListEntry {
  return modelListEntry(id, `${id} (alias of ${target})`, createdAt, "ccproxy");
}

/**
 * List entries for every alias (prefix rules listed by their prefix, which resolves through them),
 * sorted by id, each naming its target in `display_name`.
 */
export function aliasModelEntries(table: ModelAliasTable, createdAt: Date = ALIAS_CREATED): ModelListEntry[] {
  const ids = new Map<string, string>();
  for (const [name, target] of table.exact) ids.set(name, target);
  for (const [prefix, target] of table.prefix) if (!ids.has(prefix)) ids.set(prefix, target);
  return [...ids]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([id, target]) => aliasModelEntry(id, target, createdAt));
}
