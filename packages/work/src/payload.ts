/** A work as the service takes it: what stays on the client is left out. */

import type { Work } from "./schema.js";

/** A work as the service takes it: plain JSON, without what stays on the client. */
export type WorkPayload = Omit<Work, "config"> & { config: Omit<Work["config"], "strategy"> };

/** `config.strategy` decides how the client checks a work's site: it stays on the client. */
export function withoutStrategy(config: Work["config"]): WorkPayload["config"] {
  const { strategy: _strategy, ...rest } = config;
  return rest;
}

/** The JSON that goes to the service, without undefined fields. */
export function toPayload(work: Work): WorkPayload {
  return JSON.parse(
    JSON.stringify({ ...work, config: withoutStrategy(work.config) }),
  ) as WorkPayload;
}
