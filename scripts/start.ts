// `npm start`: the whole stack on this machine. Local D1 migrated, `wrangler dev` on 127.0.0.1, a dev
// key, and the env lines to paste. Without ANTHROPIC_API_KEY it runs against the built-in mock upstream.

import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type MockServer, startMock } from "../src/mock/server.ts";
import { randomBase62 } from "../src/shared/ids.ts";
import { freePort, migrateLocal, ROOT, type RunningWorker, startWorker, stopProcess } from "./lib/stack.ts";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: process.env.PORT ?? "8787" },
    "mock-port": { type: "string" },
    verbose: { type: "boolean", default: false },
    "no-sidecar": { type: "boolean", default: false },
  },
});

/** Where the dev key, tokens and (with CCPROXY_STATE_DIR) the local D1/DO state live. */
const STATE_DIR = process.env.CCPROXY_STATE_DIR ?? join(ROOT, ".ccproxy");

/**
 * `.dev.vars` (wrangler's local secrets file), if present: KEY=VALUE lines, values optionally quoted.
 * CCPROXY_DEV_VARS names another file instead (the tests point it at none, so a developer's real
 * key in the repo's .dev.vars cannot turn their offline run into an online one).
 */
function readDevVars(): Record<string, string> {
  const file = process.env.CCPROXY_DEV_VARS ?? join(ROOT, ".dev.vars");
  if (!existsSync(file)) return {};
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m?.[1] || line.trimStart().startsWith("#")) continue;
    const raw = m[2] ?? "";
    out[m[1]] = /^(["']).*\1$/.test(raw) ? raw.slice(1, -1) : raw;
  }
  return out;
}

interface DevState {
  admin_token: string;
  tunnel_secret: string;
  key_id?: string;
  key?: string;
}

const stateFile = join(STATE_DIR, "dev.json");

function loadState(): DevState {
  try {
    return JSON.parse(readFileSync(stateFile, "utf8")) as DevState;
  } catch {
    return { admin_token: randomBase62(32), tunnel_secret: randomBase62(32) };
  }
}

function saveState(state: DevState): void {
  mkdirSync(STATE_DIR, { recursive: true });
  writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

async function adminCall(base: string, token: string, method: string, path: string, body?: unknown) {
  return fetch(`${base}/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** Reuses the dev key from an earlier start while it is still valid, else creates one. */
async function devKey(base: string, state: DevState): Promise<{ id: string; key: string }> {
  if (state.key_id && state.key) {
    const res = await adminCall(base, state.admin_token, "GET", `/keys/${state.key_id}`);
    if (res.ok) {
      const record = (await res.json()) as { revoked_at: string | null };
      if (record.revoked_at === null) return { id: state.key_id, key: state.key };
    }
  }
  const res = await adminCall(base, state.admin_token, "POST", "/keys", { name: "dev (npm start)" });
  if (res.status !== 201) throw new Error(`could not create the dev key: ${res.status} ${await res.text()}`);
  const created = (await res.json()) as { id: string; key: string };
  return { id: created.id, key: created.key };
}

/**
 * `npm run sidecar` as a child: dialing this stack's tunnel. Offline, the agent talks to the mock
 * upstream; otherwise it uses the upstream credential the Worker got (ANTHROPIC_API_KEY and
 * ANTHROPIC_BASE_URL from the shell or .dev.vars), else this machine's Claude Code login, as the
 * user's own `claude` would.
 */
function startSidecar(
  url: string,
  secret: string,
  offline: { baseUrl: string; apiKey: string } | null,
  upstream: { ANTHROPIC_API_KEY?: string | undefined; ANTHROPIC_BASE_URL?: string | undefined },
): ChildProcess {
  const env: Record<string, string | undefined> = { ...process.env, CCPROXY_URL: url, TUNNEL_SECRET: secret };
  // A key only in .dev.vars reaches the Worker through wrangler; the sidecar's agent needs it too.
  for (const [name, value] of Object.entries(upstream)) if (value) env[name] = value;
  if (offline) {
    env.ANTHROPIC_BASE_URL = offline.baseUrl;
    env.ANTHROPIC_API_KEY = offline.apiKey;
    env.CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC = "1";
  }
  const child = spawn(process.execPath, [join(ROOT, "src/sidecar/main.ts")], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const onLine = (d: Buffer) => {
    for (const line of d.toString().split("\n")) if (line.trim()) process.stdout.write(`[sidecar] ${line}\n`);
  };
  child.stdout?.on("data", onLine);
  child.stderr?.on("data", onLine);
  return child;
}

async function waitForSidecar(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const health = (await (await fetch(`${url}/health`)).json()) as { sidecars?: number };
    if ((health.sidecars ?? 0) > 0) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  process.stdout.write(
    "The sidecar did not connect within 30 s; see its lines above. API mode works regardless.\n",
  );
}

function box(lines: string[]): string[] {
  const width = Math.max(...lines.map((l) => l.length));
  return [
    `  ┌${"─".repeat(width + 2)}┐`,
    ...lines.map((l) => `  │ ${l.padEnd(width)} │`),
    `  └${"─".repeat(width + 2)}┘`,
  ];
}

/** What this run started, for shutdown() to stop whatever point start-up reached. */
const running: { worker?: RunningWorker; sidecar?: ChildProcess; mock?: MockServer } = {};
/** Cancels a wrangler still starting (startWorker then stops it); `workerStarting` settles after that. */
const startup = new AbortController();
let workerStarting: Promise<unknown> | undefined;
let stopping = false;

/** Stops everything started so far (the sidecar first: it drains its runs, then the Worker), then exits. */
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    try {
      startup.abort();
      await workerStarting?.catch(() => {});
      if (running.sidecar) await stopProcess(running.sidecar, 35_000);
      await running.worker?.stop();
      await running.mock?.close();
    } catch (e) {
      process.stderr.write(`stopping failed: ${e instanceof Error ? e.message : String(e)}\n`);
    }
    process.exit(code);
  }
  return new Promise<never>(() => {}); // a second call waits for the first to exit
}

async function main(): Promise<void> {
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));
  const devVars = readDevVars();
  const pick = (name: string) => process.env[name] ?? devVars[name];
  const state = loadState();
  state.admin_token = pick("ADMIN_TOKEN") ?? state.admin_token;
  state.tunnel_secret = pick("TUNNEL_SECRET") ?? state.tunnel_secret;

  let mock: MockServer | undefined;
  let upstreamKey = pick("ANTHROPIC_API_KEY");
  let upstreamBase = pick("ANTHROPIC_BASE_URL") ?? "https://api.anthropic.com";
  if (!upstreamKey) {
    const mockPort = args["mock-port"] ? Number(args["mock-port"]) : await freePort();
    mock = await startMock({ port: mockPort, quiet: true });
    running.mock = mock;
    upstreamKey = "mock-upstream-key";
    upstreamBase = mock.url;
  }

  // wrangler's default .wrangler/state, unless a state dir was asked for (tests, several stacks).
  const persistDir = process.env.CCPROXY_STATE_DIR ? join(STATE_DIR, "wrangler") : undefined;
  process.stdout.write("Applying local D1 migrations…\n");
  await migrateLocal(persistDir);
  const port = Number(args.port);
  process.stdout.write(`Starting wrangler dev on 127.0.0.1:${port}…\n`);
  const starting = startWorker({
    port,
    signal: startup.signal,
    ...(persistDir ? { persistDir, stateDir: join(STATE_DIR, "tmp") } : {}),
    logLevel: args.verbose ? "info" : "warn",
    vars: {
      ANTHROPIC_BASE_URL: upstreamBase,
      ANTHROPIC_API_KEY: upstreamKey,
      ADMIN_TOKEN: state.admin_token,
      TUNNEL_SECRET: state.tunnel_secret,
    },
    onOutput: (line) => process.stdout.write(`[wrangler] ${line}\n`),
  });
  workerStarting = starting;
  const worker = await starting;
  running.worker = worker;
  worker.child.on("exit", (code) => {
    process.stdout.write(`wrangler dev exited (${code}); stopping.\n`);
    void shutdown(code ?? 1);
  });

  const { id, key } = await devKey(worker.url, state);
  if (!args["no-sidecar"]) {
    process.stdout.write("Starting a local Claude Code sidecar…\n");
    const sidecar = startSidecar(
      worker.url,
      state.tunnel_secret,
      mock ? { baseUrl: mock.url, apiKey: upstreamKey } : null,
      { ANTHROPIC_API_KEY: pick("ANTHROPIC_API_KEY"), ANTHROPIC_BASE_URL: pick("ANTHROPIC_BASE_URL") },
    );
    running.sidecar = sidecar;
    sidecar.on("exit", (code) => {
      if (!stopping)
        process.stdout.write(
          `the sidecar exited (${code}); Claude Code mode is unavailable until it runs again.\n`,
        );
    });
    await waitForSidecar(worker.url, 30_000);
  }
  state.key_id = id;
  state.key = key;
  saveState(state);

  const u = worker.url;
  const lines = [
    "",
    `CCProxy is running at ${u}`,
    "",
    ...(mock
      ? [
          ...box([
            "OFFLINE DEMO MODE: no ANTHROPIC_API_KEY is set, so every answer comes",
            `from the built-in mock Anthropic API at ${mock.url}.`,
            "Set ANTHROPIC_API_KEY (shell or .dev.vars) and restart for real Claude.",
          ]),
          "",
        ]
      : [`Upstream: ${upstreamBase} with your ANTHROPIC_API_KEY.`, ""]),
    `Dev key (kept in ${stateFile}): ${key}`,
    "",
    "Anthropic SDK or Claude Code, API mode:",
    `  export ANTHROPIC_BASE_URL=${u}/api`,
    `  export ANTHROPIC_API_KEY=${key}`,
    "OpenAI SDK, API mode:",
    `  export OPENAI_BASE_URL=${u}/api/v1`,
    `  export OPENAI_API_KEY=${key}`,
    args["no-sidecar"]
      ? "Claude Code mode (no sidecar started: run `npm run sidecar` with the lines below):"
      : "Claude Code mode (answered by the Claude Code agent in the local sidecar):",
    `  export ANTHROPIC_BASE_URL=${u}        # or OPENAI_BASE_URL=${u}/v1`,
    "Another sidecar (this stack's tunnel):",
    `  CCPROXY_URL=${u} TUNNEL_SECRET=${state.tunnel_secret} npm run sidecar`,
    "Admin CLI:",
    `  export CCPROXY_URL=${u} CCPROXY_ADMIN_TOKEN=${state.admin_token}`,
    "",
    // One line a script can parse: each runs in its own process group, stopped on Ctrl-C.
    `Processes: start=${process.pid} wrangler=${worker.child.pid ?? "-"} sidecar=${running.sidecar?.pid ?? "-"}`,
    "Press Ctrl-C to stop.",
    "",
  ];
  process.stdout.write(lines.join("\n"));
}

main().catch((e: unknown) => {
  if (!stopping) process.stderr.write(`npm start failed: ${e instanceof Error ? e.message : String(e)}\n`);
  // Whatever was already running (wrangler, the sidecar: each in its own process group) goes too.
  void shutdown(1);
});
