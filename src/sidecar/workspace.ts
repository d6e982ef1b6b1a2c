// Per-key working directories under the operator's workspace root, and the checks that keep file
// tools inside them (paths, and the glob patterns of Glob/Grep). A key id becomes a path segment, so
// it is validated: no traversal, no separators.
import { mkdirSync, realpathSync } from "node:fs";
import { chmod } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";

const KEY_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Creates (0700) and returns the real path of `<root>/<keyId>`. Throws on an id unfit for a path. */
export async function workspaceFor(root: string, keyId: string): Promise<string> {
  if (!KEY_ID.test(keyId))
    throw new Error(`key id ${JSON.stringify(keyId)} is not usable as a directory name`);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const dir = join(root, keyId);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode is filtered by the umask, and an existing directory keeps its mode: set it.
  await chmod(dir, 0o700);
  return realpathSync(dir);
}

/**
 * Where `p` (absolute, or relative to `dir`) really points, following symlinks as far as the path
 * exists, so a link planted inside the workspace cannot lead out of it.
 */
function realTarget(dir: string, p: string): string {
  let target = isAbsolute(p) ? resolve(p) : resolve(dir, p);
  let rest = "";
  for (;;) {
    try {
      return rest === "" ? realpathSync(target) : join(realpathSync(target), rest);
    } catch {
      const parent = dirname(target);
      if (parent === target) return resolve(target, rest);
      rest = rest === "" ? target.slice(parent.length + 1) : join(target.slice(parent.length + 1), rest);
      target = parent;
    }
  }
}

/** True when `p` is `dir` itself or inside it (`dir` is a real path from `workspaceFor`). */
export function isInside(dir: string, p: string): boolean {
  const rel = relative(dir, realTarget(dir, p));
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

/**
 * A tool's path as Claude Code reads it: `~` and `~/…` are the agent's home (Claude Code expands
 * them, before some tools' PreToolUse hooks and after others'); `$HOME` and `~user` it takes literally.
 */
export function expandHome(p: string, home: string): string {
  if (p === "~") return home;
  if (p.startsWith("~/")) return join(home, p.slice(2));
  return p;
}

/** What makes a glob segment match more than its literal name (extglobs all have a parenthesis). */
const GLOB_MAGIC = /^!|[*?[\]{}()]/;

/**
 * Why a glob pattern (Glob's `pattern`, Grep's `glob`) could match files outside `dir`, or undefined.
 * Relative patterns stay under the search path (checked on its own), except through `..`; absolute
 * ones are allowed when the literal directory they start from is inside `dir`. Anything this cannot
 * vouch for is refused: a `..` segment (also inside braces), an absolute or home alternative inside
 * braces, a leading backslash.
 */
export function globEscape(dir: string, pattern: string, home: string): string | undefined {
  const outside = `the pattern ${JSON.stringify(pattern)} reaches outside this key's workspace`;
  // Grep's glob may list several patterns (space separated); braces hold alternatives.
  for (const part of pattern.split(/\s+/)) {
    if (part === "") continue;
    if (part.split(/[/{},]/).includes("..")) return outside;
    if (part.startsWith("\\") || /[{,]\s*[/~]/.test(part)) return outside;
    const p = expandHome(part, home);
    if (p.startsWith("~")) continue; // `~user…`: a literal name, relative to the search path
    if (!isAbsolute(p)) continue;
    const literal: string[] = [];
    for (const seg of p.split("/").slice(1)) {
      if (GLOB_MAGIC.test(seg)) break;
      literal.push(seg);
    }
    if (!isInside(dir, `/${literal.join("/")}`)) return outside;
  }
  return undefined;
}
