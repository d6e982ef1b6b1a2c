// The V8 heap of a Worker, read through its inspector (Chrome DevTools Protocol), for the bench's memory
// measurement: used heap after a forced GC, and heap snapshots summed per constructor so two of them
// can be diffed. RSS mixes in the local runtime's own bookkeeping (SQLite page caches, other isolates);
// the heap does not.

export interface HeapSummary {
  /** Constructor name (objects) or "(type)" for strings, closures, code, arrays… → count and bytes. */
  byName: Map<string, { count: number; bytes: number }>;
  totalBytes: number;
}

export interface HeapGrowth {
  name: string;
  count: number;
  bytes: number;
}

export interface HeapReader {
  /** Used JS heap in bytes, after asking V8 to collect garbage. */
  usedBytes(): Promise<number>;
  /** A full heap snapshot (V8 collects garbage first), summed per constructor. */
  snapshot(): Promise<HeapSummary>;
  close(): void;
}

interface Message {
  id?: number;
  method?: string;
  result?: unknown;
  params?: { chunk?: string };
}

/** A call that got no answer in time (workerd never answers some methods, e.g. collectGarbage). */
const NO_ANSWER = Symbol("no answer");

/**
 * `target`: the inspector target's id, e.g. "core:user:ccproxy" under bare workerd, where every
 * Worker (and Miniflare's own services) has one; default the first (wrangler dev's proxy shows one).
 */
export async function connectInspector(port: number, target?: string): Promise<HeapReader> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as Array<{
    id: string;
    webSocketDebuggerUrl: string;
  }>;
  const url = (target === undefined ? targets[0] : targets.find((t) => t.id === target))
    ?.webSocketDebuggerUrl;
  if (!url) throw new Error(`no inspector target${target === undefined ? "" : ` ${target}`}`);
  // wrangler's inspector proxy only admits local origins; Node's WebSocket sends none by default.
  const ws = new WebSocket(url, { headers: { origin: "http://localhost" } } as unknown as string[]);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error("inspector connection refused")), { once: true });
  });
  let next = 0;
  const pending = new Map<number, (result: unknown) => void>();
  let chunks: string[] | null = null;
  ws.addEventListener("message", (e) => {
    const msg = JSON.parse(String(e.data)) as Message;
    if (msg.id !== undefined) {
      // workerd answers takeHeapSnapshot (after the last chunk) with an echo of the call, no result.
      pending.get(msg.id)?.(msg.result ?? null);
      pending.delete(msg.id);
    } else if (msg.method === "HeapProfiler.addHeapSnapshotChunk" && msg.params?.chunk !== undefined) {
      chunks?.push(msg.params.chunk);
    }
  });
  const call = (method: string, timeoutMs = 5000, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      const id = ++next;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
      setTimeout(() => {
        if (pending.delete(id)) resolve(NO_ANSWER);
      }, timeoutMs);
    });
  /** A snapshot's text, or "" when it is not kept; V8 collects all garbage before taking one. */
  const takeSnapshot = async (keep: boolean): Promise<string> => {
    chunks = keep ? [] : null;
    const done = await call("HeapProfiler.takeHeapSnapshot", 60_000, { reportProgress: false });
    const text = chunks?.join("") ?? "";
    chunks = null;
    if (done === NO_ANSWER) throw new Error("heap snapshot timed out");
    return text;
  };
  await call("Runtime.enable");
  await call("HeapProfiler.enable");
  return {
    async usedBytes() {
      // workerd never answers HeapProfiler.collectGarbage (nor collects), so without a full GC the
      // figure swings with whatever garbage is left; a heap snapshot is taken after one.
      await takeSnapshot(false);
      const usage = (await call("Runtime.getHeapUsage")) as { usedSize?: number } | typeof NO_ANSWER;
      return typeof usage === "object" && usage !== null ? (usage.usedSize ?? Number.NaN) : Number.NaN;
    },
    async snapshot() {
      return summarize(JSON.parse(await takeSnapshot(true)) as RawSnapshot);
    },
    close: () => ws.close(),
  };
}

/** The parts of V8's .heapsnapshot format the summary reads. */
interface RawSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

function summarize(raw: RawSnapshot): HeapSummary {
  const fields = raw.snapshot.meta.node_fields;
  const types = raw.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const byName = new Map<string, { count: number; bytes: number }>();
  let totalBytes = 0;
  for (let i = 0; i < raw.nodes.length; i += width) {
    const type = types[raw.nodes[i + typeAt] ?? 0] ?? "?";
    const bytes = raw.nodes[i + sizeAt] ?? 0;
    // Objects by their constructor; everything else (strings, closures, code, arrays…) by its kind.
    const name = type === "object" ? (raw.strings[raw.nodes[i + nameAt] ?? 0] ?? "?") : `(${type})`;
    const entry = byName.get(name) ?? { count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += bytes;
    byName.set(name, entry);
    totalBytes += bytes;
  }
  return { byName, totalBytes };
}

/** What grew from `before` to `after`, largest growth in bytes first. */
export function heapGrowth(before: HeapSummary, after: HeapSummary, top = 8): HeapGrowth[] {
  const out: HeapGrowth[] = [];
  for (const [name, a] of after.byName) {
    const b = before.byName.get(name) ?? { count: 0, bytes: 0 };
    out.push({ name, count: a.count - b.count, bytes: a.bytes - b.bytes });
  }
  return out.sort((x, y) => y.bytes - x.bytes).slice(0, top);
}
