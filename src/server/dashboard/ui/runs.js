/** The server's schedules (when it has any), then pipeline runs of an environment, newest first, with their steps and errors. */
import { useState } from 'preact/hooks';
import { withQuery } from './api.js';
import { bytes, count, duration, when } from './format.js';
import { html } from './html.js';
import { ENVIRONMENTS, ErrorBox, Loading, Table, Tabs, useApi, useInterval } from './widgets.js';

const REFRESH_MS = 5000;

/** The server's schedules with their next tick and last run; nothing when it has none. */
function Schedules() {
  const { data, error, reload } = useApi('api/schedules');
  useInterval(reload, REFRESH_MS);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data || data.schedules.length === 0) return null;
  return html`<section class="schedules" data-testid="schedules">
    <h3>Schedules</h3>
    <${Table}
      columns=${[
        ['schedule', (s) => html`<span class="mono">${s.name}</span>`],
        ['cron', (s) => html`<span class="mono">${s.cron}</span> <span class="muted">${s.timezone}</span>`],
        ['runs', (s) => `${s.mode} · ${s.env}`],
        [
          'next run',
          (s) => (s.state === 'running' ? html`<span class="badge idle">running</span>` : when(s.nextRunAt)),
        ],
        [
          'last run',
          (s) =>
            s.lastRun
              ? html`<span class=${s.lastRun.outcome === 'succeeded' ? 'badge ok' : 'badge bad'}>${s.lastRun.outcome === 'succeeded' ? 'ok' : (s.lastRun.error?.code ?? 'failed')}</span> ${when(s.lastRun.finishedAt)}`
              : '—',
        ],
        [
          'ok / failed / skipped',
          (s) => `${count(s.counts.succeeded)} / ${count(s.counts.failed)} / ${count(s.counts.skipped)}`,
          'num',
        ],
      ]}
      rows=${data.schedules}
      rowKey=${(s) => s.name}
    />
  </section>`;
}

function Steps({ run }) {
  return html`<div class="steps" data-run=${run.id}>
    <h3>Run ${run.id} <span class=${run.success ? 'badge ok' : 'badge bad'}>${run.success ? 'succeeded' : 'failed'}</span></h3>
    <p class="muted">${run.mode} · ${run.env} · by ${run.username ?? 'unknown'}${run.trigger ? ` · ${run.trigger}` : ''} · started ${when(run.startedAt)} · ${duration(run.durationMs)}</p>
    ${run.error ? html`<div class="error"><strong>${run.error.code}</strong> ${run.error.message}</div>` : null}
    <${Table}
      columns=${[
        ['step', (s) => s.step],
        [
          'status',
          (s) =>
            html`<span class=${`badge ${s.status === 'ok' ? 'ok' : s.status === 'failed' ? 'bad' : 'idle'}`}>${s.status}</span>`,
        ],
        ['files', (s) => count(s.files), 'num'],
        ['rows', (s) => count(s.rows), 'num'],
        ['bytes', (s) => bytes(s.bytes), 'num'],
        ['time', (s) => duration(s.durationMs), 'num'],
        [
          'notes and errors',
          (s) => html`${s.note ? html`<div class="muted">${s.note}</div>` : null}
          ${s.errors.map((e) => html`<div class="error-line">${e}</div>`)}`,
        ],
      ]}
      rows=${run.steps}
    />
  </div>`;
}

export function RunsView() {
  const [env, setEnv] = useState('dev');
  const [picked, setPicked] = useState(null);
  const { data, error, loading } = useApi(withQuery('api/runs', { env, limit: 50 }));
  const pick = (e) => {
    setEnv(e);
    setPicked(null);
  };
  const run = data?.runs.find((r) => r.id === picked) ?? data?.runs[0];
  return html`<div class="view" data-testid="runs-view">
    <h2>Pipeline runs</h2>
    <${Schedules} />
    <${Tabs} label="environment" options=${ENVIRONMENTS} value=${env} onChange=${pick} />
    ${error ? html`<${ErrorBox} error=${error} />` : null}
    ${
      loading || !data
        ? html`<${Loading} what="runs" />`
        : html`<div>
          <${Table}
            columns=${[
              ['run', (r) => html`<span class="mono">${r.id}</span>`],
              ['mode', (r) => r.mode],
              ['started by', (r) => r.trigger ?? '—'],
              ['started', (r) => when(r.startedAt)],
              ['time', (r) => duration(r.durationMs), 'num'],
              [
                'result',
                (r) =>
                  html`<span class=${r.success ? 'badge ok' : 'badge bad'}>${r.success ? 'ok' : (r.error?.code ?? 'failed')}</span>`,
              ],
            ]}
            rows=${data.runs}
            rowKey=${(r) => r.id}
            selected=${run?.id}
            onRowClick=${(r) => setPicked(r.id)}
            empty=${`No pipeline runs recorded in ${env}.`}
          />
          ${run ? html`<${Steps} key=${run.id} run=${run} />` : null}
        </div>`
    }
  </div>`;
}
