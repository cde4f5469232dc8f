import type { Work } from "./schema.js";

/** A work as the service takes it: plain JSON, without what stays on the client. */
export type WorkPayload = Omit<Work, "config"> & { config: Omit<Work["config"], "strategy"> };

/** The JSON that goes to the service. `config.strategy` stays on the client; undefined fields go. */
export function toPayload(work: Work): WorkPayload {
  const { strategy: _strategy, ...config } = work.config;
  return JSON.parse(JSON.stringify({ ...work, config })) as WorkPayload;
}
