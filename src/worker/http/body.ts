// Reading request bodies within the configured size limit, and parsing JSON ones.

import { ProxyError } from "../../shared/errors.ts";

function tooLarge(limit: number): ProxyError {
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

/** A body stream that errors once more than `limit` bytes went through it (for bodies we do not buffer). */
export function limitStream(limit: number): TransformStream<Uint8Array, Uint8Array> {
  let total = 0;
  return new TransformStream({
    transform(chunk, controller) {
      total += chunk.byteLength;
      if (total > limit) controller.error(tooLarge(limit));
      else controller.enqueue(chunk);
    },
  });
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
