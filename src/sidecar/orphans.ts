// No `claude` process outlives its sidecar. Each run's process group is recorded under the workspace
// root while it lives; on Linux the kernel also sends it SIGTERM the moment the sidecar dies (however
// it dies — even SIGKILL, where no cleanup code of ours can run), through `setpriv --pdeathsig`.
// Whatever is still recorded when a sidecar starts is a leftover of one that died: it is reaped.

import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const RUNS_DIR = ".runs";

let pdeathsig: string[] | null | undefined;

/** `["setpriv", "--pdeathsig", "TERM", "--"]` where util-linux's setpriv can do it, else null. */
export function deathSignalPrefix(): string[] | null {
  if (pdeathsig === undefined) {
    pdeathsig = null;
    if (process.platform === "linux") {
      try {
        const help = execFileSync("setpriv", ["--help"], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "ignore"],
        });
        if (help.includes("--pdeathsig")) pdeathsig = ["setpriv", "--pdeathsig", "TERM", "--"];
      } catch {
        // no setpriv: the startup reap is the only guard
      }
    }
  }
  return pdeathsig;
}

/** The command to spawn for `command args`, with the parent-death signal where available. */
export function guarded(command: string, args: string[]): { command: string; args: string[] } {
  const prefix = deathSignalPrefix();
  if (prefix === null) return { command, args };
  const [bin, ...rest] = prefix as [string, ...string[]];
  return { command: bin, args: [...rest, command, ...args] };
}

/** Records a live run's process group; the returned function forgets it once it has exited. */
export function trackRun(workspaceRoot: string, pid: number): () => void {
  const dir = join(workspaceRoot, RUNS_DIR);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, String(pid)), `${process.pid}\n`);
  } catch {
    // best effort: the run itself matters more than its record
  }
  return () => rmSync(join(dir, String(pid)), { force: true });
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
  } catch {
    try {
      return execFileSync("ps", ["-o", "command=", "-p", String(pid)], { encoding: "utf8" });
    } catch {
      return "";
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Terminates the process groups of runs recorded by sidecars that are gone (their PID no longer
 * running), if they are still `claude` processes (a recycled PID is left alone). Returns how many.
 */
export function reapOrphans(workspaceRoot: string): number {
  const dir = join(workspaceRoot, RUNS_DIR);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let reaped = 0;
  for (const name of names) {
    const pid = Number(name);
    const file = join(dir, name);
    if (!Number.isSafeInteger(pid) || pid <= 1) {
      rmSync(file, { force: true });
      continue;
    }
    const owner = Number(readFileSync(file, "utf8").trim());
    if (owner !== process.pid && alive(owner) && /node|sidecar/.test(commandLine(owner))) continue; // a live sidecar's run
    if (alive(pid) && /claude/.test(commandLine(pid))) {
      try {
        process.kill(-pid, "SIGKILL");
        reaped++;
      } catch {
        // gone meanwhile
      }
    }
    rmSync(file, { force: true });
  }
  return reaped;
}
