// Starting the local stack the way `npm start`, the end-to-end tests and the benchmarks all need it:
// local D1 migrated, `wrangler dev` on 127.0.0.1 with its secrets in a private env file, stopped by PID.

import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** wrangler's own entry, run with the Node running us (Node 22 from the node@22 devDependency). */
function wranglerBin(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve("wrangler/package.json")), "bin", "wrangler.js");
}

const QUIET_ENV = {
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  NO_COLOR: "1",
};

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? done(addr.port) : fail(new Error("no free port"))));
    });
  });
}

/** Runs wrangler (quiet, offline) to its end; resolves with its output, rejects with it on failure. */
export function runWrangler(args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [wranglerBin(), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...QUIET_ENV, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString();
    });
    child.on("error", fail);
    child.on("exit", (code) =>
      code === 0 ? done(out) : fail(new Error(`wrangler ${args[0]} failed:\n${out}`)),
    );
  });
}

/** `wrangler d1 migrations apply DB --local`, into `persistDir` (wrangler's default is .wrangler/state). */
export async function migrateLocal(persistDir?: string): Promise<void> {
  const args = ["d1", "migrations", "apply", "DB", "--local"];
  if (persistDir) args.push("--persist-to", persistDir);
  await runWrangler(args, { CI: "1" });
}

export interface WorkerOptions {
  port: number;
  /** Secrets and vars; written to a 0600 env file, never put on a command line. */
  vars: Record<string, string>;
  persistDir?: string;
  /** Where the env file goes; default a fresh dir under .wrangler/tmp. */
  stateDir?: string;
  /** wrangler's --inspector-port (default 0: none reachable); the bench reads the V8 heap through it. */
  inspectorPort?: number;
  /** Another wrangler config (default: the project's wrangler.toml). */
  config?: string;
  /** wrangler's --log-level; default "warn" (request lines are "info"). */
  logLevel?: "debug" | "info" | "log" | "warn" | "error" | "none";
  /** Lines of wrangler's output, for a caller that wants to show or keep them. */
  onOutput?: (line: string) => void;
  /** Aborting it while wrangler starts stops wrangler and makes startWorker throw (Ctrl-C during start-up). */
  signal?: AbortSignal;
}

export interface RunningWorker {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export async function waitForHealth(
  url: string,
  timeoutMs: number,
  child?: ChildProcess,
  anyStatus = false,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) throw new Error("start-up cancelled");
    if (child && child.exitCode !== null) throw new Error(`process exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/health`);
      await res.arrayBuffer();
      if (res.ok || anyStatus) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url}/health did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Stops a process group we started: SIGTERM, then SIGKILL if it lingers. */
export async function stopProcess(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const pid = child.pid;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  try {
    process.kill(-pid, "SIGTERM");
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const ownDir = opts.stateDir === undefined;
  const stateDir = opts.stateDir ?? join(ROOT, ".wrangler", "tmp", `ccproxy-${process.pid}-${opts.port}`);
  mkdirSync(stateDir, { recursive: true });
  const envFile = join(stateDir, "secrets.env");
  // The secrets live on disk only while wrangler runs (it rereads the file when its config changes).
  const removeSecrets = () => rmSync(ownDir ? stateDir : envFile, { recursive: true, force: true });
  writeFileSync(
    envFile,
    Object.entries(opts.vars)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join("\n"),
    { mode: 0o600 },
  );
  chmodSync(envFile, 0o600);
  const args = [
    "dev",
    "--ip",
    "127.0.0.1",
    "--port",
    String(opts.port),
    "--inspector-port",
    String(opts.inspectorPort ?? 0),
  ];
  args.push(
    "--env-file",
    envFile,
    "--show-interactive-dev-session=false",
    "--log-level",
    opts.logLevel ?? "warn",
  );
  if (opts.persistDir) args.push("--persist-to", opts.persistDir);
  if (opts.config) args.push("--config", opts.config);
  const child = spawn(process.execPath, [wranglerBin(), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...QUIET_ENV },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const onLine = (d: Buffer) => {
    for (const line of d.toString().split("\n")) if (line.trim()) opts.onOutput?.(line);
  };
  child.stdout?.on("data", onLine);
  child.stderr?.on("data", onLine);
  const url = `http://127.0.0.1:${opts.port}`;
  try {
    await waitForHealth(url, 60_000, child, opts.config !== undefined, opts.signal);
  } catch (e) {
    await stopProcess(child);
    removeSecrets();
    throw e;
  }
  return {
    url,
    child,
    stop: async () => {
      await stopProcess(child);
      removeSecrets();
    },
  };
}
