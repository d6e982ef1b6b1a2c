// Reading request bodies within the configured size limit, and parsing JSON ones.

import { ProxyError } from "../../shared/errors.ts";

export function tooLarge(limit: number): ProxyError {
  return new ProxyError("request_too_large", `Request body exceeds the maximum of ${limit} bytes.`);
}

/** Fails fast on a declared length over the limit, before reading a byte. */
export function checkDeclaredLength(req: Request, limit: number): void {
  const declared = req.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge(limit);
}

/** The exact bytes the client sent, refused with 413 as soon as they pass `limit`. */
export async function readBody(req: Request, limit: number): Promise<Uint8Array> {
  checkDeclaredLength(req, limit);
  if (req.body === null) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1 && chunks[0]) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * The body as a stream that stops at `limit` bytes (for bodies we do not buffer). Past the limit it
 * calls `onOverflow` and cancels the client's body; the caller aborts the request the stream feeds,
 * which cancels this stream in turn. It neither ends (a cut-off body could reach the upstream as a
 * complete request) nor errors (the runtime's body pump would log the error as uncaught).
 */
export function limitedBody(
  source: ReadableStream<Uint8Array>,
  limit: number,
  onOverflow: () => void,
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let total = 0;
  let over = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (over) return;
        const { done, value } = await reader.read();
        if (done) {
          controller.close();
          return;
        }
        total += value.byteLength;
        if (total > limit) {
          over = true;
          onOverflow();
          await reader.cancel().catch(() => {});
          return;
        }
        controller.enqueue(value);
      },
      async cancel(reason) {
        if (!over) await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    throw new ProxyError("invalid_request", `The request body is not valid JSON: ${detail}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProxyError("invalid_request", "The request body must be a JSON object.");
  }
  return value as Record<string, unknown>;
}
