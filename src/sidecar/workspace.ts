// Per-key working directories under the operator's workspace root, and the check that keeps file
// tools inside them. A key id becomes a path segment, so it is validated: no traversal, no separators.
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
