// A bad Worker variable: every request gets a 500 that names the variable and its rule, never its
// value (a secret pasted into the wrong variable must not leak), and the log line says no more.
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/worker/index.ts";
import { BASE } from "./helpers.ts";

const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
const SECRET = "fake-misplaced-secret-value";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("configuration errors", () => {
  it.each([
    ["MAX_BODY_BYTES", SECRET],
    ["DEFAULT_MAX_TOKENS", SECRET],
    ["SIDECAR_WAIT_MS", `-${SECRET}`],
    ["CC_RESERVE_TURNS", SECRET],
    ["ANTHROPIC_BASE_URL", SECRET],
    ["ANTHROPIC_BASE_URL", `https://api.anthropic.com/?key=${SECRET}`],
    ["MODEL_ALIASES", SECRET],
    ["MODEL_ALIASES", `{"gpt-4o": 42, "k": "${SECRET}"}`],
  ])("%s = <a secret>: 500 naming the variable, the value nowhere", async (name, value) => {
    const logged: string[] = [];
    for (const level of ["error", "warn", "log", "info"] as const) {
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logged.push(args.map(String).join(" "));
      });
    }
    for (const path of ["/health", "/api/v1/messages", "/v1/chat/completions"]) {
      const res = await worker.fetch(
        new Request(`${BASE}${path}`, {
          method: path === "/health" ? "GET" : "POST",
          body: path === "/health" ? null : "{}",
        }),
        { ...env, [name]: value },
        ctx,
      );
      expect(res.status, path).toBe(500);
      const text = await res.text();
      expect(text, path).toContain(name);
      expect(text, path).not.toContain("misplaced-secret");
      expect(res.headers.get("x-request-id"), path).toMatch(/^req_/);
    }
    expect(logged.join("\n")).toContain(name);
    expect(logged.join("\n")).not.toContain("misplaced-secret");
  });
});
