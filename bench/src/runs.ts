import type { Harness } from "./harness.js";

/** Runs as the scenarios drive them: their configs, and claimers that report their works at once. */

/** What a claim answers, as far as the scenarios read it. */
export type Claimed = { id: string; attempt: number; parameters?: Record<string, unknown> };

/** How many works a claimer asks for in one request. */
export const CLAIM = 100;

/** A version 2 config of `steps` on site "local", with `extra` beside its pipeline. */
export const runConfig = (
  pipeline: string,
  steps: Record<string, unknown>[],
  extra: Record<string, unknown> = {},
) => ({ version: "2", name: pipeline, defaults: { site: "local" }, ...extra, pipeline: { steps } });

/** A matrix step of `n` no-op works and its fan-in of their results `ok`. */
export const manyThenFanIn = (pipeline: string, n: number, extra: Record<string, unknown> = {}) =>
  runConfig(
    pipeline,
    [
      {
        name: "many",
        matrix: { i: [...Array(n).keys()] },
        work: { command: ["true"], parameters: { i: "${{ matrix.i }}" } },
      },
      {
        name: "fanin",
        needs: ["many"],
        work: { command: ["true"], parameters: { all: "${{ needs.many.results.ok }}" } },
      },
    ],
    extra,
  );

/** Reports `works` successes with results `{ ok: 1 }`, in one request. */
export const reportDone = (h: Harness, works: Claimed[]) =>
  h.http(
    "PUT",
    "/work",
    works.map((w) => ({ id: w.id, attempt: w.attempt, status: "success", results: { ok: 1 } })),
  );

/**
 * Four claimers at once, each claiming `CLAIM` works of `pipeline` a request (`query` added to
 * the claim's) and reporting them done, for as long as `goOn` says of each batch as it is
 * claimed (before it is reported).
 */
export async function fourClaimers(
  h: Harness,
  pipeline: string,
  goOn: (claimed: Claimed[]) => boolean | Promise<boolean>,
  query = "",
): Promise<void> {
  const claimer = async () => {
    for (;;) {
      const claimed = await h.http<Claimed[]>("POST", `/work/withdraw?count=${CLAIM}${query}`, {
        pipeline,
      });
      const more = await goOn(claimed);
      if (claimed.length > 0) await reportDone(h, claimed);
      if (!more) return;
    }
  };
  await Promise.all([claimer(), claimer(), claimer(), claimer()]);
}
