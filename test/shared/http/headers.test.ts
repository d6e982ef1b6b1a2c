// Which client headers reach the upstream and which upstream headers reach the client, header by header.
import { describe, expect, it } from "vitest";
import { clientResponseHeaders, upstreamRequestHeaders } from "../../../src/shared/http/headers.ts";

describe("upstreamRequestHeaders", () => {
  it.each([
    // hop-by-hop (RFC 9110 §7.6.1) and proxy headers
    ["connection", "keep-alive", false],
    ["keep-alive", "timeout=5", false],
    ["te", "trailers", false],
    ["trailer", "x-checksum", false],
    ["upgrade", "h2c", false],
    ["proxy-authorization", "Basic dXNlcjpwYXNz", false],
    ["proxy-connection", "keep-alive", false],
    ["transfer-encoding", "chunked", false],
    // set by the client's network path or the runtime
    ["host", "ccproxy.example", false],
    ["content-length", "12", false],
    ["accept-encoding", "gzip", false],
    ["cookie", "session=secret", false],
    ["forwarded", "for=10.0.0.1", false],
    ["x-real-ip", "10.0.0.1", false],
    ["true-client-ip", "10.0.0.1", false],
    ["x-forwarded-for", "10.0.0.1", false],
    ["x-forwarded-proto", "https", false],
    ["x-forwarded-host", "ccproxy.example", false],
    ["cf-connecting-ip", "10.0.0.1", false],
    ["cf-ray", "abc-LHR", false],
    ["cf-ipcountry", "GB", false],
    // the client's credentials to CCProxy (the Worker adds the upstream's own)
    ["authorization", "Bearer ccp_secret", false],
    ["x-api-key", "ccp_secret", false],
    ["x-ccproxy-key", "ccp_secret", false],
    ["x-ccproxy-debug", "1", false],
    // what the Messages API and its clients need, unchanged
    ["anthropic-version", "2023-06-01", true],
    ["anthropic-beta", "interleaved-thinking-2025-05-14,context-1m-2025-08-07", true],
    ["content-type", "application/json", true],
    ["user-agent", "claude-cli/2.1.331 (external, sdk-ts)", true],
    ["x-stainless-retry-count", "0", true],
    ["x-claude-code-session-id", "abc", true],
    ["accept", "text/event-stream", true],
    ["idempotency-key", "k1", true],
  ])("%s → forwarded: %s", (name, value, kept) => {
    const out = upstreamRequestHeaders(new Headers({ [name]: value }));
    expect(out.get(name)).toBe(kept ? value : null);
  });

  it("drops the headers a Connection header names, when the runtime lets the Worker see it", () => {
    const out = upstreamRequestHeaders(
      new Headers({ connection: "keep-alive, X-Hop-Secret", "x-hop-secret": "1", "x-other": "2" }),
    );
    expect(out.get("x-hop-secret")).toBeNull();
    expect(out.get("x-other")).toBe("2");
  });

  it("keeps repeated values as one comma-joined header, in order", () => {
    const h = new Headers();
    h.append("anthropic-beta", "a-2025-01-01");
    h.append("anthropic-beta", "b-2025-02-02");
    expect(upstreamRequestHeaders(h).get("anthropic-beta")).toBe("a-2025-01-01, b-2025-02-02");
  });
});

describe("clientResponseHeaders", () => {
  it.each([
    ["connection", "close", false],
    ["keep-alive", "timeout=5", false],
    ["transfer-encoding", "chunked", false],
    ["trailer", "x-checksum", false],
    ["upgrade", "h2c", false],
    ["proxy-authenticate", "Basic", false],
    ["content-length", "42", false],
    ["set-cookie", "__cf_bm=abc; path=/", false],
    ["content-type", "text/event-stream; charset=utf-8", true],
    ["request-id", "req_011CUp", true],
    ["retry-after", "7", true],
    ["anthropic-ratelimit-requests-remaining", "49", true],
    ["anthropic-organization-id", "org", true],
    ["cache-control", "no-cache", true],
  ])("%s → to the client: %s", (name, value, kept) => {
    expect(clientResponseHeaders(new Headers({ [name]: value })).get(name)).toBe(kept ? value : null);
  });

  it("drops the headers the upstream's Connection header names", () => {
    const out = clientResponseHeaders(
      new Headers({ connection: "x-internal", "x-internal": "1", "x-kept": "1" }),
    );
    expect(out.get("x-internal")).toBeNull();
    expect(out.get("x-kept")).toBe("1");
  });
});
