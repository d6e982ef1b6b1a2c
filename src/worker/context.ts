// The Hono environment every route and middleware shares.

import type { Context } from "hono";
import type { WireFormat } from "../shared/errors.ts";
import type { AppBindings, Config } from "./env.ts";

export interface AppVariables {
  requestId: string;
  /** The wire format errors on this route are rendered in. */
  format: WireFormat;
  config: Config;
}

export interface AppEnv {
  Bindings: AppBindings;
  Variables: AppVariables;
}

export type Ctx = Context<AppEnv>;
