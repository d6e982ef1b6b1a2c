// Upstream Anthropic error responses → OpenAI error responses (status, type, code, retry hints).
import { describe, expect, it } from "vitest";
import { translateUpstreamError } from "../../../src/shared/convert/errors.ts";
import { goDuration, openaiResponseHeaders } from "../../../src/shared/convert/headers.ts";
import { fixtureText } from "./helpers.ts";

const anthropic = (type: string, message: string) =>
  JSON.stringify({ type: "error", error: { type, message }, request_id: "req_1" });

describe("translateUpstreamError", () => {
  it.each([
    [400, "invalid_request_error", 400, "invalid_request_error", null],
    [401, "authentication_error", 401, "invalid_request_error", "invalid_api_key"],
    [402, "billing_error", 402, "insufficient_quota", "insufficient_quota"],
    [403, "permission_error", 403, "permission_error", "permission_denied"],
    [404, "not_found_error", 404, "invalid_request_error", "not_found"],
    [413, "request_too_large", 413, "invalid_request_error", "request_too_large"],
    [429, "rate_limit_error", 429, "rate_limit_error", "rate_limit_exceeded"],
    [500, "api_error", 500, "server_error", null],
    [504, "timeout_error", 504, "server_error", "timeout"],
    [529, "overloaded_error", 503, "overloaded_error", "overloaded"],
  ])("HTTP %i %s → HTTP %i type %s code %s", (status, type, outStatus, outType, outCode) => {
    const r = translateUpstreamError(status, anthropic(type, "the message"), new Headers());
    expect(r.status).toBe(outStatus);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(r.body)).toEqual({
      error: { message: "the message", type: outType, param: null, code: outCode },
    });
  });

  it("keeps retry-after (and the SDKs' other retry hints) on 429 and 529", () => {
    const headers = new Headers({
      "retry-after": "17",
      "retry-after-ms": "17000",
      "x-should-retry": "true",
      "request-id": "req_9",
    });
    for (const status of [429, 529]) {
      const r = translateUpstreamError(status, anthropic("rate_limit_error", "slow down"), headers);
      expect(r.headers).toEqual({
        "content-type": "application/json",
        "retry-after": "17",
        "retry-after-ms": "17000",
        "x-should-retry": "true",
        "anthropic-request-id": "req_9",
      });
    }
  });

  it("maps the upstream's rate-limit headers to OpenAI's x-ratelimit-* and keeps Anthropic's", () => {
    const now = Date.parse("2026-12-01T10:00:00Z");
    const upstream = new Headers({
      "anthropic-ratelimit-requests-limit": "4000",
      "anthropic-ratelimit-requests-remaining": "3999",
      "anthropic-ratelimit-requests-reset": "2026-12-01T10:00:01Z",
      "anthropic-ratelimit-tokens-limit": "2400000",
      "anthropic-ratelimit-tokens-remaining": "2399000",
      "anthropic-ratelimit-tokens-reset": "2026-12-01T10:06:00Z",
      "anthropic-ratelimit-input-tokens-limit": "2000000",
      "request-id": "req_011CabC",
      "x-unrelated": "no",
    });
    expect(openaiResponseHeaders(upstream, now)).toEqual({
      "x-ratelimit-limit-requests": "4000",
      "x-ratelimit-remaining-requests": "3999",
      "x-ratelimit-reset-requests": "1s",
      "x-ratelimit-limit-tokens": "2400000",
      "x-ratelimit-remaining-tokens": "2399000",
      "x-ratelimit-reset-tokens": "6m0s",
      "anthropic-ratelimit-requests-limit": "4000",
      "anthropic-ratelimit-requests-remaining": "3999",
      "anthropic-ratelimit-requests-reset": "2026-12-01T10:00:01Z",
      "anthropic-ratelimit-tokens-limit": "2400000",
      "anthropic-ratelimit-tokens-remaining": "2399000",
      "anthropic-ratelimit-tokens-reset": "2026-12-01T10:06:00Z",
      "anthropic-ratelimit-input-tokens-limit": "2000000",
      "anthropic-request-id": "req_011CabC",
    });
    expect(openaiResponseHeaders(new Headers({ "anthropic-ratelimit-tokens-reset": "soon" }))).toEqual({
      "anthropic-ratelimit-tokens-reset": "soon",
    });
  });

  it.each([
    [-5, "0s"],
    [250, "250ms"],
    [1000, "1s"],
    [59_400, "1m0s"],
    [360_000, "6m0s"],
    [3_723_000, "1h2m3s"],
  ])("reset in %i ms reads %s, as OpenAI writes it", (ms, text) => {
    expect(goDuration(ms)).toBe(text);
  });

  it("the recorded 400 and 404 bodies", () => {
    const r400 = translateUpstreamError(400, fixtureText("anthropic-error-400.json"), new Headers());
    expect(JSON.parse(r400.body).error).toEqual({
      message: "This model does not support effort level 'xhigh'. Supported levels: high, low, max, medium.",
      type: "invalid_request_error",
      param: null,
      code: null,
    });
    const r404 = translateUpstreamError(404, fixtureText("anthropic-error-404.json"), new Headers());
    expect(r404.status).toBe(404);
    expect(JSON.parse(r404.body).error.message).toBe("model: claude-does-not-exist");
  });

  it("falls back on the status for bodies that are not Anthropic errors", () => {
    const html = translateUpstreamError(
      413,
      "<html><body>Request Entity Too Large</body></html>",
      new Headers(),
    );
    expect(html.status).toBe(413);
    expect(JSON.parse(html.body).error).toEqual({
      message: "Upstream error (HTTP 413).",
      type: "invalid_request_error",
      param: null,
      code: "request_too_large",
    });
    const plain = translateUpstreamError(502, "bad gateway", new Headers());
    expect(plain.status).toBe(502);
    expect(JSON.parse(plain.body).error.message).toBe("Upstream error (HTTP 502): bad gateway");
    const empty = translateUpstreamError(503, "", new Headers());
    expect(JSON.parse(empty.body).error).toMatchObject({ type: "server_error", code: "service_unavailable" });
    const loose = translateUpstreamError(418, JSON.stringify({ message: "teapot" }), new Headers());
    expect(loose.status).toBe(418);
    expect(JSON.parse(loose.body).error).toMatchObject({ message: "teapot", type: "invalid_request_error" });
  });
});
