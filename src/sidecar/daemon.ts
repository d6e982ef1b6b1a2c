// The sidecar process around a runner: the tunnel client serving it, one log line per event, and a
// graceful shutdown on SIGTERM/SIGINT (drain, wait for running requests within a bound, close, exit 0).

import { type HelloFrame, keyCredentialSecret } from "../shared/tunnel/index.ts";
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

/** How this sidecar introduces itself: the secret its MACs use and the hello fields that follow from it. */
interface Identity {
  secret: string;
  hello: Omit<HelloFrame, "type" | "name" | "version" | "maxConcurrent">;
}

/**
 * TUNNEL_SECRET: as configured. CCPROXY_KEY: asks the Worker which key it is (`GET /v1/me`, retried
 * while the Worker cannot be reached), then proves that key (credential "key"): it serves only that
 * key, under an id that starts with the key's id. Exits 2 if the Worker refuses the key.
 */
export async function identify(config: SidecarConfig): Promise<Identity> {
  const cred = config.credential;
  if (cred.kind === "tunnel")
    return {
      secret: cred.secret,
      hello: {
        sidecarId: config.sidecarId,
        ...(config.serveKeys === undefined ? {} : { serveKeys: [...config.serveKeys] }),
      },
    };
  const me = new URL(`${config.workerUrl}/v1/me`);
  for (let attempt = 0; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(me, { headers: { "x-api-key": cred.key }, signal: AbortSignal.timeout(10_000) });
    } catch (e) {
      const wait = Math.min(30_000, 1000 * 2 ** attempt);
      log(
        `cannot reach ${me.origin} to identify CCPROXY_KEY (${e instanceof Error ? e.message : String(e)}); retrying in ${wait / 1000} s`,
      );
      await new Promise((r) => setTimeout(r, wait));
      continue;
    }
    if (res.status !== 200) {
      await res.body?.cancel();
      console.error(
        `ccproxy sidecar: ${me.origin} refused CCPROXY_KEY (${res.status}${res.status === 401 ? ": unknown, revoked or expired" : ""})`,
      );
      process.exit(2);
    }
    const { id } = (await res.json()) as { id: string };
    return {
      secret: await keyCredentialSecret(cred.key),
      hello: {
        sidecarId: `${id}:${config.sidecarId}`.slice(0, 128),
        serveKeys: [id],
        credential: "key",
      },
    };
  }
}

export async function runSidecar(config: SidecarConfig, service: Service): Promise<TunnelClient> {
  const url = new URL(config.tunnelUrl);
  if (url.protocol === "ws:" && !["127.0.0.1", "localhost", "[::1]"].includes(url.hostname))
    log(
      `warning: ${config.tunnelUrl} is not encrypted; requests and answers cross the network in clear text`,
    );
  const { secret, hello } = await identify(config);
  const client = new TunnelClient({
    url: config.tunnelUrl,
    secret,
    hello: { ...hello, name: config.name, version: config.version, maxConcurrent: config.maxStreams },
    onRequest: (request) => void serve(request, (req) => service.run(req), log),
    log,
  });
  log(`starting: ${config.name} (${hello.sidecarId}), workspaces under ${config.policy.workspaceRoot}`);
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
