// `npm run smoke` against a running deployment (here wrangler dev): every check a CI pipeline would run.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { newKey, url } from "./helpers.ts";

function smoke(key: string, base = url()) {
  const r = spawnSync(process.execPath, ["scripts/smoke.ts", "--url", base, "--key", key], {
    encoding: "utf8",
    timeout: 120_000,
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe("npm run smoke", () => {
  it("passes the API mode checks and skips Claude Code mode for a key that may not use it", {
    timeout: 120_000,
  }, () => {
    return newKey({ modes: ["api"] }).then(({ key }) => {
      const { code, out } = smoke(key);
      expect(out).toMatch(/^ok\s+API mode, Anthropic format\s/m);
      expect(out).toMatch(/^ok\s+API mode, OpenAI format, streamed\s/m);
      expect(out).toMatch(/^skipped\s+Claude Code mode, Anthropic format\s/m);
      expect(out).toMatch(/^ok\s+count_tokens/m);
      expect(out).toMatch(/\d+ passed, 0 failed, 4 skipped/);
      expect(code).toBe(0);
    });
  });

  it("fails, with exit code 1, for a wrong key or an unreachable URL", { timeout: 120_000 }, () => {
    const wrong = smoke("ccp_not_a_real_key");
    expect(wrong.code).toBe(1);
    expect(wrong.out).toMatch(/^FAIL\s+API mode, Anthropic format\s.*invalid CCProxy key/m);
    const gone = smoke("ccp_x", "http://127.0.0.1:9");
    expect(gone.code).toBe(1);
    expect(gone.out).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9/);
  });
});
