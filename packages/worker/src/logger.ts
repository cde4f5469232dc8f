import { pino } from "pino";

export type Logger = pino.Logger;

/** JSON logs on stderr, so that stdout stays for what commands print. */
export function createLogger(level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ level, base: { pid: process.pid } }, pino.destination(2));
}
