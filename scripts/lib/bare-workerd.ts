// CCProxy on workerd without `wrangler dev`'s proxy in front, for `npm run bench`: Miniflare driven
// directly, with the bundle `wrangler deploy --dry-run` builds and the bindings wrangler.toml declares
// (real local D1, migrated; the SQLite-backed KeyGuard and TunnelHub). In the same workerd, the two
// floors any Worker pays: one that only answers "ok", one that only forwards to the upstream. Each
// Worker gets its own socket, so a request meets workerd and the Worker and nothing else.

import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { unstable_getMiniflareWorkerOptions, unstable_splitSqlQuery } from "wrangler";
import { ROOT, runWrangler } from "./stack.ts";

/** The Workers every bare workerd runs, by name. */
export type BareWorker = "ccproxy" | "ok" | "forward";

export interface BareWorkerd {
  /** Base URL (no trailing slash) of each Worker's own socket. */
  url: Record<BareWorker, string>;
  /** The inspector target of each Worker's isolate (see connectInspector). */
  inspectorTarget: Record<BareWorker, string>;
  stop(): Promise<void>;
}

/** The few Miniflare calls used here; its own types belong to wrangler's copy (see miniflareModule). */
interface Miniflare {
  ready: Promise<URL>;
  unsafeGetDirectURL(workerName: string): Promise<URL>;
  getD1Database(
    binding: string,
    workerName: string,
  ): Promise<{ prepare(sql: string): { run(): Promise<unknown> } }>;
  dispose(): Promise<void>;
}
interface MiniflareModule {
  Miniflare: new (options: unknown) => Miniflare;
  /** wrangler describes Workers in Miniflare's v4 option shape and converts them like this itself. */
  convertV4MiniflareOptions(options: Record<string, unknown>): unknown;
}

/**
 * wrangler's own Miniflare, not the hoisted one (another package's, with an older workerd): the
 * runtime measured here is the one `wrangler dev` runs.
 */
async function miniflareModule(): Promise<MiniflareModule> {
  const fromRoot = createRequire(join(ROOT, "package.json"));
  const fromWrangler = createRequire(fromRoot.resolve("wrangler/package.json"));
  return (await import(pathToFileURL(fromWrangler.resolve("miniflare")).href)) as MiniflareModule;
}

/** `wrangler deploy --dry-run --outdir <dir>`: the bundle wrangler would upload, as <dir>/index.js. */
async function bundle(outDir: string): Promise<void> {
  await runWrangler(["deploy", "--dry-run", "--outdir", outDir], { NO_COLOR: "1", CI: "1" });
}

const OK_WORKER = 'export default { fetch() { return new Response("ok"); } };';
/** Forwards the request as it is (method, headers, streamed body) and streams the answer back. */
const FORWARD_WORKER = `export default {
  fetch(request, env) {
    const url = new URL(request.url);
    return fetch(env.UPSTREAM + url.pathname + url.search, request);
  },
};`;

export interface BareOptions {
  /** Scratch directory: the bundle and the persisted D1 / Durable Object state go under it. */
  dir: string;
  /** Vars and secrets for CCProxy, over wrangler.toml's [vars]; the forwarding Worker's upstream is ANTHROPIC_BASE_URL. */
  vars: Record<string, string>;
  /** workerd's inspector port, for the memory measurement; default none. */
  inspectorPort?: number;
}

export async function startBareWorkerd(opts: BareOptions): Promise<BareWorkerd> {
  const outDir = join(opts.dir, "bundle");
  await bundle(outDir);
  const { Miniflare, convertV4MiniflareOptions } = await miniflareModule();
  // wrangler.toml's compatibility date and flags, D1 and Durable Object bindings, as wrangler dev has them.
  // (Module rules dropped: the bundle is one module, and a v4 rule list does not convert.)
  const { modulesRules: _rules, ...workerOptions } = unstable_getMiniflareWorkerOptions(
    join(ROOT, "wrangler.toml"),
  ).workerOptions;
  // (Typed with an index signature that wrangler's Omit<> reduces to unknown values.)
  const tomlVars =
    typeof workerOptions.bindings === "object" && workerOptions.bindings !== null
      ? workerOptions.bindings
      : {};
  const compatibilityDate = workerOptions.compatibilityDate;
  const ownSocket = [{ host: "127.0.0.1", port: 0 }];
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      host: "127.0.0.1",
      port: 0,
      resourcePersistencePath: join(opts.dir, "state"),
      // Like wrangler dev --log-level warn: the Workers' warnings and errors on stderr, nothing on
      // stdout (where the bench prints its table, or its JSON).
      handleStructuredLogs: ({ level, message }: { level: string; message: string }) => {
        if (level === "error" || level === "warn") process.stderr.write(`workerd: ${message}\n`);
      },
      ...(opts.inspectorPort === undefined ? {} : { inspectorPort: opts.inspectorPort }),
      workers: [
        {
          ...workerOptions,
          name: "ccproxy",
          modules: true,
          scriptPath: join(outDir, "index.js"),
          modulesRoot: outDir,
          bindings: { ...tomlVars, ...opts.vars },
          unsafeDirectSockets: ownSocket,
        },
        { name: "ok", modules: true, script: OK_WORKER, compatibilityDate, unsafeDirectSockets: ownSocket },
        {
          name: "forward",
          modules: true,
          script: FORWARD_WORKER,
          compatibilityDate,
          bindings: { UPSTREAM: opts.vars.ANTHROPIC_BASE_URL ?? "" },
          unsafeDirectSockets: ownSocket,
        },
      ],
    }),
  );
  try {
    await mf.ready;
    const db = await mf.getD1Database("DB", "ccproxy");
    const migrations = join(ROOT, "src/worker/storage/migrations");
    for (const file of readdirSync(migrations).sort()) {
      for (const sql of unstable_splitSqlQuery(readFileSync(join(migrations, file), "utf8"))) {
        await db.prepare(sql).run();
      }
    }
    const base = async (name: BareWorker) => (await mf.unsafeGetDirectURL(name)).href.replace(/\/$/, "");
    return {
      url: { ccproxy: await base("ccproxy"), ok: await base("ok"), forward: await base("forward") },
      inspectorTarget: { ccproxy: "core:user:ccproxy", ok: "core:user:ok", forward: "core:user:forward" },
      stop: () => mf.dispose(),
    };
  } catch (e) {
    await mf.dispose();
    throw e;
  }
}
