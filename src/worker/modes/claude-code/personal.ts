// Which keys are bound to a personal sidecar, kept in the hub's SQLite storage so that the binding
// outlives the connection: while its owner's sidecar is offline, such a key gets a 503, never a
// shared sidecar (SPEC §4, §11: a personal sidecar serves its owner's keys on its owner's login).

/** A binding nobody renewed for this long is forgotten (the personal sidecar was retired). */
export const PERSONAL_BINDING_TTL_MS = 30 * 24 * 60 * 60 * 1000;

export class PersonalKeys {
  readonly #sql: SqlStorage;
  /** key id → sidecar id → when that sidecar last connected or disconnected (ms). */
  readonly #bindings = new Map<string, Map<string, number>>();

  constructor(sql: SqlStorage, now: number = Date.now()) {
    this.#sql = sql;
    sql.exec(`CREATE TABLE IF NOT EXISTS personal_keys (
      key_id TEXT NOT NULL,
      sidecar_id TEXT NOT NULL,
      sidecar_name TEXT NOT NULL,
      seen_at INTEGER NOT NULL,
      PRIMARY KEY (key_id, sidecar_id)
    )`);
    sql.exec("DELETE FROM personal_keys WHERE seen_at < ?", now - PERSONAL_BINDING_TTL_MS);
    for (const row of sql.exec<{ key_id: string; sidecar_id: string; seen_at: number }>(
      "SELECT key_id, sidecar_id, seen_at FROM personal_keys",
    ))
      this.#remember(row.key_id, row.sidecar_id, row.seen_at);
  }

  /** A sidecar authenticated: its `serveKeys` replace what it served before (none: it is shared). */
  bind(sidecarId: string, name: string, keys: readonly string[] | undefined, now: number = Date.now()): void {
    this.#sql.exec("DELETE FROM personal_keys WHERE sidecar_id = ?", sidecarId);
    for (const sidecars of this.#bindings.values()) sidecars.delete(sidecarId);
    for (const keyId of keys ?? []) {
      this.#sql.exec(
        "INSERT INTO personal_keys (key_id, sidecar_id, sidecar_name, seen_at) VALUES (?, ?, ?, ?)",
        keyId,
        sidecarId,
        name,
        now,
      );
      this.#remember(keyId, sidecarId, now);
    }
  }

  /** A personal sidecar disconnected: its bindings count from now. */
  touch(sidecarId: string, now: number = Date.now()): void {
    this.#sql.exec("UPDATE personal_keys SET seen_at = ? WHERE sidecar_id = ?", now, sidecarId);
    for (const sidecars of this.#bindings.values()) if (sidecars.has(sidecarId)) sidecars.set(sidecarId, now);
  }

  /** Whether `keyId` is served only by personal sidecars (connected or not). */
  has(keyId: string, now: number = Date.now()): boolean {
    const sidecars = this.#bindings.get(keyId);
    if (sidecars === undefined) return false;
    for (const seenAt of sidecars.values()) if (seenAt >= now - PERSONAL_BINDING_TTL_MS) return true;
    return false;
  }

  #remember(keyId: string, sidecarId: string, seenAt: number): void {
    let sidecars = this.#bindings.get(keyId);
    if (sidecars === undefined) {
      sidecars = new Map();
      this.#bindings.set(keyId, sidecars);
    }
    sidecars.set(sidecarId, seenAt);
  }
}
