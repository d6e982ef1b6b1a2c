// A received body as a pull-based ReadableStream. Chunks wait here only until the consumer reads
// them, and credit goes back to the peer only then, so what waits here never exceeds one window.

import type { ReceiveWindow } from "./credit.ts";

export interface InboxOptions {
  window: ReceiveWindow;
  /** Return `bytes` of credit to the peer. */
  grant: (bytes: number) => void;
  /** The consumer cancelled the stream (e.g. the client went away). */
  onCancel: (reason: unknown) => void;
}

export class Inbox {
  readonly readable: ReadableStream<Uint8Array>;
  readonly #opts: InboxOptions;
  readonly #controller: ReadableStreamDefaultController<Uint8Array>;
  #queue: Uint8Array[] = [];
  #buffered = 0;
  /** open → ending → closed, or open → failing → failed: the queue drains before the end or the
   * error. cancelled: the consumer went away. */
  #state: "open" | "ending" | "closed" | "failing" | "failed" | "cancelled" = "open";
  #reason: unknown;
  #wake: (() => void) | null = null;

  constructor(opts: InboxOptions) {
    this.#opts = opts;
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (c) => {
          controller = c;
        },
        pull: () => this.#pull(),
        cancel: (reason) => this.#cancelled(reason),
      },
      // Zero: nothing is pulled ahead of a read, so unread bytes stay unacknowledged.
      { highWaterMark: 0 },
    );
    if (controller === undefined) throw new Error("ReadableStream did not call start synchronously");
    this.#controller = controller;
  }

  /** Bytes received and not yet read. Never more than the window. */
  get buffered(): number {
    return this.#buffered;
  }

  /** A chunk from the peer. False: it overran its credit (a protocol violation). */
  push(chunk: Uint8Array): boolean {
    if (!this.#opts.window.receive(chunk.byteLength)) return false;
    if (chunk.byteLength === 0) return true;
    if (this.#state === "cancelled") {
      // Nobody will read it: acknowledge at once so the sender is never stuck on a dead stream.
      this.#refund(chunk.byteLength);
      return true;
    }
    if (this.#state !== "open") return true;
    this.#queue.push(chunk);
    this.#buffered += chunk.byteLength;
    this.#poke();
    return true;
  }

  /** The body is complete: the consumer sees the end after the queued chunks. */
  end(): void {
    if (this.#state !== "open") return;
    this.#state = "ending";
    this.#poke();
  }

  /** The stream broke: the consumer gets the chunks already here (nothing received is lost), then
   * its next read rejects with `reason`. A completely received body (end() was called) stays whole. */
  fail(reason: unknown): void {
    if (this.#state !== "open") return;
    this.#state = "failing";
    this.#reason = reason;
    this.#poke();
  }

  #pull(): Promise<void> | undefined {
    if (this.#deliver()) return undefined;
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  /** Hands the consumer one chunk or the end. False when there is nothing to hand over yet. */
  #deliver(): boolean {
    const chunk = this.#queue.shift();
    if (chunk !== undefined) {
      this.#buffered -= chunk.byteLength;
      this.#controller.enqueue(chunk);
      this.#refund(chunk.byteLength);
      return true;
    }
    if (this.#state === "ending") {
      this.#state = "closed";
      this.#controller.close();
      return true;
    }
    if (this.#state === "failing") {
      this.#state = "failed";
      this.#controller.error(this.#reason);
      return true;
    }
    return this.#state !== "open";
  }

  /** Completes a pull that was waiting for data. */
  #poke(): void {
    const wake = this.#wake;
    if (wake === null) return;
    this.#wake = null;
    this.#deliver();
    wake();
  }

  #cancelled(reason: unknown): void {
    if (this.#state === "closed" || this.#state === "failed") return;
    const queued = this.#buffered;
    this.#state = "cancelled";
    this.#queue = [];
    this.#buffered = 0;
    if (queued > 0) this.#refund(queued);
    this.#poke();
    this.#opts.onCancel(reason);
  }

  #refund(bytes: number): void {
    const credit = this.#opts.window.release(bytes);
    if (credit > 0) this.#opts.grant(credit);
  }
}
