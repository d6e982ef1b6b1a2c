// The connected sidecars and the choice of one per request: only eligible sidecars (a personal
// sidecar for its keys, a shared one for every other key), the least busy of them, and a bounded,
// first-come-first-served wait when none can take the request right now.

import type { HelloFrame, TunnelLink } from "../../../shared/tunnel/index.ts";
import type { NoSidecar } from "./rpc.ts";

/** One authenticated tunnel connection. */
export interface Sidecar {
  readonly linkId: string;
  readonly hello: HelloFrame;
  readonly link: TunnelLink;
  readonly connectedAt: number;
  /** When a request was last given to it, to rotate between equally busy sidecars. */
  lastPicked: number;
}

export type Acquired<T> = { kind: "taken"; value: T } | { kind: "none"; noSidecar: NoSidecar };

interface Waiter {
  readonly requestId: string;
  readonly keyId: string;
  readonly exclude: readonly string[];
  readonly take: (sidecar: Sidecar) => unknown;
  readonly resolve: (result: Acquired<unknown>) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

/** Requests waiting beyond this many are answered at once: the wait is for blips, not a queue. */
const MAX_WAITERS = 1000;
const RETRY_AFTER_UNAVAILABLE = 5;
const RETRY_AFTER_BUSY = 2;

export class Registry {
  readonly #sidecars = new Map<string, Sidecar>();
  readonly #waiters: Waiter[] = [];
  /** Whether a key is bound to personal sidecars, whether or not one is connected now. */
  readonly #boundToPersonal: (keyId: string) => boolean;
  #picks = 0;

  constructor(boundToPersonal: (keyId: string) => boolean) {
    this.#boundToPersonal = boundToPersonal;
  }

  get size(): number {
    return this.#sidecars.size;
  }

  all(): IterableIterator<Sidecar> {
    return this.#sidecars.values();
  }

  get(linkId: string): Sidecar | undefined {
    return this.#sidecars.get(linkId);
  }

  bySidecarId(sidecarId: string): Sidecar | undefined {
    for (const s of this.#sidecars.values()) if (s.hello.sidecarId === sidecarId) return s;
    return undefined;
  }

  add(sidecar: Sidecar): void {
    this.#sidecars.set(sidecar.linkId, sidecar);
    this.serveWaiters();
  }

  remove(linkId: string): void {
    this.#sidecars.delete(linkId);
  }

  /** Whether `sidecar` may serve `keyId`: personal keys only on their personal sidecars, other keys
   * only on shared ones. */
  eligible(sidecar: Sidecar, keyId: string): boolean {
    const keys = sidecar.hello.serveKeys;
    if (keys !== undefined) return keys.includes(keyId);
    return !this.#personal(keyId);
  }

  /** The least busy eligible sidecar that can open a stream now, or null. */
  pick(keyId: string, exclude: readonly string[] = []): Sidecar | null {
    let best: Sidecar | null = null;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (const s of this.#sidecars.values()) {
      if (!s.link.canOpen || exclude.includes(s.linkId) || !this.eligible(s, keyId)) continue;
      const load = s.link.openStreams / s.hello.maxConcurrent;
      if (load < bestLoad || (load === bestLoad && best !== null && s.lastPicked < best.lastPicked)) {
        best = s;
        bestLoad = load;
      }
    }
    if (best !== null) best.lastPicked = ++this.#picks;
    return best;
  }

  /** Why `pick` found nothing: none connected (503) or all busy (529). */
  why(keyId: string, exclude: readonly string[] = []): NoSidecar {
    let connected = false;
    let busy = false;
    for (const s of this.#sidecars.values()) {
      if (exclude.includes(s.linkId) || !this.eligible(s, keyId) || s.link.closed) continue;
      connected = true;
      if (!s.link.draining) busy = true;
    }
    if (busy)
      return {
        code: "overloaded",
        message: "Every Claude Code sidecar that can serve this key is busy. Try again shortly.",
        retryAfter: RETRY_AFTER_BUSY,
      };
    if (connected)
      return {
        code: "unavailable",
        message: "The Claude Code sidecars are restarting. Try again shortly.",
        retryAfter: RETRY_AFTER_UNAVAILABLE,
      };
    if (this.#personal(keyId))
      return {
        code: "unavailable",
        message:
          "The personal Claude Code sidecar that serves this key is not connected. Start it (`npm run sidecar` with CC_SERVE_KEYS), or use API mode under /api/.",
        retryAfter: RETRY_AFTER_UNAVAILABLE,
      };
    return {
      code: "unavailable",
      message:
        "No Claude Code sidecar is connected. Start one with `npm run sidecar`, or use API mode under /api/.",
      retryAfter: RETRY_AFTER_UNAVAILABLE,
    };
  }

  /**
   * Hands the least busy eligible sidecar to `take` (synchronously, so nobody else fills it in
   * between), waiting up to `waitMs` for one to connect or free up. Earlier waiters go first.
   */
  acquire<T>(
    req: { requestId: string; keyId: string; exclude: readonly string[]; waitMs: number },
    take: (sidecar: Sidecar) => T,
  ): Promise<Acquired<T>> {
    const queued = this.#waiters.some((w) => this.#couldServe(w, req.keyId));
    if (!queued) {
      const s = this.pick(req.keyId, req.exclude);
      if (s !== null) return Promise.resolve({ kind: "taken", value: take(s) });
    }
    if (req.waitMs <= 0 || this.#waiters.length >= MAX_WAITERS)
      return Promise.resolve({ kind: "none", noSidecar: this.why(req.keyId, req.exclude) });
    return new Promise<Acquired<T>>((resolve) => {
      const waiter: Waiter = {
        requestId: req.requestId,
        keyId: req.keyId,
        exclude: req.exclude,
        take,
        resolve: resolve as (result: Acquired<unknown>) => void,
        timer: setTimeout(() => {
          if (this.#dropWaiter(waiter))
            resolve({ kind: "none", noSidecar: this.why(req.keyId, req.exclude) });
        }, req.waitMs),
      };
      this.#waiters.push(waiter);
      this.serveWaiters();
    });
  }

  /** The client of a waiting request went away. True if it was waiting. */
  cancelWait(requestId: string, noSidecar: NoSidecar): boolean {
    const waiter = this.#waiters.find((w) => w.requestId === requestId);
    if (waiter === undefined || !this.#dropWaiter(waiter)) return false;
    waiter.resolve({ kind: "none", noSidecar });
    return true;
  }

  /** Capacity may have appeared (a sidecar connected, a stream ended): serve waiters in order. */
  serveWaiters(): void {
    for (let i = 0; i < this.#waiters.length; ) {
      const w = this.#waiters[i];
      const s = w === undefined ? null : this.pick(w.keyId, w.exclude);
      if (w === undefined || s === null) {
        i++;
        continue;
      }
      this.#waiters.splice(i, 1);
      clearTimeout(w.timer);
      w.resolve({ kind: "taken", value: w.take(s) });
    }
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Whether waiter `w` competes with a request for `keyId` (same eligibility class). */
  #couldServe(w: Waiter, keyId: string): boolean {
    return w.keyId === keyId || (!this.#personal(w.keyId) && !this.#personal(keyId));
  }

  #dropWaiter(waiter: Waiter): boolean {
    const i = this.#waiters.indexOf(waiter);
    if (i < 0) return false;
    this.#waiters.splice(i, 1);
    clearTimeout(waiter.timer);
    return true;
  }

  /** A key served by personal sidecars: bound in storage, or listed by one connected now. */
  #personal(keyId: string): boolean {
    if (this.#boundToPersonal(keyId)) return true;
    for (const s of this.#sidecars.values()) if (s.hello.serveKeys?.includes(keyId)) return true;
    return false;
  }
}
