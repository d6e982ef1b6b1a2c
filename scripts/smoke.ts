// `npm run smoke -- --url URL --key KEY`: a smoke test of any CCProxy deployment, the way its users'
// tools talk to it: both modes (API and Claude Code), both formats (Anthropic and OpenAI), streamed
// and not, with the official SDKs. Prints one line per check; exits 1 if any check failed.
// Modes the key may not use are reported as skipped, not failed.

import { parseArgs } from "node:util";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: process.env.CCPROXY_URL },
    key: { type: "string", default: process.env.CCPROXY_KEY },
    model: { type: "string", default: "claude-haiku-4-5" },
    "timeout-ms": { type: "string", default: "120000" },
    json: { type: "boolean", default: false },
  },
});

if (!values.url || !values.key) {
  process.stderr.write(
    "usage: npm run smoke -- --url https://ccproxy.example.workers.dev --key ccp_… [--model M]\n",
  );
  process.exit(2);
}
const base = values.url.replace(/\/+$/, "");
const key = values.key;
const model = values.model;
const timeout = Number(values["timeout-ms"]);

interface Result {
  check: string;
  status: "ok" | "FAIL" | "skipped";
  ms: number;
  detail: string;
}
const results: Result[] = [];

const prompt = "Reply with the single word: pong";

/** A 403 for a mode the key may not use is a skip: the deployment works, the key is scoped. */
function isModeRefusal(e: unknown): boolean {
  return (
    (e instanceof Anthropic.PermissionDeniedError || e instanceof OpenAI.PermissionDeniedError) &&
    /not allowed to use (API|Claude Code) mode/.test(e.message)
  );
}

async function check(name: string, run: () => Promise<string>): Promise<void> {
  const t0 = performance.now();
  try {
    const detail = await run();
    results.push({ check: name, status: "ok", ms: performance.now() - t0, detail });
  } catch (e) {
    const ms = performance.now() - t0;
    if (isModeRefusal(e))
      results.push({ check: name, status: "skipped", ms, detail: "this key may not use this mode" });
    else
      results.push({ check: name, status: "FAIL", ms, detail: e instanceof Error ? e.message : String(e) });
  }
}

function nonEmpty(text: string | null | undefined, what: string): string {
  if (!text || text.trim() === "") throw new Error(`${what} was empty`);
  return text.trim().slice(0, 60).replace(/\s+/g, " ");
}

async function main(): Promise<void> {
  const health = await fetch(`${base}/health`).catch((e: unknown) => {
    throw new Error(`cannot reach ${base}: ${e instanceof Error ? e.message : String(e)}`);
  });
  const info = (await health.json().catch(() => ({}))) as { version?: string; sidecars?: number };
  results.push({
    check: "GET /health",
    status: health.ok ? "ok" : "FAIL",
    ms: 0,
    detail: `version ${info.version ?? "?"}, ${info.sidecars ?? 0} sidecar(s)`,
  });

  for (const [mode, prefix] of [
    ["API", "/api"],
    ["Claude Code", ""],
  ] as const) {
    const anthropic = new Anthropic({ baseURL: `${base}${prefix}`, apiKey: key, maxRetries: 1, timeout });
    const openai = new OpenAI({ baseURL: `${base}${prefix}/v1`, apiKey: key, maxRetries: 1, timeout });
    const params = { model, max_tokens: 64, messages: [{ role: "user" as const, content: prompt }] };
    await check(`${mode} mode, Anthropic format`, async () => {
      const msg = await anthropic.messages.create(params);
      const block = msg.content.find((b) => b.type === "text");
      return nonEmpty(block?.type === "text" ? block.text : "", "the answer");
    });
    await check(`${mode} mode, Anthropic format, streamed`, async () => {
      const msg = await anthropic.messages.stream(params).finalMessage();
      const block = msg.content.find((b) => b.type === "text");
      return `${nonEmpty(block?.type === "text" ? block.text : "", "the answer")} (${msg.usage.output_tokens} tokens)`;
    });
    await check(`${mode} mode, OpenAI format`, async () => {
      const res = await openai.chat.completions.create({
        model,
        max_tokens: 64,
        messages: [{ role: "user", content: prompt }],
      });
      return nonEmpty(res.choices[0]?.message.content, "the answer");
    });
    await check(`${mode} mode, OpenAI format, streamed`, async () => {
      const stream = await openai.chat.completions.create({
        model,
        max_tokens: 64,
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: "user", content: prompt }],
      });
      let text = "";
      let usage = 0;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? "";
        usage = chunk.usage?.completion_tokens ?? usage;
      }
      return `${nonEmpty(text, "the answer")} (${usage} tokens)`;
    });
  }
  await check("count_tokens", async () => {
    const anthropic = new Anthropic({ baseURL: `${base}/api`, apiKey: key, maxRetries: 1, timeout });
    const n = await anthropic.messages.countTokens({ model, messages: [{ role: "user", content: prompt }] });
    return `${n.input_tokens} input tokens`;
  });
  await check("GET /v1/me", async () => {
    const res = await fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${key}` } });
    if (!res.ok) throw new Error(`status ${res.status}`);
    const me = (await res.json()) as { name: string; usage: { today: { requests: number } } };
    return `key "${me.name}", ${me.usage.today.requests} requests today`;
  });
}

function print(): void {
  if (values.json) {
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    return;
  }
  const w = Math.max(...results.map((r) => r.check.length));
  for (const r of results) {
    process.stdout.write(
      `${r.status.padEnd(7)} ${r.check.padEnd(w)}  ${String(Math.round(r.ms)).padStart(6)} ms  ${r.detail}\n`,
    );
  }
  const failed = results.filter((r) => r.status === "FAIL").length;
  const passed = results.filter((r) => r.status === "ok").length;
  const skipped = results.filter((r) => r.status === "skipped").length;
  process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
}

main()
  .catch((e: unknown) => {
    results.push({
      check: "smoke",
      status: "FAIL",
      ms: 0,
      detail: e instanceof Error ? e.message : String(e),
    });
  })
  .finally(() => {
    print();
    process.exit(results.some((r) => r.status === "FAIL") ? 1 : 0);
  });
