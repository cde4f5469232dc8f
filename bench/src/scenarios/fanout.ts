import { MAX_RUN_WORKS } from "@workflow/work";
import type { Harness } from "../harness.js";
import { type Claimed, fourClaimers, reportDone, runConfig } from "../runs.js";
import { log, median, round } from "../stats.js";

/** A parent, `n` children, a fan-in: the children from the parent's results, or stored whole. */
function config(pipeline: string, n: number, grown: boolean) {
  const matrix = grown
    ? { i: "${{ needs.parent.results.partitions }}" }
    : { i: [...Array(n).keys()] };
  return runConfig(pipeline, [
    { name: "parent", work: { command: ["true"] } },
    {
      name: "children",
      needs: ["parent"],
      matrix,
      work: { command: ["true"], parameters: { i: "${{ matrix.i }}" } },
    },
    {
      name: "fanin",
      needs: ["children"],
      work: {
        command: ["true"],
        parameters: { fanin: true, all: "${{ needs.children.results.ok }}" },
      },
    },
  ]);
}

/**
 * One run: the parent claimed, a worker long-polling for its first child, the clock started when
 * the parent's outcome (with `n` partitions) is sent; then four claimers run the children until
 * one of them claims the fan-in. Milliseconds from the outcome to each claim.
 */
async function once(h: Harness, pipeline: string, n: number, grown: boolean) {
  await h.http("POST", "/runs", { config: config(pipeline, n, grown) });
  const [parent] = await h.http<Claimed[]>("POST", "/work/withdraw?count=1", { pipeline });
  const poller = h.client();
  try {
    const first = poller.http<Claimed | null>("POST", "/work/withdraw?wait=10", { pipeline });
    // The worker waits first, as an idle worker does.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const sent = performance.now();
    await h.http("PUT", "/work", [
      {
        id: parent?.id,
        attempt: parent?.attempt,
        status: "success",
        results: { partitions: [...Array(n).keys()] },
      },
    ]);
    const child = await first;
    const firstChild = performance.now() - sent;
    if (!child) throw new Error("no child was released");
    let fanIn: number | undefined;
    await reportDone(h, [child]);
    await fourClaimers(
      h,
      pipeline,
      (claimed) => {
        if (claimed.some((w) => w.parameters?.fanin)) fanIn ??= performance.now() - sent;
        return fanIn === undefined;
      },
      "&wait=1",
    );
    return { firstChild, fanIn: fanIn as number };
  } finally {
    poller.close();
  }
}

/**
 * #28's measure: a fan-out of as many works as a run holds beside its parent and fan-in (`--quick`:
 * 1,000), made from the parent's results when it ends, against the same shape deposited whole
 * (its children waiting from the start); p50 of parent outcome -> first child claimed and -> the
 * fan-in claimed, and their ratios (grown / whole).
 */
export async function fanOutScenario(h: Harness, quick: boolean, runs: number) {
  const n = quick ? 1_000 : MAX_RUN_WORKS - 2;
  const grown: { firstChild: number; fanIn: number }[] = [];
  const whole: { firstChild: number; fanIn: number }[] = [];
  for (let run = 0; run < runs; run++) {
    grown.push(await once(h, `bench-fanout-grown-${run}`, n, true));
    whole.push(await once(h, `bench-fanout-whole-${run}`, n, false));
  }
  const p50 = (list: typeof grown, k: "firstChild" | "fanIn") => median(list.map((x) => x[k]));
  const figures = {
    works: n,
    runs,
    unit: "ms",
    grown: {
      firstChildP50: round(p50(grown, "firstChild"), 1),
      fanInP50: round(p50(grown, "fanIn"), 1),
    },
    whole: {
      firstChildP50: round(p50(whole, "firstChild"), 1),
      fanInP50: round(p50(whole, "fanIn"), 1),
    },
    ratio: {
      firstChild: round(p50(grown, "firstChild") / p50(whole, "firstChild")),
      fanIn: round(p50(grown, "fanIn") / p50(whole, "fanIn")),
    },
  };
  log(`pipelines fan-out: ${JSON.stringify(figures)}`);
  return figures;
}
