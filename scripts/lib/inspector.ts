// The V8 heap of a Worker under `wrangler dev`, read through its inspector (Chrome DevTools Protocol),
// for the bench's memory measurement: RSS mixes in the local runtime's own bookkeeping, the heap does not.

export interface HeapReader {
  /** Used JS heap in bytes, after asking V8 to collect garbage. */
  usedBytes(): Promise<number>;
  close(): void;
}

export async function connectInspector(port: number): Promise<HeapReader> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as Array<{
    webSocketDebuggerUrl: string;
  }>;
  const url = targets[0]?.webSocketDebuggerUrl;
  if (!url) throw new Error("no inspector target");
  // wrangler's inspector proxy only admits local origins; Node's WebSocket sends none by default.
  const ws = new WebSocket(url, { headers: { origin: "http://localhost" } } as unknown as string[]);
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error("inspector connection refused")), { once: true });
  });
  let next = 0;
  const pending = new Map<number, (result: unknown) => void>();
  ws.addEventListener("message", (e) => {
    const msg = JSON.parse(String(e.data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) {
      pending.get(msg.id)?.(msg.result);
      pending.delete(msg.id);
    }
  });
  const call = (method: string, timeoutMs = 5000) =>
    new Promise<unknown>((resolve) => {
      const id = ++next;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params: {} }));
      setTimeout(() => {
        if (pending.delete(id)) resolve(undefined);
      }, timeoutMs);
    });
  await call("Runtime.enable");
  await call("HeapProfiler.enable");
  return {
    async usedBytes() {
      // collectGarbage may not answer under wrangler dev; the heap usage does.
      await call("HeapProfiler.collectGarbage", 2000);
      const usage = (await call("Runtime.getHeapUsage")) as { usedSize?: number } | undefined;
      return usage?.usedSize ?? Number.NaN;
    },
    close: () => ws.close(),
  };
}
