/**
 * A lake file's lineage as an indented tree: upstream, what it was made from (qa file → promoted
 * version → dev file → SQL model and landing files → raw CSV), or downstream, what was built from
 * it. Each file shows its operation, sha256 (short), size, rows and time; a lake file whose bytes
 * no longer match its record, that is missing, or that never landed is marked.
 */
import { useState } from 'preact/hooks';
import { withQuery } from './api.js';
import { bytes, count, when } from './format.js';
import { html } from './html.js';
import { ErrorBox, Loading, Tabs, useApi } from './widgets.js';

/** The server's check of a lake file (verifyLineage's statuses) as a mark: [class, text, title]. */
const MARKS = {
  changed: [
    'bad',
    'bytes changed',
    'the bytes differ from the last recorded write: edited, truncated or swapped',
  ],
  missing: ['bad', 'missing', 'recorded as written, now gone, and no sluice operation deleted it'],
  'never-landed': [
    'warn',
    'never landed',
    'a write was begun and its file never appeared (a crash or a failure)',
  ],
  unconfirmed: ['warn', 'not confirmed', 'a write was begun and never confirmed'],
  deleted: ['idle', 'deleted', 'removed by a sluice operation that recorded it'],
};

const DIRECTIONS = [
  ['up', 'Upstream: made from'],
  ['down', 'Downstream: built from it'],
];

/** What to call a node: its key in the lake, else the end of its path (a raw CSV, a model file). */
function name(node) {
  if (node.key) return node.key;
  const path = node.url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '');
  return path.split('/').filter(Boolean).slice(-3).join('/') || node.url;
}

function what(node) {
  if (node.kind === 'model') return node.url.endsWith('.sql') ? 'SQL model' : 'model';
  if (node.status === 'unrecorded') return node.kind === 'http' ? 'API call' : 'raw input';
  return node.operation ?? node.kind;
}

function mark(node) {
  if (node.check && MARKS[node.check]) return MARKS[node.check];
  if (node.status === 'unconfirmed') return MARKS.unconfirmed;
  // An input whose storage could not be asked (S3 down, no credentials): a leaf, with the reason.
  if (node.status === 'unreachable')
    return [
      'warn',
      'unreachable',
      node.error ? `${node.error.code}: ${node.error.message}` : 'its storage could not be reached',
    ];
  return null;
}

function Node({ node, childKey }) {
  const children = node[childKey] ?? [];
  const m = mark(node);
  return html`<li data-lineage-node=${node.key ?? name(node)} data-kind=${node.kind} data-check=${node.check ?? ''}>
    <div class=${m ? `lnode ${m[0]}` : 'lnode'}>
      <span class="mono lname" title=${node.url}>${name(node)}</span>
      <span class="badge idle">${what(node)}</span>
      ${
        node.sha256
          ? html`<code title=${`sha256 ${node.sha256}`}>${node.sha256.slice(0, 12)}…</code>`
          : node.etag
            ? html`<code title="ETag">etag ${node.etag}</code>`
            : null
      }
      ${node.size === undefined ? null : html`<span>${bytes(node.size)}</span>`}
      ${node.rows === undefined ? null : html`<span>${count(node.rows)} rows</span>`}
      ${node.at ? html`<span class="muted">${when(node.at)}</span>` : null}
      ${m ? html`<span class=${`badge ${m[0]}`} title=${m[2]} data-mark=${node.check ?? node.status}>${m[1]}</span>` : null}
      ${
        node.rewritten
          ? html`<span class="muted small" title="the file now holds a later write; this chain read the bytes of the hash shown">rewritten since</span>`
          : null
      }
      ${node.truncated ? html`<span class="muted small">… deeper levels not shown</span>` : null}
    </div>
    ${children.length ? html`<ul>${children.map((c) => html`<${Node} node=${c} childKey=${childKey} />`)}</ul>` : null}
  </li>`;
}

function Checked({ checked }) {
  if (!checked) return null;
  if (checked.skipped) return html`<p class="muted small">Not re-hashed: ${checked.skipped}.</p>`;
  return html`<p class="muted small">${count(checked.files)} lake file${checked.files === 1 ? '' : 's'} of this chain
    re-hashed (${bytes(checked.bytes)}) and compared with their records.</p>`;
}

/** The lineage of `<env>/<path>` in the lake. */
export function LineagePanel({ env, path }) {
  const [direction, setDirection] = useState('up');
  const { data, error, loading } = useApi(withQuery('api/lineage', { url: `${env}/${path}`, direction }));
  const childKey = direction === 'down' ? 'consumers' : 'inputs';
  let body;
  if (error) body = html`<${ErrorBox} error=${error} />`;
  else if (loading || !data) body = html`<${Loading} what=${`the lineage of ${env}/${path}`} />`;
  else if (data.tree.status === 'unrecorded')
    body = html`<p class="muted">No lineage record names this file: it was written before lineage was on, or by
      another tool.</p>`;
  else
    body = html`<ul class="ltree" data-testid="lineage-tree"><${Node} node=${data.tree} childKey=${childKey} /></ul>
      ${
        direction === 'down' && !data.tree.consumers?.length
          ? html`<p class="muted">Nothing recorded was built from this file.</p>`
          : null
      }
      <${Checked} checked=${data.checked} />`;
  return html`<div class="lineage" data-testid="lineage" data-direction=${direction}>
    <h4>Lineage</h4>
    <${Tabs} options=${DIRECTIONS} value=${direction} onChange=${setDirection} label="Lineage direction" />
    ${body}
  </div>`;
}
