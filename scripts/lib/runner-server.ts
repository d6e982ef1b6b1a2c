// The bench's "SDK in the sidecar directly" for Claude Code mode: the sidecar's Runner (same policy,
// same environment) in its own fresh Node process, answering plain HTTP on 127.0.0.1 — no Worker, no
// tunnel. A process of its own, like the real sidecar it is compared with: run inside the bench's
// process, which also hosts the mock upstream and has done much else by then, the same runs took
// tens of ms longer (623 vs 581 ms p50 in one run). Prints `port <n>` once listening; stops on SIGTERM.

import { createServer } from "node:http";
import { Readable } from "node:stream";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { parsePolicy } from "../../src/sidecar/policy.ts";
import { Runner } from "../../src/sidecar/runner.ts";

const runner = new Runner(parsePolicy(process.env));
let next = 0;

const server = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const aborted = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) aborted.abort();
  });
  const run = await runner.run({
    format: "anthropic",
    body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown,
    keyId: "key_bench",
    keyName: "bench",
    requestId: `req_bench_direct_${++next}`,
    signal: aborted.signal,
  });
  res.writeHead(run.status, run.headers);
  // The answer goes out as it comes; the run's summary (the claude process exiting) is awaited after.
  Readable.fromWeb(run.body as NodeReadableStream<Uint8Array>).pipe(res);
  await run.done;
});

server.listen(0, "127.0.0.1", () => {
  const addr = server.address();
  if (typeof addr === "object" && addr !== null) process.stdout.write(`port ${addr.port}\n`);
});
process.once("SIGTERM", () => server.close(() => process.exit(0)));
