/**
 * CHIME's client (v1.12) sends `query` and `projection` as JSON text in the URL, as its backends
 * take them (read by @workflow/work's JsonParam); this applies a projection, in the few forms its
 * CLI sends.
 */

/**
 * A MongoDB-style projection of top-level keys (`{"a": 0}` hides a, `{"a": 1}` keeps only the
 * listed keys and `id`); a dotted key (`config.name`) keeps or hides its top-level field.
 */
export function project(
  doc: Record<string, unknown>,
  projection: Record<string, unknown>,
): Record<string, unknown> {
  const top = (key: string) => key.split(".")[0] as string;
  const entries = Object.entries(projection);
  const hidden = new Set(entries.filter(([, v]) => v === 0 || v === false).map(([k]) => top(k)));
  const only = new Set(entries.filter(([, v]) => v === 1 || v === true).map(([k]) => top(k)));
  return Object.fromEntries(
    Object.entries(doc).filter(
      ([key]) => !hidden.has(key) && (only.size === 0 || key === "id" || only.has(key)),
    ),
  );
}
