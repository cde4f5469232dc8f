/** Waiting on a condition, never for a fixed time: the one poll every test uses. */

/** Polls `check` until it returns a value that is not undefined, or fails after `ms`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  ms = 20_000,
  every = 100,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}

/** What `probe` answers once `check` holds for it, polled every 50 ms, or a failure after `ms`. */
export async function until<T>(
  probe: () => Promise<T>,
  check: (value: T) => boolean,
  ms = 60_000,
): Promise<T> {
  return eventually(
    async () => {
      const value = await probe();
      return check(value) ? value : undefined;
    },
    ms,
    50,
  );
}
