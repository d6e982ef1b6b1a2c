// `npm start` as a new user runs it: no ANTHROPIC_API_KEY, so the offline demo; the printed env lines
// work for both modes; Ctrl-C leaves no process behind; a restart keeps the dev key.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/stack.ts";

const stateDir = mkdtempSync(join(tmpdir(), "ccproxy-start-"));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

interface Started {
  child: ChildProcess;
  output: () => string;
}

async function start(port: number): Promise<Started> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    CCPROXY_STATE_DIR: stateDir,
    HOME: stateDir,
  };
  delete env.ANTHROPIC_API_KEY;
  delete env.ANTHROPIC_BASE_URL;
  const child = spawn(process.execPath, ["scripts/start.ts", "--port", String(port)], {
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const deadline = Date.now() + 120_000;
  while (!out.includes("Press Ctrl-C")) {
    if (child.exitCode !== null) throw new Error(`npm start exited ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) throw new Error(`npm start did not come up:\n${out}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, output: () => out };
}

/** Ctrl-C, and proof that the whole process group (wrangler, workerd, mock, sidecar, claude) is gone. */
async function stop(s: Started): Promise<void> {
  const pgid = s.child.pid ?? 0;
  const exited = new Promise<number | null>((r) => s.child.once("exit", (code) => r(code)));
  process.kill(-pgid, "SIGINT");
  const code = await Promise.race([
    exited,
    new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 60_000)),
  ]);
  expect(code).not.toBe("timeout");
  const left = (): string[] => {
    try {
      return execFileSync("ps", ["-o", "pid=,comm=", "-g", String(pgid)], { encoding: "utf8" })
        .trim()
        .split("\n")
        .filter(Boolean);
    } catch {
      return [];
    }
  };
  for (let i = 0; i < 50 && left().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  expect(left()).toEqual([]);
}

describe("npm start", () => {
  it("runs the offline demo; the printed env lines work for both modes; Ctrl-C cleans up; the key is kept", {
    timeout: 300_000,
  }, async () => {
    const port = await freePort();
    const first = await start(port);
    let key: string;
    try {
      const out = first.output();
      expect(out).toContain("OFFLINE DEMO MODE");
      expect(out).toContain(`export ANTHROPIC_BASE_URL=http://127.0.0.1:${port}/api`);
      expect(out).toContain(`export OPENAI_BASE_URL=http://127.0.0.1:${port}/api/v1`);
      key = /export ANTHROPIC_API_KEY=(ccp_\w+)/.exec(out)?.[1] ?? "";
      expect(key).toMatch(/^ccp_/);
      const base = `http://127.0.0.1:${port}`;

      const anthropic = new Anthropic({ baseURL: `${base}/api`, apiKey: key, maxRetries: 0 });
      const msg = await anthropic.messages.create({
        model: "claude-haiku-4-5",
        max_tokens: 50,
        messages: [{ role: "user", content: "hello" }],
      });
      expect(msg.content[0]?.type).toBe("text");

      const openai = new OpenAI({ baseURL: `${base}/api/v1`, apiKey: key, maxRetries: 0 });
      const chat = await openai.chat.completions.create({
        model: "gpt-4o-mini",
        messages: [{ role: "user", content: "hello" }],
      });
      expect(chat.choices[0]?.message.content).toBeTruthy();

      // Claude Code mode: the local sidecar's agent answers (against the mock upstream).
      const health = (await (await fetch(`${base}/health`)).json()) as { sidecars: number };
      expect(health.sidecars).toBe(1);
      const agent = new Anthropic({ baseURL: base, apiKey: key, maxRetries: 0, timeout: 120_000 });
      const answer = await agent.messages.create({
        model: "sonnet",
        max_tokens: 200,
        messages: [{ role: "user", content: "say hello" }],
      });
      expect(JSON.stringify(answer.content)).toContain("Hello from the mock Anthropic upstream");
    } finally {
      await stop(first);
    }

    const second = await start(port);
    try {
      expect(second.output()).toContain(key);
    } finally {
      await stop(second);
    }
  });
});
