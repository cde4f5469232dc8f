/** Request logs (with a request id, credentials cut) and request metrics, as middleware. */

import { randomUUID } from "node:crypto";
import type { RequestHandler } from "express";
import { stdSerializers } from "pino";
import { pinoHttp } from "pino-http";
import { type Logger, REDACTED_HEADERS } from "../logger.js";
import type { Metrics } from "../metrics.js";

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * A request id on every log line (the caller's X-Request-Id when sane), echoed in the response.
 * Credentials are cut from the logged headers here too, whatever logger the service was given.
 */
export function requestLogger(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    serializers: {
      // A copy: the serialized request shares its headers object with the live request.
      req: stdSerializers.wrapRequestSerializer((req) => {
        const headers = { ...req.headers };
        for (const name of REDACTED_HEADERS) {
          if (headers[name] !== undefined) headers[name] = "[redacted]";
        }
        req.headers = headers;
        return req;
      }),
    },
    genReqId(req, res) {
      const given = req.headers["x-request-id"];
      const id = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
      res.setHeader("X-Request-Id", id);
      return id;
    },
    customLogLevel(_req, res, error) {
      if (error || res.statusCode >= 500) return "error";
      return res.statusCode >= 400 ? "info" : "debug";
    },
  });
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
