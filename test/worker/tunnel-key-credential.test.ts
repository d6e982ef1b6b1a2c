// A personal sidecar that proves its owner's CCProxy key instead of TUNNEL_SECRET (hello credential
// "key"): it is served only that key's requests, it cannot claim anyone else's key or replace anyone
// else's sidecar, and a key that may not have one (revoked, expired, API mode only) is refused with
// the reason — told only to a sidecar that proved it holds the key.
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  CLOSE_CODES,
  decodeFrame,
  encodeFrame,
  type IncomingRequest,
  keyCredentialSecret,
} from "../../src/shared/tunnel/index.ts";
import { admin, type CreatedKey, call, newKey } from "./helpers.ts";
import {
  bytes,
  connect,
  dial,
  helloFrame,
  openSocket,
  SECRET,
  settleFor,
  type TestSidecar,
} from "./tunnel-support.ts";

const open: TestSidecar[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  for (const s of open.splice(0)) s.close();
  await settleFor(20);
});

/** Dials as `npm run sidecar` does with CCPROXY_KEY=<key.key>, claiming `claim` (default: its own id). */
async function dialWithKey(
  key: CreatedKey,
  claim: string = key.id,
  onRequest?: (r: IncomingRequest) => void,
) {
  return dial({
    secret: await keyCredentialSecret(key.key),
    hello: { credential: "key", serveKeys: [claim], sidecarId: `${claim}:laptop`, name: "laptop" },
    ...(onRequest === undefined ? {} : { onRequest }),
  });
}

function ask(key: string): Promise<Response> {
  return call("/v1/messages", {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json" },
    body: JSON.stringify({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }] }),
  });
}

function answerWith(name: string) {
  return (req: IncomingRequest) => {
    req.respond(200, [["content-type", "text/plain"]]);
    void req.write(bytes(name)).then(() => req.end());
  };
}

describe("a sidecar proving its owner's key", () => {
  it("is accepted without TUNNEL_SECRET and gets its key's requests, and only those", async () => {
    const owner = await newKey({ name: "owner" });
    const other = await newKey({ name: "other" });
    const r = await dialWithKey(owner, owner.id, answerWith("mine"));
    if (!r.ok) throw new Error(`refused: ${r.reason} ${r.message}`);
    open.push(r.sidecar);
    const shared = await connect({ hello: { name: "shared" }, onRequest: answerWith("shared") });
    open.push(shared);
    await settleFor(20);
    for (let i = 0; i < 2; i++) {
      expect(await (await ask(owner.key)).text()).toBe("mine");
      expect(await (await ask(other.key)).text()).toBe("shared");
    }
    expect(r.sidecar.requests).toHaveLength(2);
    expect(shared.requests).toHaveLength(2);
  });

  it("cannot claim another key: its own key's proof does not pass for someone else's id", async () => {
    const logs = vi.spyOn(console, "log");
    const attacker = await newKey({ name: "attacker" });
    const victim = await newKey({ name: "victim" });
    const r = await dialWithKey(attacker, victim.id);
    expect(r).toMatchObject({
      ok: false,
      reason: "wrong_secret",
      byPeer: true,
      closeCode: CLOSE_CODES.rejected,
    });
    // The victim's requests still find no sidecar of theirs: they go to shared ones, as before.
    const shared = await connect({ hello: { name: "shared" }, onRequest: answerWith("shared") });
    open.push(shared);
    expect(await (await ask(victim.key)).text()).toBe("shared");
    const lines = logs.mock.calls.map((c) => String(c[0])).join("\n");
    expect(lines).toMatch(/refused sidecar "laptop" .*: wrong_secret/);
    expect(lines).not.toContain(attacker.key);
  });

  it("cannot pose as a shared sidecar: a key proof never passes for TUNNEL_SECRET", async () => {
    const owner = await newKey({ name: "owner" });
    const r = await dial({ secret: await keyCredentialSecret(owner.key), hello: { name: "posing" } });
    expect(r).toMatchObject({ ok: false, reason: "wrong_secret" });
  });

  it("must serve exactly its key under an id that starts with it (so it replaces only its own sidecars)", async () => {
    const owner = await newKey({ name: "owner" });
    const team = await connect({ secret: SECRET, hello: { name: "team", sidecarId: "team-1" } });
    open.push(team);
    // What a modified sidecar could send (our encoder refuses to build it): the team sidecar's id.
    const valid = encodeFrame(
      helloFrame({ credential: "key", serveKeys: [owner.id], sidecarId: `${owner.id}:x`, name: "hijack" }),
    );
    const hijack = String(valid).replace(`"${owner.id}:x"`, '"team-1"');
    const ws = await openSocket();
    const got: string[] = [];
    const closed = new Promise<number>((resolve) => ws.addEventListener("close", (ev) => resolve(ev.code)));
    ws.addEventListener("message", (ev) => got.push(String(ev.data)));
    ws.send(hijack);
    expect(await closed).toBe(CLOSE_CODES.rejected);
    const reject = decodeFrame(got.at(-1) ?? "");
    expect(reject.ok && reject.frame.type === "reject" && reject.frame.reason).toBe("malformed");
    // The team's sidecar was not replaced: it still serves.
    await settleFor(20);
    expect(team.ws.readyState).toBe(WebSocket.OPEN);
  });

  const changes: [string, Record<string, unknown> | null, RegExp][] = [
    ["revoked", null, /revoked/],
    ["expired", { expires_at: "2020-01-01T00:00:00Z" }, /expired/],
    ["limited to API mode", { modes: ["api"] }, /Claude Code mode/],
  ];
  it.each(changes)("is refused with the reason when its key is %s", async (_what, patch, reason) => {
    const owner = await newKey({ name: "owner" });
    const res =
      patch === null
        ? await admin("DELETE", `/keys/${owner.id}`)
        : await admin("PATCH", `/keys/${owner.id}`, patch);
    expect(res.status).toBe(200);
    const r = await dialWithKey(owner);
    expect(r).toMatchObject({ ok: false, reason: "policy", byPeer: true, closeCode: CLOSE_CODES.rejected });
    expect(r.ok === false && r.message).toMatch(reason);
  });
});
