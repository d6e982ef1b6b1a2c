// The real Claude Code CLI against the mock, with no proxy in between: a prompt whose marker asks
// for a Read tool call; the CLI runs the tool and sends the result; the mock's answer to that turn
// quotes the result, which must come back as the CLI's final text.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type MockServer, startMock } from "../../src/mock/server.ts";
import { claudeBinary } from "../support/claude-cli.ts";

const CLAUDE = claudeBinary();

let mock: MockServer;
let home: string;
beforeAll(async () => {
  mock = await startMock({ quiet: true, apiKeys: ["test"] });
  home = await mkdtemp(path.join(tmpdir(), "ccproxy-mock-cli-"));
});
afterAll(async () => {
  await mock.close();
  await rm(home, { recursive: true, force: true });
});

interface Run {
  pid: number | undefined;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function runClaude(args: string[], timeoutMs: number): Run {
  const child = spawn(CLAUDE, args, {
    cwd: home,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home, // a fresh home: no user settings, and start-up skips slow first-run work
      ANTHROPIC_BASE_URL: mock.url,
      ANTHROPIC_API_KEY: "test",
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      IS_SANDBOX: "1", // this machine runs as root
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`claude did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
  return { pid: child.pid, done };
}

/** Kills the CLI if it is still running (an overrun or a failed assertion). */
function stop(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

it("completes a tool-use turn: Read runs, its result comes back as the final text", {
  timeout: 70_000,
}, async () => {
  const file = path.join(home, "notes.txt");
  const content = `mock says ${Date.now()} hello`;
  await writeFile(file, `${content}\n`);
  const marker = `[[mock:tool name=Read input=${JSON.stringify({ file_path: file })}]]`;
  const run = runClaude(
    [
      "-p",
      `Please read the notes ${marker}`,
      "--max-turns",
      "3",
      "--allowedTools",
      "Read",
      "--output-format",
      "json",
    ],
    60_000,
  );
  let outcome: Awaited<Run["done"]>;
  try {
    outcome = await run.done;
  } finally {
    stop(run.pid);
  }
  const { code, stdout, stderr } = outcome;
  expect(code, stderr).toBe(0);
  const result = JSON.parse(stdout) as { is_error: boolean; result: string; num_turns: number };
  expect(result.is_error).toBe(false);
  expect(result.result).toContain(content);

  const turns = mock.requests.filter((r) => r.url.startsWith("/v1/messages"));
  expect(turns).toHaveLength(2);
  expect(turns.map((r) => r.scenario)).toEqual(["tool", "tool_result"]);
  expect(turns[1]?.body.toString("utf8")).toContain(content);
  expect(turns.every((r) => r.status === 200 && !r.clientClosedEarly)).toBe(true);
});
