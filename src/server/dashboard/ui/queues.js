/**
 * Pollers and queues of the service, refreshed every 5 s: poller settings and the process's
 * counters with their rates, objects that failed with their error reports, queue counts and rates,
 * and dead-lettered jobs with their errors and a retry button (admin scope).
 */
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { cell, count, duration, rate, when } from './format.js';
import { html } from './html.js';
import { ErrorBox, Loading, Table, useApi, useInterval } from './widgets.js';

const REFRESH_MS = 5000;

function Counter({ label, value, perSecond, testid }) {
  return html`<div class="stat" data-testid=${testid}>
    <div class="stat-value">${count(value)}</div>
    <div class="stat-label">${label}${perSecond === undefined ? '' : html` · <span class="muted">${rate(perSecond)}</span>`}</div>
  </div>`;
}

function FailedObjects({ poller }) {
  const { data, error, reload } = useApi(`api/pollers/${poller.id}/failed?limit=50`);
  useInterval(reload, REFRESH_MS);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return null;
  return html`<div data-testid="failed-objects">
    <h4>Failed objects of ${poller.id} (${count(data.total)}) <span class="muted small">in ${poller.failedPrefix}</span></h4>
    <${Table}
      columns=${[
        ['object', (f) => html`<span class="mono">${f.key}</span>`],
        ['error', (f) => html`${f.code ? html`<b>${f.code}</b> ` : null}${f.message}`],
        ['line/row', (f) => f.line ?? f.row ?? '—', 'num'],
        ['failed', (f) => when(f.failedAt)],
      ]}
      rows=${data.objects}
      rowKey=${(f) => f.key}
      empty="No object failed."
    />
  </div>`;
}

function Pollers() {
  const { data, error, reload } = useApi('api/pollers');
  useInterval(reload, REFRESH_MS);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Loading} what="pollers" />`;
  const { counters, rates } = data;
  const r = (name) => (rates ? (rates[name] ?? 0) : undefined);
  return html`<section>
    <h3>Pollers</h3>
    ${
      data.pollers.length === 0
        ? html`<p class="muted">This service runs no poller (serve.pollers in the config).</p>`
        : html`<div>
          <${Table}
            columns=${[
              ['poller', (p) => p.id],
              ['watches', (p) => html`<span class="mono">${p.source}</span>`],
              ['queue', (p) => html`<span class="mono">${p.queue}</span> (${p.queueName})`],
              ['every', (p) => duration(p.intervalMs), 'num'],
              ['job', (p) => p.jobName],
            ]}
            rows=${data.pollers}
            rowKey=${(p) => p.id}
          />
          <p class="muted">Counters of every poller and worker of this process since it started; rates over the last minute.</p>
          <div class="stats">
            <${Counter} label="objects archived" value=${counters.objects.archived ?? 0} perSecond=${r('objects.archived')} testid="objects-archived" />
            <${Counter} label="objects failed" value=${counters.objects.failed ?? 0} perSecond=${r('objects.failed')} testid="objects-failed" />
            <${Counter} label="records queued" value=${counters.records} perSecond=${r('records')} />
            <${Counter} label="jobs done" value=${counters.jobs.completed ?? 0} perSecond=${r('jobs.completed')} />
            <${Counter} label="jobs dead-lettered" value=${counters.jobs.dead ?? 0} perSecond=${r('jobs.dead')} />
            <${Counter} label="queue backlog" value=${counters.backlog} />
            <${Counter} label="poll cycles" value=${counters.polls} />
          </div>
          ${data.pollers.map((p) => html`<${FailedObjects} key=${p.id} poller=${p} />`)}
        </div>`
    }
  </section>`;
}

function DeadJobs({ queue, admin, onChange }) {
  const { data, error, reload } = useApi(`api/queues/${encodeURIComponent(queue.id)}/dead?limit=100`);
  const [outcome, setOutcome] = useState(null);
  useInterval(reload, REFRESH_MS);
  const retry = async (ids) => {
    setOutcome(null);
    try {
      const r = await api(`api/queues/${encodeURIComponent(queue.id)}/retry`, {
        method: 'POST',
        body: ids ? { ids } : {},
      });
      setOutcome({ message: `${r.retried} job${r.retried === 1 ? '' : 's'} moved back to waiting.` });
      reload();
      onChange();
    } catch (e) {
      setOutcome({ error: e });
    }
  };
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return null;
  return html`<div data-testid=${`dead-${queue.id}`}>
    <h4>Dead-lettered jobs of ${queue.id} (${count(data.jobs.length)})
      ${data.jobs.length > 1 ? html` <button type="button" class="small" onClick=${() => retry()}>Retry all</button>` : null}</h4>
    ${outcome?.message ? html`<div class="notice" role="status">${outcome.message}</div>` : null}
    <${ErrorBox} error=${outcome?.error} />
    <div class="wide"><${Table}
      columns=${[
        ['job', (j) => html`<span class="mono">${j.id}</span>`],
        ['name', (j) => j.name],
        ['attempts', (j) => j.attempts, 'num'],
        ['error', (j) => html`<span class="error-line">${j.error}</span>`],
        ['payload', (j) => html`<code class="payload">${cell(j.data)}</code>`],
        [
          '',
          (j) => html`<button type="button" class="small" data-retry=${j.id}
            title=${admin ? 'Move this job back to waiting' : 'Needs a token with the admin scope'}
            onClick=${() => retry([j.id])}>Retry</button>`,
        ],
      ]}
      rows=${data.jobs}
      rowKey=${(j) => j.id}
      empty="No dead-lettered job."
    /></div>
  </div>`;
}

function Queues({ admin }) {
  const { data, error, reload } = useApi('api/queues');
  useInterval(reload, REFRESH_MS);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (!data) return html`<${Loading} what="queues" />`;
  const c = (q, name) => (q.counts ? count(q.counts[name]) : '—');
  const r = (q, name) => (q.rates ? rate(q.rates[name]) : '—');
  return html`<section>
    <h3>Queues</h3>
    <${Table}
      columns=${[
        ['queue', (q) => q.id],
        ['backend', (q) => html`${q.kind} <span class="mono muted">${q.target}</span>`],
        ['waiting', (q) => c(q, 'waiting'), 'num'],
        ['active', (q) => c(q, 'active'), 'num'],
        ['delayed', (q) => c(q, 'delayed'), 'num'],
        ['completed', (q) => c(q, 'completed'), 'num'],
        ['done/s', (q) => r(q, 'completed'), 'num'],
        ['dead', (q) => (q.error ? html`<span class="error-line">${q.error}</span>` : c(q, 'dead')), 'num'],
        ['dead/s', (q) => r(q, 'dead'), 'num'],
      ]}
      rows=${data.queues}
      rowKey=${(q) => q.id}
      empty="This service uses no queue (no poller or worker in serve: of the config)."
    />
    ${admin ? null : html`<p class="muted">Retrying jobs needs a token with the admin scope.</p>`}
    ${data.queues.filter((q) => !q.error).map((q) => html`<${DeadJobs} key=${q.id} queue=${q} admin=${admin} onChange=${reload} />`)}
  </section>`;
}

export function QueuesView({ scopes }) {
  return html`<div class="view" data-testid="queues-view">
    <h2>Pollers & queues</h2>
    <${Pollers} />
    <${Queues} admin=${scopes.includes('admin')} />
  </div>`;
}
