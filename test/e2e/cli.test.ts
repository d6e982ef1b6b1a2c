// The admin CLI (`npx ccproxy`) run as a child process against `wrangler dev`: keys created, listed,
// changed and revoked for real (the proxy honours each change), usage read back after requests, and the
// failures (wrong token, nothing listening, a URL that is not a CCProxy, wrong command) reported as one
// line with the right exit code. Most runs start main.ts with node; one goes through `npx` and one
// through the package's `bin` file itself, as users run it.

import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, inject, it } from "vitest";
import { freePort } from "../../scripts/lib/stack.ts";
import { mockUrl, until, url } from "./helpers.ts";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BIN = (
  JSON.parse(readFileSync(new URL("package.json", `file://${ROOT}`), "utf8")) as {
    bin: { ccproxy: string };
  }
).bin.ccproxy;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `ccproxy …args` with CCPROXY_URL and CCPROXY_ADMIN_TOKEN set (or `env` instead). */
function ccproxy(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return run(process.execPath, [MAIN, ...args], env);
}

function run(file: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: process.env.HOME ?? "",
          CCPROXY_URL: url(),
          CCPROXY_ADMIN_TOKEN: inject("adminToken"),
          ...env,
        },
        timeout: 30_000,
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function json<T>(args: string[]): Promise<T> {
  const r = await ccproxy([...args, "--json"]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as T;
}

interface Key {
  id: string;
  key: string;
  name: string;
  rpm: number | null;
  budget_usd_month: number | null;
  models: string[] | null;
  revoked_at: string | null;
}

const unique = (what: string) => `cli-${what}-${crypto.randomUUID().slice(0, 8)}`;

function countTokens(key: string): Promise<Response> {
  return fetch(`${url()}/api/v1/messages/count_tokens`, {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify({ model: "claude-sonnet-4-5", messages: [{ role: "user", content: "hi" }] }),
  });
}

function message(key: string): Promise<Response> {
  return fetch(`${url()}/api/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": key, "content-type": "application/json", "anthropic-version": "2023-06-01" },
    body: JSON.stringify({
      model: "claude-sonnet-4-5",
      max_tokens: 64,
      messages: [{ role: "user", content: "Say hello" }],
    }),
  });
}

/** The secret out of `keys create`'s table output: the one line that is only the key. */
function secretOf(stdout: string): string {
  const m = /^\s+(ccp_[0-9A-Za-z]{32})$/m.exec(stdout);
  if (!m?.[1]) throw new Error(`no key in:\n${stdout}`);
  return m[1];
}

describe("ccproxy keys", () => {
  it("creates a key, prints it once with its fields, and the key works", async () => {
    const name = unique("create");
    const r = await ccproxy([
      "keys",
      "create",
      "--name",
      name,
      "--modes",
      "api",
      "--models",
      "claude-*,claude-haiku-*",
      "--rpm",
      "600",
      "--budget-usd-month",
      "25",
      "--expires",
      "30d",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const secret = secretOf(r.stdout);
    expect(r.stdout.split(secret)).toHaveLength(2); // exactly once
    expect(r.stdout).toMatch(/save it now: it will not be shown again/i);
    expect(r.stdout).toMatch(new RegExp(`^name\\s+${name}$`, "m"));
    expect(r.stdout).toMatch(/^modes\s+api$/m);
    expect(r.stdout).toMatch(/^models\s+claude-\*, claude-haiku-\*$/m);
    expect(r.stdout).toMatch(/^requests per minute\s+600$/m);
    expect(r.stdout).toMatch(/^budget per month\s+\$25\.00$/m);
    expect(r.stdout).toMatch(/^expires\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})? UTC \(in (29|30) days\)$/m);
    expect((await countTokens(secret)).status).toBe(200);
  });

  it("lists keys in a table without their secrets; --json parses", async () => {
    const created = await json<Key>(["keys", "create", "--name", unique("list")]);
    const r = await ccproxy(["keys", "list"]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toMatch(/^ID\s+NAME\s+KEY\s+MODES\s+LIMITS\s+EXPIRES/);
    const row = lines.find((l) => l.startsWith(created.id));
    expect(row).toContain(created.name);
    expect(row).toMatch(/ccp_\w{6}…/);
    expect(r.stdout).not.toContain(created.key);
    const list = await json<{ data: Key[] }>(["keys", "list"]);
    expect(list.data.map((k) => k.id)).toContain(created.id);
    expect(JSON.stringify(list)).not.toContain(created.key);
    expect(await json<Key>(["keys", "show", created.id])).toMatchObject({
      id: created.id,
      name: created.name,
    });
  });

  it("updates a limit, then clears it with none", async () => {
    const created = await json<Key>(["keys", "create", "--name", unique("update"), "--models", "claude-*"]);
    const set = await ccproxy(["keys", "update", created.id, "--rpm", "30", "--budget-usd-month", "12.5"]);
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/^requests per minute\s+30$/m);
    expect(set.stdout).toMatch(/^budget per month\s+\$12\.50$/m);
    const cleared = await json<Key>([
      "keys",
      "update",
      created.id,
      "--rpm",
      "none",
      "--budget-usd-month",
      "none",
      "--all-models",
    ]);
    expect(cleared).toMatchObject({ rpm: null, budget_usd_month: null, models: null });
    const shown = await ccproxy(["keys", "show", created.id]);
    expect(shown.stdout).toMatch(/^requests per minute\s+—$/m);
    expect(shown.stdout).toMatch(/^models\s+all$/m);
  });

  it("revokes a key: refused (401) right after, hidden from the list unless --all", async () => {
    const created = await json<Key>(["keys", "create", "--name", unique("revoke")]);
    expect((await countTokens(created.key)).status).toBe(200);
    const r = await ccproxy(["keys", "revoke", created.id]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Revoked key ${created.id}`);
    expect((await countTokens(created.key)).status).toBe(401);
    expect((await ccproxy(["keys", "list"])).stdout).not.toContain(created.id);
    expect((await ccproxy(["keys", "list", "--all"])).stdout).toMatch(
      new RegExp(`^${created.id} .*revoked$`, "m"),
    );
  });

  it("an unknown key id: exit 1, one line", async () => {
    const r = await ccproxy(["keys", "show", "key_doesnotexist"]);
    expect(r).toEqual({
      code: 1,
      stdout: "",
      stderr: 'ccproxy: no key with id "key_doesnotexist" (ccproxy keys list --all shows every key)\n',
    });
  });

  it("a value the API refuses: its message, exit 1", async () => {
    const r = await ccproxy(["keys", "create", "--name", unique("bad"), "--modes", "telepathy"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^ccproxy: modes\.0: .+\n$/);
  });
});

describe("ccproxy usage", () => {
  it("counts the requests made with a key, by key and for the key by day and model", async () => {
    const created = await json<Key>(["keys", "create", "--name", unique("usage")]);
    for (let i = 0; i < 3; i++) expect((await message(created.key)).status).toBe(200);

    interface Report {
      data: Array<{ key_id?: string; model?: string; day?: string; requests: number }>;
      total: { requests: number };
    }
    // The ledger row is written after the response (waitUntil): wait for all three.
    const mine = await until(async () => {
      const report = await json<Report>(["usage", "--key", created.id]);
      return report.total.requests >= 3 ? report : undefined;
    }, 10_000);
    expect(mine.total.requests).toBe(3);
    expect(mine.data).toEqual([
      expect.objectContaining({ day: new Date().toISOString().slice(0, 10), requests: 3 }),
    ]);

    const byKey = await ccproxy(["usage"]);
    expect(byKey.code).toBe(0);
    const lines = byKey.stdout.split("\n");
    expect(lines[0]).toMatch(/^Usage by key, \d{4}-\d{2}-01 00:00 UTC to /);
    expect(lines[2]).toMatch(
      /^KEY\s+(ID\s+)?REQUESTS\s+ERRORS\s+INPUT\s+OUTPUT\s+CACHE WRITE\s+CACHE READ\s+COST$/,
    );
    expect(lines.find((l) => l.startsWith(created.name))).toMatch(
      /^\S+\s+(key_\w+\s+)?3\s+0\s+[\d,]+\s+[\d,]+\s+/,
    );
    expect(lines.some((l) => /^total\s+[\d,]+/.test(l))).toBe(true);

    const byModel = await ccproxy(["usage", "--key", created.id, "--by", "model"]);
    expect(byModel.stdout).toMatch(/^claude-sonnet-4-5\S*\s+3\s/m);
    expect(byModel.stdout).toMatch(/\$\d+\.\d{4}\*?\s*$/m);

    const empty = await ccproxy(["usage", "--key", created.id, "--from", "2020-01-01", "--to", "2020-02-01"]);
    expect(empty.stdout).toContain("No requests in this period.");
  });
});

describe("ccproxy as users start it", () => {
  it("npx --no-install ccproxy, then the package.json bin file itself", async () => {
    const name = unique("npx");
    const viaNpx = await run("npx", ["--no-install", "ccproxy", "keys", "create", "--name", name, "--json"]);
    expect(viaNpx.stderr).toBe("");
    expect(viaNpx.code).toBe(0);
    const created = JSON.parse(viaNpx.stdout) as Key;
    expect(created.name).toBe(name);

    expect(BIN).toBe("src/cli/main.ts");
    const viaBin = await run(`${ROOT}${BIN}`, ["keys", "show", created.id]);
    expect(viaBin.stderr).toBe("");
    expect(viaBin.code).toBe(0);
    expect(viaBin.stdout).toMatch(new RegExp(`^name\\s+${name}$`, "m"));
  });
});

describe("ccproxy failures", () => {
  it("a URL that answers but is not a CCProxy (the mock upstream): one line, exit 1", async () => {
    const other = mockUrl();
    const r = await run("npx", ["--no-install", "ccproxy", "keys", "list"], { CCPROXY_URL: other });
    expect(r).toEqual({
      code: 1,
      stdout: "",
      stderr: `ccproxy: ${other} is not a CCProxy: GET /admin/keys answered HTTP 404 (Not found), and /health does not answer as CCProxy; check CCPROXY_URL\n`,
    });
  });

  it("a wrong token: clear message, exit 1, the token not printed", async () => {
    const r = await ccproxy(["keys", "list"], { CCPROXY_ADMIN_TOKEN: "not-the-admin-token" });
    expect(r).toEqual({
      code: 1,
      stdout: "",
      stderr: "ccproxy: the admin token was refused; check CCPROXY_ADMIN_TOKEN\n",
    });
  });

  it("nothing listening at the URL: clear message, exit 1", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const r = await ccproxy(["keys", "list"], { CCPROXY_URL: closed });
    expect(r).toEqual({
      code: 1,
      stdout: "",
      stderr: `ccproxy: cannot reach CCProxy at ${closed}: connection refused\n`,
    });
  });

  it("no URL configured: exit 1", async () => {
    const r = await ccproxy(["usage"], { CCPROXY_URL: "" });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      "ccproxy: no CCProxy URL: set CCPROXY_URL or pass --url (e.g. http://127.0.0.1:8787)\n",
    );
  });

  it("an unknown command or flag: usage on stderr, exit 2", async () => {
    const cmd = await ccproxy(["frobnicate"]);
    expect(cmd.code).toBe(2);
    expect(cmd.stdout).toBe("");
    expect(cmd.stderr).toMatch(/^ccproxy: unknown command "frobnicate"\n\nccproxy — the CCProxy admin CLI\n/);
    const flag = await ccproxy(["keys", "list", "--colour"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^ccproxy: unknown option --colour\n\nUsage: ccproxy keys list/);
  });

  it("help: on stdout, exit 0", async () => {
    const r = await ccproxy(["help"], { CCPROXY_URL: "", CCPROXY_ADMIN_TOKEN: "" });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("keys create --name NAME");
    expect(r.stderr).toBe("");
  });
});
