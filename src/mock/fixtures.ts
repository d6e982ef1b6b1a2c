// Recorded fixtures for `replay file=<name>`: files are read asynchronously once and cached, looked
// up only inside the fixtures folder, cut at event boundaries for delivery, and (for a non-streaming
// request with no recorded JSON answer) an SSE recording is accumulated into a Message.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SseParser } from "../shared/sse/decode.ts";
import { MockHttpError } from "./errors.ts";

/** The recorded API captures kept in the repo (test/fixtures/recorded, provenance in its SOURCES.md). */
export const DEFAULT_FIXTURES_DIR = path.resolve(
  fileURLToPath(new URL("../../test/fixtures/recorded/", import.meta.url)),
);

export class FixtureStore {
  readonly dir: string;
  #cache = new Map<string, Promise<Buffer | undefined>>();

  constructor(dir: string) {
    this.dir = path.resolve(dir);
  }

  /** The bytes of a file of the fixtures folder, or undefined if there is none by that name. */
  read(name: string): Promise<Buffer | undefined> {
    const full = path.resolve(this.dir, name);
    if (path.dirname(full) !== this.dir) {
      return Promise.reject(new MockHttpError(400, `replay: "${name}" is not a file of the fixtures folder`));
    }
    let entry = this.#cache.get(full);
    if (!entry) {
      entry = readFile(full).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw err;
      });
      this.#cache.set(full, entry);
    }
    return entry;
  }

  /** The first of the names that exists. */
  async first(names: string[]): Promise<{ name: string; bytes: Buffer } | undefined> {
    for (const name of names) {
      const bytes = await this.read(name);
      if (bytes) return { name, bytes };
    }
    return undefined;
  }
}

/** `x`, `x.sse`, `x.response.json`… → `x` */
export function fixtureBase(file: string): string {
  return file.replace(/(\.response\.json|\.json|\.sse)$/, "");
}

/** Candidate files for a replay, best first. */
export function replayCandidates(file: string, stream: boolean): string[] {
  const base = fixtureBase(file);
  if (stream) return [file, `${base}.sse`];
  const json = file.endsWith(".json") ? [file] : [];
  return [
    ...json,
    `${base}.response.json`,
    `${base}.nonstream.response.json`,
    `${base}.json`,
    file,
    `${base}.sse`,
  ];
}

/** Splits SSE bytes just after each blank line, so every chunk is whole events (the last may be unterminated). */
export function splitEvents(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i + 1 < bytes.length; i++) {
    const a = bytes[i];
    const b = bytes[i + 1];
    let sep = 0;
    if (a === 10 && b === 10) sep = 2;
    else if (a === 13 && b === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) sep = 4;
    if (sep > 0) {
      out.push(bytes.subarray(start, i + sep));
      start = i + sep;
      i += sep - 1;
    }
  }
  if (start < bytes.length) out.push(bytes.subarray(start));
  return out;
}

type Json = Record<string, unknown>;

/**
 * Accumulates a recorded Anthropic stream into the Message a non-streaming call would have returned
 * (text and thinking concatenated, tool input JSON parsed, message_delta applied).
 */
export function accumulateSse(bytes: Buffer): Json {
  const parser = new SseParser();
  const events = [...parser.push(bytes.toString("utf8")), ...parser.end()];
  let message: Json = {};
  const content: Json[] = [];
  const partialJson = new Map<number, string>();
  for (const ev of events) {
    let data: Json;
    try {
      data = JSON.parse(ev.data) as Json;
    } catch {
      continue;
    }
    switch (data.type) {
      case "message_start":
        message = { ...(data.message as Json) };
        break;
      case "content_block_start":
        content[data.index as number] = { ...(data.content_block as Json) };
        break;
      case "content_block_delta": {
        const index = data.index as number;
        const block = content[index];
        const delta = data.delta as Json;
        if (!block) break;
        if (delta.type === "text_delta")
          block.text = `${(block.text as string) ?? ""}${delta.text as string}`;
        else if (delta.type === "thinking_delta")
          block.thinking = `${block.thinking as string}${delta.thinking as string}`;
        else if (delta.type === "signature_delta") block.signature = delta.signature;
        else if (delta.type === "input_json_delta") {
          partialJson.set(index, (partialJson.get(index) ?? "") + (delta.partial_json as string));
        } else if (delta.type === "citations_delta") {
          block.citations = [...((block.citations as unknown[] | null) ?? []), delta.citation];
        }
        break;
      }
      case "content_block_stop": {
        const index = data.index as number;
        const json = partialJson.get(index);
        const block = content[index];
        if (block && json !== undefined) block.input = json === "" ? {} : JSON.parse(json);
        break;
      }
      case "message_delta":
        Object.assign(message, data.delta as Json);
        message.usage = { ...((message.usage as Json) ?? {}), ...(data.usage as Json) };
        break;
      default:
        break;
    }
  }
  message.content = content.filter((b) => b !== undefined);
  return message;
}
