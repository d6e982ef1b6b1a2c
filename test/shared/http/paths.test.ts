// Request paths as they arrive (before any URL parser), which are refused on every route, and the
// only upstream paths API mode builds.
import { describe, expect, it } from "vitest";
import { cleanUpstreamPath, pathProblem, rawPath, upstreamUrl } from "../../../src/shared/http/paths.ts";

describe("rawPath", () => {
  it.each([
    ["http://h/api/v1/messages?beta=true", "/api/v1/messages"],
    ["http://h/api/v1/../../admin#x", "/api/v1/../../admin"],
    ["http://h/a\\..\\b?x=/../", "/a\\..\\b"],
    ["https://h:8787/api/v1/%2e%2e/x", "/api/v1/%2e%2e/x"],
    ["http://h//evil.example/v1/messages", "//evil.example/v1/messages"],
    ["http://h", "/"],
    ["http://h?q=1", "/"],
  ])("%s → %s", (url, path) => {
    expect(rawPath(url)).toBe(path);
  });
});

describe("pathProblem", () => {
  it.each([
    ["/api/v1/messages", null],
    ["/api/v1/messages/count_tokens", null],
    ["/api/v1/files/file_011CNha8iCJcU1wXNR6q4V8w/content", null],
    ["/v1/chat/completions", null],
    ["/api/v1/models/claude-sonnet-4.5", null],
    ["/api/v1/../../admin/keys", "a dot segment (. or ..)"],
    ["/api/v1/./messages", "a dot segment (. or ..)"],
    ["/api/v1/messages/..", "a dot segment (. or ..)"],
    ["/api/v1/%2e%2e/%2e%2e/admin/keys", "an encoded dot"],
    ["/api/v1/.%2E/x", "an encoded dot"],
    ["/api/v1/..%2f..%2fadmin/keys", "an encoded slash or backslash"],
    ["/api/v1/messages%2F..%2Fx", "an encoded slash or backslash"],
    ["/api/v1/messages/..%5c..%5cx", "an encoded slash or backslash"],
    ["/api/v1\\..\\..\\admin", "a backslash"],
    ["/api/v1//messages", "an empty segment (//)"],
    ["//evil.example/v1/messages", "an empty segment (//)"],
    ["/api///evil.example/v1/messages", "an empty segment (//)"],
    ["/api/v1/messages%00", "a control character"],
    ["/api/v1/mess\tages", "a control character"],
  ])("%s → %s", (path, problem) => {
    expect(pathProblem(path)).toBe(problem);
  });
});

describe("cleanUpstreamPath", () => {
  it.each([
    ["/v1/messages", "/v1/messages"],
    ["/v1", "/v1"],
    ["/v1/messages/batches/msgbatch_01/results", "/v1/messages/batches/msgbatch_01/results"],
    ["/v2/messages", null],
    ["/messages", null],
    ["/v1/", null],
    ["/v1/a%20b", null],
    ["/v1/..", null],
    ["/v1/.hidden", null],
    ["/v1/https:", null],
  ])("%s → %s", (path, clean) => {
    expect(cleanUpstreamPath(path)).toBe(clean);
  });
});

describe("upstreamUrl", () => {
  it("joins the base (with or without a path prefix) and keeps the query", () => {
    expect(upstreamUrl(new URL("https://api.anthropic.com"), "/v1/messages", "?beta=true")).toBe(
      "https://api.anthropic.com/v1/messages?beta=true",
    );
    expect(upstreamUrl(new URL("http://127.0.0.1:9/gw/"), "/v1/models", "")).toBe(
      "http://127.0.0.1:9/gw/v1/models",
    );
  });

  it("throws when the joined URL would leave the base", () => {
    expect(() => upstreamUrl(new URL("https://api.anthropic.com"), "/v1/../../x", "")).toThrow(/escaped/);
  });
});
