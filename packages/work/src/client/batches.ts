/** How a client splits a large deposit into requests, and how many it keeps in flight. */

/** Works per request when a client splits a large deposit. */
export const DEPOSIT_BATCH = 1_000;

/**
 * Deposit requests a client keeps in flight. The service checks a whole request before it stores
 * any of it; with a second request in flight it checks that one while MongoDB stores the first,
 * instead of the two taking turns.
 */
export const DEPOSITS_IN_FLIGHT = 2;

export interface BatchOptions {
  /** Items per batch. */
  size: number;
  /** Batches sent at once. */
  inFlight: number;
}

/**
 * Sends `items` in batches, `inFlight` at once, and hands each batch that went through to
 * `onSent` in batch order. After a failure no batch is started; those already sent finish (the
 * ones that go through are still handed over, in order), then the first failure is thrown.
 */
export async function inBatches<T, R>(
  items: readonly T[],
  { size, inFlight }: BatchOptions,
  send: (batch: T[], at: number) => Promise<R>,
  onSent: (result: R, batch: T[], at: number) => void,
): Promise<void> {
  const starts: number[] = [];
  for (let at = 0; at < items.length; at += size) starts.push(at);
  const settled: ({ ok: true; result: R; batch: T[] } | { ok: false } | undefined)[] = [];
  let next = 0;
  let handed = 0;
  let failure: { error: unknown } | undefined;
  const handOver = () => {
    for (let entry = settled[handed]; entry !== undefined; entry = settled[handed]) {
      const at = starts[handed++] as number;
      if (entry.ok) onSent(entry.result, entry.batch, at);
    }
  };
  const lane = async () => {
    while (!failure && next < starts.length) {
      const index = next++;
      const at = starts[index] as number;
      const batch = items.slice(at, at + size);
      try {
        settled[index] = { ok: true, result: await send(batch, at), batch };
      } catch (error) {
        settled[index] = { ok: false };
        failure ??= { error };
      }
      try {
        handOver();
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, inFlight) }, lane));
  if (failure) throw failure.error;
}
