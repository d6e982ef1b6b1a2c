// Claude Code itself as a client of API mode: ANTHROPIC_BASE_URL=<ccproxy>/api and a CCProxy key.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runClaude } from "../support/claude-cli.ts";
import { byTestId, newKey, upstreamRequests, url } from "./helpers.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "ccproxy-cc-client-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("Claude Code CLI through CCProxy API mode", () => {
  it("completes a tool-use turn: the agent reads a file and answers with its content", {
    timeout: 120_000,
  }, async () => {
    const file = join(dir, "note.txt");
    writeFileSync(file, "the secret word is pelican\n");
    const { key } = await newKey();
    const testId = crypto.randomUUID();
    const marker = `[[mock:tool name=Read input={"file_path":"${file}"}]]`;
    for (const auth of [{ ANTHROPIC_API_KEY: key }, { ANTHROPIC_AUTH_TOKEN: key }]) {
      const run = await runClaude(
        [
          "-p",
          `Read the note. ${marker}`,
          "--max-turns",
          "3",
          "--allowedTools",
          "Read",
          "--output-format",
          "json",
        ],
        { ANTHROPIC_BASE_URL: `${url()}/api`, ANTHROPIC_CUSTOM_HEADERS: `x-test-id: ${testId}`, ...auth },
      );
      expect(run.code, run.stderr).toBe(0);
      const result = JSON.parse(run.stdout) as { is_error: boolean; result: string };
      expect(result.is_error).toBe(false);
      expect(result.result).toContain("pelican");
    }
    const seen = await upstreamRequests(byTestId(testId));
    expect(seen.length).toBeGreaterThanOrEqual(4);
    for (const r of seen) {
      expect(r.url).toBe("/v1/messages?beta=true");
      expect(r.headers["x-api-key"]).toBe(inject("teamKey"));
      expect(r.headers.authorization).toBeUndefined();
      expect(r.headers["anthropic-beta"]).toContain("claude-code-20250219");
    }
    const followUp = seen.find((r) => r.body.includes('"tool_result"'));
    expect(followUp?.body).toContain("pelican");
  });
});
