// The CLI as a function against a fake admin API: exit codes, one clear line per failure (never a stack
// trace, never the token), and --json passing the API's answer through.

import { describe, expect, it } from "vitest";
import { type Env, runCli } from "../../src/cli/cli.ts";

const TOKEN = "admin-secret-token-123";
const ENV: Env = { CCPROXY_URL: "http://127.0.0.1:8787/", CCPROXY_ADMIN_TOKEN: TOKEN };

interface Seen {
  url: string;
  method: string;
  auth: string | null;
  body: unknown;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

const anthropicError = (status: number, type: string, message: string) =>
  json(status, { type: "error", error: { type, message } });

/** A CCProxy's /health, and `admin` for every admin call. */
const ccproxy =
  (admin: () => Response, version = "0.1.0") =>
  (s: Seen) =>
    s.url.endsWith("/health") ? json(200, { status: "ok", name: "ccproxy", version }) : admin();

const KEY = {
  id: "key_1",
  name: "alice",
  key_prefix: "ccp_Ab12Cd",
  modes: ["api"],
  models: null,
  byo: false,
  rpm: null,
  max_concurrent: null,
  budget_usd_day: null,
  budget_usd_month: null,
  tokens_per_day: null,
  expires_at: null,
  revoked_at: null,
  created_at: "2026-11-01T00:00:00.000Z",
  updated_at: "2026-11-01T00:00:00.000Z",
};

async function cli(argv: string[], answer: (s: Seen) => Response | Promise<Response>, env: Env = ENV) {
  const seen: Seen[] = [];
  let stdout = "";
  let stderr = "";
  const fetchImpl = (async (input: string | URL | Request, init?: RequestInit) => {
    const s: Seen = {
      url: String(input),
      method: init?.method ?? "GET",
      auth: new Headers(init?.headers).get("authorization"),
      body: typeof init?.body === "string" ? JSON.parse(init.body) : undefined,
    };
    seen.push(s);
    return answer(s);
  }) as typeof fetch;
  const code = await runCli(argv, env, {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    fetch: fetchImpl,
    now: () => new Date("2026-11-25T12:00:00.000Z"),
  });
  return { code, stdout, stderr, seen };
}

describe("runCli", () => {
  it("sends the token and the flags as the API's JSON", async () => {
    const r = await cli(["keys", "update", "key_1", "--rpm", "none", "--models", "claude-*"], (s) =>
      json(200, { ...KEY, models: ["claude-*"], ...(s.body as object) }),
    );
    expect(r.code).toBe(0);
    expect(r.seen).toEqual([
      {
        url: "http://127.0.0.1:8787/admin/keys/key_1",
        method: "PATCH",
        auth: `Bearer ${TOKEN}`,
        body: { rpm: null, models: ["claude-*"] },
      },
    ]);
    expect(r.stdout).toContain("Updated key key_1 (alice).");
  });

  it("--url and --token override the environment", async () => {
    const r = await cli(["keys", "list", "--url", "http://10.0.0.1:1/base/", "--token", "other"], () =>
      json(200, { data: [] }),
    );
    expect(r.seen[0]?.url).toBe("http://10.0.0.1:1/base/admin/keys");
    expect(r.seen[0]?.auth).toBe("Bearer other");
  });

  it("usage queries carry from, to and group_by; --key goes to the key's usage", async () => {
    const report = { from: "2026-11-01T00:00:00.000Z", to: "2026-11-02T00:00:00.000Z", group_by: "model" };
    const total = {
      requests: 0,
      errors: 0,
      input_tokens: 0,
      output_tokens: 0,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      cost_usd: null,
      unpriced_requests: 0,
    };
    const r = await cli(
      ["usage", "--key", "key_1", "--by", "model", "--from", "2026-11-01", "--to", "2026-11-02"],
      () => json(200, { ...report, data: [], total }),
    );
    expect(r.code).toBe(0);
    expect(r.seen[0]?.url).toBe(
      "http://127.0.0.1:8787/admin/keys/key_1/usage?from=2026-11-01&to=2026-11-02&group_by=model",
    );
    expect(r.stdout).toContain("No requests in this period.");
    const plain = await cli(["usage"], () => json(200, { ...report, data: [], total }));
    expect(plain.seen[0]?.url).toBe("http://127.0.0.1:8787/admin/usage");
  });

  it("--json prints the API's JSON", async () => {
    const r = await cli(["keys", "show", "key_1", "--json"], () => json(200, KEY));
    expect(JSON.parse(r.stdout)).toEqual(KEY);
  });

  it("keys list hides revoked keys unless --all, in tables and JSON alike", async () => {
    const data = [KEY, { ...KEY, id: "key_2", name: "bob", revoked_at: "2026-11-02T00:00:00.000Z" }];
    const hidden = await cli(["keys", "list"], () => json(200, { data }));
    expect(hidden.stdout).not.toContain("key_2");
    expect(hidden.stdout).toContain("(1 revoked key hidden; --all shows them)");
    const all = await cli(["keys", "list", "--all"], () => json(200, { data }));
    expect(all.stdout).toMatch(/key_2 .* revoked/);
    const asJson = await cli(["keys", "list", "--json"], () => json(200, { data }));
    expect((JSON.parse(asJson.stdout) as { data: unknown[] }).data).toEqual([KEY]);
  });

  it.each([
    [
      "a wrong token",
      () =>
        anthropicError(401, "authentication_error", "admin API: send Authorization: Bearer <ADMIN_TOKEN>"),
      "ccproxy: the admin token was refused; check CCPROXY_ADMIN_TOKEN\n",
    ],
    [
      "the admin API switched off",
      () =>
        anthropicError(401, "authentication_error", "the admin API is disabled: set the ADMIN_TOKEN secret"),
      "ccproxy: the admin API is disabled on http://127.0.0.1:8787: set the Worker's ADMIN_TOKEN secret (wrangler secret put ADMIN_TOKEN)\n",
    ],
    [
      "an unknown key",
      () => anthropicError(404, "not_found_error", "no such key"),
      'ccproxy: no key with id "key_1" (ccproxy keys list --all shows every key)\n',
    ],
    [
      "an older CCProxy without the route",
      ccproxy(() => anthropicError(404, "not_found_error", "Not found: GET /admin/keys/key_1"), "0.0.9"),
      "ccproxy: the CCProxy at http://127.0.0.1:8787 (version 0.0.9) has no GET /admin/keys/key_1: update it to match this CLI\n",
    ],
    [
      "another API that answers 404 (the mock upstream, say)",
      () => anthropicError(404, "not_found_error", "Not found"),
      "ccproxy: http://127.0.0.1:8787 is not a CCProxy: GET /admin/keys/key_1 answered HTTP 404 (Not found), and /health does not answer as CCProxy; check CCPROXY_URL\n",
    ],
    [
      "another API that wants its own credentials (401)",
      () => anthropicError(401, "authentication_error", "invalid x-api-key"),
      "ccproxy: http://127.0.0.1:8787 is not a CCProxy: GET /admin/keys/key_1 answered HTTP 401 (invalid x-api-key), and /health does not answer as CCProxy; check CCPROXY_URL\n",
    ],
    [
      "a 400",
      () => anthropicError(400, "invalid_request_error", "rpm: Too small: expected number to be >0"),
      "ccproxy: rpm: Too small: expected number to be >0\n",
    ],
    [
      "a 500",
      () => anthropicError(500, "api_error", "Internal error in CCProxy (request id req_1)."),
      "ccproxy: CCProxy answered HTTP 500: Internal error in CCProxy (request id req_1).\n",
    ],
    [
      "a web page",
      () => new Response("<html>hi</html>", { headers: { "content-type": "text/html" } }),
      "ccproxy: http://127.0.0.1:8787 is not a CCProxy: GET /admin/keys/key_1 answered HTTP 200 with text/html, not JSON, and /health does not answer as CCProxy; check CCPROXY_URL\n",
    ],
    [
      "a login page in front of a CCProxy's admin API",
      ccproxy(() => new Response("<html>sign in</html>", { headers: { "content-type": "text/html" } })),
      "ccproxy: the CCProxy at http://127.0.0.1:8787 answered GET /admin/keys/key_1 with HTTP 200 with text/html, not JSON: is something (a login page, a proxy) in front of its admin API?\n",
    ],
    [
      "JSON of another shape",
      () => json(200, { hello: "world" }),
      "ccproxy: unexpected answer from http://127.0.0.1:8787 to GET /admin/keys/key_1: is it an up-to-date CCProxy?\n",
    ],
    [
      "a refused connection",
      () => {
        throw new TypeError("fetch failed", {
          cause: Object.assign(new Error("connect"), { code: "ECONNREFUSED" }),
        });
      },
      "ccproxy: cannot reach CCProxy at http://127.0.0.1:8787: connection refused\n",
    ],
    [
      "an unknown host",
      () => {
        throw new TypeError("fetch failed", {
          cause: Object.assign(new Error("getaddrinfo"), { code: "ENOTFOUND" }),
        });
      },
      "ccproxy: cannot reach CCProxy at http://127.0.0.1:8787: host not found\n",
    ],
    [
      "a timeout",
      () => {
        throw new DOMException("The operation was aborted due to timeout", "TimeoutError");
      },
      "ccproxy: cannot reach CCProxy at http://127.0.0.1:8787: no answer within 30 s\n",
    ],
  ])("%s → exit 1 and one clear line", async (_, answer, message) => {
    const r = await cli(["keys", "show", "key_1"], answer);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(message);
    expect(r.stdout).toBe("");
  });

  it("says which setting is missing, and never prints the token", async () => {
    const noUrl = await cli(["keys", "list"], () => json(200, {}), { CCPROXY_ADMIN_TOKEN: TOKEN });
    expect([noUrl.code, noUrl.stderr]).toEqual([
      1,
      "ccproxy: no CCProxy URL: set CCPROXY_URL or pass --url (e.g. http://127.0.0.1:8787)\n",
    ]);
    const noToken = await cli(["keys", "list"], () => json(200, {}), { CCPROXY_URL: "http://x" });
    expect(noToken.stderr).toBe("ccproxy: no admin token: set CCPROXY_ADMIN_TOKEN or pass --token\n");
    const badUrl = await cli(["keys", "list"], () => json(200, {}), {
      ...ENV,
      CCPROXY_URL: "localhost:8787",
    });
    expect(badUrl.stderr).toContain("must start with http:// or https://");
    const flag = await cli(
      ["keys", "list", "--token", TOKEN],
      ccproxy(() => anthropicError(401, "authentication_error", "x")),
      {
        CCPROXY_URL: "http://u:p@127.0.0.1:8787",
      },
    );
    expect(flag.stderr).toBe("ccproxy: the admin token was refused; check --token\n");
    // The /health probe goes to the same host without the URL's credentials.
    expect(flag.seen.map((s) => s.url)).toEqual([
      "http://127.0.0.1:8787/admin/keys",
      "http://127.0.0.1:8787/health",
    ]);
    const wrongUrl = await cli(["keys", "list", "--url", "http://127.0.0.1:9"], () =>
      anthropicError(404, "not_found_error", "Not found"),
    );
    expect(wrongUrl.stderr).toMatch(/is not a CCProxy: .*; check --url\n$/);
    const leaky = await cli(["keys", "list"], () => {
      throw new Error(`weird failure mentioning ${TOKEN}`);
    });
    expect(leaky.stderr).not.toContain(TOKEN);
  });

  it("usage mistakes exit 2 with the command's usage on stderr and touch no network", async () => {
    for (const argv of [
      ["frob"],
      ["keys", "create"],
      ["keys", "list", "--frob"],
      ["usage", "--by", "week"],
      [],
    ]) {
      const r = await cli(argv, () => {
        throw new Error("no request expected");
      });
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/^ccproxy: .+\n\n(Usage|ccproxy —)/);
      expect(r.seen).toEqual([]);
    }
    const help = await cli(["keys", "create", "--help"], () => json(200, {}));
    expect([help.code, help.stderr]).toEqual([0, ""]);
    expect(help.stdout).toMatch(/^Usage: ccproxy keys create --name NAME/);
  });
});
