import { pino } from "pino";

export type Logger = pino.Logger;

/** JSON logs; pretty ones when a person is watching the terminal. */
export function createLogger(level: string): Logger {
  const pretty = process.stdout.isTTY && level !== "silent";
  return pino({
    level,
    ...(pretty ? { transport: { target: "pino-pretty", options: { colorize: true } } } : {}),
  });
}
