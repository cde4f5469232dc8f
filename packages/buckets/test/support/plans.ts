/** What MongoDB's explain answers, read the way the query-plan tests read it. */

/** Every stage's name in a plan, however nested (inputStage(s), queryPlan, shards...). */
export function stages(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(stages);
  if (typeof node !== "object" || node === null) return [];
  const own =
    typeof (node as { stage?: unknown }).stage === "string"
      ? [(node as { stage: string }).stage]
      : [];
  return [...own, ...Object.values(node).flatMap(stages)];
}
