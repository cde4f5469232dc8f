/** Request logs (with a request id, credentials cut) and request metrics, as middleware. */

import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { RequestHandler } from "express";
import { stdSerializers } from "pino";
import { type Logger, REDACTED_HEADERS } from "../logger.js";
import type { Metrics } from "../metrics.js";

const REQUEST_ID = /^[\w.:-]{1,128}$/;

declare module "node:http" {
  interface IncomingMessage {
    /** The caller's X-Request-Id when sane, else a fresh one; echoed in the response. */
    id: string;
    /** Lines that carry the request (credentials cut); made on first use. */
    log: Logger;
  }
}

/** The request as its log lines show it, with credentials cut from a copy of its headers. */
function loggedRequest(req: IncomingMessage): unknown {
  const headers = { ...req.headers };
  for (const name of REDACTED_HEADERS) {
    if (headers[name] !== undefined) headers[name] = "[redacted]";
  }
  return { ...stdSerializers.req(req), headers };
}

/**
 * A request id on every log line, and a line for each answer: debug for 2xx and 3xx, info for
 * 4xx, error for 5xx. A request's logger (its bindings serialized and redacted) is made only when a
 * line is written, which at the usual levels is for few requests; credentials are cut here too,
 * whatever logger the service was given.
 */
export function requestLogger(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.headers["x-request-id"];
    req.id = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader("X-Request-Id", req.id);
    let log: Logger | undefined;
    Object.defineProperty(req, "log", {
      configurable: true,
      get: () => {
        log ??= logger.child({ req: loggedRequest(req) });
        return log;
      },
    });
    const started = performance.now();
    res.once("close", () => {
      const status = res.statusCode;
      const level = status >= 500 ? "error" : status >= 400 ? "info" : "debug";
      if (!logger.isLevelEnabled(level)) return;
      const failed = status >= 500 ? { err: new Error(`failed with status code ${status}`) } : {};
      req.log[level](
        {
          res: stdSerializers.res(res),
          responseTime: Math.round(performance.now() - started),
          ...failed,
        },
        status >= 500 ? "request errored" : "request completed",
      );
    });
    next();
  };
}

/** Request duration by route pattern (not raw path, which would explode the label set). */
export function requestMetrics(metrics: Metrics): RequestHandler {
  return (req, res, next) => {
    const end = metrics.requestDuration.startTimer();
    res.on("finish", () => {
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : "unmatched";
      end({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  };
}
