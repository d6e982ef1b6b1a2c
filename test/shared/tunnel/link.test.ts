// A Worker link and a sidecar link talking through the real codec: requests and responses in both
// directions, buffering bounded by credit on both sides, cancel reaching the run, errors before and
// after headers, every ordering violation closing the link, drain, goaway and keep-alives.

import { describe, expect, it } from "vitest";
import { encodeFrame, FrameEncodeError } from "../../../src/shared/tunnel/codec.ts";
import {
  type Frame,
  INITIAL_WINDOW,
  MAX_CHUNK_BYTES,
  MAX_ERROR_MESSAGE,
  MAX_WINDOW,
} from "../../../src/shared/tunnel/frames.ts";
import { KEEPALIVE_PING, KEEPALIVE_PONG } from "../../../src/shared/tunnel/lifecycle.ts";
import type { IncomingRequest, RequestHead } from "../../../src/shared/tunnel/link.ts";
import { TunnelStreamError } from "../../../src/shared/tunnel/outcome.ts";
import { settle } from "./fixtures.ts";
import { bodyBytes, countingSource, linkPair, loneLink, patterned, readAll, sameBytes } from "./pair.ts";

const HEAD: RequestHead = {
  requestId: "req_1",
  method: "POST",
  path: "/v1/messages",
  headers: [["content-type", "application/json"]],
  keyId: "key_1",
  keyName: "anna",
  format: "anthropic",
};
const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function streamOf(...parts: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const p of parts) controller.enqueue(p);
      controller.close();
    },
  });
}

async function nextRequest(requests: IncomingRequest[], index = 0): Promise<IncomingRequest> {
  for (let i = 0; i < 50 && requests[index] === undefined; i++) await settle(1);
  const request = requests[index];
  if (request === undefined) throw new Error("no request arrived");
  return request;
}

describe("requests and responses", () => {
  it("carries a request with a body and a streamed response with a trailer", async () => {
    const { worker, requests, violations } = linkPair();
    const out = worker.open(HEAD, streamOf(utf8('{"model":'), utf8('"claude"}')));
    const req = await nextRequest(requests);
    expect(req.head).toEqual(HEAD);
    expect(req.stream).toBe(1);
    expect(text(await readAll(req.body ?? streamOf()))).toBe('{"model":"claude"}');

    expect(req.respond(200, [["content-type", "text/event-stream"]])).toBe(true);
    expect(await req.write(utf8("event: a\n\n"))).toBe(true);
    expect(await req.write(utf8("event: b\n\n"))).toBe(true);
    expect(await req.end({ usage: { input_tokens: 3, output_tokens: 5 }, costUsd: 0.01 })).toBe(true);

    const response = await out.response;
    if (!response.ok) throw new Error("expected a response");
    expect(response.status).toBe(200);
    expect(response.headers).toEqual([["content-type", "text/event-stream"]]);
    expect(text(await readAll(response.body))).toBe("event: a\n\nevent: b\n\n");
    expect(await out.outcome).toEqual({
      kind: "end",
      trailer: { usage: { input_tokens: 3, output_tokens: 5 }, costUsd: 0.01 },
    });
    expect(await req.outcome).toEqual({ kind: "end" });
    expect(worker.openStreams).toBe(0);
    expect(violations).toEqual({ worker: [], sidecar: [] });
  });

  it("gives the sidecar a null body when the request has none", async () => {
    const { worker, requests, toSidecar } = linkPair();
    worker.open({ ...HEAD, method: "GET", path: "/v1/models" }, null);
    const req = await nextRequest(requests);
    expect(req.body).toBeNull();
    expect(toSidecar.map((f) => f.type)).toEqual(["req_head"]);
    expect(toSidecar[0]).toMatchObject({ hasBody: false });
  });

  it("echoes 1 MiB + 123 bytes both ways intact, in chunks no larger than MAX_CHUNK_BYTES", async () => {
    const { worker, requests, toSidecar, toWorker, violations } = linkPair();
    const payload = patterned(1024 * 1024 + 123);
    // One huge chunk from the client must still cross in bounded frames.
    const out = worker.open(HEAD, streamOf(payload));
    const req = await nextRequest(requests);
    req.respond(200, []);
    // The sidecar streams the request body back as it reads it.
    const echo = (async () => {
      for await (const part of req.body ?? streamOf()) if (!(await req.write(part))) return;
      await req.end();
    })();
    const response = await out.response;
    if (!response.ok) throw new Error("expected a response");
    expect(sameBytes(await readAll(response.body), payload)).toBe(true);
    await echo;
    for (const f of [...toSidecar, ...toWorker])
      if (f.type === "req_body" || f.type === "res_body")
        expect(f.chunk.byteLength).toBeLessThanOrEqual(MAX_CHUNK_BYTES);
    expect(bodyBytes(toSidecar, "req_body")).toBe(payload.byteLength);
    expect(violations).toEqual({ worker: [], sidecar: [] });
  });

  it("multiplexes concurrent streams and keeps each one's bytes apart", async () => {
    const { worker, requests } = linkPair();
    const outs = Array.from({ length: 5 }, (_, i) =>
      worker.open({ ...HEAD, requestId: `r${i}` }, streamOf(utf8(`body-${i}`))),
    );
    for (let i = 0; i < 5; i++) await nextRequest(requests, i);
    // Answer in reverse order, interleaving the writes.
    const reqs = [...requests].reverse();
    for (const r of reqs) r.respond(200, []);
    for (const r of reqs) await r.write(utf8(`${r.head.requestId}:`));
    for (const r of reqs) await r.write(await readAll(r.body ?? streamOf()));
    for (const r of reqs) await r.end();
    for (const [i, out] of outs.entries()) {
      const response = await out.response;
      if (!response.ok) throw new Error("expected a response");
      expect(text(await readAll(response.body))).toBe(`r${i}:body-${i}`);
    }
    expect(outs.map((o) => o.stream)).toEqual([1, 2, 3, 4, 5]);
  });

  it("lets the sidecar answer before the request body is in (the upload then stops)", async () => {
    const { worker, requests, violations } = linkPair();
    const { stream, stats } = countingSource(4 * 1024 * 1024, 16 * 1024);
    const out = worker.open(HEAD, stream);
    const req = await nextRequest(requests);
    req.respond(400, []);
    await req.write(utf8("bad request"));
    await req.end();
    const response = await out.response;
    if (!response.ok) throw new Error("expected a response");
    expect(response.status).toBe(400);
    expect(text(await readAll(response.body))).toBe("bad request");
    await settle();
    expect(stats.pulled).toBeLessThan(INITIAL_WINDOW + 64 * 1024);
    expect(violations).toEqual({ worker: [], sidecar: [] });
  });

  it("stops reading a slow client's upload once the response has ended", async () => {
    const { worker, requests } = linkPair();
    const cancelled: unknown[] = [];
    const stalled = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(utf8("first"));
      },
      cancel(reason) {
        cancelled.push(reason);
      },
    });
    const out = worker.open(HEAD, stalled);
    const req = await nextRequest(requests);
    req.respond(400, []);
    await req.end();
    expect(await out.outcome).toEqual({ kind: "end" });
    await settle();
    expect(cancelled).toEqual(["tunnel stream ended"]);
  });

  it("answers a request whose handler throws with an error instead of breaking the link", async () => {
    const { worker, violations } = linkPair({
      sidecar: {
        onRequest: () => {
          throw new Error("handler bug");
        },
      },
    });
    const out = worker.open(HEAD, null);
    expect(await out.response).toMatchObject({ ok: false, outcome: { kind: "error", code: "internal" } });
    expect(worker.closed).toBe(false);
    expect(violations).toEqual({ worker: [], sidecar: [] });
  });

  it("sends res_end only after the writes queued before it", async () => {
    const { worker, requests, toWorker } = linkPair();
    const out = worker.open(HEAD, null);
    const req = await nextRequest(requests);
    req.respond(200, []);
    const big = patterned(INITIAL_WINDOW * 2);
    const written = req.write(big); // not awaited: it waits for credit
    const ended = req.end();
    const response = await out.response;
    if (!response.ok) throw new Error("expected a response");
    expect(sameBytes(await readAll(response.body), big)).toBe(true);
    expect(await written).toBe(true);
    expect(await ended).toBe(true);
    expect(toWorker.at(-1)?.type).toBe("res_end");
  });

  it("sends nothing for an empty write", async () => {
    const { worker, requests, toWorker } = linkPair();
    worker.open(HEAD, null);
    const req = await nextRequest(requests);
    req.respond(200, []);
    expect(await req.write(new Uint8Array())).toBe(true);
    expect(toWorker.map((f) => f.type)).toEqual(["res_head"]);
  });
});

describe("bounded buffering", () => {
  it("a Worker whose sidecar does not read sends one window of request body and pulls no further", async () => {
    const { worker, requests, toSidecar, violations } = linkPair();
    const chunk = 16 * 1024;
    const { stream, stats } = countingSource(4 * 1024 * 1024, chunk);
    worker.open(HEAD, stream);
    const req = await nextRequest(requests);
    await settle();
    expect(bodyBytes(toSidecar, "req_body")).toBe(INITIAL_WINDOW);
    // The source is read only when credit allows: at most the window plus the stream's own one-chunk read-ahead.
    expect(stats.pulled).toBeLessThanOrEqual(INITIAL_WINDOW + 2 * chunk);
    await settle();
    expect(bodyBytes(toSidecar, "req_body")).toBe(INITIAL_WINDOW);

    // Reading releases credit and the rest flows, intact.
    const body = await readAll(req.body ?? streamOf());
    expect(sameBytes(body, patterned(4 * 1024 * 1024))).toBe(true);
    expect(violations).toEqual({ worker: [], sidecar: [] });
  });

  it("a sidecar whose client does not read has at most one window in flight; its write waits", async () => {
    const { worker, requests, toWorker } = linkPair();
    const out = worker.open(HEAD, null);
    const req = await nextRequest(requests);
    req.respond(200, []);
    let resolvedWrites = 0;
    const chunk = 8 * 1024;
    const total = 1024 * 1024;
    const producer = (async () => {
      for (let sent = 0; sent < total; sent += chunk) {
        if (!(await req.write(patterned(chunk)))) return false;
        resolvedWrites++;
      }
      return req.end();
    })();
    await settle();
    expect(bodyBytes(toWorker, "res_body")).toBe(INITIAL_WINDOW);
    expect(resolvedWrites).toBe(INITIAL_WINDOW / chunk);
    await settle();
    expect(resolvedWrites).toBe(INITIAL_WINDOW / chunk);

    const response = await out.response;
    if (!response.ok) throw new Error("expected a response");
    expect((await readAll(response.body)).byteLength).toBe(total);
    expect(await producer).toBe(true);
  });

  it("returns credit as the consumer reads, in quarter-window batches", async () => {
    const { worker, requests, toWorker } = linkPair();
    worker.open(HEAD, streamOf(patterned(INITIAL_WINDOW)));
    const req = await nextRequest(requests);
    await settle();
    expect(toWorker.filter((f) => f.type === "credit")).toEqual([]);
    await readAll(req.body ?? streamOf());
    const credits = toWorker.filter((f) => f.type === "credit");
    expect(credits.length).toBe(4);
    for (const c of credits) expect(c).toMatchObject({ stream: 1, bytes: INITIAL_WINDOW / 4 });
  });

  it("closes the link on a peer that ignores credit, having buffered no more than the window", async () => {
    const { link, violations, requests } = loneLink("sidecar");
    link.receive({ type: "req_head", stream: 1, ...HEAD, hasBody: true });
    for (let sent = 0; sent < INITIAL_WINDOW; sent += MAX_CHUNK_BYTES)
      link.receive({ type: "req_body", stream: 1, chunk: new Uint8Array(MAX_CHUNK_BYTES) });
    expect(violations).toEqual([]);
    link.receive({ type: "req_body", stream: 1, chunk: new Uint8Array(1) });
    expect(violations).toEqual([
      { code: "flow_control", message: "1 bytes beyond the granted credit", stream: 1 },
    ]);
    expect(link.closed).toBe(true);
    const req = await nextRequest(requests);
    expect(req.signal.aborted).toBe(true);
    await expect(readAll(req.body ?? streamOf())).rejects.toBeInstanceOf(TunnelStreamError);
  });

  it("closes the link on credit beyond the maximum window", () => {
    const { link, violations } = loneLink("sidecar");
    link.receive({ type: "req_head", stream: 1, ...HEAD, hasBody: false });
    link.receive({ type: "credit", stream: 1, bytes: MAX_WINDOW - INITIAL_WINDOW });
    expect(violations).toEqual([]);
    link.receive({ type: "credit", stream: 1, bytes: 1 });
    expect(violations[0]?.code).toBe("flow_control");
  });
});

describe("cancel", () => {
  it("from the Worker aborts the run; the sidecar's writes stop; late frames are dropped quietly", async () => {
    const { worker, requests, violations, toSidecar } = linkPair();
    const out = worker.open(HEAD, null);
    const req = await nextRequest(requests);
    req.respond(200, []);
    await req.write(utf8("partial"));
    out.cancel("client disconnected");
    await settle();
    expect(req.signal.aborted).toBe(true);
    expect(req.signal.reason).toBeInstanceOf(TunnelStreamError);
    expect(await req.write(utf8("after"))).toBe(false);
    expect(await req.end()).toBe(false);
    expect(req.fail("internal", "x")).toBe(false);
    expect(await req.outcome).toEqual({ kind: "cancelled", by: "peer", reason: "client disconnected" });
    expect(await out.outcome).toEqual({ kind: "cancelled", by: "local", reason: "client disconnected" });
    expect(toSidecar.at(-1)).toEqual({ type: "cancel", stream: 1, reason: "client disconnected" });
    expect(violations).toEqual({ worker: [], sidecar: [] });
  });

  it("when the client stops reading the response body (disconnect) reaches the run", async () => {
    const { worker, requests } = linkPair();
    const out = worker.open(HEAD, null);
    const req = await nextRequest(requests);
    req.respond(200, []);
    const response = await out.response;
    if (!response.ok) throw new Error("expected a response");
    await response.body.cancel("client went away");
    await settle();
    expect(req.signal.aborted).toBe(true);
    expect(await req.outcome).toMatchObject({ kind: "cancelled", by: "peer", reason: "client went away" });
  });

  it("before the response head resolves the response as cancelled", async () => {
    const { worker, requests } = linkPair();
    const out = worker.open(HEAD, null);
    const req = await nextRequest(requests);
    out.cancel();
    expect(await out.response).toEqual({ ok: false, outcome: { kind: "cancelled", by: "local" } });
    await settle();
    expect(req.signal.aborted).toBe(true);
    expect(req.respond(200, [])).toBe(false);
  });

  it("from the sidecar ends the Worker's side", async () => {
    const { worker, requests } = linkPair();
    const out = worker.open(HEAD, null);
    const req = await nextRequest(requests);
    req.cancel("shutting down");
    expect(await out.response).toEqual({
      ok: false,
      outcome: { kind: "cancelled", by: "peer", reason: "shutting down" },
    });
  });

  it("stops reading the client's upload and aborts the run when the upload fails", async () => {
    const { worker, requests } = linkPair();
    let failUpload: (reason: unknown) => void = () => {};
    const upload = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(utf8("part"));
        failUpload = (reason) => controller.error(reason);
      },
    });
    const out = worker.open(HEAD, upload);
    const req = await nextRequest(requests);
    failUpload(new Error("client reset"));
    expect(await out.outcome).toEqual({ kind: "cancelled", by: "local", reason: "request body failed" });
    await settle();
    expect(req.signal.aborted).toBe(true);
  });

  it("of the request body by the sidecar drops the rest without stalling the Worker", async () => {
    const { worker, requests, toSidecar, violations } = linkPair();
    const total = 2 * 1024 * 1024;
    const out = worker.open(HEAD, countingSource(total, 32 * 1024).stream);
    const req = await nextRequest(requests);
    const reader = (req.body ?? streamOf()).getReader();
    await reader.read();
    await reader.cancel("enough");
    await settle(40);
    expect(bodyBytes(toSidecar, "req_body")).toBe(total);
    expect(toSidecar.at(-1)?.type).toBe("req_end");
    expect(req.signal.aborted).toBe(false);
    req.respond(413, []);
    await req.end();
    expect(await out.response).toMatchObject({ ok: true, status: 413 });
    expect(violations).toEqual({ worker: [], sidecar: [] });
  });
});

describe("summaries of stopped runs", () => {
  const both = { worker: { summaries: true }, sidecar: { summaries: true } };
  const used = { usage: { input_tokens: 900, output_tokens: 40 }, costUsd: null, outcome: "aborted" };

  it("after the Worker's cancel, the sidecar's summary reaches the Worker as the trailer", async () => {
    const { worker, requests, toWorker, violations } = linkPair(both);
    const out = worker.open(HEAD, null);
    const req = await nextRequest(requests);
    req.respond(200, []);
    expect(req.summarize(used)).toBe(false); // still open: it ends with res_end
    out.cancel("client disconnected");
    await settle();
    expect(req.summarize(used)).toBe(true);
    expect(req.summarize(used)).toBe(false); // once
    expect(await out.trailer).toEqual(used);
    expect(await out.outcome).toEqual({ kind: "cancelled", by: "local", reason: "client disconnected" });
    expect(toWorker.filter((f) => f.type === "summary")).toEqual([
      { type: "summary", stream: 1, trailer: used },
    ]);
    expect(violations).toEqual({ worker: [], sidecar: [] });
  });

  it("is what the Worker gets after an error in the stream, and res_end's trailer otherwise", async () => {
    const { worker, requests } = linkPair(both);
    const failed = worker.open(HEAD, null);
    const r1 = await nextRequest(requests);
    r1.respond(200, []);
    r1.fail("internal", "broke");
    await settle();
    expect(r1.summarize(used)).toBe(true);
    expect(await failed.trailer).toEqual(used);

    const done = worker.open(HEAD, null);
    const r2 = await nextRequest(requests, 1);
    r2.respond(200, []);
    await r2.end({ costUsd: 0.5 });
    expect(r2.summarize(used)).toBe(false);
    expect(await done.trailer).toEqual({ costUsd: 0.5 });
  });

  it("is never sent, nor waited for, unless both sides said they support it", async () => {
    const waiting = { summaries: true, summaryWaitMs: 50 };
    for (const opts of [{}, { worker: waiting }, { sidecar: { summaries: true } }]) {
      const { worker, requests, toWorker } = linkPair(opts);
      const out = worker.open(HEAD, null);
      const req = await nextRequest(requests);
      out.cancel();
      await settle();
      const sent = req.summarize(used);
      expect(sent).toBe(opts.sidecar !== undefined);
      // A Worker that does not take summaries answers at once; one that does waits (bounded).
      if (opts.worker === undefined) expect(await out.trailer).toBeUndefined();
      else expect(await out.trailer).toBe(sent ? used : undefined);
      if (opts.sidecar === undefined) expect(toWorker.some((f) => f.type === "summary")).toBe(false);
    }
  });

  it("is waited for only so long, and not at all once the link is gone", async () => {
    const { worker, requests } = linkPair({ worker: { summaries: true, summaryWaitMs: 30 } });
    const late = worker.open(HEAD, null);
    await nextRequest(requests);
    late.cancel();
    const t0 = Date.now();
    expect(await late.trailer).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(1000);

    const { worker: w2, requests: r2 } = linkPair({ worker: { summaries: true } });
    const out = w2.open(HEAD, null);
    await nextRequest(r2);
    out.cancel();
    w2.close("socket closed");
    expect(await out.trailer).toBeUndefined();
  });

  it("for a stream still open or never opened breaks the protocol; a late one is dropped", async () => {
    const open = loneLink("do", { summaries: true });
    open.link.open(HEAD, null);
    open.link.receive({ type: "summary", stream: 1, trailer: used });
    expect(open.violations.map((v) => v.code)).toEqual(["bad_order"]);

    const never = loneLink("do", { summaries: true });
    never.link.receive({ type: "summary", stream: 1, trailer: used });
    expect(never.violations.map((v) => v.code)).toEqual(["unknown_stream"]);

    const late = loneLink("do", { summaries: true, summaryWaitMs: 10 });
    const out = late.link.open(HEAD, null);
    late.link.receive({ type: "res_head", stream: 1, status: 200, headers: [] });
    late.link.receive({ type: "res_end", stream: 1 });
    late.link.receive({ type: "summary", stream: 1, trailer: used });
    expect(await out.trailer).toBeUndefined();
    expect(late.violations).toEqual([]);

    const sidecar = loneLink("sidecar", { summaries: true });
    sidecar.link.receive({ type: "summary", stream: 1, trailer: used });
    expect(sidecar.violations.map((v) => v.code)).toEqual(["wrong_direction"]);
  });
});

describe("errors", () => {
  it("before the head resolve the response with the sidecar's code", async () => {
    const { worker, requests } = linkPair();
    const out = worker.open(HEAD, null);
    const req = await nextRequest(requests);
    expect(req.fail("overloaded", "too many runs", 2)).toBe(true);
    expect(await out.response).toEqual({
      ok: false,
      outcome: {
        kind: "error",
        code: "overloaded",
        message: "too many runs",
        headersSent: false,
        retryAfter: 2,
      },
    });
  });

  it("after the head reach the body reader and the outcome, with headersSent", async () => {
    const { worker, requests } = linkPair();
    const out = worker.open(HEAD, null);
    const req = await nextRequest(requests);
    req.respond(200, []);
    await req.write(utf8("data: 1\n\n"));
    req.fail("internal", "agent crashed");
    const response = await out.response;
    if (!response.ok) throw new Error("expected a response");
    const reader = response.body.getReader();
    expect(text((await reader.read()).value ?? new Uint8Array())).toBe("data: 1\n\n");
    const failure = await reader.read().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(TunnelStreamError);
    expect(await out.outcome).toEqual({
      kind: "error",
      code: "internal",
      message: "agent crashed",
      headersSent: true,
    });
  });

  it("refuse our own out-of-order sends loudly (a bug, not a violation)", async () => {
    const { worker, requests } = linkPair();
    worker.open(HEAD, null);
    const req = await nextRequest(requests);
    await expect(req.write(utf8("x"))).rejects.toThrow(/res_body before res_head/);
    req.respond(200, []);
    expect(() => req.respond(200, [])).toThrow(/second res_head/);
  });

  it("cut an over-long error message to fit instead of failing to fail", async () => {
    const { worker, requests } = linkPair();
    const out = worker.open(HEAD, null);
    const req = await nextRequest(requests);
    expect(req.fail("internal", "x".repeat(10_000))).toBe(true);
    const response = await out.response;
    expect(!response.ok && response.outcome.kind === "error" && response.outcome.message.length).toBe(
      MAX_ERROR_MESSAGE,
    );
  });

  it("leave the stream usable when a response head cannot be encoded", async () => {
    const { worker, requests } = linkPair();
    const out = worker.open(HEAD, null);
    const req = await nextRequest(requests);
    expect(() => req.respond(200, [["x-bad", "a\nb"]])).toThrow(FrameEncodeError);
    expect(req.respond(200, [["x-good", "ok"]])).toBe(true);
    await req.end();
    expect(await out.response).toMatchObject({ ok: true, headers: [["x-good", "ok"]] });
  });

  it("leave the link usable when a head cannot be encoded", () => {
    const { link, sent } = loneLink("do");
    expect(() => link.open({ ...HEAD, headers: [["x-a", "1\r\n2"]] }, null)).toThrow(FrameEncodeError);
    expect(sent).toEqual([]);
    expect(link.lastStream).toBe(0);
    expect(link.open(HEAD, null).stream).toBe(1);
  });
});

describe("protocol violations close the link", () => {
  function opened() {
    const lone = loneLink("do");
    const out = lone.link.open(HEAD, null);
    return { ...lone, out };
  }

  const doCases: [string, Frame[], string][] = [
    ["res_body before res_head", [{ type: "res_body", stream: 1, chunk: new Uint8Array([1]) }], "bad_order"],
    ["res_end before res_head", [{ type: "res_end", stream: 1 }], "bad_order"],
    [
      "a second res_head",
      [
        { type: "res_head", stream: 1, status: 200, headers: [] },
        { type: "res_head", stream: 1, status: 200, headers: [] },
      ],
      "bad_order",
    ],
    [
      "error with a false headersSent",
      [{ type: "error", stream: 1, code: "internal", message: "", headersSent: true }],
      "bad_order",
    ],
    [
      "a frame for a stream never opened",
      [{ type: "res_head", stream: 2, status: 200, headers: [] }],
      "unknown_stream",
    ],
    [
      "a request frame sent to the Worker",
      [{ type: "req_head", stream: 2, ...HEAD, hasBody: false }],
      "wrong_direction",
    ],
    ["goaway sent to the Worker", [{ type: "goaway" }], "wrong_direction"],
    [
      "a handshake frame after the handshake",
      [{ type: "hello", sidecarId: "s", name: "n", version: "1", maxConcurrent: 1 }],
      "unexpected_frame",
    ],
    [
      "a welcome replayed at the Worker",
      [{ type: "welcome", linkId: "l", mac: "A".repeat(43) }],
      "wrong_direction",
    ],
  ];
  it.each(doCases)("Worker side: %s", async (_name, frames, code) => {
    const { link, out, violations } = opened();
    for (const f of frames) link.receive(f);
    expect(violations.map((v) => v.code)).toEqual([code]);
    expect(link.closed).toBe(true);
    expect(await out.outcome).toMatchObject({ kind: "lost" });
  });

  const sidecarCases: [string, Frame[], string][] = [
    ["a reused stream id", [{ type: "req_head", stream: 1, ...HEAD, hasBody: false }], "stream_reused"],
    [
      "a lower stream id",
      [
        { type: "req_head", stream: 3, ...HEAD, hasBody: false },
        { type: "req_head", stream: 2, ...HEAD, hasBody: false },
      ],
      "stream_reused",
    ],
    [
      "req_body on a request without body",
      [{ type: "req_body", stream: 1, chunk: new Uint8Array([1]) }],
      "bad_order",
    ],
    [
      "a response frame sent to the sidecar",
      [{ type: "res_head", stream: 1, status: 200, headers: [] }],
      "wrong_direction",
    ],
    [
      "a challenge after the handshake",
      [{ type: "challenge", nonce: "A".repeat(43), ts: 0 }],
      "unexpected_frame",
    ],
    ["req_end for a stream never opened", [{ type: "req_end", stream: 9 }], "unknown_stream"],
  ];
  it.each(sidecarCases)("sidecar side: %s", (_name, frames, code) => {
    const { link, violations } = loneLink("sidecar");
    link.receive({ type: "req_head", stream: 1, ...HEAD, hasBody: false });
    for (const f of frames) link.receive(f);
    expect(violations.map((v) => v.code)).toEqual([code]);
    expect(link.closed).toBe(true);
  });

  it.each([
    ["not JSON", "nope"],
    ["an unknown frame type", JSON.stringify({ v: 1, type: "upgrade" })],
    ["another protocol version", JSON.stringify({ v: 2, type: "ping", nonce: "n", ts: 0 })],
    ["a truncated binary frame", new Uint8Array([1, 2, 0])],
  ])("an undecodable message: %s", (_name, message) => {
    const { link, violations } = loneLink("do");
    link.receiveMessage(message);
    expect(violations.map((v) => v.code)).toEqual(["decode"]);
  });

  it("reports one violation and then ignores the peer", () => {
    const { link, violations, sent } = loneLink("do");
    link.receiveMessage("garbage");
    link.receiveMessage("more garbage");
    link.receive({ type: "ping", nonce: "n", ts: 0 });
    expect(violations).toHaveLength(1);
    expect(sent).toEqual([]);
  });

  it("does not mistake frames for a stream that already ended for a violation", async () => {
    const { link, out, violations } = opened();
    out.cancel();
    link.receive({ type: "res_head", stream: 1, status: 200, headers: [] });
    link.receive({ type: "res_body", stream: 1, chunk: new Uint8Array([1]) });
    link.receive({ type: "credit", stream: 1, bytes: 100 });
    link.receive({ type: "res_end", stream: 1 });
    expect(violations).toEqual([]);
    expect(await out.outcome).toEqual({ kind: "cancelled", by: "local" });
  });
});

describe("link lifecycle", () => {
  it("loses every open stream when the transport closes", async () => {
    const { worker, sidecar, requests } = linkPair();
    const out = worker.open(HEAD, null);
    const req = await nextRequest(requests);
    sidecar.close("socket closed");
    worker.close("socket closed");
    expect(await out.response).toEqual({ ok: false, outcome: { kind: "lost", reason: "socket closed" } });
    expect(req.signal.aborted).toBe(true);
    expect(await req.write(utf8("x"))).toBe(false);
    expect(worker.canOpen).toBe(false);
  });

  it("closes when the transport refuses a send", async () => {
    const link = loneLink("do", {
      send: () => {
        throw new Error("WebSocket is closed");
      },
    }).link;
    const out = link.open(HEAD, null);
    expect(link.closed).toBe(true);
    expect(await out.response).toEqual({
      ok: false,
      outcome: { kind: "lost", reason: "tunnel send failed" },
    });
  });

  it("refuses streams beyond the sidecar's concurrency as overloaded (retryable)", async () => {
    const { worker, requests } = linkPair({ sidecar: { maxStreams: 1 } });
    worker.open(HEAD, null);
    const second = worker.open({ ...HEAD, requestId: "r2" }, null);
    expect(await second.response).toEqual({
      ok: false,
      outcome: {
        kind: "error",
        code: "overloaded",
        message: "sidecar is at its concurrency limit",
        headersSent: false,
        retryAfter: 1,
      },
    });
    expect(requests).toHaveLength(1);
  });

  it("will not open more streams than the sidecar said it takes", () => {
    const { link } = loneLink("do", { maxStreams: 2 });
    link.open(HEAD, null);
    link.open(HEAD, null);
    expect(link.canOpen).toBe(false);
    expect(() => link.open(HEAD, null)).toThrow(/cannot take a new stream/);
  });

  it("continues stream ids after hibernation", () => {
    const { link } = loneLink("do", { lastStream: 41 });
    expect(link.open(HEAD, null).stream).toBe(42);
    expect(link.lastStream).toBe(42);
  });

  it("drain: the Worker stops sending; a request already on the wire is refused as unavailable", async () => {
    const drains: unknown[] = [];
    const { worker, sidecar, requests } = linkPair({ worker: { onDrain: (f) => drains.push(f) } });
    const running = worker.open(HEAD, null);
    const req = await nextRequest(requests);
    const racing = worker.open({ ...HEAD, requestId: "r2" }, null);
    sidecar.drain("SIGTERM");
    expect(await racing.response).toMatchObject({
      ok: false,
      outcome: { kind: "error", code: "unavailable" },
    });
    expect(drains).toEqual([{ type: "drain", reason: "SIGTERM" }]);
    expect(worker.canOpen).toBe(false);
    // The running stream finishes normally.
    req.respond(200, []);
    await req.end();
    expect(await running.outcome).toEqual({ kind: "end" });
  });

  it("goaway: the sidecar hears it, the Worker opens nothing new, running streams finish", async () => {
    const goaways: unknown[] = [];
    const { worker, requests } = linkPair({ sidecar: { onGoaway: (f) => goaways.push(f) } });
    const running = worker.open(HEAD, null);
    const req = await nextRequest(requests);
    worker.goaway({ reason: "deploy", reconnectAfterMs: 0 });
    await settle();
    expect(goaways).toEqual([{ type: "goaway", reason: "deploy", reconnectAfterMs: 0 }]);
    expect(worker.canOpen).toBe(false);
    req.respond(204, []);
    await req.end();
    expect(await running.outcome).toEqual({ kind: "end" });
  });

  it("ping measures the round trip from either side; pending pings resolve null on close", async () => {
    let now = 1000;
    const { worker, sidecar } = linkPair({ worker: { now: () => now }, sidecar: { now: () => now } });
    const rtt = worker.ping();
    now += 7;
    expect(await rtt).toBe(7);
    expect(await sidecar.ping()).toBe(0);
    const lost = worker.ping();
    worker.close();
    expect(await lost).toBeNull();
    expect(await worker.ping()).toBeNull();
  });

  it("answers the fixed keep-alive exactly as a hibernating Durable Object's auto-response would", () => {
    const { link, raw } = loneLink("do");
    link.receiveMessage(KEEPALIVE_PING);
    expect(raw).toEqual([KEEPALIVE_PONG]);
    expect(encodeFrame({ type: "pong", nonce: "keepalive", ts: 0 })).toBe(KEEPALIVE_PONG);
  });

  it("records when the peer was last heard from", () => {
    let now = 5;
    const { link } = loneLink("sidecar", { now: () => now });
    now = 99;
    link.receiveMessage(KEEPALIVE_PONG);
    expect(link.lastSeen).toBe(99);
  });
});
