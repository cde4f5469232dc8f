import type { TestService } from "./service.js";

/**
 * The service as CHIME's Python client (workflow v1.12) calls it: its token in x-access-token,
 * never Authorization, and its works with every optional field sent, null when unset.
 */

/** The fields of CHIME's Work model: what `Work.update` sends back. */
export const CHIME_FIELDS = [
  "pipeline",
  "site",
  "user",
  "function",
  "command",
  "parameters",
  "results",
  "products",
  "plots",
  "tags",
  "event",
  "id",
  "creation",
  "start",
  "stop",
  "attempt",
  "status",
  "timeout",
  "retries",
  "priority",
  "config",
  "notify",
] as const;

/** One request of CHIME's session, with `token` in x-access-token. */
export const chimeCall = (
  t: TestService,
  token: string,
  method: string,
  path: string,
  body?: unknown,
) =>
  t.call(method, path, {
    token: null,
    headers: { "x-access-token": token },
    ...(body === undefined ? {} : { body }),
  });

/** The config CHIME's Work model sends: its archive defaults, metrics off, the rest null. */
export const CHIME_CONFIG = {
  archive: { results: true, products: "copy", plots: "copy", logs: "move" },
  metrics: false,
  parent: null,
  orgs: null,
  teams: null,
};

/** A work as CHIME's Work.payload: every optional field present, null when unset. */
export const chimeWork = (pipeline: string, overrides: Record<string, unknown> = {}) => ({
  pipeline,
  site: "local",
  user: "alice",
  function: null,
  command: ["echo", "hi"],
  parameters: null,
  results: null,
  products: null,
  plots: null,
  tags: null,
  event: null,
  id: null,
  creation: null,
  start: null,
  stop: null,
  attempt: null,
  status: null,
  timeout: null,
  retries: null,
  priority: null,
  config: CHIME_CONFIG,
  notify: {
    slack: {
      channel_id: null,
      member_ids: null,
      message: null,
      results: null,
      products: null,
      plots: null,
      blocks: null,
      reply: null,
    },
  },
  ...overrides,
});
