/** The service's logger, and the headers that never reach a log. */

import { pino } from "pino";

export type Logger = pino.Logger;

/**
 * Headers that carry credentials. Each answer's log line carries the request's headers,
 * and a 4xx is exactly when a stranger's token arrives: these never reach a log.
 */
export const REDACTED_HEADERS = [
  "authorization",
  "x-access-token",
  "cookie",
  "proxy-authorization",
];

const REDACT_PATHS = [
  ...REDACTED_HEADERS.map((name) => `req.headers["${name}"]`),
  'res.headers["set-cookie"]',
];

/** JSON logs; pretty ones when a person is watching the terminal. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const pretty = !destination && process.stdout.isTTY && level !== "silent";
  const options: pino.LoggerOptions = {
    level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    ...(pretty ? { transport: { target: "pino-pretty", options: { colorize: true } } } : {}),
  };
  return destination ? pino(options, destination) : pino(options);
}
