// Running the real Claude Code CLI (the binary the Agent SDK ships) offline against a local endpoint.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export function claudeBinary(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("@anthropic-ai/claude-agent-sdk-linux-x64/package.json")), "claude");
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `claude -p <prompt> …` with a fresh HOME, no non-essential traffic, killed by PID on timeout. */
export async function runClaude(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 90_000,
): Promise<CliRun> {
  const home = mkdtempSync(join(tmpdir(), "ccproxy-claude-home-"));
  try {
    return await new Promise<CliRun>((done, fail) => {
      const child = spawn(claudeBinary(), args, {
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: home,
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
          IS_SANDBOX: "1",
          ...env,
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
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      child.on("error", (e) => {
        clearTimeout(timer);
        fail(e);
      });
      child.on("exit", (code) => {
        clearTimeout(timer);
        done({ code, stdout, stderr });
      });
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}
