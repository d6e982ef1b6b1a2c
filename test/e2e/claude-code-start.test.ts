// `npm start` with the upstream credential only in .dev.vars (not in the shell): the Worker gets it
// through wrangler, and the local sidecar's agent must get it too, or Claude Code mode is online in
// name only. The "real" upstream here is a mock that accepts that one key and nothing else.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/stack.ts";
import { type MockServer, startMock } from "../../src/mock/server.ts";
import { startStack } from "../support/npm-start.ts";

const DEV_VARS_KEY = "sk-ant-only-in-dev-vars";
let mock: MockServer;
const dir = mkdtempSync(join(tmpdir(), "ccproxy-start-devvars-"));

beforeAll(async () => {
  mock = await startMock({ quiet: true, apiKeys: [DEV_VARS_KEY] });
});
afterAll(async () => {
  await mock?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((r) => child.once("exit", r));
  process.kill(-child.pid, "SIGINT");
  const timer = setTimeout(() => child.pid !== undefined && process.kill(-child.pid, "SIGKILL"), 60_000);
  await exited;
  clearTimeout(timer);
}

describe("npm start with the API key in .dev.vars only", () => {
  it("gives the local sidecar's agent the same upstream credential as the Worker", {
    timeout: 300_000,
  }, async () => {
    const devVars = join(dir, ".dev.vars");
    writeFileSync(devVars, `ANTHROPIC_API_KEY="${DEV_VARS_KEY}"\nANTHROPIC_BASE_URL=${mock.url}\n`);
    const port = await freePort();
    const { child, output } = await startStack({ port, stateDir: join(dir, "state"), devVars });
    try {
      const out = output();
      expect(out).not.toContain("OFFLINE DEMO MODE");
      const key = /export ANTHROPIC_API_KEY=(ccp_\w+)/.exec(out)?.[1] ?? "";
      const before = mock.requests.length;
      const agent = new Anthropic({ baseURL: `http://127.0.0.1:${port}`, apiKey: key, maxRetries: 0 });
      const answer = await agent.messages.create({
        model: "sonnet",
        max_tokens: 200,
        messages: [{ role: "user", content: '[[mock:text text="the agent used the .dev.vars key"]]' }],
      });
      expect(JSON.stringify(answer.content)).toContain("the agent used the .dev.vars key");
      // It was the agent (the CLI's own request, in a workspace) with the key from .dev.vars.
      const calls = mock.requests.slice(before).filter((r) => r.url.startsWith("/v1/messages"));
      expect(calls.some((r) => r.body.toString().includes("Primary working directory"))).toBe(true);
      expect(calls.every((r) => r.headers["x-api-key"] === DEV_VARS_KEY)).toBe(true);
    } finally {
      await stop(child);
    }
  });
});
