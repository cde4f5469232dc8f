/** Notes a worker's contact for the dashboard, never failing the request it rides on. */

import type { ContactVia } from "@workflow/work";
import type { ServiceContext } from "./context.js";

/**
 * Notes that a worker reached the service (a poll or a heartbeat), for the dashboard's workers.
 * Never fails the request it rides on: a lost note only makes a worker look quieter for a while.
 */
export async function noteContact(
  ctx: ServiceContext,
  contact: { user: string; worker: string },
  via: ContactVia,
  pipelines: string[] = [],
): Promise<void> {
  // Awaited, so the dashboard read right after a poll sees it; at most one write in 5 s a worker.
  await ctx.store.contacts.seen(contact, via, pipelines, ctx.now()).catch((error: unknown) => {
    ctx.logger.warn({ err: error, ...contact }, "worker:contact not recorded");
  });
}
