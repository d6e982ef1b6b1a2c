// Batches, Files and the mock's control endpoints, through the official SDK where it has them:
// realistic object shapes, multipart uploads kept byte for byte, binary downloads, DELETE.
import Anthropic, { NotFoundError, toFile } from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type MockServer, startMock } from "../../src/mock/server.ts";
import { type Json, post } from "./helpers.ts";

let mock: MockServer;
let client: Anthropic;
beforeAll(async () => {
  mock = await startMock({ quiet: true });
  client = new Anthropic({ baseURL: mock.url, apiKey: "test", maxRetries: 0 });
});
afterAll(() => mock.close());

describe("message batches", () => {
  it("create → retrieve → list → cancel → ended → results → delete", async () => {
    const params = {
      model: "claude-sonnet-5-5",
      max_tokens: 10,
      messages: [{ role: "user" as const, content: "hi" }],
    };
    const batch = await client.messages.batches.create({
      requests: [
        { custom_id: "a", params },
        { custom_id: "b", params },
      ],
    });
    expect(batch).toMatchObject({
      type: "message_batch",
      processing_status: "in_progress",
      request_counts: { processing: 2, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
      results_url: null,
      ended_at: null,
    });
    expect(batch.id).toMatch(/^msgbatch_01/);
    expect((await client.messages.batches.retrieve(batch.id)).id).toBe(batch.id);
    const listed = await client.messages.batches.list();
    expect(listed.data.map((b) => b.id)).toContain(batch.id);
    await expect(client.messages.batches.delete(batch.id)).rejects.toThrow("still processing");

    const canceling = await client.messages.batches.cancel(batch.id);
    expect(canceling.processing_status).toBe("canceling");
    expect(canceling.cancel_initiated_at).not.toBeNull();
    const ended = await client.messages.batches.retrieve(batch.id);
    expect(ended.processing_status).toBe("ended");
    expect(ended.request_counts).toMatchObject({ processing: 0, canceled: 2 });
    expect(ended.results_url).toBe(`${mock.url}/v1/messages/batches/${batch.id}/results`);

    const results: unknown[] = [];
    for await (const r of await client.messages.batches.results(batch.id)) results.push(r);
    expect(results).toEqual([
      { custom_id: "a", result: { type: "canceled" } },
      { custom_id: "b", result: { type: "canceled" } },
    ]);
    expect(await client.messages.batches.delete(batch.id)).toEqual({
      id: batch.id,
      type: "message_batch_deleted",
    });
    await expect(client.messages.batches.retrieve(batch.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("validates the requests", async () => {
    const res = await post(`${mock.url}/v1/messages/batches`, { requests: [] });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: Json }).error.message).toBe(
      "requests: List should have at least 1 item after validation",
    );
  });
});

describe("files", () => {
  it("upload (multipart) → metadata → list → download the exact bytes → delete", async () => {
    const bytes = Buffer.from([0, 1, 2, 255, 13, 10, 45, 45, 0x80, 0x81]);
    const meta = await client.files.upload({
      file: await toFile(bytes, "data.bin", { type: "application/x-test" }),
    });
    expect(meta).toMatchObject({
      type: "file",
      filename: "data.bin",
      mime_type: "application/x-test",
      size_bytes: 10,
    });
    expect(meta.id).toMatch(/^file_011C/);
    const upload = mock.requests.find((r) => r.url === "/v1/files" && r.method === "POST");
    expect(upload?.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/);
    expect(upload?.body.includes(bytes)).toBe(true);

    expect(await client.files.retrieveMetadata(meta.id)).toEqual(meta);
    const page = await client.files.list();
    expect(page.data.map((f) => f.id)).toContain(meta.id);
    const download = await client.files.download(meta.id);
    expect(Buffer.from(await download.arrayBuffer()).equals(bytes)).toBe(true);
    expect(await client.files.delete(meta.id)).toEqual({ id: meta.id, type: "file_deleted" });
    await expect(client.files.retrieveMetadata(meta.id)).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe("control endpoints and recording", () => {
  it("GET/DELETE /_mock/requests, waitFor", async () => {
    const other = await startMock({ quiet: true });
    try {
      const waiting = other.waitFor((r) => r.url === "/v1/models?limit=1" && r.status === 200);
      await fetch(`${other.url}/v1/models?limit=1`, { headers: { "x-api-key": "k", "x-extra": "1" } });
      const rec = await waiting;
      expect(rec).toMatchObject({ method: "GET", clientClosedEarly: false });
      expect(rec.headers["x-extra"]).toBe("1");

      await post(`${other.url}/v1/messages`, '{"not json"', { "x-api-key": "k" });
      const listed = (await (await fetch(`${other.url}/_mock/requests`)).json()) as Array<Json>;
      expect(listed.map((r) => [r.method, r.url, r.status])).toEqual([
        ["GET", "/v1/models?limit=1", 200],
        ["POST", "/v1/messages", 400],
      ]);
      expect(listed[1]?.body).toBe('{"not json"');

      expect(await (await fetch(`${other.url}/_mock/requests`, { method: "DELETE" })).json()).toEqual({
        cleared: 2,
      });
      expect(other.requests).toHaveLength(0);
      await expect(other.waitFor(() => true, 50)).rejects.toThrow("no matching request");
    } finally {
      await other.close();
    }
  });
});
