// Helpers for Worker tests: requests to the Worker under test, admin calls, and what the mock upstream saw.
import { env, exports } from "cloudflare:workers";

export const ADMIN_TOKEN = "test-admin-token";
export const TEAM_KEY = "sk-ant-team-test-key";
export const BASE = "http://ccproxy.test";

export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return exports.default.fetch(new Request(BASE + path, init));
}

export interface CreatedKey {
  id: string;
  key: string;
  name: string;
  [k: string]: unknown;
}

export async function admin(method: string, path: string, body?: unknown): Promise<Response> {
  const init: RequestInit = { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["content-type"] = "application/json";
  }
  return call(`/admin${path}`, init);
}

export async function newKey(fields: Record<string, unknown> = {}): Promise<CreatedKey> {
  const res = await admin("POST", "/keys", { name: `test-${crypto.randomUUID()}`, ...fields });
  if (res.status !== 201) throw new Error(`create key: ${res.status} ${await res.text()}`);
  return (await res.json()) as CreatedKey;
}

export interface Recorded {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
  status?: number;
  clientClosedEarly: boolean;
}

const mockUrl = () => env.ANTHROPIC_BASE_URL;

/** Requests the mock upstream received that carry the given `x-test-id` header. */
export async function upstreamSaw(testId: string): Promise<Recorded[]> {
  const res = await fetch(`${mockUrl()}/_mock/requests`);
  const all = (await res.json()) as Recorded[];
  return all.filter((r) => r.headers["x-test-id"] === testId);
}

export function messageBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model: "claude-sonnet-4-5",
    max_tokens: 64,
    messages: [{ role: "user", content: "hi" }],
    ...extra,
  };
}

export interface LedgerRow {
  request_id: string;
  key_id: string;
  mode: string;
  route: string;
  format: string;
  model_requested: string | null;
  model_upstream: string | null;
  status: number;
  stream: number;
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  cost_usd: number | null;
  ttfb_ms: number | null;
  duration_ms: number;
  outcome: string;
  error_type: string | null;
  usage_estimated: number;
}

/** The ledger row of a request (written after the response, so polled for). */
export async function ledgerRow(requestId: string | null, timeoutMs = 3000): Promise<LedgerRow> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const row = await env.DB.prepare("SELECT * FROM usage WHERE request_id = ?")
      .bind(requestId)
      .first<LedgerRow>();
    if (row) return row;
    if (Date.now() > deadline) throw new Error(`no ledger row for ${requestId}`);
    await scheduler.wait(20);
  }
}

export async function ledgerRowsForKey(keyId: string): Promise<LedgerRow[]> {
  const { results } = await env.DB.prepare("SELECT * FROM usage WHERE key_id = ?")
    .bind(keyId)
    .all<LedgerRow>();
  return results;
}
