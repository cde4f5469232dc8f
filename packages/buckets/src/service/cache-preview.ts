/** A run's cache preview: what POST /runs would reuse and what would run, writing nothing. */

import type { Parent, PreviewAnswer, PreviewWork } from "@workflow/work";
import type { Principal } from "../auth/tokens.js";
import type { WorkDoc } from "../store/index.js";
import { keyAndReuse, lineParents, parentDigests } from "./cache.js";
import type { ServiceContext } from "./context.js";
import { prepare, worksOf } from "./runs/create.js";
import { fillTemplate } from "./runs/fanout.js";
import { hasMatrix } from "./runs/run-steps.js";

/** A step whose works would all come from the cache: what its dependents' keys and fields read. */
interface Predicted {
  matrix: boolean;
  works: { key?: string | undefined; digests?: Record<string, string>; results: unknown }[];
}

/**
 * POST /runs/preview: what POST /runs would do with each work, writing nothing. A step whose
 * needs would all come from the cache is keyed as its release would key it (filled from the
 * results it would be given); any other step's works will run, their keys unknown until their
 * parents end. Checked as POST /runs checks, and searched only within the caller's pipelines.
 */
export async function previewRun(
  ctx: ServiceContext,
  principal: Principal,
  body: unknown,
): Promise<PreviewAnswer> {
  const now = ctx.now();
  // Refused as the start would refuse it: a step that grows is checked (user, pipeline, site)
  // though its works are made only later.
  const { planned, runId } = await prepare(ctx, principal, body, now, "runs");
  const predicted = new Map<string, Predicted>();
  const works: PreviewWork[] = [];
  for (const step of planned.steps) {
    const docs = worksOf(ctx, principal, step, runId, now, 0);
    // A step made from its needs' results has no works before they end: its dependents will run.
    if (step.growth) continue;
    if (!step.needs.every((name) => predicted.has(name))) {
      works.push(...docs.map((d) => ({ step: step.name, index: d.index as number })));
      continue;
    }
    const parents = step.needs.flatMap((name) =>
      (predicted.get(name) as Predicted).works.map((w, index) => ({ ...w, step: name, index })),
    );
    const into = docs.map((doc) => filledFrom(doc, predicted));
    const lines = lineParents(step.needs, parents);
    await keyAndReuse(
      ctx,
      docs.map((doc, i) => ({
        work: { ...doc, ...into[i] },
        into: into[i] as Partial<WorkDoc>,
        parents: lines(doc.origins),
      })),
      parentDigests(step.needs, parents),
      { count: false },
    );
    into.forEach((set, i) => {
      works.push({
        step: step.name,
        index: docs[i]?.index as number,
        key: set.key as string,
        ...(set.cached ? { from: set.cached.from } : {}),
      });
    });
    if (into.every((set) => set.cached)) {
      predicted.set(step.name, {
        matrix: hasMatrix(planned, step.name),
        works: into.map((set) => ({
          key: set.key,
          ...(set.archive?.digests ? { digests: set.archive.digests } : {}),
          results: set.results ?? null,
        })),
      });
    }
  }
  return { name: planned.name, works };
}

/** A waiting work's templated fields as its release would fill them (see runs/release.ts). */
function filledFrom(doc: WorkDoc, predicted: Map<string, Predicted>): Partial<WorkDoc> {
  if (!doc.template) return {};
  const parents = new Map<string, Parent>();
  for (const [name, p] of predicted) {
    parents.set(name, {
      matrix: p.matrix,
      works: p.works.map((w) => ({ status: "success", results: w.results })),
    });
  }
  return fillTemplate(doc.template, parents, doc.origins);
}
