/**
 * A uPlot line chart of server-downsampled series. Dragging across it does not zoom locally: it
 * reports the picked time range (`onZoom`), the explorer asks the server again for that range at
 * the chart's width, and the chart shows the finer answer. Times are UTC, as the API's.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { html } from './html.js';

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];
const HEIGHT = 360;

function columns(data) {
  return [data.x, ...data.y];
}

export function Chart({ data, range, onZoom }) {
  const box = useRef(null);
  const plot = useRef(null);
  const zoom = useRef(onZoom);
  zoom.current = onZoom;
  const key = data.variables.join('\n');

  useEffect(() => {
    const options = {
      width: box.current.clientWidth || 800,
      height: HEIGHT,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
      scales: { x: { time: true } },
      // Each variable on its own y scale (a pump's rpm and a boiler's bar share no range); the
      // first two get an axis, left and right, in their colour.
      series: [
        { label: 'time (UTC)' },
        ...data.variables.map((v, i) => ({
          label: v,
          scale: `y${i}`,
          stroke: COLORS[i % COLORS.length],
          width: 1.5,
          spanGaps: false,
        })),
      ],
      axes: [
        {},
        ...data.variables.slice(0, 2).map((v, i) => ({
          scale: `y${i}`,
          side: i === 0 ? 3 : 1,
          stroke: COLORS[i],
          label: v,
          grid: { show: i === 0 },
        })),
      ],
      cursor: { drag: { x: true, y: false, setScale: false } },
      hooks: {
        setSelect: [
          (u) => {
            if (u.select.width < 3) return;
            const from = u.posToVal(u.select.left, 'x');
            const to = u.posToVal(u.select.left + u.select.width, 'x');
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            zoom.current(from, to);
          },
        ],
      },
    };
    plot.current = new uPlot(options, columns(data), box.current);
    const resize = new ResizeObserver(() => {
      if (box.current) plot.current?.setSize({ width: box.current.clientWidth, height: HEIGHT });
    });
    resize.observe(box.current);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [key]);

  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    u.setData(columns(data), false);
    // Buckets start on multiples of their width: the first may start a little before the range.
    u.setScale('x', { min: Math.min(range.from, data.x[0] ?? range.from), max: range.to });
  }, [data, range.from, range.to]);

  return html`<div class="chart" ref=${box} data-testid="chart"></div>`;
}
