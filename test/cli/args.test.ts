// The command line: which words make which command, flags anywhere, and a UsageError (exit 2) with the
// right command's usage for everything that is not a valid invocation.

import { describe, expect, it } from "vitest";
import { parseCommandLine } from "../../src/cli/args.ts";
import { keyBody } from "../../src/cli/commands/key-body.ts";
import { UsageError } from "../../src/cli/errors.ts";

function usageError(argv: string[]): UsageError {
  try {
    parseCommandLine(argv);
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error(`expected a usage error for ${argv.join(" ")}`);
}

describe("parseCommandLine", () => {
  it("finds the command, its id and its flags wherever they are", () => {
    const inv = parseCommandLine(["--json", "keys", "update", "key_1", "--rpm", "5", "--url=http://x"]);
    expect(inv).toMatchObject({ kind: "run", command: "keys update", args: ["key_1"] });
    if (inv.kind === "run") expect(inv.values).toMatchObject({ json: true, rpm: "5", url: "http://x" });
    expect(parseCommandLine(["usage", "--by", "model"])).toMatchObject({ kind: "run", command: "usage" });
  });

  it.each([
    [["help"], ""],
    [["--help"], ""],
    [["-h"], ""],
    [["help", "keys", "create"], "keys create"],
    [["keys", "--help"], "keys"],
    [["keys", "create", "--help"], "keys create"],
    [["usage", "-h"], "usage"],
  ])("%j asks for help on %j", (argv, topic) =>
    expect(parseCommandLine(argv)).toEqual({ kind: "help", topic }),
  );

  it.each([
    [[], "no command given", ""],
    [["frob"], 'unknown command "frob"', ""],
    [["keys"], "keys needs a subcommand", "keys"],
    [["keys", "frob"], 'unknown command "keys frob"', "keys"],
    [["keys", "list", "--frob"], "unknown option --frob", "keys list"],
    [["keys", "create", "--name"], "option --name needs a value", "keys create"],
    [["keys", "list", "--json=yes"], "option --json does not take a value", "keys list"],
    [["keys", "list", "--rpm", "5"], "keys list does not take --rpm", "keys list"],
    [["keys", "create", "--all-models"], "keys create does not take --all-models", "keys create"],
    [["keys", "show"], "keys show needs ID", "keys show"],
    [["keys", "revoke", "a", "b"], 'unexpected argument "b"', "keys revoke"],
    [["usage", "--name", "x"], "usage does not take --name", "usage"],
  ])("%j → %s", (argv, message, command) => {
    const err = usageError(argv);
    expect(err.message).toContain(message);
    expect(err.command).toBe(command);
  });
});

describe("keyBody", () => {
  const now = new Date("2026-11-25T12:00:00.000Z");
  const body = (argv: string[], command: "keys create" | "keys update" = "keys update") => {
    const inv = parseCommandLine(
      command === "keys create" ? ["keys", "create", ...argv] : ["keys", "update", "k", ...argv],
    );
    if (inv.kind !== "run") throw new Error("not a run");
    return keyBody(inv.values, command, now);
  };

  it("builds the create body from the flags given, and only those", () => {
    expect(
      body(
        [
          "--name",
          " alice ",
          "--modes",
          "api",
          "--models",
          "claude-*, claude-haiku-*",
          "--rpm",
          "60",
          "--max-concurrent",
          "4",
          "--budget-usd-day",
          "$5",
          "--budget-usd-month",
          "50.5",
          "--tokens-per-day",
          "1_000_000",
          "--expires",
          "30d",
          "--byo",
        ],
        "keys create",
      ),
    ).toEqual({
      name: "alice",
      modes: ["api"],
      models: ["claude-*", "claude-haiku-*"],
      rpm: 60,
      max_concurrent: 4,
      budget_usd_day: 5,
      budget_usd_month: 50.5,
      tokens_per_day: 1_000_000,
      expires_at: "2026-12-25T12:00:00.000Z",
      byo: true,
    });
    expect(body(["--name", "bob"], "keys create")).toEqual({ name: "bob" });
  });

  it("clears with none / never / --all-models / --no-byo on update", () => {
    expect(
      body(["--rpm", "none", "--budget-usd-month", "none", "--expires", "never", "--all-models", "--no-byo"]),
    ).toEqual({ rpm: null, budget_usd_month: null, expires_at: null, models: null, byo: false });
    // On update a past expiry is allowed: it pauses a key without revoking it.
    expect(body(["--expires", "2026-11-01"])).toEqual({ expires_at: "2026-11-01T00:00:00.000Z" });
  });

  it.each([
    [["--rpm", "none"], "keys create", "--rpm must be a positive whole number"],
    [["--rpm", "0"], "keys update", "--rpm must be a positive whole number or none"],
    [["--rpm", "1.5"], "keys update", "--rpm must be a positive whole number"],
    [["--budget-usd-day=-1"], "keys update", "--budget-usd-day must be a positive amount"],
    [["--budget-usd-day", "lots"], "keys update", "--budget-usd-day must be a positive amount"],
    [["--models", " , "], "keys update", "--models needs at least one value"],
    [["--models", "a", "--all-models"], "keys update", "not both"],
    [["--byo", "--no-byo"], "keys update", "not both"],
    [["--expires", "never"], "keys create", "--expires: expected"],
    [["--name", "  "], "keys update", "--name cannot be empty"],
    [["--expires", "2026-11-01"], "keys create", "--expires is in the past"],
  ] as const)("%j on %s → %s", (argv, command, message) => {
    const args = command === "keys create" ? ["--name", "x", ...argv] : [...argv];
    expect(() => body(args, command)).toThrow(message);
  });
});
