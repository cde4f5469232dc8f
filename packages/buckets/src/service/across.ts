/** Claims across several pipelines one pipeline per command, so each claim reaches one shard. */

import type { Query, WorkView } from "../store/index.js";
import type { Claimer } from "./claimer.js";
import type { ServiceContext } from "./context.js";
import { namedPipelines } from "./withdraw.js";

/**
 * Claims one pipeline per command, so that each claim targets the one shard that holds its
 * pipeline (README, Sizing). A claim of several pipelines first reads the next works across them
 * in claim order (nothing claimed), then claims from each pipeline the works that fell to it:
 * across pipelines the order holds as it stood when the claim looked.
 */
export function acrossPipelines(ctx: ServiceContext, claim: Claimer): Claimer {
  return async (query, request) => {
    const names =
      namedPipelines(query.pipeline) ?? (await ctx.store.queuedPipelines(query.pipeline));
    const [only] = names;
    if (names.length <= 1) {
      if (only === undefined) return [];
      return claim(
        typeof query.pipeline === "string" ? query : { ...query, pipeline: only },
        request,
      );
    }
    const now = ctx.now();
    const of = (pipeline: string): Query => ({ ...query, pipeline });
    // One read across them, in claim order (it reaches their shards only): what each one's claim takes.
    const heads = await ctx.store.peek({ ...query, pipeline: { $in: names } }, now, request.count);
    const shares = new Map<string, number>();
    for (const head of heads) shares.set(head.pipeline, (shares.get(head.pipeline) ?? 0) + 1);
    const claimed = (
      await Promise.all([...shares].map(([p, count]) => claim(of(p), { ...request, count })))
    ).flat();
    // Works another claim took meanwhile were replaced by their pipeline's next: those go last.
    const rank = new Map(heads.map((head, i) => [head._id.toHexString(), i]));
    const place = (work: WorkView) => rank.get(work.id) ?? heads.length;
    return claimed.sort((a, b) => place(a) - place(b) || (b.priority ?? 0) - (a.priority ?? 0));
  };
}
