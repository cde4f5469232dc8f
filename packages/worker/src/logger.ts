/** The worker's own log, on stderr so that stdout stays for what commands print. */

import { pino } from "pino";

export type Logger = pino.Logger;

/**
 * The worker's own log, on stderr so that stdout stays for what commands print: pretty when a
 * person watches the terminal, JSON lines otherwise (for a log collector).
 */
export function createLogger(
  level = process.env.LOG_LEVEL ?? "info",
  { pretty = Boolean(process.stderr.isTTY) }: { pretty?: boolean } = {},
): Logger {
  if (pretty && level !== "silent")
    return pino({
      level,
      base: { pid: process.pid },
      transport: { target: "pino-pretty", options: { destination: 2, colorize: true } },
    });
  return pino({ level, base: { pid: process.pid } }, pino.destination(2));
}
