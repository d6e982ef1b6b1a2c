// Credit-based flow control for one direction of one stream (as in HTTP/2): a sender may have at
// most the granted number of body bytes in flight; the receiver returns credit as its consumer reads.
// This is what keeps a slow client from making the Durable Object or the sidecar buffer without bound.

import { INITIAL_WINDOW, MAX_WINDOW } from "./frames.ts";

/** The sending side: how many more body bytes the peer accepts on this stream. */
export class SendWindow {
  #available: number;
  #closed = false;
  #waiters: ((ready: boolean) => void)[] = [];

  constructor(initial: number = INITIAL_WINDOW) {
    this.#available = initial;
  }

  get available(): number {
    return this.#available;
  }

  /** Adds the peer's credit. False when it would exceed MAX_WINDOW: a protocol violation. */
  grant(bytes: number): boolean {
    if (this.#closed) return true;
    if (this.#available + bytes > MAX_WINDOW) return false;
    this.#available += bytes;
    this.#wake(true);
    return true;
  }

  /** Consumes up to `max` bytes of credit and returns how many were taken (0 when none is left). */
  take(max: number): number {
    const n = this.#closed ? 0 : Math.min(max, this.#available);
    this.#available -= n;
    return n;
  }

  /** Resolves true once there is credit, false if the stream ended first (stop sending). */
  ready(): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (this.#available > 0) return Promise.resolve(true);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#available = 0;
    this.#wake(false);
  }

  #wake(ready: boolean): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const resolve of waiters) resolve(ready);
  }
}

/**
 * The receiving side: checks the peer stays within its credit and decides when to give credit back.
 * Credit is returned in batches of a quarter window, so a stream of small chunks does not cost one
 * `credit` frame each; a sender can only stall at zero credit, when a whole window is returnable.
 */
export class ReceiveWindow {
  #allowance: number;
  #unreturned = 0;
  readonly #threshold: number;

  constructor(window: number = INITIAL_WINDOW) {
    this.#allowance = window;
    this.#threshold = Math.max(1, Math.floor(window / 4));
  }

  /** Bytes the peer may still send before it must wait for credit. */
  get allowance(): number {
    return this.#allowance;
  }

  /** Accounts for an arriving chunk. False: the peer sent more than its credit (a violation). */
  receive(bytes: number): boolean {
    if (bytes > this.#allowance) return false;
    this.#allowance -= bytes;
    return true;
  }

  /** The consumer took `bytes`. Returns the credit to grant now, or 0 to keep batching. */
  release(bytes: number): number {
    this.#unreturned += bytes;
    if (this.#unreturned < this.#threshold) return 0;
    const credit = this.#unreturned;
    this.#unreturned = 0;
    this.#allowance += credit;
    return credit;
  }
}
