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
