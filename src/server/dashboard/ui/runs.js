/** Pipeline runs of an environment, newest first, with their steps and errors. */
import { useState } from 'preact/hooks';
import { withQuery } from './api.js';
import { bytes, count, duration, when } from './format.js';
import { html } from './html.js';
import { ENVIRONMENTS, ErrorBox, Loading, Table, Tabs, useApi } from './widgets.js';

function Steps({ run }) {
  return html`<div class="steps" data-run=${run.id}>
    <h3>Run ${run.id} <span class=${run.success ? 'badge ok' : 'badge bad'}>${run.success ? 'succeeded' : 'failed'}</span></h3>
    <p class="muted">${run.mode} · ${run.env} · by ${run.username ?? 'unknown'} · started ${when(run.startedAt)} · ${duration(run.durationMs)}</p>
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
