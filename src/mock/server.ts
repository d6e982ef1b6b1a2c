// The mock Anthropic upstream: an HTTP server that answers like api.anthropic.com (auth, validation,
// Messages streamed or not, count_tokens, models, batches, files) and records every request it
// receives byte for byte. Used by CCProxy's tests, its benchmarks and the offline demo.
import { EventEmitter } from "node:events";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { apiRoutes } from "./api-routes.ts";
import { MockHttpError } from "./errors.ts";
import { DEFAULT_FIXTURES_DIR, FixtureStore } from "./fixtures.ts";
import {
  type Ctx,
  findRoute,
  flattenHeaders,
  type RecordedRequest,
  type Route,
  sendError,
  sendJson,
} from "./http.ts";
import { newRequestId } from "./ids.ts";
import { messagesRoutes, scenarioError } from "./messages.ts";
import { modelCatalogue } from "./models.ts";
import { BatchStore, FileStore } from "./resources.ts";
import { errorFromParams } from "./scenarios.ts";
import { intParam, parseSpec, SpecError } from "./spec.ts";
import { parseJsonBody } from "./validate.ts";

export type { RecordedRequest } from "./http.ts";

export interface MockOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Accepted keys (x-api-key or Bearer); by default any non-empty key is. */
  apiKeys?: string[];
  /** Extra model names; when given, a model outside the catalogue is a 404 like the API's. */
  models?: string[];
  /** Where `replay file=` looks; default test/fixtures/recorded in this repo. */
  fixturesDir?: string;
  /** No per-request log line. */
  quiet?: boolean;
  /** Record requests in `requests` (default true; a long benchmark may turn it off). */
  record?: boolean;
  /** Larger bodies are answered 413 request_too_large (default 32 MiB, the API's limit). */
  maxBodyBytes?: number;
}

export interface MockEvents {
  /** A request's body has been read (before it is answered). */
  request: [RecordedRequest];
  /** A request's connection is done with: the response finished, or the client left. */
  response: [RecordedRequest];
  /** The client closed the connection before the response was complete. */
  clientClosed: [RecordedRequest];
}

export interface MockServer {
  url: string;
  port: number;
  requests: RecordedRequest[];
  events: EventEmitter<MockEvents>;
  clear(): void;
  /** The first request (already recorded or still to come, re-checked as requests progress) matching. */
  waitFor(predicate: (r: RecordedRequest) => boolean, timeoutMs?: number): Promise<RecordedRequest>;
  close(): Promise<void>;
}

export async function startMock(options: MockOptions = {}): Promise<MockServer> {
  const host = options.host ?? "127.0.0.1";
  const apiKeys = options.apiKeys ? new Set(options.apiKeys) : undefined;
  const catalogue = modelCatalogue(options.models ?? []);
  const knownModels = options.models ? new Set(catalogue.map((m) => m.id)) : undefined;
  const fixtures = new FixtureStore(options.fixturesDir ?? DEFAULT_FIXTURES_DIR);
  const maxBodyBytes = options.maxBodyBytes ?? 32 * 1024 * 1024;
  const recording = options.record !== false;
  const requests: RecordedRequest[] = [];
  const events = new EventEmitter<MockEvents>();
  events.setMaxListeners(0);
  let closing = false;

  function checkModel(model: string): void {
    if (knownModels && !knownModels.has(model)) throw new MockHttpError(404, `model: ${model}`);
  }
  const routes: Route[] = [
    ...messagesRoutes({ fixtures, checkModel }),
    ...apiRoutes({ catalogue, batches: new BatchStore(), files: new FileStore() }),
  ];

  // Outside the API: Claude Code's warm-up probe and the mock's own control endpoints (not recorded).
  const openRoutes: Route[] = [
    {
      pattern: /^\/api\/hello$/,
      // HEAD is served by the GET handler (Node sends no body for HEAD).
      methods: { GET: (ctx) => sendJson(ctx.res, 200, {}) },
      headerScenario: false,
    },
  ];
  const publicRoutes = [...routes, ...openRoutes];
  const controlRoutes: Route[] = [
    {
      pattern: /^\/_mock\/health$/,
      methods: { GET: (ctx) => sendJson(ctx.res, 200, { status: "ok" }) },
      headerScenario: false,
    },
    {
      pattern: /^\/_mock\/requests$/,
      methods: {
        GET: (ctx) =>
          sendJson(
            ctx.res,
            200,
            requests.map((r) => ({ ...r, body: r.body.toString("utf8") })),
          ),
        DELETE: (ctx) => {
          const cleared = requests.length;
          clear();
          sendJson(ctx.res, 200, { cleared });
        },
      },
      headerScenario: false,
    },
  ];

  // ---- dispatch -------------------------------------------------------------------------------

  function authenticate(req: IncomingMessage): MockHttpError | undefined {
    const xApiKey = req.headers["x-api-key"];
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? "")?.[1]?.trim();
    const key = typeof xApiKey === "string" && xApiKey !== "" ? xApiKey : bearer;
    if (key === undefined || key === "") return new MockHttpError(401, "x-api-key header is required");
    if (apiKeys && !apiKeys.has(key)) return new MockHttpError(401, "invalid x-api-key");
    return undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const id = newRequestId();
    res.setHeader("request-id", id);
    const rawUrl = req.url ?? "/";
    const url = new URL(rawUrl, "http://mock.invalid");
    const method = (req.method ?? "GET").toUpperCase();
    const control = url.pathname.startsWith("/_mock/");
    const record: RecordedRequest = {
      id,
      method,
      url: rawUrl,
      headers: flattenHeaders(req),
      body: Buffer.alloc(0),
      startedAt: Date.now(),
      clientClosedEarly: false,
    };
    const abort = new AbortController();
    let dropped = false;
    res.on("close", () => {
      record.endedAt = Date.now();
      if (res.headersSent) record.status = res.statusCode;
      if (!res.writableFinished) {
        abort.abort();
        if (!dropped && !closing) {
          record.clientClosedEarly = true;
          events.emit("clientClosed", record);
        }
      }
      if (!control) {
        events.emit("response", record);
        log(record);
      }
    });

    let tooLarge = false;
    try {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of req) {
        size += (chunk as Buffer).length;
        if (size > maxBodyBytes) tooLarge = true;
        else chunks.push(chunk as Buffer);
      }
      record.body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
    } catch {
      // The client went away while sending the body; the 'close' handler records it.
      return;
    }

    let parsed: { ok: true; value: unknown } | { ok: false; error: unknown } | undefined;
    const contentType = req.headers["content-type"] ?? "";
    if (record.body.length > 0 && contentType.includes("json")) {
      try {
        parsed = { ok: true, value: parseJsonBody(record.body.toString("utf8")) };
        record.json = parsed.value;
      } catch (error) {
        parsed = { ok: false, error };
      }
    }
    if (!control && recording) requests.push(record);
    if (!control) events.emit("request", record);

    const ctx: Ctx = {
      req,
      res,
      record,
      url,
      params: [],
      body: record.body,
      json() {
        if (parsed === undefined) parsed = { ok: true, value: parseJsonBody(record.body.toString("utf8")) };
        if (!parsed.ok) throw parsed.error;
        return parsed.value;
      },
      signal: abort.signal,
      markDropped: () => {
        dropped = true;
      },
    };

    try {
      if (tooLarge) throw new MockHttpError(413, "Request exceeds the maximum allowed number of bytes.");
      const match = findRoute(control ? controlRoutes : publicRoutes, url.pathname);
      if (!match) throw new MockHttpError(404, "Not found");
      const isApi = url.pathname.startsWith("/v1/");
      const handler = match.route.methods[method === "HEAD" ? "GET" : method] ?? match.route.methods[method];
      if (!handler) {
        const allow = Object.keys(match.route.methods).join(", ");
        throw new MockHttpError(405, "Method Not Allowed", { headers: { allow } });
      }
      if (isApi) {
        const authError = authenticate(req);
        if (authError) throw authError;
      }
      ctx.params = match.params;
      if (match.route.headerScenario) await applyHeaderScenario(ctx);
      await handler(ctx);
    } catch (err) {
      if (abort.signal.aborted) return;
      sendError(res, id, err);
    }
  }

  /** `x-mock-scenario: error …` or `ttfb=` on endpoints other than Messages. */
  async function applyHeaderScenario(ctx: Ctx): Promise<void> {
    const header = ctx.req.headers["x-mock-scenario"];
    if (typeof header !== "string" || header.trim() === "") return;
    try {
      const spec = parseSpec(header);
      ctx.record.scenario = spec.name;
      const ttfb = intParam(spec.params, "ttfb", 0);
      if (ttfb > 0) await sleep(ttfb, undefined, { signal: ctx.signal });
      if (spec.name === "error") throw scenarioError(errorFromParams(spec.params));
    } catch (err) {
      if (err instanceof SpecError) throw new MockHttpError(400, `mock scenario: ${err.message}`);
      throw err;
    }
  }

  function log(r: RecordedRequest): void {
    if (options.quiet) return;
    const ms = (r.endedAt ?? Date.now()) - r.startedAt;
    const extra = `${r.scenario ? ` scenario=${r.scenario}` : ""}${r.clientClosedEarly ? " (client closed early)" : ""}`;
    console.log(`mock: ${r.method} ${r.url} → ${r.status ?? "-"} ${ms}ms${extra}`);
  }

  function clear(): void {
    requests.length = 0;
  }

  // ---- server ---------------------------------------------------------------------------------

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, res.getHeader("request-id") as string, err);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    // A deep backlog: the benchmark opens 1,000 connections at once.
    server.listen({ port: options.port ?? 0, host, backlog: 4096 }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;

  return {
    url,
    port,
    requests,
    events,
    clear,
    waitFor(predicate, timeoutMs = 5000) {
      const existing = requests.find(predicate);
      if (existing) return Promise.resolve(existing);
      return new Promise((resolve, reject) => {
        const check = (r: RecordedRequest): void => {
          if (!predicate(r)) return;
          cleanup();
          resolve(r);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`mock: no matching request within ${timeoutMs} ms`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          events.off("request", check);
          events.off("response", check);
          events.off("clientClosed", check);
        };
        events.on("request", check);
        events.on("response", check);
        events.on("clientClosed", check);
      });
    },
    close() {
      closing = true;
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
