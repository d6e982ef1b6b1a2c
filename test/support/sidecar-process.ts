// Starting and stopping sidecar processes for the end-to-end tests: `node src/sidecar/main.ts` (the
// real one) or the scripted stand-in, on 127.0.0.1, with their output kept line by line.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");

export interface SidecarProcess {
  readonly child: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<number | null>;
  /** Resolves with the first line (so far or to come) that matches. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM (graceful drain) or SIGKILL to the whole process group (a machine that died). */
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<number | null>;
}

export interface SidecarOptions {
  ccproxyUrl: string;
  secret: string;
  /** The real sidecar (default) or the scripted transport stand-in. */
  kind?: "real" | "scripted";
  env?: Record<string, string>;
}

export function startSidecar(opts: SidecarOptions): SidecarProcess {
  const home = mkdtempSync(join(tmpdir(), "ccproxy-sidecar-home-"));
  const entry =
    opts.kind === "scripted"
      ? join(ROOT, "test/support/sidecar-scripted.ts")
      : join(ROOT, "src/sidecar/main.ts");
  const child = spawn(process.execPath, [entry], {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      CCPROXY_URL: opts.ccproxyUrl,
      TUNNEL_SECRET: opts.secret,
      CC_WORKSPACE_ROOT: join(home, "workspaces"),
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      IS_SANDBOX: "1",
      ...opts.env,
    },
  });
  const lines: string[] = [];
  const watchers: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const onData = (d: Buffer) => {
    for (const line of d.toString().split("\n")) {
      if (!line.trim()) continue;
      lines.push(line);
      for (const w of [...watchers])
        if (w.pattern.test(line)) {
          watchers.splice(watchers.indexOf(w), 1);
          w.resolve(line);
        }
    }
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number | null>((done) =>
    child.once("exit", (code) => {
      rmSync(home, { recursive: true, force: true });
      done(code);
    }),
  );
  return {
    child,
    lines,
    exited,
    waitForLine(pattern, timeoutMs = 15_000) {
      const seen = lines.find((l) => pattern.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((done, fail) => {
        const timer = setTimeout(
          () => fail(new Error(`sidecar never logged ${pattern}; it said:\n${lines.join("\n")}`)),
          timeoutMs,
        );
        watchers.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            done(line);
          },
        });
      });
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined)
        return child.exitCode;
      try {
        if (signal === "SIGKILL") process.kill(-child.pid, "SIGKILL");
        else process.kill(child.pid, "SIGTERM");
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }, 40_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Waits until /health reports `n` sidecars (or more, with `atLeast`). */
export async function waitForSidecars(
  ccproxyUrl: string,
  check: (n: number) => boolean,
  timeoutMs = 15_000,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${ccproxyUrl}/health`).catch(() => null);
    const n = res?.ok ? ((await res.json()) as { sidecars: number }).sidecars : -1;
    if (check(n)) return n;
    if (Date.now() > deadline) throw new Error(`/health kept reporting ${n} sidecars`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Processes still working inside `root` (their cwd is there): what a killed sidecar left behind.
 * Linux only (/proc); elsewhere none are found.
 */
export function processesIn(root: string): number[] {
  const pids: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return pids;
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cwd = readlinkSync(`/proc/${name}/cwd`).replace(/ \(deleted\)$/, "");
      if (cwd === root || cwd.startsWith(`${root}/`)) pids.push(Number(name));
    } catch {
      // gone, or not ours to look at
    }
  }
  return pids;
}
