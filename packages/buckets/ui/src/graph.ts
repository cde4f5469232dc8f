import type { RunStepSummary } from "@workflow/work/runs-requests";
import { html } from "htm/preact";

/** A step as the run's page draws it: the service's summary of it (GET /runs/:id). */
export type Step = Pick<
  RunStepSummary,
  "name" | "needs" | "works" | "state" | "counts" | "cached" | "grows" | "grown"
>;

const W = 180;
const H = 58;
const GAP_X = 60;
const GAP_Y = 18;

/** Each step's column: one past its deepest need, so every edge points right. */
function columns(steps: Step[]): Map<string, number> {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const depth = new Map<string, number>();
  const visit = (name: string, seen: Set<string>): number => {
    const known = depth.get(name);
    if (known !== undefined) return known;
    if (seen.has(name)) return 0;
    seen.add(name);
    const needs = byName.get(name)?.needs ?? [];
    const d = needs.length === 0 ? 0 : 1 + Math.max(...needs.map((n) => visit(n, seen)));
    depth.set(name, d);
    return d;
  };
  for (const s of steps) visit(s.name, new Set());
  return depth;
}

/** A step's works: their count, or, for one made from results, "fans out" until it is made. */
function size(s: Step): string {
  if (s.grows && !s.grown) return "fans out at run time";
  return `${s.works} works${s.grows ? " (fanned out)" : ""}`;
}

/** A run's steps as an SVG graph: boxes coloured by state, with their works' counts; edges are needs. */
export function RunGraph({ steps }: { steps: Step[] }) {
  const depth = columns(steps);
  const rows = new Map<number, number>();
  const at = new Map<string, { x: number; y: number }>();
  for (const s of steps) {
    const col = depth.get(s.name) ?? 0;
    const row = rows.get(col) ?? 0;
    rows.set(col, row + 1);
    at.set(s.name, { x: 10 + col * (W + GAP_X), y: 10 + row * (H + GAP_Y) });
  }
  const width = 20 + (Math.max(0, ...depth.values()) + 1) * (W + GAP_X) - GAP_X;
  const height = 20 + Math.max(1, ...rows.values()) * (H + GAP_Y) - GAP_Y;
  return html`<svg
    class="graph"
    data-test="graph"
    width=${width}
    height=${height}
    viewBox=${`0 0 ${width} ${height}`}
    role="img"
    aria-label="the run's steps"
  >
    ${steps.flatMap((s) =>
      s.needs.map((n) => {
        const from = at.get(n);
        const to = at.get(s.name);
        if (!from || !to) return null;
        return html`<line
          class="edge"
          x1=${from.x + W}
          y1=${from.y + H / 2}
          x2=${to.x}
          y2=${to.y + H / 2}
        />`;
      }),
    )}
    ${steps.map((s) => {
      const p = at.get(s.name) ?? { x: 0, y: 0 };
      const counts = Object.entries(s.counts ?? {})
        .filter(([, n]) => n > 0)
        .map(([status, n]) => `${n} ${status}`)
        .join(", ");
      return html`<g class=${`step s-${s.state}`} data-step=${s.name} data-state=${s.state}>
        <rect x=${p.x} y=${p.y} width=${W} height=${H} rx="6" />
        <text x=${p.x + 8} y=${p.y + 18} class="name">${s.name}</text>
        <text x=${p.x + 8} y=${p.y + 34} class="state">${s.state} · ${size(s)}</text>
        <text x=${p.x + 8} y=${p.y + 50} class="counts">${counts}</text>
        <title>${s.name}: ${s.state}${counts ? ` (${counts})` : ""}${s.grows && !s.grown ? `, ${s.grows}` : ""}</title>
      </g>`;
    })}
  </svg>`;
}
