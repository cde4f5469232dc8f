/**
 * The one way a background task of the service runs: every few seconds, never twice at once,
 * failures emitted.
 */

import type { ServiceContext } from "./context.js";

export interface Periodic {
  /** Stops the timer and waits for a pass in flight. */
  stop(): Promise<void>;
}

/**
 * Runs `pass` every `seconds`, never two at once, for a background task of the service (the
 * reaper, retention, schedules). A failed pass is emitted as `task:error` and the next one runs
 * as planned: background failures are logged, never thrown into the void.
 */
export function every(
  ctx: ServiceContext,
  task: string,
  seconds: number,
  pass: () => Promise<unknown>,
): Periodic {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= pass()
      .then(() => undefined)
      .catch((error: unknown) => {
        ctx.events.emit("task:error", task, error);
      })
      .finally(() => {
        running = undefined;
      });
  }, seconds * 1000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
