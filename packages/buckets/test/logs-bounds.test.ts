import {
  LOG_LINE_OVERHEAD_BYTES,
  MAX_LOG_BYTES_PER_ATTEMPT,
  MAX_LOG_LINES_PER_ATTEMPT,
  MAX_LOG_PAGE_LINES,
} from "@workflow/work";
import { describe, expect, it } from "vitest";
import { QUIET_REAPER, useTestService } from "./support/service.js";
import { claimedWork } from "./support/works.js";

/** What an attempt's logs may cost: what is stored, and what one read answers. */

const { t } = useTestService(import.meta.filename, QUIET_REAPER);

const running = async () => (await claimedWork(t, "bounds")).id;

const line = (text: string) => ({ t: 1, stream: "stdout", text });
async function append(id: string, lines: unknown[]): Promise<void> {
  const answer = await t.call("POST", `/work/${id}/logs?attempt=1`, {
    token: t.tokens.worker,
    body: { lines },
  });
  expect(answer.status).toBe(200);
}

interface Page {
  cut: number;
  lines: { text: string }[];
  next?: string;
}

const page = async (id: string, query = "") =>
  (await t.call("GET", `/work/${id}/logs?format=json${query}`, { token: t.tokens.alice }))
    .body as Page;

async function allPages(id: string, limit: number): Promise<{ pages: Page[]; lines: string[] }> {
  const pages: Page[] = [];
  let after: string | undefined;
  do {
    const got = await page(id, `&limit=${limit}${after ? `&after=${after}` : ""}`);
    pages.push(got);
    after = got.next;
  } while (after && pages.length < 100);
  return { pages, lines: pages.flatMap((p) => p.lines.map((l) => l.text)) };
}

describe("stored", () => {
  it("empty lines count too: an attempt keeps at most MAX_LOG_LINES_PER_ATTEMPT lines, with a cut marker", async () => {
    const id = await running();
    const batches = MAX_LOG_LINES_PER_ATTEMPT / 10_000 + 2;
    for (let n = 0; n < batches; n++) {
      await append(
        id,
        Array.from({ length: 10_000 }, (_, i) => line(i === 0 ? `batch ${n}` : "")),
      );
    }
    const { pages, lines } = await allPages(id, MAX_LOG_PAGE_LINES);
    expect(lines.length).toBeLessThanOrEqual(MAX_LOG_LINES_PER_ATTEMPT);
    expect(lines).toContain(`batch ${batches - 1}`);
    expect(lines).not.toContain("batch 0");
    expect(pages[0]?.cut).toBeGreaterThan(0);
    const text = (await t.call("GET", `/work/${id}/logs`, { token: t.tokens.alice }))
      .body as string;
    expect(text).toMatch(/^\[\.\.\. \d+ bytes of earlier output were cut/);
    expect(text.split("\n").length).toBeLessThanOrEqual(MAX_LOG_LINES_PER_ATTEMPT + 2);
  });

  it("each line costs its overhead: 10 MB of text in short lines is cut where text alone would fit", async () => {
    const id = await running();
    // 986 characters and a newline, 10,000 times: under 10 MB as text, over it with the overhead.
    const size = 986;
    expect(10_000 * (size + 1)).toBeLessThan(MAX_LOG_BYTES_PER_ATTEMPT);
    expect(10_000 * (size + LOG_LINE_OVERHEAD_BYTES)).toBeGreaterThan(MAX_LOG_BYTES_PER_ATTEMPT);
    for (let n = 0; n < 10; n++) {
      await append(
        id,
        Array.from({ length: 1_000 }, (_, i) => line(`${n}:${i}:`.padEnd(size, "x"))),
      );
    }
    const first = await page(id, "&limit=1");
    expect(first.cut).toBeGreaterThan(0);
    expect(first.lines[0]?.text).not.toMatch(/^0:0:/);
  });
});

describe("read", () => {
  it("JSON pages follow each other from `next` to the same lines as the text, in order", async () => {
    const id = await running();
    await append(
      id,
      Array.from({ length: 25 }, (_, i) => line(`a${i}`)),
    );
    await append(
      id,
      Array.from({ length: 10 }, (_, i) => line(`b${i}`)),
    );
    const { pages, lines } = await allPages(id, 7);
    expect(pages.map((p) => p.lines.length)).toEqual([7, 7, 7, 7, 7]);
    expect(pages.at(-1)?.next).toBeUndefined();
    const text = (await t.call("GET", `/work/${id}/logs`, { token: t.tokens.alice }))
      .body as string;
    expect(`${lines.join("\n")}\n`).toBe(text);
    expect(lines.slice(0, 2)).toEqual(["a0", "a1"]);
    expect(lines.slice(-1)).toEqual(["b9"]);
    // Without a limit, one page holds at most MAX_LOG_PAGE_LINES.
    expect((await page(id)).lines).toHaveLength(35);
  });

  it("a bad cursor or limit is a 400 that names it", async () => {
    const id = await running();
    await append(id, [line("x")]);
    for (const query of ["&after=nope", "&limit=0", `&limit=${MAX_LOG_PAGE_LINES + 1}`]) {
      const answer = await t.call("GET", `/work/${id}/logs?format=json${query}`);
      expect(answer.status, query).toBe(400);
      expect(JSON.stringify(answer.body), query).toMatch(/after|limit/);
    }
  });
});
