/** A run's callback: the signed POST of its summary once it ends. */

import { createHmac } from "node:crypto";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { RunDoc } from "../../store/index.js";
import type { ServiceContext } from "../context.js";
import {
  type CallbackPolicy,
  CallbackRefused,
  guardedLookup,
  policyOf,
} from "./callback-target.js";
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
    const status = await post(new URL(callback.url), headers, body, policyOf(ctx));
    if (status < 200 || status >= 300) return `HTTP ${status}`;
    return undefined;
  } catch (failure) {
    const error = failure as Error;
    return error instanceof CallbackRefused ? `refused: ${error.message}` : error.message;
  }
}

/**
 * One POST, never following a redirect, within POST_TIMEOUT_MS; answers the status. Through
 * node:http rather than fetch, for the lookup: the address it connects to is the one checked.
 */
function post(
  url: URL,
  headers: Record<string, string>,
  body: string,
  policy: CallbackPolicy,
): Promise<number> {
  const lookup = guardedLookup(policy, url);
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const request = send(
      url,
      {
        method: "POST",
        headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
        ...(lookup ? { lookup } : {}),
      },
      (response) => {
        clearTimeout(timer);
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    const timer = setTimeout(() => request.destroy(new Error("timed out")), POST_TIMEOUT_MS);
    request.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    request.end(body);
  });
}
