// A stand-in sidecar process for the orphan test: runs one slow request with the real Runner and says
// "running" once the agent is answering, then waits to be killed.
import { parsePolicy } from "../../src/sidecar/policy.ts";
import { Runner } from "../../src/sidecar/runner.ts";

const runner = new Runner(parsePolicy(process.env));
const res = await runner.run({
  format: "anthropic",
  body: {
    model: "claude-opus-5-5",
    max_tokens: 100,
    stream: true,
    messages: [{ role: "user", content: "[[mock:long count=100000 delay=50]] go" }],
  },
  keyId: "key_orphan",
  keyName: "orphan",
  requestId: "req_orphan",
  signal: new AbortController().signal,
});
const reader = res.body.getReader();
await reader.read();
process.stdout.write("running\n");
await new Promise(() => {});
