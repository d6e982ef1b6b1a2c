// In-memory Message Batches and Files, so a gateway's generic passthrough (JSON, multipart uploads,
// binary downloads, DELETE) can be tested against realistic object shapes.
import { invalidRequest, MockHttpError } from "./errors.ts";
import { newBatchId, newFileId } from "./ids.ts";
import { boundaryOf, parseMultipart } from "./multipart.ts";

type Json = Record<string, unknown>;

const rfc3339 = (ms: number): string => new Date(ms).toISOString();

export interface MessageBatch {
  id: string;
  type: "message_batch";
  processing_status: "in_progress" | "canceling" | "ended";
  request_counts: {
    processing: number;
    succeeded: number;
    errored: number;
    canceled: number;
    expired: number;
  };
  ended_at: string | null;
  created_at: string;
  expires_at: string;
  archived_at: string | null;
  cancel_initiated_at: string | null;
  results_url: string | null;
}

export interface FileMetadata {
  id: string;
  type: "file";
  filename: string;
  mime_type: string;
  size_bytes: number;
  created_at: string;
  downloadable: boolean;
}

export class BatchStore {
  #batches = new Map<string, { batch: MessageBatch; customIds: string[] }>();

  create(body: unknown): MessageBatch {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw invalidRequest("Input should be a valid dictionary");
    }
    const requests = (body as Json).requests;
    if (requests === undefined) throw invalidRequest("requests: Field required");
    if (!Array.isArray(requests)) throw invalidRequest("requests: Input should be a valid list");
    if (requests.length === 0)
      throw invalidRequest("requests: List should have at least 1 item after validation");
    const customIds: string[] = [];
    for (let i = 0; i < requests.length; i++) {
      const r: unknown = requests[i];
      if (typeof r !== "object" || r === null)
        throw invalidRequest(`requests.${i}: Input should be a valid dictionary`);
      const { custom_id, params } = r as Json;
      if (typeof custom_id !== "string") throw invalidRequest(`requests.${i}.custom_id: Field required`);
      if (typeof params !== "object" || params === null)
        throw invalidRequest(`requests.${i}.params: Field required`);
      if (customIds.includes(custom_id)) throw invalidRequest(`Duplicate custom_id: ${custom_id}`);
      customIds.push(custom_id);
    }
    const now = Date.now();
    const batch: MessageBatch = {
      id: newBatchId(),
      type: "message_batch",
      processing_status: "in_progress",
      request_counts: { processing: customIds.length, succeeded: 0, errored: 0, canceled: 0, expired: 0 },
      ended_at: null,
      created_at: rfc3339(now),
      expires_at: rfc3339(now + 24 * 3600 * 1000),
      archived_at: null,
      cancel_initiated_at: null,
      results_url: null,
    };
    this.#batches.set(batch.id, { batch, customIds });
    return this.#view(batch, "");
  }

  /** `base` (the URL the client used, e.g. http://127.0.0.1:PORT) roots the results_url of ended batches. */
  list(base: string): MessageBatch[] {
    return [...this.#batches.values()].map((e) => this.#view(this.#advance(e).batch, base)).reverse();
  }

  get(id: string, base: string): MessageBatch {
    return this.#view(this.#advance(this.#entry(id)).batch, base);
  }

  /** A cancel is answered "canceling"; the next read shows the batch ended with its requests canceled. */
  cancel(id: string): MessageBatch {
    const entry = this.#entry(id);
    const { batch } = entry;
    if (batch.processing_status === "in_progress") {
      batch.processing_status = "canceling";
      batch.cancel_initiated_at = rfc3339(Date.now());
    }
    return this.#view(batch, "");
  }

  delete(id: string): { id: string; type: "message_batch_deleted" } {
    const { batch } = this.#advance(this.#entry(id));
    if (batch.processing_status !== "ended") {
      throw invalidRequest(`Batch ${id} cannot be deleted while it is still processing. Cancel it first.`);
    }
    this.#batches.delete(id);
    return { id, type: "message_batch_deleted" };
  }

  /** JSONL results of an ended batch. */
  results(id: string): string {
    const entry = this.#advance(this.#entry(id));
    if (entry.batch.processing_status !== "ended") {
      throw invalidRequest(`Batch ${id} has not ended yet; results are not available.`);
    }
    return `${entry.customIds.map((custom_id) => JSON.stringify({ custom_id, result: { type: "canceled" } })).join("\n")}\n`;
  }

  #view(batch: MessageBatch, base: string): MessageBatch {
    const results_url =
      batch.processing_status === "ended" ? `${base}/v1/messages/batches/${batch.id}/results` : null;
    return { ...batch, request_counts: { ...batch.request_counts }, results_url };
  }

  #entry(id: string): { batch: MessageBatch; customIds: string[] } {
    const entry = this.#batches.get(id);
    if (!entry) throw new MockHttpError(404, `message_batch_id: ${id}`);
    return entry;
  }

  #advance(entry: { batch: MessageBatch; customIds: string[] }) {
    const { batch } = entry;
    if (batch.processing_status === "canceling") {
      batch.processing_status = "ended";
      batch.ended_at = rfc3339(Date.now());
      batch.request_counts = {
        ...batch.request_counts,
        processing: 0,
        canceled: batch.request_counts.processing,
      };
    }
    return entry;
  }
}

export class FileStore {
  #files = new Map<string, { meta: FileMetadata; bytes: Buffer }>();

  upload(body: Buffer, contentType: string | undefined): FileMetadata {
    const boundary = boundaryOf(contentType);
    if (!contentType?.toLowerCase().startsWith("multipart/form-data") || boundary === undefined) {
      throw invalidRequest("Content-Type must be multipart/form-data");
    }
    const part = parseMultipart(body, boundary).find((p) => p.name === "file");
    if (!part) throw invalidRequest("file: Field required");
    const meta: FileMetadata = {
      id: newFileId(),
      type: "file",
      filename: part.filename ?? "upload",
      mime_type: part.contentType ?? "application/octet-stream",
      size_bytes: part.data.length,
      created_at: rfc3339(Date.now()),
      downloadable: true,
    };
    // Copy: the part is a view into the request body, which the recorder also holds.
    this.#files.set(meta.id, { meta, bytes: Buffer.from(part.data) });
    return meta;
  }

  list(): FileMetadata[] {
    return [...this.#files.values()].map((f) => f.meta).reverse();
  }

  get(id: string): { meta: FileMetadata; bytes: Buffer } {
    const file = this.#files.get(id);
    if (!file) throw new MockHttpError(404, `File not found: ${id}`);
    return file;
  }

  delete(id: string): { id: string; type: "file_deleted" } {
    this.get(id);
    this.#files.delete(id);
    return { id, type: "file_deleted" };
  }
}
