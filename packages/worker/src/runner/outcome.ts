/** What a runner answers when a work ends or is stopped, before the worker reports it. */

/** How one run of a work ended, before it is reported. */
export interface Outcome {
  status: "success" | "failure" | "cancelled";
  results?: Record<string, unknown>;
  products?: string[];
  plots?: string[];
  /** What archiving products and plots could not do (the work's outcome stands all the same). */
  archive?: { errors: string[]; digests?: Record<string, string> };
}

/** Why a running work was stopped from outside. */
export type StopReason = "timeout" | "cancel" | "shutdown";

export function stoppedOutcome(
  reason: StopReason,
  timeoutSeconds: number,
  extra: Record<string, unknown> = {},
): Outcome {
  switch (reason) {
    case "timeout":
      return {
        status: "failure",
        results: { ...extra, error: `timed out after ${timeoutSeconds} s` },
      };
    case "cancel":
      return { status: "cancelled", results: { ...extra, error: "cancelled" } };
    case "shutdown":
      return {
        status: "failure",
        results: { ...extra, error: "the worker shut down before the work finished" },
      };
  }
}
