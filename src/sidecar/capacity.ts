// At most N runs at once per sidecar, then a short FIFO queue with a bounded wait. A full queue is a
// 429, a wait that runs out is a 529 (overloaded): both tell a client to come back later.
import { ProxyError } from "../shared/errors.ts";

export type Release = () => void;

interface Waiter {
  grant: (release: Release) => void;
  timer: ReturnType<typeof setTimeout>;
}

export class Gate {
  readonly #max: number;
  readonly #queueSize: number;
  readonly #waitMs: number;
  #active = 0;
  readonly #queue: Waiter[] = [];
  readonly #idle: Array<() => void> = [];

  constructor(max: number, queueSize: number, waitMs: number) {
    this.#max = max;
    this.#queueSize = queueSize;
    this.#waitMs = waitMs;
  }

  get active(): number {
    return this.#active;
  }

  get waiting(): number {
    return this.#queue.length;
  }

  /** A slot, now or after a wait; rejects with a ProxyError (429/529) or the signal's reason. */
  acquire(signal: AbortSignal): Promise<Release> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.#active < this.#max) {
      this.#active++;
      return Promise.resolve(this.#releaser());
    }
    if (this.#queue.length >= this.#queueSize) {
      return Promise.reject(
        new ProxyError(
          "rate_limited",
          `This sidecar is running ${this.#max} Claude Code requests and ${this.#queue.length} more are waiting; try again shortly.`,
          { retryAfter: 2 },
        ),
      );
    }
    return new Promise<Release>((resolve, reject) => {
      const onAbort = () => {
        this.#remove(waiter);
        reject(signal.reason);
      };
      const waiter: Waiter = {
        grant: (release) => {
          signal.removeEventListener("abort", onAbort);
          resolve(release);
        },
        timer: setTimeout(() => {
          this.#remove(waiter);
          signal.removeEventListener("abort", onAbort);
          reject(
            new ProxyError(
              "overloaded",
              `This sidecar stayed busy for ${Math.round(this.#waitMs / 1000)} s (all ${this.#max} Claude Code slots in use); try again later.`,
              { retryAfter: 5 },
            ),
          );
        }, this.#waitMs),
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  /** Resolves when nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (this.#active === 0 && this.#queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  #remove(w: Waiter): void {
    clearTimeout(w.timer);
    const i = this.#queue.indexOf(w);
    if (i !== -1) this.#queue.splice(i, 1);
    this.#checkIdle();
  }

  #releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#queue.shift();
      if (next) {
        clearTimeout(next.timer);
        next.grant(this.#releaser()); // the slot passes on: #active unchanged
        return;
      }
      this.#active--;
      this.#checkIdle();
    };
  }

  #checkIdle(): void {
    if (this.#active !== 0 || this.#queue.length !== 0) return;
    for (const resolve of this.#idle.splice(0)) resolve();
  }
}
