// The API's other endpoints, kept in memory: models (catalogue and paging), Message Batches and Files.
import { MockHttpError } from "./errors.ts";
import { type Ctx, type Route, sendBytes, sendJson } from "./http.ts";
import type { ModelInfo } from "./models.ts";
import { paginate } from "./paging.ts";
import type { BatchStore, FileStore } from "./resources.ts";

export interface ApiDeps {
  catalogue: readonly ModelInfo[];
  batches: BatchStore;
  files: FileStore;
}

const id = (ctx: Ctx): string => ctx.params[0] ?? "";
// The API's results_url is absolute; the mock's points back at whatever host the client reached.
const base = (ctx: Ctx): string => `http://${ctx.req.headers.host ?? "127.0.0.1"}`;

export function apiRoutes({ catalogue, batches, files }: ApiDeps): Route[] {
  const routes: Array<Omit<Route, "headerScenario">> = [
    {
      pattern: /^\/v1\/models$/,
      methods: { GET: (ctx) => sendJson(ctx.res, 200, paginate(catalogue, ctx.url.searchParams)) },
    },
    {
      pattern: /^\/v1\/models\/([^/]+)$/,
      methods: {
        GET: (ctx) => {
          const model = catalogue.find((m) => m.id === id(ctx));
          if (!model) throw new MockHttpError(404, `model: ${id(ctx)}`);
          sendJson(ctx.res, 200, model);
        },
      },
    },
    {
      pattern: /^\/v1\/messages\/batches$/,
      methods: {
        POST: (ctx) => sendJson(ctx.res, 200, batches.create(ctx.json())),
        GET: (ctx) => sendJson(ctx.res, 200, paginate(batches.list(base(ctx)), ctx.url.searchParams)),
      },
    },
    {
      pattern: /^\/v1\/messages\/batches\/([^/]+)$/,
      methods: {
        GET: (ctx) => sendJson(ctx.res, 200, batches.get(id(ctx), base(ctx))),
        DELETE: (ctx) => sendJson(ctx.res, 200, batches.delete(id(ctx))),
      },
    },
    {
      pattern: /^\/v1\/messages\/batches\/([^/]+)\/cancel$/,
      methods: { POST: (ctx) => sendJson(ctx.res, 200, batches.cancel(id(ctx))) },
    },
    {
      pattern: /^\/v1\/messages\/batches\/([^/]+)\/results$/,
      methods: { GET: (ctx) => sendBytes(ctx.res, 200, "application/binary", batches.results(id(ctx))) },
    },
    {
      pattern: /^\/v1\/files$/,
      methods: {
        POST: (ctx) => sendJson(ctx.res, 200, files.upload(ctx.body, ctx.req.headers["content-type"])),
        // Both cursor styles: id cursors (first_id/last_id) and the newer next_page.
        GET: (ctx) =>
          sendJson(ctx.res, 200, { ...paginate(files.list(), ctx.url.searchParams), next_page: null }),
      },
    },
    {
      pattern: /^\/v1\/files\/([^/]+)$/,
      methods: {
        GET: (ctx) => sendJson(ctx.res, 200, files.get(id(ctx)).meta),
        DELETE: (ctx) => sendJson(ctx.res, 200, files.delete(id(ctx))),
      },
    },
    {
      pattern: /^\/v1\/files\/([^/]+)\/content$/,
      methods: {
        GET: (ctx) => {
          const { meta, bytes } = files.get(id(ctx));
          sendBytes(ctx.res, 200, meta.mime_type, bytes);
        },
      },
    },
  ];
  return routes.map((r) => ({ ...r, headerScenario: true }));
}
