/**
 * The service's clock: MongoDB's time, kept as an offset measured now and again, so instances
 * agree.
 */

/** How often the offset to MongoDB's clock is measured again. */
const REFRESH_MS = 60_000;

export interface Clock {
  /** Unix seconds on MongoDB's clock. */
  now(): number;
  stop(): void;
}

/**
 * The service's one clock: this machine's time corrected by its offset to MongoDB's clock, which
 * every instance shares. Leases, deadlines and retries stamped by two instances whose own clocks
 * disagree by minutes still agree. `local` is this machine's clock in ms: only tests skew it.
 */
export async function startClock(
  serverTime: () => Promise<{ seconds: number; roundTrip: number }>,
  local: () => number = Date.now,
  onError: (error: unknown) => void = () => undefined,
): Promise<Clock> {
  let offset = 0;
  const measure = async () => {
    const before = local() / 1000;
    const { seconds, roundTrip } = await serverTime();
    // The server read its clock about half-way through the round trip.
    offset = seconds - (before + roundTrip / 2);
  };
  await measure();
  const timer = setInterval(() => measure().catch(onError), REFRESH_MS).unref();
  return {
    now: () => local() / 1000 + offset,
    stop: () => clearInterval(timer),
  };
}
