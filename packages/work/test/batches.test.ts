import { describe, expect, it } from "vitest";
import { inBatches } from "../src/index.js";

/** A promise settled from outside, to decide which batch ends first. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("inBatches", () => {
  it("keeps as many batches in flight as asked, and tells them in order whatever order they end in", async () => {
    const pending = new Map<number, ReturnType<typeof deferred<string>>>();
    const told: [string, number[], number][] = [];
    const done = inBatches(
      [1, 2, 3, 4, 5],
      { size: 2, inFlight: 2 },
      (_, at) => {
        const d = deferred<string>();
        pending.set(at, d);
        return d.promise;
      },
      (result, batch, at) => told.push([result, batch, at]),
    );
    await tick();
    expect([...pending.keys()]).toEqual([0, 2]);
    pending.get(2)?.resolve("second");
    await tick();
    // The second is through, but waits for the first; a third starts in its place.
    expect(told).toEqual([]);
    expect([...pending.keys()]).toEqual([0, 2, 4]);
    pending.get(0)?.resolve("first");
    await tick();
    expect(told).toEqual([
      ["first", [1, 2], 0],
      ["second", [3, 4], 2],
    ]);
    pending.get(4)?.resolve("third");
    await done;
    expect(told.map(([result]) => result)).toEqual(["first", "second", "third"]);
  });

  it("starts nothing after a failure, tells what went through, and throws the failure", async () => {
    const pending = new Map<number, ReturnType<typeof deferred<number>>>();
    const told: number[] = [];
    const done = inBatches(
      [0, 1, 2, 3, 4, 5, 6, 7],
      { size: 2, inFlight: 2 },
      (_, at) => {
        const d = deferred<number>();
        pending.set(at, d);
        return d.promise;
      },
      (_, __, at) => told.push(at),
    );
    const outcome = done.catch((error: unknown) => error);
    await tick();
    pending.get(0)?.reject(new Error("refused"));
    await tick();
    // The batch in flight finishes and, having gone through, is told; none is started after.
    pending.get(2)?.resolve(2);
    expect(await outcome).toEqual(new Error("refused"));
    expect(told).toEqual([2]);
    expect([...pending.keys()]).toEqual([0, 2]);
  });

  it("sends nothing for no items", async () => {
    let sent = 0;
    await inBatches(
      [],
      { size: 10, inFlight: 2 },
      async () => sent++,
      () => {},
    );
    expect(sent).toBe(0);
  });
});
