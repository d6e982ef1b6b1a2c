// `npm run bench`: SPEC §9's measurements, each side by side with the direct path in the same run, on
// 127.0.0.1 against the mock upstream: added latency of API mode (auth, limits and usage logging on),
// the KeyGuard check alone, per-event streaming delay, stream conversion throughput, 1,000 concurrent
// streams, and the Worker's memory over 10,000 requests. Bounded in count and time; stops itself.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type MockServer, startMock } from "../src/mock/server.ts";
import { AnthropicToOpenAIStream, OpenAIStreamConverter } from "../src/shared/convert/stream.ts";
import { type SseEvent, SseParser } from "../src/shared/sse/decode.ts";
import { parsePolicy } from "../src/sidecar/policy.ts";
import { Runner } from "../src/sidecar/runner.ts";
import { connectInspector } from "./lib/inspector.ts";
import { freePort, migrateLocal, ROOT, type RunningWorker, startWorker, stopProcess } from "./lib/stack.ts";

const { values: args } = parseArgs({
  options: { quick: { type: "boolean", default: false }, json: { type: "boolean", default: false } },
});
const Q = args.quick;
const N_LATENCY = Q ? 200 : 1000;
const N_STREAM_RUNS = Q ? 5 : 20;
const N_CONCURRENT = 1000;
const N_MEMORY = Q ? 2000 : 10_000;
const CONVERT_EVENTS = Q ? 100_000 : 500_000;
const N_AGENT = Q ? 8 : 30;
const TUNNEL_SECRET = "bench-tunnel-secret-0123456789abcdef";

interface Row {
  metric: string;
  direct: string;
  ccproxy: string;
  added: string;
  target: string;
}
const rows: Row[] = [];
const ms = (n: number) => `${n.toFixed(2)} ms`;

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const ADMIN = "bench-admin-token";
const body = JSON.stringify({
  model: "claude-haiku-4-5",
  max_tokens: 64,
  messages: [{ role: "user", content: "hello" }],
});

interface Timed {
  ms: number;
  /** Server-Timing entries the Worker reported (ccproxy-admit, ccproxy-upstream, ccproxy-total). */
  timing: Record<string, number>;
}

async function timed(
  url: string,
  headers: Record<string, string>,
  payload: string | null = body,
): Promise<Timed> {
  const t0 = performance.now();
  const res = await fetch(url, {
    method: payload === null ? "GET" : "POST",
    headers: { "content-type": "application/json", ...headers },
    ...(payload === null ? {} : { body: payload }),
  });
  await res.arrayBuffer();
  const ms = performance.now() - t0;
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  const timing: Record<string, number> = {};
  for (const m of (res.headers.get("server-timing") ?? "").matchAll(/([\w-]+);dur=([\d.]+)/g)) {
    if (m[1] && m[2]) timing[m[1]] = Number(m[2]);
  }
  return { ms, timing };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** A Worker that only answers "ok", under wrangler dev like CCProxy: the local runtime's own floor. */
async function trivialWorkerFloor(dir: string): Promise<number[]> {
  const wdir = join(dir, "trivial");
  mkdirSync(wdir, { recursive: true });
  writeFileSync(join(wdir, "index.js"), 'export default { fetch() { return new Response("ok"); } };\n');
  writeFileSync(
    join(wdir, "wrangler.toml"),
    'name = "trivial"\nmain = "index.js"\ncompatibility_date = "2026-11-01"\n',
  );
  const trivial = await startWorker({
    port: await freePort(),
    vars: {},
    stateDir: wdir,
    config: join(wdir, "wrangler.toml"),
  });
  try {
    for (let i = 0; i < 50; i++) await timed(trivial.url, {}, null);
    const xs: number[] = [];
    for (let i = 0; i < N_LATENCY; i++) xs.push((await timed(trivial.url, {}, null)).ms);
    return xs;
  } finally {
    await trivial.stop();
  }
}

async function latency(
  mock: MockServer,
  worker: RunningWorker,
  key: string,
  limitedKey: string,
  floor: number[],
): Promise<void> {
  const direct: number[] = [];
  const proxied: Timed[] = [];
  const limited: Timed[] = [];
  for (let i = 0; i < 50; i++) {
    await timed(`${mock.url}/v1/messages`, { "x-api-key": "k" });
    await timed(`${worker.url}/api/v1/messages`, { "x-api-key": key });
  }
  for (let i = 0; i < N_LATENCY; i++) {
    direct.push((await timed(`${mock.url}/v1/messages`, { "x-api-key": "k" })).ms);
    proxied.push(await timed(`${worker.url}/api/v1/messages`, { "x-api-key": key }));
    limited.push(await timed(`${worker.url}/api/v1/messages`, { "x-api-key": limitedKey }));
  }
  const p = proxied.map((t) => t.ms);
  for (const q of [50, 99]) {
    rows.push({
      metric: `API mode end to end via wrangler dev, non-streamed, p${q} (n=${N_LATENCY})`,
      direct: ms(pct(direct, q)),
      ccproxy: ms(pct(p, q)),
      added: ms(pct(p, q) - pct(direct, q)),
      target: q === 50 ? "≤ 0.5 ms added" : "≤ 2 ms added",
    });
  }
  rows.push({
    metric: "  of which wrangler dev's own floor (a Worker that only says ok), p50",
    direct: "—",
    ccproxy: ms(pct(floor, 50)),
    added: "",
    target: "",
  });
  const own = proxied.map((t) => (t.timing["ccproxy-total"] ?? 0) - (t.timing["ccproxy-upstream"] ?? 0));
  const ownLimited = limited.map(
    (t) => (t.timing["ccproxy-total"] ?? 0) - (t.timing["ccproxy-upstream"] ?? 0),
  );
  rows.push({
    metric: "Inside the Worker: CCProxy's work before the upstream call, mean (Server-Timing, 1 ms ticks)",
    direct: "—",
    ccproxy: `${ms(mean(own))} (key with all limits: ${ms(mean(ownLimited))})`,
    added: ms(mean(own)),
    target: "≤ 0.5 ms",
  });
  const admits = limited.map((t) => t.timing["ccproxy-admit"] ?? 0);
  rows.push({
    metric: "  of which the KeyGuard check (auth, rpm, concurrency, budgets, reservation), mean / p99",
    direct: "—",
    ccproxy: `${ms(mean(admits))} / ${ms(pct(admits, 99))}`,
    added: "",
    target: "well under 1 ms p50 in production",
  });
  const up = proxied.map((t) => t.timing["ccproxy-upstream"] ?? 0);
  rows.push({
    metric: "Upstream wait: from workerd (Server-Timing) vs from Node directly, mean",
    direct: ms(mean(direct)),
    ccproxy: ms(mean(up)),
    added: ms(mean(up) - mean(direct)),
    target: "",
  });
}

/** Arrival time of every SSE event, ms from the request start. */
async function eventTimes(url: string, headers: Record<string, string>, payload: string): Promise<number[]> {
  const t0 = performance.now();
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: payload,
  });
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const times: number[] = [];
  const reader = res.body?.getReader();
  if (!reader) throw new Error("no body");
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const now = performance.now() - t0;
    for (const _ of parser.push(decoder.decode(value, { stream: true }))) times.push(now);
  }
  return times;
}

async function streaming(mock: MockServer, worker: RunningWorker, key: string): Promise<void> {
  const payload = JSON.stringify({
    model: "claude-haiku-4-5",
    max_tokens: 64,
    stream: true,
    messages: [{ role: "user", content: "go" }],
  });
  const scenario = { "x-mock-scenario": "long count=60 delay=5" };
  const deltas: number[] = [];
  const perEvent: number[] = [];
  for (let run = 0; run < N_STREAM_RUNS; run++) {
    const d = await eventTimes(`${mock.url}/v1/messages`, { "x-api-key": "k", ...scenario }, payload);
    const p = await eventTimes(`${worker.url}/api/v1/messages`, { "x-api-key": key, ...scenario }, payload);
    if (d.length !== p.length) throw new Error(`event counts differ: ${d.length} vs ${p.length}`);
    for (let i = 0; i < d.length; i++) deltas.push((p[i] ?? 0) - (d[i] ?? 0));
    // The relay's own per-event cost: how much later each event arrived than the one before, vs direct.
    for (let i = 1; i < d.length; i++)
      perEvent.push((p[i] ?? 0) - (p[i - 1] ?? 0) - ((d[i] ?? 0) - (d[i - 1] ?? 0)));
  }
  rows.push({
    metric: `Streaming: event arrival vs direct, p50 / p99 (${deltas.length} events)`,
    direct: "0",
    ccproxy: `${ms(pct(deltas, 50))} / ${ms(pct(deltas, 99))}`,
    added: ms(pct(deltas, 50)),
    target: "≤ 1 ms",
  });
  rows.push({
    metric: "  inter-event gap vs direct (relay cost per event), p50 / p99",
    direct: "0",
    ccproxy: `${ms(pct(perEvent, 50))} / ${ms(pct(perEvent, 99))}`,
    added: "",
    target: "",
  });
}

function conversion(): void {
  const text = readFileSync(join(ROOT, "test/fixtures/recorded/anthropic-text-2.sse"), "utf8");
  const parsed = new SseParser().push(text);
  const start = parsed.slice(0, 3);
  const delta = parsed.find((e) => e.event === "content_block_delta") as SseEvent;
  const end = parsed.slice(-3);
  // One core: the converter alone (one JSON.parse per event, as in the Worker).
  const converter = new OpenAIStreamConverter({ model: "gpt-4o", includeUsage: true });
  const t0 = performance.now();
  let bytes = 0;
  for (const ev of start) bytes += converter.pushSse(ev).length;
  for (let i = 0; i < CONVERT_EVENTS; i++) bytes += converter.pushSse(delta).length;
  for (const ev of end) bytes += converter.pushSse(ev).length;
  bytes += converter.end().length;
  const sec = (performance.now() - t0) / 1000;
  rows.push({
    metric: `Anthropic → OpenAI stream conversion, state machine (${CONVERT_EVENTS} events)`,
    direct: "—",
    ccproxy: `${Math.round(CONVERT_EVENTS / sec).toLocaleString("en-US")} events/s`,
    added: "",
    target: "≥ 200,000 events/s",
  });
  void bytes;
}

async function conversionBytes(): Promise<void> {
  const text = readFileSync(join(ROOT, "test/fixtures/recorded/anthropic-text-2.sse"), "utf8");
  const parsed = new SseParser().push(text);
  const deltaText = `event: content_block_delta\ndata: ${(parsed.find((e) => e.event === "content_block_delta") as SseEvent).data}\n\n`;
  const head = text.slice(0, text.indexOf("event: content_block_delta"));
  const tail = text.slice(text.lastIndexOf("event: content_block_stop"));
  const encoder = new TextEncoder();
  const chunk = encoder.encode(deltaText.repeat(100));
  const n = CONVERT_EVENTS / 100;
  let i = -1;
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      i++;
      if (i === 0) controller.enqueue(encoder.encode(head));
      else if (i <= n) controller.enqueue(chunk);
      else if (i === n + 1) controller.enqueue(encoder.encode(tail));
      else controller.close();
    },
  });
  const t0 = performance.now();
  await new Response(
    source.pipeThrough(new AnthropicToOpenAIStream({ model: "gpt-4o", includeUsage: false })),
  ).arrayBuffer();
  const sec = (performance.now() - t0) / 1000;
  rows.push({
    metric: "  same, bytes → bytes TransformStream (decode, parse, convert, encode)",
    direct: "—",
    ccproxy: `${Math.round(CONVERT_EVENTS / sec).toLocaleString("en-US")} events/s`,
    added: "",
    target: "",
  });
}

async function concurrentStreams(mock: MockServer, worker: RunningWorker, key: string): Promise<void> {
  const payload = JSON.stringify({
    model: "claude-haiku-4-5",
    max_tokens: 64,
    stream: true,
    messages: [{ role: "user", content: "go" }],
  });
  const run = async (url: string, headers: Record<string, string>) => {
    const t0 = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: N_CONCURRENT }, async () => {
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", "x-mock-scenario": "long count=20", ...headers },
          body: payload,
        });
        const text = await res.text();
        if (res.status !== 200 || !text.includes("message_stop")) throw new Error(`status ${res.status}`);
      }),
    );
    return { errors: results.filter((r) => r.status === "rejected").length, ms: performance.now() - t0 };
  };
  const d = await run(`${mock.url}/v1/messages`, { "x-api-key": "k" });
  const p = await run(`${worker.url}/api/v1/messages`, { "x-api-key": key });
  rows.push({
    metric: `${N_CONCURRENT} concurrent streams (20 deltas each): errors, wall time`,
    direct: `${d.errors} errors, ${Math.round(d.ms)} ms`,
    ccproxy: `${p.errors} errors, ${Math.round(p.ms)} ms`,
    added: "",
    target: "0 errors",
  });
}

/** RSS of the workerd processes under wrangler (the Worker's runtime), in MiB. */
function workerdRssMiB(rootPid: number): number {
  const out = execFileSync("ps", ["-e", "-o", "pid=,ppid=,rss=,comm="], { encoding: "utf8" });
  const procs = out
    .trim()
    .split("\n")
    .map((l) => l.trim().split(/\s+/))
    .map(([pid, ppid, rss, comm]) => ({
      pid: Number(pid),
      ppid: Number(ppid),
      rss: Number(rss),
      comm: comm ?? "",
    }));
  const tree = new Set([rootPid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) {
      if (tree.has(p.ppid) && !tree.has(p.pid)) {
        tree.add(p.pid);
        grew = true;
      }
    }
  }
  return (
    procs.filter((p) => tree.has(p.pid) && p.comm.includes("workerd")).reduce((s, p) => s + p.rss, 0) / 1024
  );
}

async function memory(worker: RunningWorker, key: string, inspectorPort: number): Promise<void> {
  const pid = worker.child.pid ?? 0;
  const heap = await connectInspector(inspectorPort);
  const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
  const heaps: number[] = [mib(await heap.usedBytes())];
  const rss: number[] = [workerdRssMiB(pid)];
  const batch = 50;
  for (let done = 0; done < N_MEMORY; done += batch) {
    await Promise.all(
      Array.from({ length: batch }, (_, i) =>
        timed(
          `${worker.url}/api/v1/messages`,
          { "x-api-key": key },
          i % 2 ? body : body.replace("hello", "hello there"),
        ),
      ),
    );
    if ((done + batch) % (N_MEMORY / 10) === 0) {
      heaps.push(mib(await heap.usedBytes()));
      rss.push(workerdRssMiB(pid));
    }
  }
  heap.close();
  rows.push({
    metric: `Worker V8 heap used over ${N_MEMORY.toLocaleString("en-US")} requests (start → every 10%)`,
    direct: "—",
    ccproxy: `${heaps.join(" → ")} MiB`,
    added: `max ${Math.max(...heaps.slice(1))} MiB`,
    target: "flat",
  });
  rows.push({
    metric: "  workerd RSS, same run (wrangler dev's own processes included)",
    direct: "—",
    ccproxy: `${rss.map((r) => Math.round(r)).join(" → ")} MiB`,
    added: "",
    target: "",
  });
}

/** The agent's environment: the mock upstream, a writable HOME, no traffic elsewhere. */
function agentEnv(mock: MockServer, dir: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: join(dir, "home"),
    ANTHROPIC_BASE_URL: mock.url,
    ANTHROPIC_API_KEY: "bench",
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    IS_SANDBOX: "1",
    CC_WORKSPACE_ROOT: join(dir, "workspaces"),
  };
}

async function waitForSidecars(worker: RunningWorker, n: number): Promise<void> {
  for (let i = 0; i < 150; i++) {
    const health = (await (await fetch(`${worker.url}/health`)).json()) as { sidecars: number };
    if (health.sidecars === n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`expected ${n} sidecar(s) connected`);
}

/**
 * The tunnel alone: the real sidecar transport (test/support/sidecar-scripted.ts: config, tunnel
 * client, serving) with a service that answers at once, against the Worker path to the mock upstream.
 */
async function tunnelRoundTrip(worker: RunningWorker, key: string): Promise<void> {
  const sidecar = spawn(process.execPath, [join(ROOT, "test/support/sidecar-scripted.ts")], {
    env: {
      PATH: process.env.PATH ?? "",
      CCPROXY_URL: worker.url,
      TUNNEL_SECRET,
      CC_SIDECAR_NAME: "scripted",
    },
    stdio: "ignore",
    detached: true,
  });
  try {
    await waitForSidecars(worker, 1);
    const ask = JSON.stringify({
      model: "claude-haiku-4-5",
      max_tokens: 64,
      stream: true,
      messages: [{ role: "user", content: "[[script:stream count=1]]" }],
    });
    const api: number[] = [];
    const tunnel: number[] = [];
    for (let i = 0; i < N_LATENCY / 2 + 20; i++) {
      const t = await timed(`${worker.url}/v1/messages`, { "x-api-key": key }, ask);
      const a = await timed(`${worker.url}/api/v1/messages`, { "x-api-key": key });
      if (i >= 20) {
        tunnel.push(t.ms);
        api.push(a.ms);
      }
    }
    rows.push({
      metric:
        "Claude Code mode through the tunnel, a sidecar that answers at once, p50 (vs API mode to the mock)",
      direct: `${ms(pct(api, 50))} (API mode)`,
      ccproxy: ms(pct(tunnel, 50)),
      added: ms(pct(tunnel, 50) - pct(api, 50)),
      target: "≤ 5 ms over the SDK in the sidecar",
    });
  } finally {
    await stopProcess(sidecar);
    await waitForSidecars(worker, 0).catch(() => undefined);
  }
}

async function claudeCode(mock: MockServer, worker: RunningWorker, key: string, dir: string): Promise<void> {
  mkdirSync(join(dir, "home"), { recursive: true });
  const env = agentEnv(mock, dir);
  const request = {
    model: "claude-haiku-4-5",
    max_tokens: 64,
    messages: [{ role: "user", content: "say hi" }],
  };
  // Direct: the same Runner the sidecar uses, called in this process. Through the tunnel: a sidecar
  // process connected to wrangler dev, asked over HTTP. Interleaved, so both see the same machine.
  const runner = new Runner(parsePolicy(env));
  const sidecar: ChildProcess = spawn(process.execPath, [join(ROOT, "src/sidecar/main.ts")], {
    env: { ...env, CCPROXY_URL: worker.url, TUNNEL_SECRET, CC_SIDECAR_NAME: "bench" },
    stdio: "ignore",
    detached: true,
  });
  try {
    await waitForSidecars(worker, 1);
    const direct: number[] = [];
    const tunnel: number[] = [];
    for (let i = 0; i < N_AGENT + 2; i++) {
      const t0 = performance.now();
      const res = await runner.run({
        format: "anthropic",
        body: request,
        keyId: "key_bench",
        keyName: "bench",
        requestId: `req_bench_${i}`,
        signal: new AbortController().signal,
      });
      await new Response(res.body).arrayBuffer();
      await res.done;
      const d = performance.now() - t0;
      const t = await timed(`${worker.url}/v1/messages`, { "x-api-key": key }, JSON.stringify(request));
      if (i >= 2) {
        direct.push(d);
        tunnel.push(t.ms);
      }
    }
    rows.push({
      metric: `  one real agent run ("say hi", claude CLI + mock), p50 (n=${N_AGENT}, interleaved)`,
      direct: `${ms(pct(direct, 50))} (Runner in process)`,
      ccproxy: `${ms(pct(tunnel, 50))} (wrangler dev → tunnel → sidecar)`,
      added: ms(pct(tunnel, 50) - pct(direct, 50)),
      target: "",
    });
  } finally {
    await stopProcess(sidecar);
  }
}

function print(): void {
  if (args.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const cols = ["metric", "direct", "ccproxy", "added", "target"] as const;
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => r[c].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(width[i] ?? 0)).join(" │ ");
  process.stdout.write(`${line(cols)}\n${width.map((w) => "─".repeat(w)).join("─┼─")}\n`);
  for (const r of rows) process.stdout.write(`${line(cols.map((c) => r[c]))}\n`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ccproxy-bench-"));
  const mock = await startMock({ quiet: true, record: false });
  let worker: RunningWorker | undefined;
  const stop = async () => {
    await worker?.stop();
    await mock.close();
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = setTimeout(() => {
    process.stderr.write("bench: time limit (15 min) reached, stopping\n");
    void stop().then(() => process.exit(2));
  }, 15 * 60_000);
  try {
    process.stderr.write("bench: starting the mock upstream and wrangler dev…\n");
    await migrateLocal(join(dir, "state"));
    const inspectorPort = await freePort();
    worker = await startWorker({
      port: await freePort(),
      inspectorPort,
      persistDir: join(dir, "state"),
      stateDir: dir,
      vars: {
        ANTHROPIC_BASE_URL: mock.url,
        ANTHROPIC_API_KEY: "bench-team-key",
        ADMIN_TOKEN: ADMIN,
        TUNNEL_SECRET,
      },
    });
    const mint = async (fields: Record<string, unknown>) => {
      const res = await fetch(`${worker?.url}/admin/keys`, {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
        body: JSON.stringify({ name: "bench", ...fields }),
      });
      return ((await res.json()) as { key: string }).key;
    };
    const key = await mint({});
    const limitedKey = await mint({
      rpm: 1_000_000,
      max_concurrent: 10_000,
      budget_usd_day: 1_000_000,
      budget_usd_month: 1_000_000,
      tokens_per_day: 1e12,
    });
    process.stderr.write("bench: wrangler dev floor…\n");
    const floor = await trivialWorkerFloor(dir);
    process.stderr.write("bench: latency…\n");
    await latency(mock, worker, key, limitedKey, floor);
    process.stderr.write("bench: streaming…\n");
    await streaming(mock, worker, key);
    process.stderr.write("bench: conversion…\n");
    conversion();
    await conversionBytes();
    process.stderr.write("bench: 1,000 concurrent streams…\n");
    await concurrentStreams(mock, worker, key);
    process.stderr.write("bench: Claude Code mode…\n");
    await tunnelRoundTrip(worker, key);
    await claudeCode(mock, worker, key, dir);
    process.stderr.write("bench: memory…\n");
    await memory(worker, key, inspectorPort);
  } finally {
    clearTimeout(deadline);
    await stop();
  }
  print();
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
