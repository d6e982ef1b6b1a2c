// The sidecar process around a runner: the tunnel client serving it, one log line per event, and a
// graceful shutdown on SIGTERM/SIGINT (drain, wait for running requests within a bound, close, exit 0).

import { loadSidecarConfig, type SidecarConfig } from "./config.ts";
import { reapOrphans } from "./orphans.ts";
import { type RunHandler, serve } from "./serve.ts";
import { TunnelClient } from "./tunnel-client.ts";

/** What the process serves requests with: the Runner, or a test's stand-in with the same shape. */
export interface Service {
  run: RunHandler;
  /** Resolves when no run is active any more. */
  drain(): Promise<void>;
}

export function log(line: string): void {
  console.log(`${new Date().toISOString()} sidecar: ${line}`);
}

/** The config, or a readable message and exit code 2. */
export function configOrExit(env: Record<string, string | undefined>): SidecarConfig {
  try {
    return loadSidecarConfig(env);
  } catch (e) {
    console.error(`ccproxy sidecar: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(2);
  }
}

export function runSidecar(config: SidecarConfig, service: Service): TunnelClient {
  const url = new URL(config.tunnelUrl);
  if (url.protocol === "ws:" && !["127.0.0.1", "localhost", "[::1]"].includes(url.hostname))
    log(
      `warning: ${config.tunnelUrl} is not encrypted; requests and answers cross the network in clear text`,
    );
  const client = new TunnelClient({
    url: config.tunnelUrl,
    secret: config.secret,
    hello: {
      sidecarId: config.sidecarId,
      name: config.name,
      version: config.version,
      maxConcurrent: config.maxStreams,
      ...(config.serveKeys === undefined ? {} : { serveKeys: [...config.serveKeys] }),
    },
    onRequest: (request) => void serve(request, (req) => service.run(req), log),
    log,
  });
  log(`starting: ${config.name} (${config.sidecarId}), workspaces under ${config.policy.workspaceRoot}`);
  const reaped = reapOrphans(config.policy.workspaceRoot);
  if (reaped > 0) log(`reaped ${reaped} claude process group(s) left running by a sidecar that died`);
  client.start();

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      log(`${signal} again: stopping now, aborting running requests`);
      await client.close();
      await within(service.drain(), 5_000);
      process.exit(1);
    }
    stopping = true;
    const running = client.openStreams;
    log(
      `${signal}: draining${running > 0 ? ` ${running} running request(s), up to ${config.drainTimeoutMs / 1000} s` : ""}`,
    );
    const drained = await within(Promise.all([client.drain(), service.drain()]), config.drainTimeoutMs);
    if (!drained) log("drain timed out: aborting the requests still running");
    // Closing the link aborts whatever still runs on it; the runner then ends those CLI processes.
    await client.close();
    if (!drained) await within(service.drain(), 5_000);
    log("stopped");
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop("SIGTERM"));
  process.on("SIGINT", () => void stop("SIGINT"));
  return client;
}

/** True if `p` settled within `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
