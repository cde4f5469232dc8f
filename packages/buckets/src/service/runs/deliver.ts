/**
 * Delivers what a run sends once it ends (callback, Slack), retried with backoff, bounded in
 * flight.
 */

import type { DeliveryKind, RunDoc } from "../../store/index.js";
import type { ServiceContext } from "../context.js";
import { sendCallback } from "./callback.js";
import { sendSlack } from "./slack.js";

/** What a run sends once it ends is retried for this long after the end, then given up. */
const DELIVERY_GIVE_UP_SECONDS = 3600;
/** The longest wait between two attempts. */
const BACKOFF_CAP_SECONDS = 300;
/** Deliveries in flight at once, over every endpoint, per service instance. */
export const MAX_DELIVERIES = 16;
/**
 * Deliveries in flight at once to one endpoint (a callback's origin, or Slack): an endpoint that
 * accepts and never answers holds only these, never the others' deliveries.
 */
export const MAX_DELIVERIES_PER_ENDPOINT = 2;
/** A delivery whose endpoint is busy is put back for this long. */
const BUSY_ENDPOINT_SECONDS = 2;

/** Sends one delivery of a run; answers why it failed, or nothing once it was sent. */
type Sender = (ctx: ServiceContext, run: RunDoc, now: number) => Promise<string | undefined>;

const SENDERS: Record<DeliveryKind, Sender> = { callback: sendCallback, slack: sendSlack };
const KINDS = Object.keys(SENDERS) as DeliveryKind[];

/** The deliveries one service has in flight, and the pass that claims more. */
interface Deliveries {
  inFlight: number;
  perEndpoint: Map<string, number>;
  /** Wakes the pass waiting for a free slot. */
  freed?: (() => void) | undefined;
  /** The pass claiming deliveries, if one is. */
  pass?: Promise<void> | undefined;
  /** Asked for while a pass was claiming: it claims again before it ends. */
  again: boolean;
  /** A pass is due for the deliveries put back while their endpoint was busy. */
  retryTimer: boolean;
}

const services = new WeakMap<ServiceContext, Deliveries>();

/** Callbacks by origin (scheme, host and port); all Slack messages go to one API. */
function endpointOf(kind: DeliveryKind, run: RunDoc): string {
  if (kind === "slack") return "slack";
  try {
    return new URL(run.callback?.url ?? "").origin;
  } catch {
    return "callback";
  }
}

/**
 * Sends what ended runs owe (callbacks, Slack messages), outside any request: never awaited by
 * what ends a run, so a slow or dead endpoint never holds the queue. Deliveries go out together,
 * at most MAX_DELIVERIES at once and MAX_DELIVERIES_PER_ENDPOINT to one endpoint. Each delivery
 * is claimed by a conditional update first, so with several instances one sends it. Answers once
 * every due delivery has been claimed (not sent).
 */
export function deliverRunEnds(ctx: ServiceContext): Promise<void> {
  let state = services.get(ctx);
  if (!state) {
    state = { inFlight: 0, perEndpoint: new Map(), again: false, retryTimer: false };
    services.set(ctx, state);
  }
  const deliveries = state;
  if (deliveries.pass) {
    deliveries.again = true;
    return deliveries.pass;
  }
  deliveries.pass = (async () => {
    do {
      deliveries.again = false;
      await claimAll(ctx, deliveries);
    } while (deliveries.again);
  })()
    .catch((error: unknown) => {
      ctx.events.emit("task:error", "run deliveries", error);
    })
    .finally(() => {
      deliveries.pass = undefined;
    });
  return deliveries.pass;
}

/** Claims due deliveries, kind by kind in turn, and starts each, until none is due. */
async function claimAll(ctx: ServiceContext, deliveries: Deliveries): Promise<void> {
  const drained = new Set<DeliveryKind>();
  while (drained.size < KINDS.length) {
    for (const kind of KINDS) {
      if (drained.has(kind)) continue;
      while (deliveries.inFlight >= MAX_DELIVERIES) {
        await new Promise<void>((resolve) => {
          deliveries.freed = resolve;
        });
      }
      const now = ctx.now();
      const run = await ctx.store.runs.claimDelivery(kind, now, now + BACKOFF_CAP_SECONDS);
      if (!run?.[kind]) {
        drained.add(kind);
        continue;
      }
      const endpoint = endpointOf(kind, run);
      const busy = deliveries.perEndpoint.get(endpoint) ?? 0;
      if (busy >= MAX_DELIVERIES_PER_ENDPOINT) {
        await ctx.store.runs.deferDelivery(kind, run._id, now + BUSY_ENDPOINT_SECONDS);
        retryLater(ctx, deliveries);
        continue;
      }
      deliveries.inFlight++;
      deliveries.perEndpoint.set(endpoint, busy + 1);
      void attempt(ctx, kind, run, now)
        .catch((error: unknown) => ctx.events.emit("task:error", `run ${kind}`, error))
        .finally(() => {
          deliveries.inFlight--;
          const left = (deliveries.perEndpoint.get(endpoint) ?? 1) - 1;
          if (left > 0) deliveries.perEndpoint.set(endpoint, left);
          else deliveries.perEndpoint.delete(endpoint);
          const freed = deliveries.freed;
          deliveries.freed = undefined;
          freed?.();
        });
    }
  }
}

/** One pass for all the deliveries put back while their endpoint was busy. */
function retryLater(ctx: ServiceContext, deliveries: Deliveries): void {
  if (deliveries.retryTimer) return;
  deliveries.retryTimer = true;
  setTimeout(() => {
    deliveries.retryTimer = false;
    void deliverRunEnds(ctx);
  }, BUSY_ENDPOINT_SECONDS * 1000).unref();
}

async function attempt(ctx: ServiceContext, kind: DeliveryKind, run: RunDoc, now: number) {
  const error = await SENDERS[kind](ctx, run, now);
  if (error === undefined) {
    await ctx.store.runs.deliveryDone(kind, run._id, { delivered: ctx.now() }, true);
    return;
  }
  const attempts = run[kind]?.attempts ?? 1;
  const wait = Math.min(BACKOFF_CAP_SECONDS, 2 ** Math.max(0, attempts - 1));
  const giveUp = now + wait > (run.finished ?? now) + DELIVERY_GIVE_UP_SECONDS;
  await ctx.store.runs.deliveryDone(
    kind,
    run._id,
    { error: error.slice(0, 300), ...(giveUp ? {} : { due: now + wait }) },
    giveUp,
  );
  ctx.logger.warn(
    { run: run._id.toHexString(), attempts, error },
    giveUp ? `run ${kind} given up` : `run ${kind} failed; will retry`,
  );
  if (!giveUp) setTimeout(() => void deliverRunEnds(ctx), wait * 1000).unref();
}
