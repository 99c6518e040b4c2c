/** The lake: environments → their datasets → a dataset's schema, first rows and lineage. */
import { useState } from 'preact/hooks';
import { withQuery } from './api.js';
import { bytes, cell, count, when } from './format.js';
import { html } from './html.js';
import { LineagePanel } from './lineage.js';
import { ErrorBox, Loading, Table, useApi } from './widgets.js';

function EnvCards({ environments, env, onPick }) {
  return html`<div class="cards">
    ${environments.map(
      (
        e,
      ) => html`<button type="button" class=${e.env === env ? 'card active' : 'card'} data-env=${e.env} onClick=${() => onPick(e.env)}>
        <div class="card-title">${e.env}</div>
        <div>${count(e.datasets)} datasets · ${count(e.rows)} rows · ${bytes(e.bytes)}</div>
        <div class="muted">${e.version ? `version ${e.version}${e.from ? ` from ${e.from}` : ''}` : 'plain files (no published version)'}</div>
      </button>`,
    )}
  </div>`;
}

function Dataset({ env, path }) {
  const [lineage, setLineage] = useState(false);
  const { data, error, loading } = useApi(withQuery(`api/lake/${env}/dataset`, { path }));
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (loading || !data) return html`<${Loading} what=${path} />`;
  const { preview } = data;
  return html`<section class="dataset" data-dataset=${path}>
    <h3>${env}/${data.path}</h3>
    ${data.description ? html`<p>${data.description}</p>` : null}
    <p class="muted">${count(data.rows)} rows · ${bytes(data.bytes)} · last loaded ${when(data.lastUpdated)}
      ${data.sha256 ? html` · sha256 <code title=${data.sha256}>${data.sha256.slice(0, 12)}…</code>` : null}
      ${data.dependsOn?.length ? ` · depends on ${data.dependsOn.join(', ')}` : ''}</p>
    <button type="button" class="small" data-testid="lineage-toggle" aria-expanded=${lineage} onClick=${() => setLineage(!lineage)}>
      ${lineage ? 'Hide lineage' : 'Lineage'}</button>
    ${lineage ? html`<${LineagePanel} env=${env} path=${data.path} />` : null}
    <div class="split">
      <div>
        <h4>Schema</h4>
        <${Table} columns=${[
          ['column', (c) => c.name],
          ['type', (c) => html`<code>${c.type}</code>`],
        ]} rows=${data.columns} empty="No schema recorded." />
      </div>
      <div class="grow">
        <h4>First ${preview.rows.length} rows</h4>
        <div class="scroll">
          <${Table} columns=${preview.columns.map((c) => [c, (r) => cell(r[c])])} rows=${preview.rows} empty="The dataset has no rows." />
        </div>
      </div>
    </div>
  </section>`;
}

function Datasets({ env }) {
  const [picked, setPicked] = useState(null);
  const { data, error, loading } = useApi(`api/lake/${env}/datasets`);
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (loading || !data) return html`<${Loading} what=${`the datasets of ${env}`} />`;
  return html`<div>
    <${Table}
      columns=${[
        ['dataset', (d) => html`<span class="mono">${d.path}</span>`],
        ['layer', (d) => d.layer],
        ['rows', (d) => count(d.rows), 'num'],
        ['size', (d) => bytes(d.bytes), 'num'],
        ['columns', (d) => d.columns.length, 'num'],
        ['last load', (d) => when(d.lastUpdated)],
      ]}
      rows=${data.datasets}
      rowKey=${(d) => d.path}
      selected=${picked}
      onRowClick=${(d) => setPicked(d.path)}
      empty=${`No datasets in ${env} yet.`}
    />
    ${picked ? html`<${Dataset} key=${picked} env=${env} path=${picked} />` : html`<p class="muted">Pick a dataset to see its schema and first rows.</p>`}
  </div>`;
}

export function LakeView() {
  const [env, setEnv] = useState(null);
  const { data, error, loading } = useApi('api/lake');
  if (error) return html`<${ErrorBox} error=${error} />`;
  if (loading || !data) return html`<${Loading} what="the lake" />`;
  const shown = env ?? data.environments.find((e) => e.datasets > 0)?.env ?? 'dev';
  return html`<div class="view" data-testid="lake-view">
    <h2>Lake <span class="muted small">${data.root}</span></h2>
    <${EnvCards} environments=${data.environments} env=${shown} onPick=${setEnv} />
    <${Datasets} key=${shown} env=${shown} />
  </div>`;
}
