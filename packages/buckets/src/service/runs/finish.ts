import { RUN_ENDS, RUN_TRANSITIONS } from "../../run-machine.js";
import type { RunDoc, RunStatus } from "../../store/index.js";
import type { ServiceContext } from "../context.js";
import { deliverRunEnds } from "./deliver.js";

/** Ends a run whose steps all ended: its status, its event, and its callback falls due. */
export async function finishRun(ctx: ServiceContext, run: RunDoc, now: number): Promise<void> {
  // Works skipped because their filled parameters were too large count as failed (since the
  // last rerun): they could not run, and not by anyone's choice.
  const since = run.events.map((e) => e.kind).lastIndexOf("rerun");
  const tooLarge = run.events.slice(since + 1).some((e) => e.kind === "works skipped");
  // As GitHub Actions concludes a workflow: a failure decides, else a step cancelled (its works
  // cancelled by their owner) makes the run cancelled, though nobody cancelled the run itself.
  const failed = tooLarge || run.steps.some((s) => s.outcome === "failure");
  const cancelled = run.steps.some((s) => s.outcome === "cancelled");
  const status: RunStatus = failed ? "failure" : cancelled ? "cancelled" : "success";
  await endRun(ctx, run, status, now);
}

/** Moves a running run to its end (RUN_TRANSITIONS), once whoever calls; its callback and Slack message are sent outside the request. */
export async function endRun(
  ctx: ServiceContext,
  run: RunDoc,
  status: Exclude<RunStatus, "running">,
  now: number,
  detail?: string,
): Promise<boolean> {
  const kind = {
    success: "run succeeded",
    failure: "run failed",
    cancelled: "run cancelled",
    timedout: "run timed out",
  }[status];
  const ending = RUN_TRANSITIONS[RUN_ENDS[status]];
  const set: Partial<RunDoc> = { status: ending.to, finished: now };
  // A cancelled run's steps that had not ended were cancelled with it: their outcome says so.
  if (status === "cancelled" && run.steps?.some((s) => !s.outcome)) {
    set.steps = run.steps.map((s) => (s.outcome ? s : { ...s, outcome: "cancelled" }));
  }
  if (run.callback) set.callback = { url: run.callback.url, due: now, attempts: 0 };
  if (run.slack) set.slack = { target: run.slack.target, due: now, attempts: 0 };
  const event = { at: now, kind, ...(detail ? { detail } : {}) };
  const ended = await ctx.store.runs.setStatus(
    run._id,
    [...ending.from],
    set,
    [event],
    ["creating", "paused"],
  );
  if (ended && (run.callback || run.slack)) void deliverRunEnds(ctx);
  return ended;
}
