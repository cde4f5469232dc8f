import type { DeliveryKind, RunDoc } from "../../store/index.js";
import type { ServiceContext } from "../context.js";
import { sendCallback } from "./callback.js";
import { sendSlack } from "./slack.js";

/** What a run sends once it ends is retried for this long after the end, then given up. */
const DELIVERY_GIVE_UP_SECONDS = 3600;
/** The longest wait between two attempts. */
const BACKOFF_CAP_SECONDS = 300;

/** Sends one delivery of a run; answers why it failed, or nothing once it was sent. */
type Sender = (ctx: ServiceContext, run: RunDoc, now: number) => Promise<string | undefined>;

const SENDERS: Record<DeliveryKind, Sender> = { callback: sendCallback, slack: sendSlack };

const delivering = new WeakMap<ServiceContext, Promise<void>>();

/**
 * Sends what ended runs owe (callbacks, Slack messages), outside any request: never awaited by
 * what ends a run, so a slow or dead endpoint never holds the queue. One loop per service; each
 * delivery is claimed by a conditional update first, so with several instances one sends it.
 */
export function deliverRunEnds(ctx: ServiceContext): Promise<void> {
  const running = delivering.get(ctx);
  if (running) return running;
  const loop = (async () => {
    for (const kind of Object.keys(SENDERS) as DeliveryKind[]) {
      for (;;) {
        const now = ctx.now();
        const run = await ctx.store.runs.claimDelivery(kind, now, now + BACKOFF_CAP_SECONDS);
        if (!run?.[kind]) break;
        await attempt(ctx, kind, run, now);
      }
    }
  })()
    .catch((error: unknown) => {
      ctx.events.emit("task:error", "run deliveries", error);
    })
    .finally(() => delivering.delete(ctx));
  delivering.set(ctx, loop);
  return loop;
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
