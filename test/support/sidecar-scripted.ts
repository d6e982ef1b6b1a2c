// A sidecar process for the transport's end-to-end tests: the real config, tunnel client, serving and
// shutdown of src/sidecar (daemon.ts), with the agent replaced by a script read from the prompt:
//   [[script:stream count=5 delay=50]]  an Anthropic SSE message of `count` text deltas, `delay` ms apart
//   [[script:hang]]                      one event, then nothing until the client or the link goes away
//   [[script:wait]]                      no head at all until the run is aborted (a long non-streaming run)
// It prints `run <requestId>` when a run starts and `aborted <requestId>` when a run's signal fires.
import { configOrExit, log, runSidecar, type Service } from "../../src/sidecar/daemon.ts";
import type { RunRequest, RunResponse } from "../../src/sidecar/serve.ts";

const enc = new TextEncoder();
let active = 0;
const idle: (() => void)[] = [];

function event(name: string, data: unknown): Uint8Array {
  return enc.encode(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
}

function lastUserText(body: unknown): string {
  const messages = (body as { messages?: { role: string; content: unknown }[] }).messages ?? [];
  const last = messages.at(-1)?.content;
  if (typeof last === "string") return last;
  if (Array.isArray(last)) return last.map((b: { text?: string }) => b.text ?? "").join("");
  return "";
}

function settle(): void {
  active--;
  if (active === 0) for (const resolve of idle.splice(0)) resolve();
}

async function run(req: RunRequest): Promise<RunResponse> {
  active++;
  log(`run ${req.requestId}`);
  req.signal.addEventListener("abort", () => log(`aborted ${req.requestId}`), { once: true });
  const script = /\[\[script:(\w+)([^\]]*)\]\]/.exec(lastUserText(req.body));
  const args = Object.fromEntries([...(script?.[2] ?? "").matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
  const kind = script?.[1] ?? "stream";
  if (kind === "wait") {
    await new Promise<void>((resolve) =>
      req.signal.addEventListener("abort", () => resolve(), { once: true }),
    );
    settle();
    throw new Error("aborted before the head");
  }
  const count = Number(args.count ?? 3);
  const delay = Number(args.delay ?? 0);
  let i = -1;
  let finish: (outcome: "complete" | "aborted") => void = () => {};
  const done = new Promise<"complete" | "aborted">((resolve) => {
    finish = resolve;
  });
  req.signal.addEventListener("abort", () => finish("aborted"), { once: true });
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      i++;
      if (i === 0) {
        controller.enqueue(
          event("message_start", { type: "message_start", message: { id: "msg_s", model: "scripted" } }),
        );
        return;
      }
      if (kind === "hang") {
        await new Promise<void>((resolve) =>
          req.signal.addEventListener("abort", () => resolve(), { once: true }),
        );
        controller.close();
        return;
      }
      if (i <= count) {
        await new Promise((r) => setTimeout(r, delay));
        controller.enqueue(
          event("content_block_delta", {
            type: "content_block_delta",
            index: 0,
            delta: { type: "text_delta", text: `chunk ${i} ` },
          }),
        );
        return;
      }
      controller.enqueue(event("message_stop", { type: "message_stop" }));
      controller.close();
      finish("complete");
    },
    cancel() {
      finish("aborted");
    },
  });
  void done.then(settle);
  return {
    status: 200,
    headers: { "content-type": "text/event-stream; charset=utf-8" },
    body,
    done: done.then((outcome) => ({
      usage: {
        input_tokens: 1,
        output_tokens: count,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
      costUsd: 0,
      model: "scripted",
      outcome,
    })),
  };
}

const service: Service = {
  run,
  drain: () => (active === 0 ? Promise.resolve() : new Promise<void>((resolve) => idle.push(resolve))),
};

void runSidecar(configOrExit(process.env), service);
