import { MAX_RUN_WORKS, RunOutputsParamsSchema, type WorkOutputs } from "@workflow/work";
import type { Principal } from "../../auth/tokens.js";
import { invalid, refuse } from "../../errors.js";
import type { ObjectId } from "../../store/ids.js";
import { ofRun, type WorkDoc } from "../../store/index.js";
import type { ServiceContext } from "../context.js";
import { parseWith } from "../validate.js";
import { readableRun } from "./access.js";
import { summaryOf } from "./summary.js";

const PROJECTION: Record<string, 0 | 1> = {
  step: 1,
  index: 1,
  matrix: 1,
  status: 1,
  results: 1,
  products: 1,
  plots: 1,
};

function outputsOf(doc: Partial<WorkDoc>): WorkOutputs {
  return {
    id: doc._id?.toHexString() ?? "",
    status: doc.status as WorkOutputs["status"],
    ...(doc.matrix ? { matrix: doc.matrix } : {}),
    ...(doc.results ? { results: doc.results } : {}),
    ...(doc.products?.length ? { products: doc.products } : {}),
    ...(doc.plots?.length ? { plots: doc.plots } : {}),
  };
}

/**
 * GET /runs/:id/outputs: each step's works with their results, products and plots, steps in the
 * run's order and works in matrix order. Read one work at a time and refused with a 413 once past
 * `maxBytes`, as /view is: a run of many large results is asked for step by step.
 */
export async function runOutputs(
  ctx: ServiceContext,
  principal: Principal,
  id: ObjectId,
  params: unknown,
  maxBytes: number,
): Promise<string> {
  const run = await readableRun(ctx, principal, id);
  const { step } = parseWith(RunOutputsParamsSchema, params, "query");
  const names = run.steps.map((s) => s.name);
  if (step !== undefined && !names.includes(step)) {
    throw invalid(
      `step: run ${id.toHexString()} has no step "${step}"; its steps are ${names.join(", ")}`,
    );
  }
  const summary = summaryOf(run);
  const byStep = new Map<string, { index: number; part: string }[]>(names.map((n) => [n, []]));
  let bytes = 0;
  // Works are stored in the run's step order, so _id order is also each step's matrix order.
  const docs = ctx.store.find(
    { ...ofRun(run), ...(step === undefined ? {} : { step }) },
    { projection: PROJECTION, limit: MAX_RUN_WORKS },
  );
  for await (const doc of docs) {
    const part = JSON.stringify(outputsOf(doc));
    bytes += Buffer.byteLength(part) + 1;
    if (bytes > maxBytes) {
      throw refuse(
        "answer_too_large",
        `the run's outputs are over ${+(maxBytes / 1024 / 1024).toFixed(2)} MB: ask for one step at a time (?step=NAME, workflow pipeline outputs RUN --step NAME)`,
      );
    }
    byStep.get(doc.step as string)?.push({ index: doc.index ?? 0, part });
  }
  const steps = summary.steps
    .filter((s) => step === undefined || s.name === step)
    .map((s) => {
      const works = (byStep.get(s.name) ?? []).sort((a, b) => a.index - b.index);
      return `{"name":${JSON.stringify(s.name)},"state":${JSON.stringify(s.state)},"works":[${works.map((w) => w.part).join(",")}]}`;
    });
  const head = { id: summary.id, name: summary.name, status: summary.status };
  return `${JSON.stringify(head).slice(0, -1)},"steps":[${steps.join(",")}]}`;
}
