// Random identifiers and secrets: base62 text from crypto.getRandomValues (rejection-sampled, so unbiased).

const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// One pooled buffer refilled in bulk: ids are minted per request (and by the mock per tool call),
// and a crypto call per id would show in the load benchmarks.
const pool = new Uint8Array(4096);
let poolPos = pool.length;

/** `length` base62 characters, each carrying log2(62) ≈ 5.95 random bits. */
export function randomBase62(length: number): string {
  let out = "";
  while (out.length < length) {
    if (poolPos >= pool.length) {
      crypto.getRandomValues(pool);
      poolPos = 0;
    }
    const b = pool[poolPos++] ?? 0;
    // 248 = 4 × 62: rejecting the top bytes keeps the alphabet uniform.
    if (b < 248) out += ALPHABET[b % 62];
  }
  return out;
}

/** A request id, shaped like Anthropic's (`req_…`) so clients that log them treat ours alike. */
export function requestId(): string {
  return `req_${randomBase62(24)}`;
}

export function hex(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = "";
  for (const b of view) out += b.toString(16).padStart(2, "0");
  return out;
}

export async function sha256Hex(text: string): Promise<string> {
  return hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
}

/** Compares two strings in time independent of where they differ (lengths may leak; they are public). */
export function timingSafeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  const n = Math.max(x.length, y.length);
  for (let i = 0; i < n; i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
