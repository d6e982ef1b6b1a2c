// Flow control in isolation: send credit is never exceeded, receive windows catch an overrunning peer,
// credit returns in batches, and an unread inbox holds at most one window.

import { describe, expect, it } from "vitest";
import { ReceiveWindow, SendWindow } from "../../../src/shared/tunnel/credit.ts";
import { INITIAL_WINDOW, MAX_WINDOW } from "../../../src/shared/tunnel/frames.ts";
import { Inbox } from "../../../src/shared/tunnel/inbox.ts";
import { settle } from "./fixtures.ts";

describe("SendWindow", () => {
  it("starts at the initial window and never hands out more than it has", () => {
    const w = new SendWindow();
    expect(w.available).toBe(INITIAL_WINDOW);
    expect(w.take(INITIAL_WINDOW + 100)).toBe(INITIAL_WINDOW);
    expect(w.take(1)).toBe(0);
  });

  it("waits for credit and wakes on a grant", async () => {
    const w = new SendWindow(0);
    let ready: boolean | undefined;
    void w.ready().then((r) => {
      ready = r;
    });
    await settle(2);
    expect(ready).toBeUndefined();
    expect(w.grant(10)).toBe(true);
    await settle(2);
    expect(ready).toBe(true);
    expect(w.take(100)).toBe(10);
  });

  it("tells waiters to stop when closed, and takes nothing after", async () => {
    const w = new SendWindow(0);
    const ready = w.ready();
    w.close();
    expect(await ready).toBe(false);
    expect(await w.ready()).toBe(false);
    expect(w.grant(5)).toBe(true);
    expect(w.take(5)).toBe(0);
  });

  it("refuses credit beyond MAX_WINDOW", () => {
    const w = new SendWindow();
    expect(w.grant(MAX_WINDOW - INITIAL_WINDOW)).toBe(true);
    expect(w.grant(1)).toBe(false);
    expect(w.available).toBe(MAX_WINDOW);
  });
});

describe("ReceiveWindow", () => {
  it("refuses bytes beyond the credit", () => {
    const w = new ReceiveWindow(100);
    expect(w.receive(60)).toBe(true);
    expect(w.receive(41)).toBe(false);
    expect(w.receive(40)).toBe(true);
    expect(w.allowance).toBe(0);
    expect(w.receive(1)).toBe(false);
  });

  it("returns credit in batches of a quarter window", () => {
    const w = new ReceiveWindow(100);
    w.receive(100);
    expect(w.release(10)).toBe(0);
    expect(w.release(14)).toBe(0);
    expect(w.release(1)).toBe(25);
    expect(w.allowance).toBe(25);
    expect(w.release(75)).toBe(75);
    expect(w.allowance).toBe(100);
  });

  it("always returns a whole window once everything was read (a sender never stalls)", () => {
    for (const sizes of [[1], [3, 3, 3], [99, 1], [7, 50, 43]]) {
      const w = new ReceiveWindow(100);
      let granted = 0;
      for (const n of sizes) {
        expect(w.receive(n)).toBe(true);
        granted += w.release(n);
      }
      const total = sizes.reduce((a, b) => a + b, 0);
      // Outstanding unreturned credit is below the batch size, so the sender still has credit.
      expect(100 - total + granted).toBeGreaterThan(0);
    }
  });
});

describe("Inbox", () => {
  function inbox(window = 1000) {
    const grants: number[] = [];
    const cancels: unknown[] = [];
    const box = new Inbox({
      window: new ReceiveWindow(window),
      grant: (n) => grants.push(n),
      onCancel: (r) => cancels.push(r),
    });
    return { box, grants, cancels };
  }

  it("holds what the consumer has not read, up to the window and no more", () => {
    const { box, grants } = inbox(1000);
    for (let i = 0; i < 10; i++) expect(box.push(new Uint8Array(100))).toBe(true);
    expect(box.buffered).toBe(1000);
    expect(box.push(new Uint8Array(1))).toBe(false);
    expect(box.buffered).toBe(1000);
    expect(grants).toEqual([]);
  });

  it("returns credit only as the consumer reads", async () => {
    const { box, grants } = inbox(1000);
    for (let i = 0; i < 10; i++) box.push(new Uint8Array(100));
    const reader = box.readable.getReader();
    await reader.read();
    await reader.read();
    expect(grants).toEqual([]);
    await reader.read();
    expect(grants).toEqual([300]);
    expect(box.buffered).toBe(700);
  });

  it("delivers chunks in order, then the end", async () => {
    const { box } = inbox();
    box.push(new Uint8Array([1]));
    box.push(new Uint8Array([2, 3]));
    box.end();
    const reader = box.readable.getReader();
    expect(await reader.read()).toEqual({ done: false, value: new Uint8Array([1]) });
    expect(await reader.read()).toEqual({ done: false, value: new Uint8Array([2, 3]) });
    expect(await reader.read()).toEqual({ done: true, value: undefined });
  });

  it("wakes a reader that was waiting", async () => {
    const { box } = inbox();
    const reader = box.readable.getReader();
    const pending = reader.read();
    await settle(2);
    box.push(new Uint8Array([9]));
    expect(await pending).toEqual({ done: false, value: new Uint8Array([9]) });
    const end = reader.read();
    box.end();
    expect(await end).toEqual({ done: true, value: undefined });
  });

  it("skips empty chunks", async () => {
    const { box } = inbox();
    box.push(new Uint8Array());
    box.push(new Uint8Array([1]));
    box.end();
    const reader = box.readable.getReader();
    expect(await reader.read()).toEqual({ done: false, value: new Uint8Array([1]) });
    expect((await reader.read()).done).toBe(true);
  });

  it("fails a reader with the reason after what was already received", async () => {
    const { box } = inbox();
    box.push(new Uint8Array([1]));
    const reader = box.readable.getReader();
    const boom = new Error("lost");
    box.fail(boom);
    expect(await reader.read()).toEqual({ done: false, value: new Uint8Array([1]) });
    await expect(reader.read()).rejects.toBe(boom);
  });

  it("fails a reader that is waiting", async () => {
    const { box } = inbox();
    const reader = box.readable.getReader();
    const pending = reader.read();
    await settle(2);
    const boom = new Error("lost");
    box.fail(boom);
    await expect(pending).rejects.toBe(boom);
    expect(box.push(new Uint8Array([1]))).toBe(true);
  });

  it("keeps a complete body readable when the stream fails afterwards", async () => {
    const { box } = inbox();
    box.push(new Uint8Array([1]));
    box.end();
    box.fail(new Error("late"));
    const reader = box.readable.getReader();
    expect(await reader.read()).toEqual({ done: false, value: new Uint8Array([1]) });
    expect((await reader.read()).done).toBe(true);
  });

  it("on cancel, reports it, refunds what was queued, and acknowledges later chunks at once", async () => {
    const { box, grants, cancels } = inbox(100);
    box.push(new Uint8Array(30));
    await box.readable.cancel("gone");
    expect(cancels).toEqual(["gone"]);
    expect(grants).toEqual([30]);
    expect(box.push(new Uint8Array(70))).toBe(true);
    expect(grants).toEqual([30, 70]);
    expect(box.buffered).toBe(0);
  });
});
