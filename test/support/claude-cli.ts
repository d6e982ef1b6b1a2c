// Running the real Claude Code CLI (the binary the Agent SDK ships) offline against a local endpoint.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Linux without glibc (Alpine…): the SDK's own test, so we pick the package it would. */
function isMusl(): boolean {
  if (process.platform !== "linux") return false;
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime === undefined;
}

/**
 * The `claude` binary the Agent SDK ships for this machine, found the way the SDK finds it: the
 * optional package `@anthropic-ai/claude-agent-sdk-<platform>-<arch>` (on Linux `-musl` first when
 * there is no glibc, `-android` on Android), `claude.exe` on Windows.
 */
export function claudeBinary(): string {
  const require = createRequire(import.meta.url);
  const sdk = "@anthropic-ai/claude-agent-sdk";
  const { platform, arch } = process;
  const packages =
    platform === "android"
      ? [`${sdk}-linux-${arch}-android`]
      : platform === "linux"
        ? isMusl()
          ? [`${sdk}-linux-${arch}-musl`, `${sdk}-linux-${arch}`]
          : [`${sdk}-linux-${arch}`, `${sdk}-linux-${arch}-musl`]
        : [`${sdk}-${platform}-${arch}`];
  const file = platform === "win32" ? "claude.exe" : "claude";
  for (const pkg of packages) {
    try {
      const path = require.resolve(`${pkg}/${file}`);
      if (existsSync(path)) return path;
    } catch {
      // not installed for this platform; try the next
    }
  }
  throw new Error(
    `no Claude Code binary for ${platform}-${arch}: none of ${packages.join(", ")} is installed`,
  );
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
