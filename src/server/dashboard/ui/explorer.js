/**
 * Time-series explorer: pick a store, variables, a range and an aggregate; the chart draws what
 * the server downsampled to about one bucket per pixel, and dragging across it zooms in by asking
 * the server again for the narrower range.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { withQuery } from './api.js';
import { Chart } from './chart.js';
import { count, duration, when } from './format.js';
import { html } from './html.js';
import { ErrorBox, Loading, useApi } from './widgets.js';

const AGGREGATES = ['avg', 'min', 'max', 'first', 'last', 'sum', 'count'];

const iso = (seconds) => new Date(seconds * 1000).toISOString();

function parseTime(text) {
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}

function RangeForm({ range, full, onRange }) {
  const [from, setFrom] = useState(iso(range.from));
  const [to, setTo] = useState(iso(range.to));
  const [problem, setProblem] = useState(null);
  useEffect(() => {
    setFrom(iso(range.from));
    setTo(iso(range.to));
  }, [range.from, range.to]);
  const apply = (event) => {
    event.preventDefault();
    const f = parseTime(from);
    const t = parseTime(to);
    if (f === undefined || t === undefined || t <= f) {
      setProblem('Give two ISO 8601 times (UTC unless an offset is given), the second after the first.');
      return;
    }
    setProblem(null);
    onRange({ from: f, to: t });
  };
  const last = (seconds) => onRange({ from: Math.max(full.from, full.to - seconds), to: full.to });
  return html`<form class="range" onSubmit=${apply}>
    <label>from <input name="from" value=${from} onInput=${(e) => setFrom(e.target.value)} spellcheck="false" /></label>
    <label>to <input name="to" value=${to} onInput=${(e) => setTo(e.target.value)} spellcheck="false" /></label>
    <button type="submit">Apply</button>
    <span class="presets">
      <button type="button" class="small" onClick=${() => onRange(full)}>All data</button>
      <button type="button" class="small" onClick=${() => last(86_400)}>Last day</button>
      <button type="button" class="small" onClick=${() => last(3_600)}>Last hour</button>
    </span>
    ${problem ? html`<div class="error">${problem}</div>` : null}
  </form>`;
}

function Series({ store, variables, range, agg, width, onZoom }) {
  const queries = useRef(0);
  const path = withQuery(`api/ts/${encodeURIComponent(store)}/series`, {
    variable: variables,
    from: Math.floor(range.from * 1000),
    to: Math.ceil(range.to * 1000),
    width,
    agg,
  });
  const started = useRef(0);
  const [ms, setMs] = useState(null);
  useEffect(() => {
    queries.current += 1;
    started.current = performance.now();
  }, [path]);
  const { data, error, loading } = useApi(path);
  useEffect(() => {
    if (data) setMs(Math.round(performance.now() - started.current));
  }, [data]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Loading} what="the series" />`;
  return html`<div>
    <p class="muted" data-testid="series-info" data-every=${data.everyMs} data-queries=${queries.current} data-loading=${loading}>
      ${count(data.points)} points in ${count(data.x.length)} buckets of ${duration(data.everyMs)} (${data.agg})${' · '}
      ${when(data.from * 1000)} → ${when(data.to * 1000)}${' · '}answered in ${ms ?? '…'} ms · drag across the chart to zoom in
    </p>
    <${Chart} data=${data} range=${range} onZoom=${onZoom} />
  </div>`;
}

function StoreExplorer({ store }) {
  const { data, error } = useApi(`api/ts/${encodeURIComponent(store)}`);
  const [picked, setPicked] = useState(null);
  const [range, setRange] = useState(null);
  const [agg, setAgg] = useState('avg');
  const [width, setWidth] = useState(0);
  const box = useRef(null);
  useEffect(() => {
    if (box.current) setWidth(Math.min(4000, Math.max(100, Math.round(box.current.clientWidth))));
  }, [data]);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Loading} what=${store} />`;
  const { stats, variables } = data;
  if (!stats.minTimestamp) return html`<p class="muted">Store ${store} holds no points yet.</p>`;
  const full = {
    from: Date.parse(stats.minTimestamp) / 1000,
    to: Date.parse(stats.maxTimestamp) / 1000 + 1e-6,
  };
  const chosen = picked ?? variables.slice(0, 2);
  const shown = range ?? full;
  const toggle = (v) => setPicked(chosen.includes(v) ? chosen.filter((x) => x !== v) : [...chosen, v]);
  return html`<div ref=${box}>
    <p class="muted">
      ${count(stats.segmentPoints + stats.bufferedPoints)} points of ${count(stats.variables)} variables,${' '}
      ${when(stats.minTimestamp)} → ${when(stats.maxTimestamp)}
    </p>
    <div class="variables">
      ${variables.map(
        (v) =>
          html`<label class="check"><input type="checkbox" checked=${chosen.includes(v)} onChange=${() => toggle(v)} data-variable=${v} /> ${v}</label>`,
      )}
    </div>
    <div class="controls">
      <label>aggregate <select value=${agg} onChange=${(e) => setAgg(e.target.value)}>
        ${AGGREGATES.map((a) => html`<option value=${a}>${a}</option>`)}
      </select></label>
      <button type="button" class="small" disabled=${!range} onClick=${() => setRange(null)}>Reset zoom</button>
    </div>
    <${RangeForm} range=${shown} full=${full} onRange=${setRange} />
    ${
      chosen.length === 0 || width === 0
        ? html`<p class="muted">Pick at least one variable.</p>`
        : html`<${Series} store=${store} variables=${chosen} range=${shown} agg=${agg} width=${width}
          onZoom=${(from, to) => setRange({ from, to })} />`
    }
  </div>`;
}

export function ExplorerView() {
  const { data, error } = useApi('api/ts');
  const [store, setStore] = useState(null);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Loading} what="the time-series stores" />`;
  const shown = store ?? data.stores[0]?.name;
  return html`<div class="view" data-testid="explorer-view">
    <h2>Time series</h2>
    ${
      data.stores.length === 0
        ? html`<p class="muted">No time-series store yet: write points to /api/v2/write or /api/ts/&lt;store&gt;/points.</p>`
        : html`<div>
          <label>store <select value=${shown} onChange=${(e) => setStore(e.target.value)} data-testid="store-select">
            ${data.stores.map((s) => html`<option value=${s.name}>${s.name}</option>`)}
          </select></label>
          <${StoreExplorer} key=${shown} store=${shown} />
        </div>`
    }
  </div>`;
}
