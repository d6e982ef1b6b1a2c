// `npm start` as a new user runs it: no ANTHROPIC_API_KEY, so the offline demo; the printed env lines
// work for both modes; Ctrl-C leaves no process behind (wrangler and the sidecar run in their own
// process groups, so every process start.ts started is tracked by PID); a restart keeps the dev key.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/stack.ts";
import { type StartedStack as Started, startStack } from "../support/npm-start.ts";

const stateDir = mkdtempSync(join(tmpdir(), "ccproxy-start-"));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

function start(port: number, devVars: string): Promise<Started> {
  return startStack({ port, stateDir, devVars });
}

/** pid → [parent pid, start time] for every process on the machine, from /proc. */
function processTable(): Map<number, [number, string]> {
  const table = new Map<number, [number, string]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the parenthesised command: state ppid pgrp … starttime is field 22.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      table.set(Number(entry), [Number(fields[1]), fields[19] ?? ""]);
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

/** Every process descended from `root` right now, with its start time (so a reused PID is not it). */
function descendants(root: number): Array<{ pid: number; started: string }> {
  const table = processTable();
  const out: Array<{ pid: number; started: string }> = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const [pid, [ppid, started]] of table) {
      if (ppid === parent) {
        out.push({ pid, started });
        queue.push(pid);
      }
    }
  }
  return out;
}

function inGroup(pgid: number): string[] {
  try {
    return execFileSync("ps", ["-o", "pid=,comm=", "-g", String(pgid)], { encoding: "utf8" })
      .trim()
      .split("\n")
      .filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Ctrl-C (SIGINT to start.ts's own process group, as a terminal sends it), then proof that every
 * process it started is gone: wrangler, workerd, the sidecar and any `claude` it ran, whose process
 * groups differ from start.ts's, found by PID from its "Processes:" line and its process tree.
 */
async function stop(s: Started): Promise<void> {
  const line = /^Processes: start=(\d+) wrangler=(\d+) sidecar=(\d+)$/m.exec(s.output());
  expect(line, "the Processes: line").not.toBeNull();
  const [startPid, wranglerPid, sidecarPid] = (line ?? []).slice(1).map(Number);
  expect(startPid).toBe(s.child.pid);
  const tree = descendants(startPid ?? 0);
  const treePids = tree.map((p) => p.pid);
  expect(treePids).toContain(wranglerPid);
  expect(treePids).toContain(sidecarPid);
  // workerd runs under wrangler: the tree reaches past start.ts's direct children.
  expect(tree.length).toBeGreaterThan(2);

  const exited = new Promise<number | null>((r) => s.child.once("exit", (code) => r(code)));
  process.kill(-(startPid ?? 0), "SIGINT");
  const code = await Promise.race([
    exited,
    new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 60_000)),
  ]);
  expect(code).toBe(0);
  const alive = () => {
    const now = processTable();
    return [
      ...tree.filter((p) => now.get(p.pid)?.[1] === p.started).map((p) => `pid ${p.pid}`),
      ...[startPid, wranglerPid, sidecarPid].flatMap((g) => inGroup(g ?? 0)),
    ];
  };
  for (let i = 0; i < 50 && alive().length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  expect(alive()).toEqual([]);
  // wrangler's env file (the secrets) does not outlive it.
  expect(existsSync(join(stateDir, "tmp", "secrets.env"))).toBe(false);
}

describe("npm start", () => {
  it("runs the offline demo; the printed env lines work for both modes; Ctrl-C cleans up; the key is kept", {
    timeout: 300_000,
  }, async () => {
    const port = await freePort();
    const first = await start(port, join(stateDir, "absent.dev.vars"));
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

    // CCPROXY_DEV_VARS is read like .dev.vars: its ADMIN_TOKEN is the one the restart uses.
    const devVars = join(stateDir, "test.dev.vars");
    writeFileSync(devVars, '# a comment\nADMIN_TOKEN="dev-vars-admin-token-for-the-test"\n');
    const second = await start(port, devVars);
    try {
      expect(second.output()).toContain(key);
      expect(second.output()).toContain("CCPROXY_ADMIN_TOKEN=dev-vars-admin-token-for-the-test");
    } finally {
      await stop(second);
    }
  });
});
