// Writes a response body the way a careful server does: honours backpressure (waits for 'drain'),
// stops as soon as the client is gone, and applies the scenario's faults (a delay before every
// event, a dropped connection after N events). Without a delay, events are coalesced into ~16 KB
// writes and the loop yields between writes, so one fast stream cannot starve the others.
import type { ServerResponse } from "node:http";
import { setImmediate as nextTick, setTimeout as sleep } from "node:timers/promises";

export type DeliveryOutcome = "done" | "dropped" | "closed";

export interface DeliveryOptions {
  delayMs: number;
  /** Destroy the socket after this many chunks have been written (and flushed). */
  dropAfter: number | undefined;
  /** Aborted when the client closes the connection. */
  signal: AbortSignal;
  /** Called just before the socket is destroyed on purpose, so it is not taken for a client abort. */
  onDrop: () => void;
}

const BATCH_BYTES = 16 * 1024;

function waitForDrain(res: ServerResponse, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off("drain", done);
      signal.removeEventListener("abort", done);
      resolve();
    };
    res.on("drain", done);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Writes and, if the socket's buffer is full, waits until it drains. */
async function write(res: ServerResponse, chunk: string | Buffer, signal: AbortSignal): Promise<void> {
  if (!res.write(chunk)) await waitForDrain(res, signal);
}

/** Writes and resolves once the chunk has been handed to the OS (or the client is gone). */
function writeFlushed(res: ServerResponse, chunk: string | Buffer, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      signal.removeEventListener("abort", done);
      resolve();
    };
    signal.addEventListener("abort", done, { once: true });
    res.write(chunk, done);
  });
}

export async function deliver(
  res: ServerResponse,
  chunks: Iterable<string | Buffer>,
  opts: DeliveryOptions,
): Promise<DeliveryOutcome> {
  const { signal } = opts;
  const oneByOne = opts.delayMs > 0 || opts.dropAfter !== undefined;
  try {
    if (opts.dropAfter === 0) return await drop(res, opts);
    let sent = 0;
    let batch = "";
    for (const chunk of chunks) {
      if (signal.aborted || res.destroyed) return "closed";
      if (oneByOne) {
        if (opts.delayMs > 0) await sleep(opts.delayMs, undefined, { signal });
        await writeFlushed(res, chunk, signal);
        sent++;
        if (opts.dropAfter !== undefined && sent >= opts.dropAfter) return await drop(res, opts);
        continue;
      }
      if (typeof chunk !== "string") {
        if (batch !== "") await write(res, batch, signal);
        batch = "";
        await write(res, chunk, signal);
        await nextTick();
        continue;
      }
      batch += chunk;
      if (batch.length >= BATCH_BYTES) {
        await write(res, batch, signal);
        batch = "";
        await nextTick();
      }
    }
    if (signal.aborted || res.destroyed) return "closed";
    res.end(batch);
    return "done";
  } catch (err) {
    if (signal.aborted) return "closed";
    throw err;
  }
}

async function drop(res: ServerResponse, opts: DeliveryOptions): Promise<DeliveryOutcome> {
  const socket = res.socket;
  if (!res.headersSent) res.flushHeaders();
  // Let what was already written (at least the headers) reach the client before the cut.
  if (socket && !socket.destroyed) {
    await new Promise<void>((resolve) => {
      socket.once("close", resolve);
      // Socket writes complete in order: an empty one completes after everything before it.
      socket.write("", () => {
        socket.off("close", resolve);
        resolve();
      });
    });
  }
  opts.onDrop();
  socket?.destroy();
  return "dropped";
}
