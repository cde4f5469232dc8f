import { createHmac } from "node:crypto";
import type { RunDoc } from "../../store/index.js";
import type { ServiceContext } from "../context.js";
import { summaryOf } from "./summary.js";

/** How long one POST may take. */
const POST_TIMEOUT_MS = 10_000;
/** The header that carries `sha256=<hex>`, the HMAC-SHA256 of the body with the callback secret. */
const SIGNATURE_HEADER = "x-buckets-signature";

/** Signs a body with the service's callback secret: what a receiver recomputes to trust it. */
export function sign(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/** POSTs the run's summary to its callback URL; answers why it failed, if it did. */
export async function sendCallback(
  ctx: ServiceContext,
  run: RunDoc,
  now: number,
): Promise<string | undefined> {
  const callback = run.callback as NonNullable<RunDoc["callback"]>;
  const body = JSON.stringify({ ...summaryOf(run), sent: now });
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "x-buckets-run": run._id.toHexString(),
  };
  if (ctx.callbackSecret) headers[SIGNATURE_HEADER] = sign(ctx.callbackSecret, body);
  try {
    const response = await fetch(callback.url, {
      method: "POST",
      headers,
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(POST_TIMEOUT_MS),
    });
    await response.body?.cancel();
    if (response.status < 200 || response.status >= 300) return `HTTP ${response.status}`;
    return undefined;
  } catch (failure) {
    return (failure as Error).name === "TimeoutError" ? "timed out" : (failure as Error).message;
  }
}
