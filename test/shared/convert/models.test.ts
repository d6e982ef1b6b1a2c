// The model alias table: defaults, exact and prefix rules, config parsing, and /v1/models entries.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  aliasModelEntries,
  CLAUDE_HAIKU,
  CLAUDE_OPUS,
  CLAUDE_SONNET,
  DEFAULT_MODEL_ALIASES,
  modelListEntry,
  parseModelAliases,
  resolveModel,
} from "../../../src/shared/models.ts";

describe("default aliases", () => {
  it.each([
    ["gpt-4o", CLAUDE_SONNET],
    ["gpt-4o-2024-08-06", CLAUDE_SONNET],
    ["gpt-4o-mini", CLAUDE_HAIKU],
    ["gpt-4o-mini-2024-07-18", CLAUDE_HAIKU],
    ["GPT-4o", CLAUDE_SONNET],
    ["gpt-4.1", CLAUDE_SONNET],
    ["gpt-4.1-mini", CLAUDE_HAIKU],
    ["gpt-4-turbo", CLAUDE_SONNET],
    ["gpt-3.5-turbo", CLAUDE_HAIKU],
    ["gpt-5", CLAUDE_OPUS],
    ["gpt-5.1", CLAUDE_OPUS],
    ["gpt-5-mini", CLAUDE_SONNET],
    ["gpt-5-nano", CLAUDE_HAIKU],
    ["o1", CLAUDE_OPUS],
    ["o1-mini", CLAUDE_SONNET],
    ["o3", CLAUDE_OPUS],
    ["o3-mini", CLAUDE_SONNET],
    ["o4-mini", CLAUDE_SONNET],
    ["opus", CLAUDE_OPUS],
    ["sonnet", CLAUDE_SONNET],
    ["haiku", CLAUDE_HAIKU],
  ])("%s → %s", (name, target) => {
    expect(resolveModel(DEFAULT_MODEL_ALIASES, name)).toBe(target);
  });

  it("passes unknown names and real Claude ids through unchanged", () => {
    for (const name of ["claude-opus-4-7", "claude-sonnet-4-5-20250929", "my-Custom-Model", "sonnet-4"]) {
      expect(resolveModel(DEFAULT_MODEL_ALIASES, name)).toBe(name);
    }
  });
});

describe("parseModelAliases", () => {
  it("the commented MODEL_ALIASES example in wrangler.toml is a valid setting", () => {
    const toml = readFileSync(new URL("../../../wrangler.toml", import.meta.url), "utf8");
    const line = /^# MODEL_ALIASES = '(.*)'$/m.exec(toml);
    expect(line).not.toBeNull();
    const table = parseModelAliases(line?.[1]);
    expect(resolveModel(table, "gpt-4o")).toBe("claude-sonnet-4-5");
    expect(resolveModel(table, "fast-model")).toBe("claude-haiku-4-5");
    expect(resolveModel(table, "o1-preview")).toBe("o1-preview"); // the built-in o1* rule removed
  });

  it("uses the defaults for an empty or absent setting", () => {
    expect(parseModelAliases(undefined)).toBe(DEFAULT_MODEL_ALIASES);
    expect(parseModelAliases("  ")).toBe(DEFAULT_MODEL_ALIASES);
  });

  it("merges over the defaults; * marks prefix rules; longest prefix wins; null removes a rule", () => {
    const t = parseModelAliases(
      JSON.stringify({
        "gpt-4o": "claude-opus-4-7",
        "team-*": "claude-haiku-4-5",
        "team-big*": "claude-opus-5-5",
        "gpt-5*": null,
      }),
    );
    expect(resolveModel(t, "gpt-4o")).toBe("claude-opus-4-7"); // exact beats the default prefix rule
    expect(resolveModel(t, "gpt-4o-2024-08-06")).toBe(CLAUDE_SONNET);
    expect(resolveModel(t, "team-small")).toBe("claude-haiku-4-5");
    expect(resolveModel(t, "team-big-1")).toBe("claude-opus-5-5");
    expect(resolveModel(t, "gpt-5")).toBe("gpt-5");
    expect(resolveModel(t, "gpt-5-mini")).toBe(CLAUDE_SONNET);
  });

  it.each([
    ["{not json", /MODEL_ALIASES is not valid JSON/],
    ["[1,2]", /MODEL_ALIASES: must be a JSON object/],
    ['"gpt-4o"', /MODEL_ALIASES: must be a JSON object/],
    ['{"gpt-4o": 5}', /MODEL_ALIASES\["gpt-4o"\]/],
    ['{"gpt-4o": ""}', /MODEL_ALIASES\["gpt-4o"\]: a non-empty model id/],
    ['{"a*b": "claude-x"}', /MODEL_ALIASES\["a\*b"\]: a model name, optionally ending in \*/],
    ['{"*": "claude-x"}', /MODEL_ALIASES\["\*"\]/],
    ['{"gpt 4": "claude-x"}', /MODEL_ALIASES\["gpt 4"\]/],
  ])("refuses %s with a readable message", (config, message) => {
    expect(() => parseModelAliases(config)).toThrow(message);
  });
});

describe("/v1/models entries", () => {
  it("carry both Anthropic and OpenAI fields", () => {
    expect(modelListEntry("claude-opus-5-5", "Claude Opus 5.5", new Date("2026-06-01T00:00:00Z"))).toEqual({
      type: "model",
      id: "claude-opus-5-5",
      display_name: "Claude Opus 5.5",
      created_at: "2026-06-01T00:00:00Z",
      object: "model",
      created: 1780272000,
      owned_by: "anthropic",
    });
  });

  it("list every alias once, sorted, naming its target", () => {
    const entries = aliasModelEntries(DEFAULT_MODEL_ALIASES);
    const ids = entries.map((e) => e.id);
    expect(ids).toEqual([...ids].sort());
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(expect.arrayContaining(["gpt-4o", "gpt-4o-mini", "gpt-5", "o3", "sonnet"]));
    const gpt4o = entries.find((e) => e.id === "gpt-4o");
    expect(gpt4o).toMatchObject({ type: "model", object: "model", owned_by: "ccproxy" });
    expect(gpt4o?.display_name).toContain(CLAUDE_SONNET);
    expect(typeof gpt4o?.created).toBe("number");
    expect(gpt4o?.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });
});
