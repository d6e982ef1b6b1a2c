// The help texts: `ccproxy help`, `ccproxy help <command>`, `ccproxy <command> --help`, and the usage
// shown under a usage error.

const COMMON = `Options for every command:
  --url URL        CCProxy's URL (default: $CCPROXY_URL)
  --token TOKEN    the admin token (default: $CCPROXY_ADMIN_TOKEN; prefer the variable,
                   a flag is visible to other users of this machine)
  --json           print the API's JSON instead of a table, for scripts
  -h, --help       show help`;

const LIMITS = `  --rpm N                 requests per rolling minute
  --max-concurrent N      requests in flight at once
  --budget-usd-day X      spend per UTC day, in USD
  --budget-usd-month X    spend per UTC month, in USD
  --tokens-per-day N      tokens (input + output) per UTC day`;

const TOP = `ccproxy — the CCProxy admin CLI

Usage: ccproxy <command> [options]

Commands:
  keys create --name NAME [options]   create a key; its secret is shown once
  keys list [--all]                   list keys (--all includes revoked ones)
  keys show ID                        one key's settings
  keys update ID [options]            change a key's name, modes, models or limits
  keys revoke ID                      revoke a key; it is refused from the next request on
  usage [--by key|model|day]          requests, tokens and cost (this month by default)
  help [COMMAND]                      this text, or one command's

${COMMON}

Exit status: 0 done, 1 failed (the reason is on stderr), 2 the command line is wrong.`;

const KEYS = `Usage: ccproxy keys <create|list|show|update|revoke> …

  keys create --name NAME [options]   create a key; its secret is shown once
  keys list [--all]                   list keys (--all includes revoked ones)
  keys show ID                        one key's settings
  keys update ID [options]            change a key's name, modes, models or limits
  keys revoke ID                      revoke a key

ccproxy help keys <command> for the options of each.`;

const CREATE = `Usage: ccproxy keys create --name NAME [options]

Creates a key and prints its secret once: save it then, it cannot be shown again.

  --name NAME             who or what the key is for (required)
  --modes LIST            api, claude-code or both (default: api,claude-code)
  --models LIST           model patterns allowed, e.g. 'claude-*,claude-haiku-*' (default: all)
${LIMITS}
  --expires WHEN          an ISO 8601 time (2027-01-01T00:00:00Z), a date (2027-01-01,
                          midnight UTC) or a duration from now (90m, 12h, 30d, 2w)
  --byo                   allow bring-your-own-seat (the user's own Anthropic credential)

Without a limit flag the key has no such limit.

${COMMON}`;

const LIST = `Usage: ccproxy keys list [--all]

Lists keys (never their secrets). Revoked keys are hidden unless --all is given;
with --json the same filter applies to the "data" array.

  --all                   include revoked keys

${COMMON}`;

const SHOW = `Usage: ccproxy keys show ID

Shows every setting of one key (never its secret).

${COMMON}`;

const UPDATE = `Usage: ccproxy keys update ID [options]

Changes only the fields given. A limit set to none (or an expiry set to never) is cleared.

  --name NAME
  --modes LIST            api, claude-code or both
  --models LIST           model patterns allowed, e.g. 'claude-*'
  --all-models            allow every model again
${LIMITS}
                          (each: a number, or none to remove the limit)
  --expires WHEN|never    an ISO 8601 time, a date, or a duration from now (30d, 12h);
                          a time in the past pauses the key (undo with --expires never)
  --byo, --no-byo         allow or forbid bring-your-own-seat

${COMMON}`;

const REVOKE = `Usage: ccproxy keys revoke ID

Revokes a key: every request with it is refused (401) from the moment this returns.
Revoking cannot be undone; create a new key instead.

${COMMON}`;

const USAGE = `Usage: ccproxy usage [--by key|model|day] [--from DATE] [--to DATE] [--key ID]

Requests, errors, tokens and cost, grouped by key (default), model or day.

  --by key|model|day      how to group (with --key: day, the default, or model)
  --from DATE             start, inclusive: 2026-11-01 or an ISO 8601 time
                          (default: the start of this UTC month)
  --to DATE               end, exclusive (default: now)
  --key ID                only this key's usage

Costs are in USD from CCProxy's price table; requests to models without a price
are counted but not costed (marked *).

${COMMON}`;

const TEXTS: Record<string, string> = {
  "": TOP,
  keys: KEYS,
  "keys create": CREATE,
  "keys list": LIST,
  "keys show": SHOW,
  "keys update": UPDATE,
  "keys revoke": REVOKE,
  usage: USAGE,
};

/** The help for `topic` ("" = the overview), or undefined for an unknown topic. */
export function helpText(topic: string): string | undefined {
  return TEXTS[topic.trim().replace(/\s+/g, " ")];
}
