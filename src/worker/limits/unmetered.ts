// API-mode calls CCProxy passes through without reading them (files, batches, model details, and any
// endpoint Anthropic adds later). Reading and deleting spends nothing; anything else might (a legacy
// /v1/complete, a new generation endpoint), and CCProxy could neither price it nor check its model —
// so keys with a budget or a model allowlist may make only the calls known to be free.

/** Calls under /v1 known to spend no tokens, besides every GET and HEAD. */
const FREE_WRITES: ReadonlyArray<{ method: string; path: RegExp }> = [
  { method: "POST", path: /^\/v1\/files$/ }, // upload: storage, not tokens
  { method: "DELETE", path: /^\/v1\/files\/[^/]+$/ },
  { method: "POST", path: /^\/v1\/messages\/batches\/[^/]+\/cancel$/ },
  { method: "DELETE", path: /^\/v1\/messages\/batches\/[^/]+$/ },
];

/** True when `method path` (an upstream `/v1/...` path) cannot spend tokens. */
export function spendsNothing(method: string, path: string): boolean {
  const m = method.toUpperCase();
  if (m === "GET" || m === "HEAD") return true;
  return FREE_WRITES.some((f) => f.method === m && f.path.test(path));
}
