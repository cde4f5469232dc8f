/** MongoDB's clock, the one every instance reads. */

import type { Db } from "mongodb";

/**
 * MongoDB's own time, in unix seconds, and how long asking took. Every instance reads the same
 * server's clock, so leases and deadlines never depend on which instance's clock is right.
 */
export async function serverTime(db: Db): Promise<{ seconds: number; roundTrip: number }> {
  const asked = Date.now();
  const hello = await db.admin().command({ hello: 1 });
  const roundTrip = (Date.now() - asked) / 1000;
  return { seconds: (hello.localTime as Date).getTime() / 1000, roundTrip };
}
