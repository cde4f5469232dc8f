/** A run's steps as a graph, every edge pointing right; a step's condition, and whether it held. */

import type { RunEvent as RunEventOfRun, RunStepSummary } from "@workflow/work/runs-requests";
import { html } from "htm/preact";

/** A step as the run's page draws it: the service's summary of it (GET /runs/:id). */
export type Step = Pick<
  RunStepSummary,
  "name" | "needs" | "if" | "works" | "state" | "counts" | "cached" | "grows" | "grown"
>;

/** What the run's events say of a step's release: the last of these decides. */
export type RunEvent = Pick<RunEventOfRun, "kind" | "step">;

const W = 200;
const H = 58;
/** A box with a condition line. */
const H_IF = 74;
/** The most of a condition the box shows; its title holds all of it. */
const IF_SHOWN = 22;
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

type Held = "yes" | "no" | "pending";

/**
 * Whether a step's condition held when its needs ended: it was started, or skipped without
 * running (the service evaluates `if:` then, and says which in the run's events).
 */
export function heldOf(step: string, events: RunEvent[]): Held {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i] as RunEvent;
    if (e.step !== step) continue;
    if (e.kind === "step started") return "yes";
    if (e.kind === "step skipped") return "no";
  }
  return "pending";
}

/** The condition a step's box shows: its own `if:`, or the default one when it did not hold. */
function conditionOf(s: Step, held: Held): string | undefined {
  const cond = s.if ?? "success()";
  if (cond !== "success()" || (held === "no" && s.needs.length > 0)) return cond;
  return undefined;
}

const MARK: Record<Held, string> = { yes: "✓", no: "✗", pending: "…" };
const SAID: Record<Held, string> = {
  yes: "held",
  no: "did not hold: skipped",
  pending: "not evaluated yet",
};

const shortened = (text: string) =>
  text.length > IF_SHOWN ? `${text.slice(0, IF_SHOWN - 1)}…` : text;

/**
 * A run's steps as an SVG graph: boxes coloured by state, with their works' counts; edges are
 * needs, dashed into a step with a condition, whose box says it and whether it held.
 */
export function RunGraph({ steps, events = [] }: { steps: Step[]; events?: RunEvent[] }) {
  const depth = columns(steps);
  const held = new Map(steps.map((s) => [s.name, heldOf(s.name, events)]));
  const conds = new Map(steps.map((s) => [s.name, conditionOf(s, held.get(s.name) ?? "pending")]));
  // One height for every box, so the rows stay aligned.
  const h = [...conds.values()].some(Boolean) ? H_IF : H;
  const rows = new Map<number, number>();
  const at = new Map<string, { x: number; y: number }>();
  for (const s of steps) {
    const col = depth.get(s.name) ?? 0;
    const row = rows.get(col) ?? 0;
    rows.set(col, row + 1);
    at.set(s.name, { x: 10 + col * (W + GAP_X), y: 10 + row * (h + GAP_Y) });
  }
  const width = 20 + (Math.max(0, ...depth.values()) + 1) * (W + GAP_X) - GAP_X;
  const height = 20 + Math.max(1, ...rows.values()) * (h + GAP_Y) - GAP_Y;
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
          class=${conds.get(s.name) ? "edge conditional" : "edge"}
          x1=${from.x + W}
          y1=${from.y + h / 2}
          x2=${to.x}
          y2=${to.y + h / 2}
        />`;
      }),
    )}
    ${steps.map((s) => {
      const p = at.get(s.name) ?? { x: 0, y: 0 };
      const counts = [
        ...Object.entries(s.counts ?? {})
          .filter(([, n]) => n > 0)
          .map(([status, n]) => `${n} ${status}`),
        ...(s.cached ? [`${s.cached} cached`] : []),
      ].join(", ");
      const cond = conds.get(s.name);
      const state = held.get(s.name) ?? "pending";
      const said = cond ? `; if ${cond}: ${SAID[state]}` : "";
      return html`<g class=${`step s-${s.state}`} data-step=${s.name} data-state=${s.state}>
        <rect x=${p.x} y=${p.y} width=${W} height=${h} rx="6" />
        <text x=${p.x + 8} y=${p.y + 18} class="name">${s.name}</text>
        <text x=${p.x + 8} y=${p.y + 34} class="state">${s.state} · ${size(s)}</text>
        <text x=${p.x + 8} y=${p.y + 50} class="counts">${counts}</text>
        ${
          cond
            ? html`<text
                x=${p.x + 8}
                y=${p.y + 66}
                class=${`cond held-${state}`}
                data-test="condition"
                data-held=${state}
              >
                ${MARK[state]} if ${shortened(cond)}
              </text>`
            : null
        }
        <title>${s.name}: ${s.state}${counts ? ` (${counts})` : ""}${s.grows && !s.grown ? `, ${s.grows}` : ""}${said}</title>
      </g>`;
    })}
  </svg>`;
}
