// Helpers for end-to-end tests: admin calls against `wrangler dev`, and what the mock upstream received.
import { inject } from "vitest";

export const url = () => inject("ccproxyUrl");
export const mockUrl = () => inject("mockUrl");

export async function admin(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${inject("adminToken")}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  return fetch(`${url()}/admin${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

export interface CreatedKey {
  id: string;
  key: string;
  name: string;
}

export async function newKey(fields: Record<string, unknown> = {}): Promise<CreatedKey> {
  const res = await admin("POST", "/keys", { name: `e2e-${crypto.randomUUID()}`, ...fields });
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
  endedAt?: number;
}

export async function upstreamRequests(filter: (r: Recorded) => boolean = () => true): Promise<Recorded[]> {
  const res = await fetch(`${mockUrl()}/_mock/requests`);
  return ((await res.json()) as Recorded[]).filter(filter);
}

export function byTestId(testId: string) {
  return (r: Recorded) => r.headers["x-test-id"] === testId;
}

export async function until<T>(fn: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}
