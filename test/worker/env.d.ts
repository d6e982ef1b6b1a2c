// Bindings only the Worker tests have.
import type { D1Migration } from "cloudflare:test";

declare global {
  interface __BaseEnv_Env {
    TEST_MIGRATIONS: D1Migration[];
  }
}
