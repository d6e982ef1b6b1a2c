// Server-sent events decoding at the byte level (WHATWG rules): CR, LF and CRLF line ends,
// a CR split from its LF across chunks, comments, multi-line data, a leading BOM.

export interface SseEvent {
  /** The `event:` field, or undefined when the event had none (the spec's "message"). */
  event: string | undefined;
  /** The `data:` lines joined with "\n". */
  data: string;
  id?: string;
  retry?: number;
}

/**
 * Incremental SSE parser. Feed it text with `push` and take the complete events it returns; call
 * `end` once the stream is over to flush an event the producer did not terminate with a blank line
 * (the SDKs' recorded fixtures end without one).
 */
export class SseParser {
  #pending = "";
  #skipLf = false;
  #started = false;
  #event: string | undefined = undefined;
  #data: string[] = [];
  #id: string | undefined = undefined;
  #retry: number | undefined = undefined;

  push(text: string): SseEvent[] {
    const out: SseEvent[] = [];
    let s = text;
    if (!this.#started && s.length > 0) {
      this.#started = true;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    }
    let start = 0;
    if (this.#skipLf && s.length > 0) {
      this.#skipLf = false;
      if (s.charCodeAt(0) === 10) start = 1;
    }
    const len = s.length;
    let i = start;
    while (i < len) {
      const c = s.charCodeAt(i);
      if (c === 10 || c === 13) {
        const line = this.#pending.length > 0 ? this.#pending + s.slice(start, i) : s.slice(start, i);
        this.#pending = "";
        this.#line(line, out);
        if (c === 13) {
          if (i + 1 < len) {
            if (s.charCodeAt(i + 1) === 10) i++;
          } else {
            this.#skipLf = true;
          }
        }
        start = i + 1;
      }
      i++;
    }
    if (start < len) this.#pending += s.slice(start);
    return out;
  }

  /** Flushes a final unterminated line and event. */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    if (this.#pending.length > 0) {
      const line = this.#pending;
      this.#pending = "";
      this.#line(line, out);
    }
    this.#dispatch(out);
    return out;
  }

  #line(line: string, out: SseEvent[]): void {
    if (line.length === 0) {
      this.#dispatch(out);
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ":" comment
    const colon = line.indexOf(":");
    let field: string;
    let value: string;
    if (colon === -1) {
      field = line;
      value = "";
    } else {
      field = line.slice(0, colon);
      value = line.charCodeAt(colon + 1) === 32 ? line.slice(colon + 2) : line.slice(colon + 1);
    }
    switch (field) {
      case "data":
        this.#data.push(value);
        break;
      case "event":
        this.#event = value;
        break;
      case "id":
        if (!value.includes("\0")) this.#id = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.#retry = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  #dispatch(out: SseEvent[]): void {
    if (this.#data.length === 0) {
      this.#event = undefined;
      return;
    }
    const ev: SseEvent = { event: this.#event, data: this.#data.join("\n") };
    if (this.#id !== undefined) ev.id = this.#id;
    if (this.#retry !== undefined) ev.retry = this.#retry;
    out.push(ev);
    this.#event = undefined;
    this.#data = [];
  }
}

/** Bytes in, SSE events out; pull-based, so backpressure from the reader reaches the source. */
export class SseDecoderStream extends TransformStream<Uint8Array, SseEvent> {
  constructor() {
    const decoder = new TextDecoder();
    const parser = new SseParser();
    super({
      transform(chunk, controller) {
        for (const ev of parser.push(decoder.decode(chunk, { stream: true }))) controller.enqueue(ev);
      },
      flush(controller) {
        const tail = decoder.decode();
        for (const ev of parser.push(tail)) controller.enqueue(ev);
        for (const ev of parser.end()) controller.enqueue(ev);
      },
    });
  }
}

const LF = 10;
const CR = 13;

/**
 * Where complete events end in an SSE byte stream (a blank line; CR, LF and CRLF line ends, a CRLF
 * split across chunks), so a stream can be cut between events. Works on bytes: CR and LF never
 * occur inside a UTF-8 sequence, so every cut is also a character boundary.
 */
export class SseEventBoundaries {
  #atLineStart = true;
  #afterCr = false;
  #crEndedEvent = false;

  /** Feeds the next chunk; returns the offset just past the last event end in it, or -1 when none. */
  push(chunk: Uint8Array): number {
    let cut = -1;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (this.#afterCr) {
        this.#afterCr = false;
        if (b === LF) {
          // The LF of a CRLF: the line already ended at the CR; keep it with the event it closes.
          if (this.#crEndedEvent) cut = i + 1;
          continue;
        }
      }
      if (b === LF || b === CR) {
        const blank = this.#atLineStart;
        if (blank) cut = i + 1;
        this.#atLineStart = true;
        this.#afterCr = b === CR;
        this.#crEndedEvent = b === CR && blank;
      } else {
        this.#atLineStart = false;
      }
    }
    return cut;
  }
}
