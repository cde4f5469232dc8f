/** The dashboard's per-minute bar chart. */

import { html } from "htm/preact";
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";

/** A small bar chart per minute (uPlot); its data replaced in place on every poll. */
export function MinuteChart({
  title,
  minutes,
  values,
  colour,
}: {
  title: string;
  minutes: number[];
  values: number[];
  colour: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    if (!box.current) return;
    plot.current = new uPlot(
      {
        width: 420,
        height: 140,
        legend: { show: false },
        cursor: { show: true },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [{ space: 60 }, { size: 40 }],
        series: [
          {},
          {
            label: title,
            stroke: colour,
            fill: `${colour}55`,
            paths: uPlot.paths.bars?.({ size: [0.8, 20] }),
            points: { show: false },
          },
        ],
      },
      [[], []],
      box.current,
    );
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [title, colour]);
  useEffect(() => {
    plot.current?.setData([minutes, values]);
  }, [minutes, values]);
  const total = values.reduce((a, b) => a + b, 0);
  return html`<figure class="chart" data-test=${`chart-${title}`}>
    <figcaption>${title}: <strong data-test="total">${total}</strong> in the last hour</figcaption>
    <div ref=${box}></div>
  </figure>`;
}
