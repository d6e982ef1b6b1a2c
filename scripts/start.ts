// `npm start`: the whole stack on this machine. Local D1 migrated, `wrangler dev` on 127.0.0.1, a dev
// key, and the env lines to paste. Without ANTHROPIC_API_KEY it runs against the built-in mock upstream.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type MockServer, startMock } from "../src/mock/server.ts";
import { randomBase62 } from "../src/shared/ids.ts";
import { freePort, migrateLocal, ROOT, type RunningWorker, startWorker } from "./lib/stack.ts";

const { values: args } = parseArgs({
  options: {
    port: { type: "string", default: process.env.PORT ?? "8787" },
    "mock-port": { type: "string" },
    verbose: { type: "boolean", default: false },
  },
});

/** `.dev.vars` (wrangler's local secrets file), if present: KEY=VALUE lines, values optionally quoted. */
function readDevVars(): Record<string, string> {
  const file = join(ROOT, ".dev.vars");
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

const stateFile = join(ROOT, ".ccproxy", "dev.json");

function loadState(): DevState {
  try {
    return JSON.parse(readFileSync(stateFile, "utf8")) as DevState;
  } catch {
    return { admin_token: randomBase62(32), tunnel_secret: randomBase62(32) };
  }
}

function saveState(state: DevState): void {
  mkdirSync(join(ROOT, ".ccproxy"), { recursive: true });
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

function box(lines: string[]): string[] {
  const width = Math.max(...lines.map((l) => l.length));
  return [
    `  ┌${"─".repeat(width + 2)}┐`,
    ...lines.map((l) => `  │ ${l.padEnd(width)} │`),
    `  └${"─".repeat(width + 2)}┘`,
  ];
}

async function main(): Promise<void> {
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
    upstreamKey = "mock-upstream-key";
    upstreamBase = mock.url;
  }

  process.stdout.write("Applying local D1 migrations…\n");
  await migrateLocal();
  const port = Number(args.port);
  process.stdout.write(`Starting wrangler dev on 127.0.0.1:${port}…\n`);
  let worker: RunningWorker | undefined;
  const shutdown = async (code: number) => {
    await worker?.stop();
    await mock?.close();
    process.exit(code);
  };
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));

  worker = await startWorker({
    port,
    logLevel: args.verbose ? "info" : "warn",
    vars: {
      ANTHROPIC_BASE_URL: upstreamBase,
      ANTHROPIC_API_KEY: upstreamKey,
      ADMIN_TOKEN: state.admin_token,
      TUNNEL_SECRET: state.tunnel_secret,
    },
    onOutput: (line) => process.stdout.write(`[wrangler] ${line}\n`),
  });
  worker.child.on("exit", (code) => {
    process.stdout.write(`wrangler dev exited (${code}); stopping.\n`);
    void shutdown(code ?? 1);
  });

  const { id, key } = await devKey(worker.url, state);
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
    `Dev key (kept in .ccproxy/dev.json): ${key}`,
    "",
    "Anthropic SDK or Claude Code, API mode:",
    `  export ANTHROPIC_BASE_URL=${u}/api`,
    `  export ANTHROPIC_API_KEY=${key}`,
    "OpenAI SDK, API mode:",
    `  export OPENAI_BASE_URL=${u}/api/v1`,
    `  export OPENAI_API_KEY=${key}`,
    "Claude Code mode (answered by the Claude Code agent in a sidecar):",
    `  export ANTHROPIC_BASE_URL=${u}        # or OPENAI_BASE_URL=${u}/v1`,
    "Admin CLI:",
    `  export CCPROXY_URL=${u} CCPROXY_ADMIN_TOKEN=${state.admin_token}`,
    "",
    "Press Ctrl-C to stop.",
    "",
  ];
  process.stdout.write(lines.join("\n"));
}

main().catch((e: unknown) => {
  process.stderr.write(`npm start failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
