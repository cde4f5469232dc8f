import { describe, expect, it } from "vitest";
import { aWork, useTestService } from "./support/service.js";

const { t } = useTestService(import.meta.filename, {}, { emptied: true });

type Claimed = {
  id: string;
  pipeline: string;
  site: string;
  priority: number;
  creation: number;
  status: string;
};
type Planned = {
  pipeline: string;
  site: string;
  priority: number;
  creation: number;
  tag: string;
  /** Its place in the order the service received the works, set when deposited. */
  received?: number;
};

/** A small seeded generator: a failing order is the same order on the next run. */
function shuffled<T>(items: T[], seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

/**
 * Claim order: priority 5 first, then the order the service received the works. A depositor's
 * own `creation` does not count: backdating it cannot jump the queue.
 */
const claimOrder = (a: Planned, b: Planned) =>
  b.priority - a.priority || (a.received ?? 0) - (b.received ?? 0);

/** Deposits the planned works one small request at a time, in the given (shuffled) order. */
async function deposit(planned: Planned[]): Promise<void> {
  planned.forEach((work, i) => {
    work.received = i;
  });
  for (let i = 0; i < planned.length; i += 7) {
    const body = planned
      .slice(i, i + 7)
      .map(({ tag, received: _received, ...fields }) => aWork({ ...fields, tags: [tag] }));
    const answer = await t.call("POST", "/work", { token: t.tokens.alice, body });
    expect(answer).toMatchObject({ status: 200, body: true });
  }
}

const withdraw = async (filter: object): Promise<Claimed | null> => {
  const answer = await t.call("POST", "/work/withdraw", { token: t.tokens.worker, body: filter });
  expect(answer.status).toBe(200);
  return answer.body as Claimed | null;
};

/** Withdraws until the service answers null; `limit` keeps a broken filter from looping forever. */
async function drain(filter: object, limit = 500): Promise<(Claimed & { tags: string[] })[]> {
  const got: (Claimed & { tags: string[] })[] = [];
  for (let work = await withdraw(filter); work; work = await withdraw(filter)) {
    got.push(work as Claimed & { tags: string[] });
    if (got.length > limit)
      throw new Error(`more than ${limit} works for ${JSON.stringify(filter)}`);
  }
  return got;
}

const tagOf = (work: { tags?: string[] }) => work.tags?.[0];

describe("withdraw order", () => {
  it("claims one site's works by priority, then in the order received, whatever their creation", async () => {
    // Every (site, priority) pair has several creations, and some creations repeat across
    // priorities, so that neither field alone (nor the deposit order) gives the right answer.
    const planned: Planned[] = [];
    for (const site of ["north", "south"]) {
      for (let priority = 1; priority <= 5; priority++) {
        for (const creation of [1_700_000_300.25, 1_700_000_100.5, 1_700_000_200, 1_600_000_000]) {
          const shifted = creation + (site === "south" ? 7 : 0) + priority * 0.001;
          planned.push({
            pipeline: "order",
            site,
            priority,
            creation: shifted,
            tag: `${site}-${priority}-${shifted}`,
          });
        }
      }
    }
    await deposit(shuffled(planned, 20_240_501));

    const north = await drain({ pipeline: "order", site: "north" });
    const expectedNorth = planned.filter((w) => w.site === "north").sort(claimOrder);
    expect(north.map(tagOf)).toEqual(expectedNorth.map((w) => w.tag));
    expect(north.every((w) => w.site === "north" && w.status === "running")).toBe(true);
    expect(new Set(north.map((w) => w.id)).size).toBe(north.length);

    // North is empty now; the south works are all still there, untouched by the north filter.
    expect(await withdraw({ pipeline: "order", site: "north" })).toBeNull();
    const southQueued = await t.call("POST", "/view/count", {
      body: { query: { pipeline: "order", site: "south", status: "queued" } },
    });
    expect(southQueued.body).toBe(20);

    const south = await drain({ pipeline: "order", site: "south" });
    const expectedSouth = planned.filter((w) => w.site === "south").sort(claimOrder);
    expect(south.map(tagOf)).toEqual(expectedSouth.map((w) => w.tag));
    expect(south.every((w) => w.site === "south")).toBe(true);
  });

  it("a site filter never yields another site's work, even when that site holds the best ones", async () => {
    const planned: Planned[] = [
      ...[5, 5, 4].map((priority, i) => ({
        pipeline: "siteonly",
        site: "busy",
        priority,
        creation: 100 + i,
        tag: `busy-${i}`,
      })),
      { pipeline: "siteonly", site: "quiet", priority: 1, creation: 999, tag: "quiet-0" },
    ];
    await deposit(shuffled(planned, 7));
    const quiet = await drain({ pipeline: "siteonly", site: "quiet" });
    expect(quiet.map(tagOf)).toEqual(["quiet-0"]);
    expect(await withdraw({ pipeline: "siteonly", site: "nowhere" })).toBeNull();
    const left = await t.call("POST", "/view/count", {
      body: { query: { pipeline: "siteonly", site: "busy", status: "queued" } },
    });
    expect(left.body).toBe(3);
  });

  it('merges the pipelines of {"$in": [...]} into one claim order and leaves the others alone', async () => {
    const planned: Planned[] = [];
    const pipelines = ["in-a", "in-b", "in-c"];
    pipelines.forEach((pipeline, p) => {
      for (let i = 0; i < 12; i++) {
        const priority = ((i * 7 + p) % 5) + 1;
        const creation = 5_000 + ((i * 13 + p * 5) % 37) + p / 10;
        planned.push({
          pipeline,
          site: i % 3 === 0 ? "west" : "east",
          priority,
          creation,
          tag: `${pipeline}-${i}`,
        });
      }
    });
    await deposit(shuffled(planned, 99));

    // With a site as well: only east works of in-a and in-b, in one merged order.
    const eastAB = await drain({ pipeline: { $in: ["in-a", "in-b"] }, site: "east" });
    const expectedEastAB = planned
      .filter((w) => (w.pipeline === "in-a" || w.pipeline === "in-b") && w.site === "east")
      .sort(claimOrder);
    expect(eastAB.map(tagOf)).toEqual(expectedEastAB.map((w) => w.tag));

    // Without a site: what is left of in-a and in-b (the west works), never in-c's.
    const restAB = await drain({ pipeline: { $in: ["in-b", "in-a", "in-missing"] } });
    const expectedRestAB = planned
      .filter((w) => (w.pipeline === "in-a" || w.pipeline === "in-b") && w.site === "west")
      .sort(claimOrder);
    expect(restAB.map(tagOf)).toEqual(expectedRestAB.map((w) => w.tag));
    expect([...eastAB, ...restAB].every((w) => w.pipeline !== "in-c")).toBe(true);

    const cQueued = await t.call("POST", "/view/count", {
      body: { query: { pipeline: "in-c", status: "queued" } },
    });
    expect(cQueued.body).toBe(12);
    const c = await drain({ pipeline: { $in: ["in-c"] } });
    expect(c.map(tagOf)).toEqual(
      planned
        .filter((w) => w.pipeline === "in-c")
        .sort(claimOrder)
        .map((w) => w.tag),
    );
  });
});
