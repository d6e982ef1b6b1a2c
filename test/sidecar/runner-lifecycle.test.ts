// The runner's lifecycle and errors with the real `claude` binary against the mock: a client that
// leaves ends the CLI process, capacity is bounded (429 beyond the queue, 529 when the wait runs
// out), failures map to the route's format, keep-alives flow while the agent is silent, drain waits.
import Anthropic, { APIError } from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RETRY_NOTE } from "../../src/sidecar/render.ts";
import { Runner, type RunResponse } from "../../src/sidecar/runner.ts";
import { alive, claudePids, type Env, MODEL, request, serve, testEnv, text } from "./helpers.ts";

let env: Env;
let runner: Runner;

beforeAll(async () => {
  env = await testEnv();
  runner = new Runner(env.policy());
});
afterAll(async () => {
  await env?.close();
});

const T = { timeout: 30_000 };

function anthropicBody(content: string, stream = false) {
  return { model: MODEL, max_tokens: 512, stream, messages: [{ role: "user", content }] };
}

/** Reads up to the first chunk of a streamed answer. */
async function firstChunk(
  res: RunResponse,
): Promise<{ reader: ReadableStreamDefaultReader<Uint8Array>; head: string }> {
  const reader = res.body.getReader();
  const { value } = await reader.read();
  return { reader, head: new TextDecoder().decode(value) };
}

async function within<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe("client disconnect", () => {
  for (const how of ["the request signal aborts", "the body stream is cancelled"] as const) {
    it(`ends the claude process when ${how}`, T, async () => {
      const keyId = how.includes("signal") ? "key_abort_signal" : "key_abort_cancel";
      const abort = new AbortController();
      const res = await runner.run(
        request("anthropic", anthropicBody("Talk slowly [[mock:slow delay=400]]", true), {
          keyId,
          signal: abort.signal,
        }),
      );
      let pids: number[] = [];
      try {
        expect(res.status).toBe(200);
        const { reader, head } = await firstChunk(res);
        expect(head).toContain("message_start");
        pids = claudePids(`${env.root}/${keyId}`);
        expect(pids).toHaveLength(1);
        if (how.includes("signal")) abort.abort();
        else await reader.cancel();
        const summary = await within(res.done, 10_000);
        expect(summary.outcome).toBe("aborted");
        for (const pid of pids) expect(alive(pid)).toBe(false);
        expect(claudePids(`${env.root}/${keyId}`)).toEqual([]);
        expect(runner.active).toBe(0);
      } finally {
        for (const pid of pids) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // already gone, as it should be
          }
        }
      }
    });
  }
});

describe("capacity", () => {
  it(
    "queues briefly, then answers 429 (queue full) and 529 (wait ran out) in the route's format",
    T,
    async () => {
      const small = new Runner(
        env.policy({ CC_MAX_CONCURRENT: "1", CC_QUEUE: "1", CC_QUEUE_WAIT_MS: "300" }),
      );
      const hold = new AbortController();
      const busy = await small.run(
        request("anthropic", anthropicBody("Hold the slot [[mock:slow delay=500]]", true), {
          signal: hold.signal,
        }),
      );
      try {
        await firstChunk(busy);
        expect(small.active).toBe(1);
        const queued = small.run(request("anthropic", anthropicBody("second")));
        const full = await small.run(
          request("openai", { model: "gpt-4o", messages: [{ role: "user", content: "third" }] }),
        );
        expect(full.status).toBe(429);
        expect(full.headers["retry-after"]).toBeDefined();
        expect(JSON.parse(await text(full))).toMatchObject({
          error: { type: "rate_limit_error", code: "rate_limit_exceeded" },
        });
        const waited = await queued;
        expect(waited.status).toBe(529);
        expect(JSON.parse(await text(waited))).toMatchObject({
          type: "error",
          error: { type: "overloaded_error" },
        });
      } finally {
        hold.abort();
        await within(busy.done, 10_000);
      }
      expect(small.active).toBe(0);
    },
  );

  it("drain() refuses new runs and resolves when the in-flight one is done", T, async () => {
    const draining = new Runner(env.policy());
    const res = await draining.run(
      request("anthropic", anthropicBody("Finish me [[mock:slow delay=100]]", true)),
    );
    const drained = draining.drain();
    let settled = false;
    void drained.then(() => {
      settled = true;
    });
    const refused = await draining.run(request("anthropic", anthropicBody("too late")));
    expect(refused.status).toBe(503);
    expect(settled).toBe(false);
    expect(await text(res)).toContain("message_stop");
    await within(drained, 10_000);
    expect(draining.active).toBe(0);
  });
});

describe("errors", () => {
  it("refuses client-defined tools with a 400 pointing to API mode, in both formats", async () => {
    const a = await runner.run(
      request("anthropic", {
        ...anthropicBody("hi"),
        tools: [{ name: "get_weather", input_schema: { type: "object" } }],
      }),
    );
    expect(a.status).toBe(400);
    const ab = JSON.parse(await text(a)) as { error: { type: string; message: string } };
    expect(ab.error.type).toBe("invalid_request_error");
    expect(ab.error.message).toContain("/api/v1/messages");
    for (const field of ["tools", "functions"]) {
      const def = { name: "get_weather", parameters: { type: "object" } };
      const o = await runner.run(
        request("openai", {
          model: "gpt-4o",
          messages: [{ role: "user", content: "hi" }],
          [field]: field === "tools" ? [{ type: "function", function: def }] : [def],
        }),
      );
      expect(o.status).toBe(400);
      const ob = JSON.parse(await text(o)) as { error: { param: string; message: string } };
      expect(ob.error.param).toBe(field);
      expect(ob.error.message).toContain("/api/v1/chat/completions");
      expect((await o.done).outcome).toBe("error");
    }
  });

  it("answers bad bodies with clear 400s", async () => {
    const cases: Array<[unknown, string]> = [
      [{ model: MODEL, max_tokens: 10 }, "messages"],
      [{ model: MODEL, max_tokens: 10, messages: [] }, "messages"],
      [{ max_tokens: 10, messages: [{ role: "user", content: "hi" }] }, "model"],
      [
        {
          model: MODEL,
          messages: [
            { role: "user", content: "hi" },
            { role: "assistant", content: "Sure" },
          ],
        },
        "role 'user'",
      ],
      ["not an object", "request body"],
    ];
    for (const [body, hint] of cases) {
      const res = await runner.run(request("anthropic", body));
      expect(res.status).toBe(400);
      expect(JSON.parse(await text(res)).error.message).toContain(hint);
    }
  });

  it("answers 503 when the claude executable is missing", async () => {
    const missing = new Runner(env.policy({ CC_CLAUDE_PATH: "/nonexistent/claude" }));
    const a = await missing.run(request("anthropic", anthropicBody("hi")));
    expect(a.status).toBe(503);
    expect(JSON.parse(await text(a))).toMatchObject({ type: "error", error: { type: "api_error" } });
    const o = await missing.run(
      request("openai", { model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }),
    );
    expect(o.status).toBe(503);
    expect(JSON.parse(await text(o))).toMatchObject({ error: { code: "service_unavailable" } });
  });

  it("maps an upstream 529 (after the CLI's retries) to 529 / OpenAI 503", T, async () => {
    const a = await runner.run(request("anthropic", anthropicBody("hi [[mock:error status=529]]")));
    expect(a.status).toBe(529);
    expect(JSON.parse(await text(a))).toMatchObject({ error: { type: "overloaded_error" } });
    const o = await runner.run(
      request("openai", {
        model: "gpt-4o",
        stream: true,
        messages: [{ role: "user", content: "hi [[mock:error status=529]]" }],
      }),
    );
    expect(o.status).toBe(503); // OpenAI clients know no 529
    expect(JSON.parse(await text(o))).toMatchObject({ error: { type: "overloaded_error" } });
  });

  it("maps a refused sidecar credential to 502 (the client's key was fine)", T, async () => {
    const badCred = new Runner(env.policy({ ANTHROPIC_API_KEY: "wrong" }));
    const res = await badCred.run(request("anthropic", anthropicBody("hi", true)));
    expect(res.status).toBe(502);
    const body = JSON.parse(await text(res)) as { error: { type: string; message: string } };
    expect(body.error.type).toBe("api_error");
    expect(body.error.message).toContain("credential was refused");
  });

  it(
    "sends an error that happens mid-answer (the run timeout) inside the stream, which the SDK raises",
    T,
    async () => {
      const served = await serve(new Runner(env.policy({ CC_RUN_TIMEOUT_MS: "3000" })));
      try {
        const client = new Anthropic({ baseURL: served.url, apiKey: "ccp_test", maxRetries: 0 });
        const stream = client.messages.stream(
          anthropicBody("Ramble [[mock:long count=100 delay=200]]") as never,
        );
        const seen: string[] = [];
        stream.on("text", (t) => seen.push(t));
        const err = await stream.finalMessage().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(APIError);
        expect(String((err as Error).message)).toContain("exceeded this sidecar's limit of 3 s");
        expect(seen.length).toBeGreaterThan(0); // the error came after the answer had begun
        const summary = await served.summaries[0];
        expect(summary?.outcome).toBe("error");
        expect(claudePids(`${env.root}/key_a`)).toEqual([]);
      } finally {
        await served.close();
      }
    },
  );

  it("marks a model stream that broke off and was retried by the CLI", T, async () => {
    const res = await runner.run(request("anthropic", anthropicBody("hi [[mock:midstream_error after=2]]")));
    const body = JSON.parse(await text(res)) as { content: Array<{ text: string }>; stop_reason: string };
    expect(res.status).toBe(200);
    expect(body.stop_reason).toBe("end_turn");
    expect(body.content[0]?.text).toContain(`${RETRY_NOTE}\n\nHello from the mock Anthropic upstream.`);
  });
});

describe("keep-alive", () => {
  it("sends pings while the agent is silent, which both SDKs skip", T, async () => {
    const chatty = new Runner(env.policy(), { heartbeatMs: 50 });
    const raw = await chatty.run(
      request("anthropic", anthropicBody('Slowly [[mock:slow delay=120 text="Wait for it."]]', true)),
    );
    expect(await text(raw)).toContain("event: ping");
    const served = await serve(chatty);
    try {
      const openai = new OpenAI({ baseURL: `${served.url}/v1`, apiKey: "ccp_test", maxRetries: 0 });
      const stream = await openai.chat.completions.create({
        model: "gpt-4o",
        stream: true,
        messages: [{ role: "user", content: 'Slowly [[mock:slow delay=120 text="Patience pays."]]' }],
      });
      let content = "";
      for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? "";
      expect(content).toBe("Patience pays.");
    } finally {
      await served.close();
    }
  });
});
