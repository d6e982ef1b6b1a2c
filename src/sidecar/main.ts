// `npm run sidecar`: the Claude Code sidecar. Dials the Worker (CCPROXY_URL, TUNNEL_SECRET or CCPROXY_KEY) and runs
// each Claude Code mode request with the Agent SDK under the operator's policy (CC_* variables).

import { configOrExit, runSidecar } from "./daemon.ts";
import { Runner } from "./runner.ts";

const config = configOrExit(process.env);
runSidecar(config, new Runner(config.policy)).catch((e: unknown) => {
  console.error(`ccproxy sidecar: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
