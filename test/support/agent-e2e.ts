// For the end-to-end tests of the agent: what the mock upstream received from the Claude Code CLI for
// one test (found by a token the test put in its prompt), and waiting for `claude` processes to end.
import { processesIn } from "./sidecar-process.ts";

export interface UpstreamCall {
  url: string;
  json: {
    system?: unknown;
    messages: Array<{ role: string; content: unknown }>;
    tools?: Array<{ name: string }>;
  };
  /** The raw body, as the CLI sent it. */
  body: string;
}

/** The mock's /v1/messages requests whose body contains `token`, oldest first. */
export async function upstreamCalls(mockUrl: string, token: string): Promise<UpstreamCall[]> {
  const res = await fetch(`${mockUrl}/_mock/requests`);
  const all = (await res.json()) as Array<{ url: string; body: string }>;
  return all
    .filter((r) => r.url.startsWith("/v1/messages") && !r.url.includes("count_tokens"))
    .filter((r) => r.body.includes(token))
    .map((r) => ({ url: r.url, body: r.body, json: JSON.parse(r.body) as UpstreamCall["json"] }));
}

/** A fresh token for a prompt, so a test finds its own upstream calls among everyone's. */
export function token(label: string): string {
  return `${label}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Resolves with the processes still working under `dir` after waiting up to `ms` for none. */
export async function processesLeft(dir: string, ms: number): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = processesIn(dir);
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}
