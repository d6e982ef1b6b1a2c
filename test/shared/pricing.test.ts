// The price table's arithmetic, pinned: every token kind, tiers, variants, unknown models.
import { describe, expect, it } from "vitest";
import { DEFAULT_WEB_SEARCHES, estimateRequest } from "../../src/shared/estimate.ts";
import { costUsd, priceEntry, reservationUsd, type TokenUsage } from "../../src/shared/pricing.ts";

const u = (p: Partial<TokenUsage>): TokenUsage => ({
  input_tokens: 0,
  output_tokens: 0,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  ...p,
});

describe("costUsd", () => {
  it("prices all four token kinds, with the cache-write TTL split", () => {
    // Sonnet 4.5: $3 in, $3.75 5m write, $6 1h write, $0.30 read, $15 out per million.
    const usage = u({
      input_tokens: 1000,
      cache_creation_input_tokens: 2000,
      cache_creation_5m: 1500,
      cache_creation_1h: 500,
      cache_read_input_tokens: 10_000,
      output_tokens: 500,
    });
    expect(costUsd("claude-sonnet-4-5", usage)).toBeCloseTo((3000 + 5625 + 3000 + 3000 + 7500) / 1e6, 15);
  });

  it("bills cache writes at the 5-minute rate when the API gave no TTL split", () => {
    const usage = u({ input_tokens: 100, cache_creation_input_tokens: 1000, output_tokens: 10 });
    expect(costUsd("claude-haiku-4-5", usage)).toBeCloseTo((100 * 1 + 1000 * 1.25 + 10 * 5) / 1e6, 15);
  });

  it("switches every token of a long prompt to the long-context rates", () => {
    const long = u({ input_tokens: 150_000, cache_read_input_tokens: 60_000, output_tokens: 1000 });
    expect(costUsd("claude-sonnet-4-5", long)).toBeCloseTo(
      (150_000 * 6 + 60_000 * 0.6 + 1000 * 22.5) / 1e6,
      12,
    );
    const short = u({ input_tokens: 150_000, cache_read_input_tokens: 40_000, output_tokens: 1000 });
    expect(costUsd("claude-sonnet-4-5", short)).toBeCloseTo(
      (150_000 * 3 + 40_000 * 0.3 + 1000 * 15) / 1e6,
      12,
    );
    const haikuBig = u({ input_tokens: 100_001, output_tokens: 100 });
    expect(costUsd("claude-haiku-5-5", haikuBig)).toBeCloseTo((100_001 * 0.5 + 100 * 2.5) / 1e6, 12);
    const haikuSmall = u({ input_tokens: 100_000, output_tokens: 100 });
    expect(costUsd("claude-haiku-5-5", haikuSmall)).toBeCloseTo((100_000 * 0.1 + 100 * 0.5) / 1e6, 12);
  });

  it("adds web searches at $10 per thousand", () => {
    expect(costUsd("claude-opus-5-5", u({ web_search_requests: 3 }))).toBeCloseTo(0.03, 12);
  });

  it("matches dated and suffixed variants to their model, longest id first", () => {
    expect(priceEntry("claude-sonnet-4-5-20250929")?.model).toBe("claude-sonnet-4-5");
    expect(priceEntry("claude-opus-4-1-20250805")?.model).toBe("claude-opus-4-1");
    expect(priceEntry("claude-opus-4-20250514")?.model).toBe("claude-opus-4");
    expect(priceEntry("claude-sonnet-5-5[1m]")?.model).toBe("claude-sonnet-5-5");
    expect(priceEntry("claude-3-5-haiku-latest")?.model).toBe("claude-3-5-haiku");
    expect(priceEntry("claude-opus-4-5-extra")).toBeUndefined();
  });

  it("never guesses: an unknown model costs null", () => {
    expect(costUsd("my-custom-model", u({ input_tokens: 10, output_tokens: 10 }))).toBeNull();
    expect(costUsd("gpt-4o", u({ input_tokens: 10 }))).toBeNull();
  });
});

describe("reservationUsd", () => {
  it("reserves the prompt at the dearest input rate (1-hour cache write) plus max_tokens of output", () => {
    expect(reservationUsd("claude-haiku-4-5", 1000, 4096)).toBeCloseTo((1000 * 2 + 4096 * 5) / 1e6, 15);
    expect(reservationUsd("unknown", 1, 1)).toBeNull();
  });

  it("reserves $0.01 per web search the request's web_search tool allows", () => {
    const tokensOnly = reservationUsd("claude-haiku-4-5", 1000, 4096) ?? 0;
    expect(reservationUsd("claude-haiku-4-5", 1000, 4096, 5)).toBeCloseTo(tokensOnly + 0.05, 12);
    const body = (tools: unknown[]) => ({ max_tokens: 100, messages: [], tools });
    expect(
      estimateRequest(body([{ type: "web_search_20250305", name: "web_search", max_uses: 3 }]), 1)
        .webSearches,
    ).toBe(3);
    // No max_uses: the API sets no cap, so a default is reserved (and the real count settles it).
    expect(estimateRequest(body([{ type: "web_search_20250305", name: "web_search" }]), 1).webSearches).toBe(
      DEFAULT_WEB_SEARCHES,
    );
    expect(
      estimateRequest(body([{ name: "get_weather", input_schema: { type: "object" } }]), 1).webSearches,
    ).toBe(0);
  });
});
