import { LOCK_SECONDS, type Merging, type RunDoc, type RunRef } from "../../store/index.js";
import type { ServiceContext } from "../context.js";
import type { RunLease } from "./lease.js";

export type MergingRun = RunDoc & { merging: Merging };

/** Past the run's lock twice over, a merge whose works are not all stored is no longer storing. */
export const UNDO_AFTER_SECONDS = 2 * LOCK_SECONDS;

/**
 * Finishes a merge recorded on its run (see ./merge.ts), by its own request or, when that was cut
 * short, by the run's next evaluation. Every write can be repeated: the works the merge made are
 * marked, and only the others of a replaced step are cancelled and removed. A merge whose works
 * were not all stored had changed nothing else yet: it is undone, and the run goes on as it was.
 */
export async function finishMerge(
  ctx: ServiceContext,
  lease: RunLease,
  run: MergingRun,
): Promise<"done" | "storing"> {
  const { merging: m, _id: id } = run;
  const { runs, runWorks } = ctx.store;
  const now = ctx.now();
  // Its works are stored before the run lists their pipelines: they are found on the merged run's.
  const pipelines = [...new Set([...run.pipelines, ...m.pipelines])].sort();
  const works: RunRef = { _id: id, pipelines };
  if ((await runWorks.countMerged(works, m.id)) < m.works) {
    // A merger that lost its lock may still be storing them: undone only once it cannot be.
    if (now - m.at < UNDO_AFTER_SECONDS) return "storing";
    await lease.check();
    await runWorks.removeMerged(works, m.id);
    await lease.check();
    await runs.save(
      id,
      lease.lockId,
      {},
      [{ at: now, kind: "steps merge undone", detail: UNDONE }],
      ["merging"],
    );
    return "done";
  }
  for (const name of m.replaced) {
    await lease.check();
    await runWorks.cancel(works, now, name, m.id);
  }
  await lease.check();
  await runWorks.removeSteps(works, m.replaced, m.id);
  ctx.failpoint?.("merge:replaced");
  for (const name of m.again) {
    await lease.check();
    await runWorks.cancel(works, now, name);
  }
  await lease.check();
  await runWorks.rerun(works, { steps: [], failedOnly: false }, m.again);
  const renewed = new Set([...m.added, ...m.replaced, ...m.again]);
  // The steps it keeps as the run has them now.
  const byName = new Map(run.steps.map((s) => [s.name, s]));
  const steps = m.steps.map((s) => (renewed.has(s.name) ? s : (byName.get(s.name) ?? s)));
  await lease.check();
  await runs.save(
    id,
    lease.lockId,
    { steps, config: m.config, pipelines },
    [{ at: now, kind: "steps merged", detail: detailOf(m) }],
    ["merging"],
  );
  return "done";
}

const UNDONE =
  "the service stopped while storing the merged steps' works: nothing of the merge stays; merge the steps again";

function detailOf(m: Merging): string {
  return [
    m.added.length > 0 ? `added ${m.added.join(", ")}` : "",
    m.replaced.length > 0 ? `replaced ${m.replaced.join(", ")}` : "",
    m.again.length > 0 ? `again ${m.again.join(", ")}` : "",
  ]
    .filter(Boolean)
    .join("; ");
}
