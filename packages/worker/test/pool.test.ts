import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fileStamp, WarmPool, type WarmProcess } from "../src/runner/pool.js";

/** The worker's one pool of warm processes, with stand-ins for the processes. */

const dir = mkdtempSync(join(tmpdir(), "pool-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

class Fake implements WarmProcess {
  alive = true;
  ended = false;
  idled = 0;
  readonly loaded = new Map<string, string>();
  constructor(readonly name: string) {}
  idle() {
    this.idled++;
  }
  async end() {
    this.ended = true;
    this.alive = false;
  }
}

const said: { file?: string; msg: string }[] = [];
const logger = {
  info: (fields: { file?: string }, msg: string) => {
    said.push({ ...fields, msg });
  },
};

describe("WarmPool", () => {
  it("gives back the same process for the same key, a new one for another key", () => {
    const pool = new WarmPool(logger);
    const first = pool.take("a", () => new Fake("a1"));
    pool.giveBack("a", first);
    expect(first.idled).toBe(1);
    expect(pool.take("a", () => new Fake("a2"))).toBe(first);
    expect(pool.take("b", () => new Fake("b1")).name).toBe("b1");
  });

  it("one cap over every key: past it, the least recently used process is ended", async () => {
    const pool = new WarmPool(logger, 2);
    const [a, b, c] = [new Fake("a"), new Fake("b"), new Fake("c")];
    pool.giveBack("node", a);
    pool.giveBack("python", b);
    pool.giveBack("node", c);
    expect(pool.size).toBe(2);
    await pool.close();
    expect(a.ended && b.ended && c.ended).toBe(true);
  });

  it("skips a process that died while it waited", () => {
    const pool = new WarmPool(logger);
    const dead = new Fake("dead");
    pool.giveBack("k", dead);
    dead.alive = false;
    expect(pool.take("k", () => new Fake("fresh")).name).toBe("fresh");
  });

  it("replaces a process whose module file changed since it loaded it, and says which", () => {
    const pool = new WarmPool(logger);
    const file = join(dir, "fit.py");
    writeFileSync(file, "v = 1\n");
    const warm = new Fake("warm");
    warm.loaded.set(file, fileStamp(file));
    pool.giveBack("k", warm);
    expect(pool.take("k", () => new Fake("other"))).toBe(warm);
    pool.giveBack("k", warm);
    writeFileSync(file, "v = 22\n");
    expect(pool.take("k", () => new Fake("fresh")).name).toBe("fresh");
    expect(warm.ended).toBe(true);
    expect(said.at(-1)).toMatchObject({ file, msg: expect.stringContaining("changed") });
  });

  it("a pool that holds none ends each process given back", () => {
    const pool = new WarmPool(logger, 0);
    const once = new Fake("once");
    pool.giveBack("k", once);
    expect(once.ended).toBe(true);
    expect(pool.size).toBe(0);
  });
});
