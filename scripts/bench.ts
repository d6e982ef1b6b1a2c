// `npm run bench`: SPEC §9's measurements, each side by side with the direct path in the same run, on
// 127.0.0.1 against the mock upstream. API mode's added latency twice: on bare workerd (Miniflare with
// wrangler's own workerd, no `wrangler dev` proxy), next to the runtime's floors — a Worker that only
// answers "ok" and one that only forwards — and under `wrangler dev`, as users run it. Then per-event
// streaming delay, stream conversion throughput, 1,000 concurrent streams, Claude Code mode, and memory
// over 10,000 requests (V8 heap after a full GC, a heap-snapshot diff, workerd RSS, the "ok" Worker as
// the control). Bounded in count and time; stops everything it started, on Ctrl-C too.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type MockServer, startMock } from "../src/mock/server.ts";
import { AnthropicToOpenAIStream, OpenAIStreamConverter } from "../src/shared/convert/stream.ts";
import { type SseEvent, SseParser } from "../src/shared/sse/decode.ts";
import { type BareWorkerd, startBareWorkerd } from "./lib/bare-workerd.ts";
import { connectInspector, type HeapReader, heapGrowth } from "./lib/inspector.ts";
import { freePort, migrateLocal, ROOT, type RunningWorker, startWorker, stopProcess } from "./lib/stack.ts";

const { values: args } = parseArgs({
  options: { quick: { type: "boolean", default: false }, json: { type: "boolean", default: false } },
});
const Q = args.quick;
const N_LATENCY = Q ? 200 : 1000;
const N_STREAM_RUNS = Q ? 5 : 20;
const N_CONCURRENT = 1000;
const N_MEMORY = Q ? 2000 : 10_000;
/** Heap samples over the memory run (each one a full GC, ~0.5 s). */
const MEMORY_SAMPLES = Q ? 5 : 20;
const CONVERT_EVENTS = Q ? 100_000 : 500_000;
/** Real agent runs (~0.6 s each) per runtime, direct and through the tunnel each. */
const N_AGENT = Q ? 6 : 30;
const TUNNEL_SECRET = "bench-tunnel-secret-0123456789abcdef";
const DEADLINE_MS = 15 * 60_000;

interface Row {
  metric: string;
  direct: string;
  ccproxy: string;
  added: string;
  target: string;
  /** A heading: what the rows under it ran on. */
  section?: true;
}
const rows: Row[] = [];
const ms = (n: number) => `${n.toFixed(2)} ms`;
const both = (xs: number[]) => `${ms(pct(xs, 50))} / ${ms(pct(xs, 99))}`;

function section(title: string): void {
  rows.push({ metric: title, direct: "", ccproxy: "", added: "", target: "", section: true });
}

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const sleep = (msecs: number) => new Promise((r) => setTimeout(r, msecs));

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

/**
 * Every probe once per round, in the order given, `warm` unrecorded rounds first: interleaved, so each
 * sees the same moments of the machine. Callers put a direct request after every CCProxy one, so what
 * the Worker does after its answer (the ledger write) lands on Node's time, not on a floor's.
 */
async function rounds<K extends string>(
  probes: Record<K, () => Promise<Timed>>,
  n: number,
  warm = 50,
): Promise<Record<K, Timed[]>> {
  const names = Object.keys(probes) as K[];
  const out = Object.fromEntries(names.map((k) => [k, [] as Timed[]])) as Record<K, Timed[]>;
  for (let i = 0; i < warm + n; i++) {
    for (const k of names) {
      const t = await probes[k]();
      if (i >= warm) out[k].push(t);
    }
  }
  return out;
}

const msOf = (ts: Timed[]) => ts.map((t) => t.ms);

/** Mints a key through the admin API. */
async function mint(url: string, fields: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${url}/admin/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "bench", ...fields }),
  });
  if (res.status !== 201 && res.status !== 200) throw new Error(`minting a key: ${res.status}`);
  return ((await res.json()) as { key: string }).key;
}

/** A key with no limits, and one with every limit set (high enough never to refuse the bench). */
async function mintKeys(url: string): Promise<{ key: string; limitedKey: string }> {
  return {
    key: await mint(url, {}),
    limitedKey: await mint(url, {
      rpm: 1_000_000,
      max_concurrent: 10_000,
      budget_usd_day: 1_000_000,
      budget_usd_month: 1_000_000,
      tokens_per_day: 1e12,
    }),
  };
}

/** The API-mode rows shared by both runtimes: end to end vs direct, p50 and p99, both keys. */
function apiRows(label: string, direct: number[], proxied: number[], limited: number[]): void {
  for (const q of [50, 99]) {
    rows.push({
      metric: `API mode end to end ${label}, non-streamed, p${q} (n=${proxied.length}, interleaved)`,
      direct: ms(pct(direct, q)),
      ccproxy: ms(pct(proxied, q)),
      added: ms(pct(proxied, q) - pct(direct, q)),
      target: q === 50 ? "≤ 0.5 ms added" : "≤ 2 ms added",
    });
  }
  rows.push({
    metric: "  key with all limits (rpm, concurrency, day/month USD, tokens/day), p50 / p99",
    direct: both(direct),
    ccproxy: both(limited),
    added: ms(pct(limited, 50) - pct(direct, 50)),
    target: "",
  });
}

/** A floor row: a Worker doing less than CCProxy, on the same runtime, p50 / p99 and its p50 vs direct. */
function floorRow(metric: string, direct: number[], floor: number[]): void {
  rows.push({
    metric,
    direct: both(direct),
    ccproxy: both(floor),
    added: ms(pct(floor, 50) - pct(direct, 50)),
    target: "",
  });
}

/** What CCProxy reported about itself (Server-Timing); workerd's clock only moves across I/O. */
function serverTimingRows(direct: number[], proxied: Timed[], limited: Timed[]): void {
  const own = (ts: Timed[]) =>
    ts.map((t) => (t.timing["ccproxy-total"] ?? 0) - (t.timing["ccproxy-upstream"] ?? 0));
  rows.push({
    metric: "  inside the Worker: CCProxy's time before the upstream call, mean (Server-Timing; I/O waits)",
    direct: "—",
    ccproxy: `${ms(mean(own(proxied)))} (key with all limits: ${ms(mean(own(limited)))})`,
    added: "",
    target: "",
  });
  const admits = limited.map((t) => t.timing["ccproxy-admit"] ?? 0);
  rows.push({
    metric: "    of which the KeyGuard check (auth, rpm, concurrency, budgets, reservation), mean / p99",
    direct: "—",
    ccproxy: `${ms(mean(admits))} / ${ms(pct(admits, 99))}`,
    added: "",
    target: "well under 1 ms p50 in production",
  });
  const up = proxied.map((t) => t.timing["ccproxy-upstream"] ?? 0);
  rows.push({
    metric: "  upstream wait: from workerd (Server-Timing) vs from Node directly, mean",
    direct: ms(mean(direct)),
    ccproxy: ms(mean(up)),
    added: ms(mean(up) - mean(direct)),
    target: "",
  });
}

async function bareLatency(mock: MockServer, bare: BareWorkerd, key: string, limitedKey: string) {
  const direct = () => timed(`${mock.url}/v1/messages`, { "x-api-key": "k" });
  const r = await rounds(
    {
      ok: () => timed(bare.url.ok, {}, null),
      forward: () => timed(`${bare.url.forward}/v1/messages`, { "x-api-key": "k" }),
      ccproxy: () => timed(`${bare.url.ccproxy}/api/v1/messages`, { "x-api-key": key }),
      direct,
      limited: () => timed(`${bare.url.ccproxy}/api/v1/messages`, { "x-api-key": limitedKey }),
      directAgain: direct,
    },
    N_LATENCY,
  );
  const d = [...msOf(r.direct), ...msOf(r.directAgain)];
  const p = msOf(r.ccproxy);
  const fwd = msOf(r.forward);
  apiRows("on bare workerd", d, p, msOf(r.limited));
  floorRow('  floor: a Worker that only says "ok" (no upstream call), p50 / p99', d, msOf(r.ok));
  floorRow("  floor: a Worker that only forwards to the mock (return fetch(request)), p50 / p99", d, fwd);
  rows.push({
    metric: "  CCProxy's own share: CCProxy minus the forwarding Worker, p50 / p99",
    direct: both(fwd),
    ccproxy: both(p),
    added: ms(pct(p, 50) - pct(fwd, 50)),
    target: "",
  });
  serverTimingRows(d, r.ccproxy, r.limited);
}

async function wranglerLatency(
  mock: MockServer,
  worker: RunningWorker,
  trivial: RunningWorker,
  key: string,
  limitedKey: string,
) {
  const direct = () => timed(`${mock.url}/v1/messages`, { "x-api-key": "k" });
  const r = await rounds(
    {
      ok: () => timed(trivial.url, {}, null),
      ccproxy: () => timed(`${worker.url}/api/v1/messages`, { "x-api-key": key }),
      direct,
      limited: () => timed(`${worker.url}/api/v1/messages`, { "x-api-key": limitedKey }),
      directAgain: direct,
    },
    N_LATENCY,
  );
  const d = [...msOf(r.direct), ...msOf(r.directAgain)];
  const p = msOf(r.ccproxy);
  const ok = msOf(r.ok);
  apiRows("via wrangler dev", d, p, msOf(r.limited));
  floorRow('  floor: a Worker that only says "ok", under wrangler dev too, p50 / p99', d, ok);
  rows.push({
    metric: '  CCProxy minus wrangler dev\'s "ok" floor, p50',
    direct: ms(pct(ok, 50)),
    ccproxy: ms(pct(p, 50)),
    added: ms(pct(p, 50) - pct(ok, 50)),
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

const streamPayload = JSON.stringify({
  model: "claude-haiku-4-5",
  max_tokens: 64,
  stream: true,
  messages: [{ role: "user", content: "go" }],
});

async function streaming(mock: MockServer, proxyUrl: string, key: string): Promise<void> {
  const scenario = { "x-mock-scenario": "long count=60 delay=5" };
  const deltas: number[] = [];
  const perEvent: number[] = [];
  for (let run = 0; run < N_STREAM_RUNS; run++) {
    const d = await eventTimes(`${mock.url}/v1/messages`, { "x-api-key": "k", ...scenario }, streamPayload);
    const p = await eventTimes(
      `${proxyUrl}/api/v1/messages`,
      { "x-api-key": key, ...scenario },
      streamPayload,
    );
    if (d.length !== p.length) throw new Error(`event counts differ: ${d.length} vs ${p.length}`);
    for (let i = 0; i < d.length; i++) deltas.push((p[i] ?? 0) - (d[i] ?? 0));
    // The relay's own per-event cost: how much later each event arrived than the one before, vs direct.
    for (let i = 1; i < d.length; i++)
      perEvent.push((p[i] ?? 0) - (p[i - 1] ?? 0) - ((d[i] ?? 0) - (d[i - 1] ?? 0)));
  }
  rows.push({
    metric: `  streaming: event arrival vs direct, p50 / p99 (${deltas.length} events, 5 ms apart)`,
    direct: "0",
    ccproxy: both(deltas),
    added: ms(pct(deltas, 50)),
    target: "≤ 1 ms",
  });
  rows.push({
    metric: "    inter-event gap vs direct (the relay's cost per event, request set-up excluded), p50 / p99",
    direct: "0",
    ccproxy: both(perEvent),
    added: ms(pct(perEvent, 50)),
    target: "≤ 1 ms",
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

async function concurrentStreams(mock: MockServer, proxyUrl: string, key: string, label: string) {
  const run = async (url: string, headers: Record<string, string>) => {
    const t0 = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: N_CONCURRENT }, async () => {
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", "x-mock-scenario": "long count=20", ...headers },
          body: streamPayload,
        });
        const text = await res.text();
        if (res.status !== 200 || !text.includes("message_stop")) throw new Error(`status ${res.status}`);
      }),
    );
    return { errors: results.filter((r) => r.status === "rejected").length, ms: performance.now() - t0 };
  };
  const d = await run(`${mock.url}/v1/messages`, { "x-api-key": "k" });
  const p = await run(`${proxyUrl}/api/v1/messages`, { "x-api-key": key });
  rows.push({
    metric: `  ${N_CONCURRENT} concurrent streams (20 deltas each) ${label}: errors, wall time`,
    direct: `${d.errors} errors, ${Math.round(d.ms)} ms`,
    ccproxy: `${p.errors} errors, ${Math.round(p.ms)} ms`,
    added: "",
    target: "0 errors",
  });
}

/**
 * RSS in MiB of the workerd processes among `rootPid`'s descendants, at most `depth` levels down
 * (1: its own children — Miniflare's workerd, and not a wrangler dev's, which is a grandchild).
 */
function workerdRssMiB(rootPid: number, depth = Number.POSITIVE_INFINITY): number {
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
  const level = new Map([[rootPid, 0]]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) {
      const parent = level.get(p.ppid);
      if (parent !== undefined && parent < depth && !level.has(p.pid)) {
        level.set(p.pid, parent + 1);
        grew = true;
      }
    }
  }
  const mine = procs.filter((p) => p.pid !== rootPid && level.has(p.pid) && p.comm.includes("workerd"));
  return mine.reduce((s, p) => s + p.rss, 0) / 1024;
}

const mib = (bytes: number) => Math.round((bytes / 1048576) * 100) / 100;

interface LoadTrace {
  /** Heap after a full GC: before the load, then after each equal share of it. */
  heap: number[];
  rss: number[];
  /** ms the load took (GC pauses for the samples excluded). */
  ms: number;
}

/**
 * `n` requests, 50 at a time, with the heap (after a full GC) and workerd's RSS sampled before and
 * `MEMORY_SAMPLES` times along the way; `at(done)` runs after every batch (heap snapshots).
 */
async function load(
  n: number,
  send: (i: number) => Promise<Timed>,
  heap: HeapReader,
  rss: () => number,
  at?: (done: number) => Promise<void>,
): Promise<LoadTrace> {
  const batch = 50;
  const every = n / MEMORY_SAMPLES;
  const trace: LoadTrace = { heap: [mib(await heap.usedBytes())], rss: [Math.round(rss())], ms: 0 };
  for (let done = 0; done < n; ) {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: batch }, (_, i) => send(done + i)));
    trace.ms += performance.now() - t0;
    done += batch;
    if (done % every === 0) {
      trace.heap.push(mib(await heap.usedBytes()));
      trace.rss.push(Math.round(rss()));
    }
    await at?.(done);
  }
  return trace;
}

const series = (xs: number[]) => xs.join(" → ");
const growth = (xs: number[]) => {
  const d = (xs.at(-1) ?? 0) - (xs[0] ?? 0);
  return `${d >= 0 ? "+" : ""}${d.toFixed(2)} MiB`;
};

/**
 * Memory on bare workerd, where the inspector reaches each Worker's isolate and a full GC can be had:
 * the "ok" Worker under the load first (the runtime's own growth), then CCProxy, with heap snapshots
 * after a fifth of the requests and at the end, diffed per constructor.
 */
async function bareMemory(bare: BareWorkerd, key: string, inspectorPort: number): Promise<void> {
  const rss = () => workerdRssMiB(process.pid, 1);
  const okHeap = await connectInspector(inspectorPort, bare.inspectorTarget.ok);
  const ccHeap = await connectInspector(inspectorPort, bare.inspectorTarget.ccproxy);
  try {
    const ok = await load(N_MEMORY, () => timed(bare.url.ok, {}, null), okHeap, rss);
    const early = N_MEMORY / 5;
    let before: Awaited<ReturnType<HeapReader["snapshot"]>> | undefined;
    let after: typeof before;
    const cc = await load(
      N_MEMORY,
      (i) =>
        timed(
          `${bare.url.ccproxy}/api/v1/messages`,
          { "x-api-key": key },
          i % 2 ? body : body.replace("hello", "hello there"),
        ),
      ccHeap,
      rss,
      async (done) => {
        if (done === early) before = await ccHeap.snapshot();
        if (done === N_MEMORY) after = await ccHeap.snapshot();
      },
    );
    section(
      `Memory on bare workerd: ${N_MEMORY.toLocaleString("en-US")} API-mode requests, 50 at a time, one key (V8 heap after a full GC)`,
    );
    rows.push({
      metric: `CCProxy Worker's heap (Worker + KeyGuard + TunnelHub isolate), start → ${MEMORY_SAMPLES} equal steps`,
      direct: "—",
      ccproxy: `${series(cc.heap)} MiB`,
      added: growth(cc.heap),
      target: "flat",
    });
    if (!Q) {
      // KeyGuard keeps each admission for its one-minute rpm window (pruned on the next admission).
      await sleep(61_000);
      await timed(`${bare.url.ccproxy}/api/v1/messages`, { "x-api-key": key });
      const settled = mib(await ccHeap.usedBytes());
      rows.push({
        metric:
          "  the same heap 61 s after the load, once the key's one-minute rpm window has passed (one more request)",
        direct: "—",
        ccproxy: `${settled} MiB`,
        added: growth([cc.heap[0] ?? 0, settled]),
        target: "flat",
      });
    }
    if (before && after) {
      const top = heapGrowth(before, after, 5)
        .filter((g) => g.bytes > 0)
        .map((g) => `${g.name} ${g.count >= 0 ? "+" : ""}${g.count} (${(g.bytes / 1024).toFixed(0)} KiB)`);
      const perRequest = (after.totalBytes - before.totalBytes) / (N_MEMORY - early);
      rows.push({
        metric: `  grew most from request ${early.toLocaleString("en-US")} to ${N_MEMORY.toLocaleString("en-US")} (heap snapshot diff, count and bytes)`,
        direct: "—",
        ccproxy: top.join(", ") || "nothing",
        added: `${perRequest.toFixed(0)} B/request`,
        target: "",
      });
    }
    rows.push({
      metric: '  control: the "ok" Worker\'s heap under the same number of requests',
      direct: "—",
      ccproxy: `${series(ok.heap)} MiB`,
      added: growth(ok.heap),
      target: "",
    });
    rows.push({
      metric: '  workerd RSS (one process: the three Workers, D1, Durable Objects): "ok" load, then CCProxy',
      direct: "—",
      ccproxy: `${series(ok.rss)} | ${series(cc.rss)} MiB`,
      added: `+${Math.round((ok.rss.at(-1) ?? 0) - (ok.rss[0] ?? 0))} | +${Math.round((cc.rss.at(-1) ?? 0) - (cc.rss[0] ?? 0))} MiB`,
      target: "",
    });
  } finally {
    okHeap.close();
    ccHeap.close();
  }
}

/** Memory under wrangler dev, as before: the Worker's heap (through wrangler's inspector proxy) and RSS. */
async function wranglerMemory(worker: RunningWorker, key: string, inspectorPort: number): Promise<void> {
  const heap = await connectInspector(inspectorPort);
  try {
    const trace = await load(
      N_MEMORY,
      (i) =>
        timed(
          `${worker.url}/api/v1/messages`,
          { "x-api-key": key },
          i % 2 ? body : body.replace("hello", "hello there"),
        ),
      heap,
      () => workerdRssMiB(worker.child.pid ?? 0),
    );
    rows.push({
      metric: `  Worker heap after a full GC over ${N_MEMORY.toLocaleString("en-US")} requests (start → ${MEMORY_SAMPLES} steps)`,
      direct: "—",
      ccproxy: `${series(trace.heap)} MiB`,
      added: growth(trace.heap),
      target: "flat",
    });
    rows.push({
      metric: "  workerd RSS, same run (wrangler dev's two workerd processes)",
      direct: "—",
      ccproxy: `${series(trace.rss)} MiB`,
      added: `+${Math.round((trace.rss.at(-1) ?? 0) - (trace.rss[0] ?? 0))} MiB`,
      target: "",
    });
  } finally {
    heap.close();
  }
}

/** Children the bench spawned itself (sidecars), so a deadline or Ctrl-C stops them too. */
const spawned = new Set<ChildProcess>();

function spawnTracked(script: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [script], { env, stdio: "ignore", detached: true });
  spawned.add(child);
  child.once("exit", () => spawned.delete(child));
  return child;
}

async function waitForSidecars(url: string, n: number): Promise<void> {
  for (let i = 0; i < 150; i++) {
    const health = (await (await fetch(`${url}/health`)).json()) as { sidecars: number };
    if (health.sidecars === n) return;
    await sleep(100);
  }
  throw new Error(`expected ${n} sidecar(s) connected`);
}

/**
 * The tunnel alone: the real sidecar transport (test/support/sidecar-scripted.ts: config, tunnel
 * client, serving) with a service that answers at once, against the Worker path to the mock upstream.
 */
async function tunnelRoundTrip(url: string, key: string): Promise<void> {
  const sidecar = spawnTracked(join(ROOT, "test/support/sidecar-scripted.ts"), {
    PATH: process.env.PATH ?? "",
    CCPROXY_URL: url,
    TUNNEL_SECRET,
    CC_SIDECAR_NAME: "scripted",
  });
  try {
    await waitForSidecars(url, 1);
    const ask = JSON.stringify({
      model: "claude-haiku-4-5",
      max_tokens: 64,
      stream: true,
      messages: [{ role: "user", content: "[[script:stream count=1]]" }],
    });
    const r = await rounds(
      {
        tunnel: () => timed(`${url}/v1/messages`, { "x-api-key": key }, ask),
        api: () => timed(`${url}/api/v1/messages`, { "x-api-key": key }),
      },
      N_LATENCY / 2,
      20,
    );
    const api = msOf(r.api);
    const tunnel = msOf(r.tunnel);
    rows.push({
      metric:
        "  Claude Code mode through the tunnel, a sidecar that answers at once, p50 (vs API mode to the mock)",
      direct: `${ms(pct(api, 50))} (API mode)`,
      ccproxy: ms(pct(tunnel, 50)),
      added: ms(pct(tunnel, 50) - pct(api, 50)),
      target: "≤ 5 ms over the SDK in the sidecar",
    });
  } finally {
    await stopProcess(sidecar);
    await waitForSidecars(url, 0).catch(() => undefined);
  }
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

/** scripts/lib/runner-server.ts in a fresh process: the Runner alone, over local HTTP. */
async function startRunnerServer(env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(ROOT, "scripts/lib/runner-server.ts")], {
    env,
    stdio: ["ignore", "pipe", "ignore"],
    detached: true,
  });
  spawned.add(child);
  child.once("exit", () => spawned.delete(child));
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /port (\d+)/.exec(out);
      if (m?.[1]) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`runner server exited (${code})`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

async function claudeCode(
  mock: MockServer,
  url: string,
  key: string,
  dir: string,
  via: string,
): Promise<void> {
  mkdirSync(join(dir, "home"), { recursive: true });
  const env = agentEnv(mock, dir);
  const request = JSON.stringify({
    model: "claude-haiku-4-5",
    max_tokens: 64,
    messages: [{ role: "user", content: "say hi" }],
  });
  // Direct: the sidecar's Runner in a process of its own, asked over local HTTP. Through the tunnel:
  // the real sidecar connected to the Worker. Both timed to the answer's last byte, as a client
  // sees it; interleaved, so both see the same machine.
  const direct = await startRunnerServer(env);
  const sidecar = spawnTracked(join(ROOT, "src/sidecar/main.ts"), {
    ...env,
    CCPROXY_URL: url,
    TUNNEL_SECRET,
    CC_SIDECAR_NAME: "bench",
  });
  try {
    await waitForSidecars(url, 1);
    const r = await rounds(
      {
        direct: () => timed(direct.url, {}, request),
        tunnel: () => timed(`${url}/v1/messages`, { "x-api-key": key }, request),
      },
      N_AGENT,
      2,
    );
    const d = msOf(r.direct);
    const t = msOf(r.tunnel);
    // Runs differ by tens of ms (the claude CLI's own start-up), so the difference is taken per round
    // and shown with its spread: this row cannot resolve a few ms; the row above measures the tunnel.
    const paired = t.map((x, i) => x - (d[i] ?? 0));
    rows.push({
      metric: `    one real agent run ("say hi", claude CLI + mock) to the answer's last byte, p50 (n=${N_AGENT}, interleaved)`,
      direct: `${ms(pct(d, 50))} (Runner alone, own process)`,
      ccproxy: `${ms(pct(t, 50))} (${via} → tunnel → sidecar)`,
      added: `${ms(pct(paired, 50))} (per round; IQR ${pct(paired, 25).toFixed(0)} to ${pct(paired, 75).toFixed(0)} ms)`,
      target: "",
    });
  } finally {
    await Promise.all([stopProcess(sidecar), stopProcess(direct.child)]);
  }
}

function print(): void {
  if (args.json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  const cols = ["metric", "direct", "ccproxy", "added", "target"] as const;
  const cells = rows.filter((r) => !r.section);
  const width = cols.map((c) => Math.max(c.length, ...cells.map((r) => r[c].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(width[i] ?? 0)).join(" │ ");
  process.stdout.write(`${line(cols)}\n`);
  for (const r of rows) {
    if (r.section) process.stdout.write(`${"─".repeat(3)} ${r.metric} ${"─".repeat(3)}\n`);
    else process.stdout.write(`${line(cols.map((c) => r[c]))}\n`);
  }
}

/** A Worker that only answers "ok", under wrangler dev like CCProxy: wrangler dev's own floor. */
async function startTrivialWrangler(dir: string): Promise<RunningWorker> {
  const wdir = join(dir, "trivial");
  mkdirSync(wdir, { recursive: true });
  writeFileSync(join(wdir, "index.js"), 'export default { fetch() { return new Response("ok"); } };\n');
  writeFileSync(
    join(wdir, "wrangler.toml"),
    'name = "trivial"\nmain = "index.js"\ncompatibility_date = "2026-11-01"\n',
  );
  return startWorker({
    port: await freePort(),
    vars: {},
    stateDir: wdir,
    config: join(wdir, "wrangler.toml"),
  });
}

const workerVars = (mock: MockServer) => ({
  ANTHROPIC_BASE_URL: mock.url,
  ANTHROPIC_API_KEY: "bench-team-key",
  ADMIN_TOKEN: ADMIN,
  TUNNEL_SECRET,
});

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "ccproxy-bench-"));
  const mock = await startMock({ quiet: true, record: false });
  let bare: BareWorkerd | undefined;
  let worker: RunningWorker | undefined;
  let trivial: RunningWorker | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      try {
        await Promise.allSettled([
          bare?.stop(),
          worker?.stop(),
          trivial?.stop(),
          ...[...spawned].map((c) => stopProcess(c)),
        ]);
        await mock.close().catch((e: unknown) => {
          process.stderr.write(`bench: closing the mock: ${e instanceof Error ? e.message : String(e)}\n`);
        });
      } finally {
        // The scratch directory holds the Workers' secrets file: it goes whatever else failed.
        // (Retried: a claude process just stopped may still be writing under HOME.)
        rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
      }
    })();
    return stopping;
  };
  const bail = (why: string, code: number) => {
    process.stderr.write(`bench: ${why}, stopping what it started\n`);
    stop()
      .catch((e: unknown) => process.stderr.write(`bench: stopping failed: ${String(e)}\n`))
      .finally(() => process.exit(code));
  };
  const deadline = setTimeout(() => bail(`time limit (${DEADLINE_MS / 60_000} min) reached`, 2), DEADLINE_MS);
  // `on`, not `once`: wrangler (imported for its Miniflare options) loads signal-exit, which re-raises
  // the signal at this process once no other listener is left, ending it before its children stop.
  process.on("SIGINT", () => bail("interrupted", 130));
  process.on("SIGTERM", () => bail("terminated", 143));
  try {
    // First, while this process is fresh and nothing else runs.
    section("In Node, one core");
    process.stderr.write("bench: conversion…\n");
    conversion();
    await conversionBytes();

    process.stderr.write("bench: building the Worker and starting it on bare workerd…\n");
    const bareInspector = await freePort();
    bare = await startBareWorkerd({
      dir: join(dir, "bare"),
      vars: workerVars(mock),
      inspectorPort: bareInspector,
    });
    const bareKeys = await mintKeys(bare.url.ccproxy);
    section(
      "On bare workerd: Miniflare with wrangler's own workerd, no wrangler dev proxy; each Worker on its own socket",
    );
    process.stderr.write("bench: latency on bare workerd…\n");
    await bareLatency(mock, bare, bareKeys.key, bareKeys.limitedKey);
    process.stderr.write("bench: streaming on bare workerd…\n");
    await streaming(mock, bare.url.ccproxy, bareKeys.key);
    await concurrentStreams(mock, bare.url.ccproxy, bareKeys.key, "on bare workerd");
    process.stderr.write("bench: Claude Code mode on bare workerd…\n");
    await tunnelRoundTrip(bare.url.ccproxy, bareKeys.key);
    await claudeCode(mock, bare.url.ccproxy, bareKeys.key, dir, "bare workerd");
    process.stderr.write("bench: memory on bare workerd…\n");
    await bareMemory(bare, bareKeys.key, bareInspector);
    await bare.stop();
    bare = undefined;

    process.stderr.write("bench: starting wrangler dev (CCProxy, and a trivial Worker)…\n");
    await migrateLocal(join(dir, "state"));
    const inspectorPort = await freePort();
    [worker, trivial] = await Promise.all([
      startWorker({
        port: await freePort(),
        inspectorPort,
        persistDir: join(dir, "state"),
        stateDir: dir,
        vars: workerVars(mock),
      }),
      startTrivialWrangler(dir),
    ]);
    const keys = await mintKeys(worker.url);
    section("Under wrangler dev, as `npm start` runs it: wrangler's proxy workerd in front of the Worker's");
    process.stderr.write("bench: latency via wrangler dev…\n");
    await wranglerLatency(mock, worker, trivial, keys.key, keys.limitedKey);
    await trivial.stop();
    trivial = undefined;
    process.stderr.write("bench: streaming via wrangler dev…\n");
    await streaming(mock, worker.url, keys.key);
    process.stderr.write("bench: 1,000 concurrent streams…\n");
    await concurrentStreams(mock, worker.url, keys.key, "via wrangler dev");
    process.stderr.write("bench: Claude Code mode…\n");
    await tunnelRoundTrip(worker.url, keys.key);
    await claudeCode(mock, worker.url, keys.key, dir, "wrangler dev");
    process.stderr.write("bench: memory via wrangler dev…\n");
    await wranglerMemory(worker, keys.key, inspectorPort);
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
