// The sidecar's tunnel configuration from its environment: the Worker URL as a WebSocket URL, a
// usable secret, serve keys, a stable id; every mistake is a readable message naming the variable.
import { describe, expect, it } from "vitest";
import { loadSidecarConfig, parseUrl } from "../../src/sidecar/config.ts";

const SECRET = "config-test-secret-with-32-characters-or-more";
const base = {
  CCPROXY_URL: "https://ccproxy.example.workers.dev",
  TUNNEL_SECRET: SECRET,
  HOME: "/tmp/ccproxy-home",
};

describe("sidecar config", () => {
  it("turns CCPROXY_URL into the tunnel's WebSocket URL", () => {
    expect(parseUrl("https://ccproxy.example.workers.dev")).toBe("wss://ccproxy.example.workers.dev/tunnel");
    expect(parseUrl("https://ccproxy.example.workers.dev/")).toBe("wss://ccproxy.example.workers.dev/tunnel");
    expect(parseUrl("http://127.0.0.1:8787")).toBe("ws://127.0.0.1:8787/tunnel");
    expect(parseUrl("wss://x.example/tunnel")).toBe("wss://x.example/tunnel");
    expect(parseUrl("https://x.example/base/")).toBe("wss://x.example/base/tunnel");
    expect(() => parseUrl(undefined)).toThrow(/CCPROXY_URL is not set/);
    expect(() => parseUrl("ftp://x")).toThrow(/http\(s\)/);
    expect(() => parseUrl("not a url")).toThrow(/not a URL/);
    expect(() => parseUrl("https://user:pw@x.example")).toThrow(/credentials/);
    // Where a personal sidecar asks which key it has (GET <workerUrl>/v1/me): the same Worker, over HTTP.
    const at = (u: string) => loadSidecarConfig({ ...base, CCPROXY_URL: u }).workerUrl;
    expect(at("https://x.example/base/tunnel")).toBe("https://x.example/base");
    expect(at("wss://x.example/tunnel")).toBe("https://x.example");
    expect(at("http://127.0.0.1:8787/")).toBe("http://127.0.0.1:8787");
  });

  it("requires a TUNNEL_SECRET of at least 32 characters, and never repeats it", () => {
    expect(() => loadSidecarConfig({ ...base, TUNNEL_SECRET: undefined })).toThrow(
      /TUNNEL_SECRET is not set/,
    );
    const short = "short-secret";
    try {
      loadSidecarConfig({ ...base, TUNNEL_SECRET: short });
      expect.unreachable();
    } catch (e) {
      expect(String(e)).toMatch(/at least 32 characters/);
      expect(String(e)).not.toContain(short);
    }
  });

  it("takes CCPROXY_KEY instead of TUNNEL_SECRET for a personal sidecar, never both, and never repeats it", () => {
    const key = "ccp_FakeKeyForTestsNotIssuedByAnyone";
    const { TUNNEL_SECRET: _, ...noSecret } = base;
    expect(loadSidecarConfig({ ...noSecret, CCPROXY_KEY: key }).credential).toEqual({ kind: "key", key });
    expect(loadSidecarConfig(base).credential).toEqual({ kind: "tunnel", secret: SECRET });
    const refusals: [Record<string, string>, RegExp][] = [
      [{ ...base, CCPROXY_KEY: key }, /not both/],
      [
        { ...noSecret, CCPROXY_KEY: key, CC_SERVE_KEYS: "key_other" },
        /CC_SERVE_KEYS is not used with CCPROXY_KEY/,
      ],
      [{ ...noSecret, CCPROXY_KEY: "not-a-ccproxy-key-notaccproxykey" }, /must be a CCProxy key/],
      [noSecret, /TUNNEL_SECRET is not set.*CCPROXY_KEY/],
    ];
    for (const [env, message] of refusals) {
      try {
        loadSidecarConfig(env);
        expect.unreachable();
      } catch (e) {
        expect(String(e)).toMatch(message);
        expect(String(e)).not.toContain(key);
        expect(String(e)).not.toContain(SECRET);
        expect(String(e)).not.toContain("notaccproxykey");
      }
    }
  });

  it("reads serve keys, and refuses a key secret given instead of a key id", () => {
    const c = loadSidecarConfig({ ...base, CC_SERVE_KEYS: " key_a, key_b ,key_a," });
    expect(c.serveKeys).toEqual(["key_a", "key_b"]);
    expect(loadSidecarConfig(base).serveKeys).toBeUndefined();
    expect(() => loadSidecarConfig({ ...base, CC_SERVE_KEYS: "ccp_abc/def" })).toThrow(
      /CC_SERVE_KEYS: .* is not a key id/,
    );
  });

  it("derives a stable id per install that differs by name, unless CC_SIDECAR_ID is set", () => {
    const a = loadSidecarConfig({ ...base, CC_SIDECAR_NAME: "laptop" });
    expect(loadSidecarConfig({ ...base, CC_SIDECAR_NAME: "laptop" }).sidecarId).toBe(a.sidecarId);
    expect(loadSidecarConfig({ ...base, CC_SIDECAR_NAME: "other" }).sidecarId).not.toBe(a.sidecarId);
    expect(loadSidecarConfig({ ...base, CC_SIDECAR_ID: "team-1" }).sidecarId).toBe("team-1");
    expect(() => loadSidecarConfig({ ...base, CC_SIDECAR_ID: "bad id" })).toThrow(/CC_SIDECAR_ID/);
    expect(a.name).toBe("laptop");
  });

  it("offers the Worker the runner's concurrency plus its queue, and is frozen", () => {
    const c = loadSidecarConfig({ ...base, CC_MAX_CONCURRENT: "3", CC_QUEUE: "5" });
    expect(c.maxStreams).toBe(8);
    expect(Object.isFrozen(c)).toBe(true);
    expect(() => loadSidecarConfig({ ...base, CC_MAX_CONCURRENT: "many" })).toThrow(/CC_MAX_CONCURRENT/);
    expect(() => loadSidecarConfig({ ...base, CC_DRAIN_TIMEOUT_MS: "soon" })).toThrow(/CC_DRAIN_TIMEOUT_MS/);
  });
});
