import { createHmac } from "node:crypto";
import type { RunDoc } from "../../store/index.js";
import type { ServiceContext } from "../context.js";
import { summaryOf } from "./summary.js";

/** A callback is retried for this long after its run ended, then given up. */
export const CALLBACK_GIVE_UP_SECONDS = 3600;
/** The longest wait between two attempts. */
const BACKOFF_CAP_SECONDS = 300;
/** How long one POST may take. */
const POST_TIMEOUT_MS = 10_000;
/** The header that carries `sha256=<hex>`, the HMAC-SHA256 of the body with the callback secret. */
export const SIGNATURE_HEADER = "x-buckets-signature";

const delivering = new WeakMap<ServiceContext, Promise<void>>();

/**
 * Sends the callbacks that are due, outside any request: never awaited by what ends a run, so a
 * slow or dead endpoint never holds the queue. One loop per service; each callback is claimed by
 * a conditional update first, so with several instances one sends it.
 */
export function deliverCallbacks(ctx: ServiceContext): Promise<void> {
  const running = delivering.get(ctx);
  if (running) return running;
  const loop = (async () => {
    for (;;) {
      const now = ctx.now();
      const run = await ctx.store.runs.claimCallback(now, now + BACKOFF_CAP_SECONDS);
      if (!run?.callback) return;
      await attempt(ctx, run, now);
    }
  })()
    .catch((error: unknown) => {
      ctx.events.emit("task:error", "callbacks", error);
    })
    .finally(() => delivering.delete(ctx));
  delivering.set(ctx, loop);
  return loop;
}

/** Signs a body with the service's callback secret: what a receiver recomputes to trust it. */
export function sign(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

async function attempt(ctx: ServiceContext, run: RunDoc, now: number): Promise<void> {
  const callback = run.callback as NonNullable<RunDoc["callback"]>;
  const body = JSON.stringify({ ...summaryOf(run), sent: now });
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-buckets-run": run._id.toHexString(),
  };
  if (ctx.callbackSecret) headers[SIGNATURE_HEADER] = sign(ctx.callbackSecret, body);
  let error: string | undefined;
  try {
    const response = await fetch(callback.url, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(POST_TIMEOUT_MS),
    });
    await response.body?.cancel();
    if (response.status < 200 || response.status >= 300) error = `HTTP ${response.status}`;
  } catch (failure) {
    error = (failure as Error).name === "TimeoutError" ? "timed out" : (failure as Error).message;
  }
  if (error === undefined) {
    await ctx.store.runs.callbackDone(run._id, { delivered: ctx.now() }, true);
    return;
  }
  const wait = Math.min(BACKOFF_CAP_SECONDS, 2 ** Math.max(0, callback.attempts - 1));
  const giveUp = now + wait > (run.finished ?? now) + CALLBACK_GIVE_UP_SECONDS;
  await ctx.store.runs.callbackDone(
    run._id,
    { error: error.slice(0, 300), ...(giveUp ? {} : { due: now + wait }) },
    giveUp,
  );
  ctx.logger.warn(
    { run: run._id.toHexString(), attempts: callback.attempts, error },
    giveUp ? "run callback given up" : "run callback failed; will retry",
  );
  if (!giveUp) setTimeout(() => void deliverCallbacks(ctx), wait * 1000).unref();
}
