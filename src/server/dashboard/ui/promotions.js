/**
 * Promotion history of an environment: the version it publishes, the promotions into it and its
 * backups, each of which can be published again (a rollback, admin scope) after a confirmation.
 */
import { useState } from 'preact/hooks';
import { api } from './api.js';
import { bytes, count, when } from './format.js';
import { html } from './html.js';
import { ConfirmDialog, ENVIRONMENTS, ErrorBox, Loading, Table, Tabs, useApi } from './widgets.js';

function RollbackDialog({ env, backup, onDone, onCancel }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const [allowEmpty, setAllowEmpty] = useState(false);
  const empty = backup.files === 0;
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      const result = await api(`api/promotions/${env}/rollback`, {
        method: 'POST',
        body: { backup: backup.id, ...(empty ? { allowEmpty } : {}) },
      });
      onDone(result);
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return html`<${ConfirmDialog} title=${`Roll back ${env}?`} confirmLabel="Roll back" busy=${busy}
    onConfirm=${confirm} onCancel=${onCancel}>
    <p>
      Publish backup <code>${backup.id}</code> — version <code>${backup.version}</code>, ${count(backup.files)} datasets,${' '}
      ${bytes(backup.bytes)} — as the current version of <b>${env}</b>.
    </p>
    <p class="muted">The version ${env} publishes now is kept as a new backup first, so this rollback can itself be undone.</p>
    ${
      empty
        ? html`<label class="check warn"><input type="checkbox" checked=${allowEmpty} onChange=${(e) => setAllowEmpty(e.target.checked)} />
          This backup holds no datasets: rolling back to it empties ${env}. Do it anyway.</label>`
        : null
    }
    <${ErrorBox} error=${error} />
  </${ConfirmDialog}>`;
}

export function PromotionsView({ scopes }) {
  const [env, setEnv] = useState('qa');
  const [target, setTarget] = useState(null);
  const [done, setDone] = useState(null);
  const { data, error, loading, reload } = useApi(`api/promotions/${env}`);
  const admin = scopes.includes('admin');
  const pick = (e) => {
    setEnv(e);
    setDone(null);
  };
  return html`<div class="view" data-testid="promotions-view">
    <h2>Promotions</h2>
    <${Tabs} label="environment" options=${ENVIRONMENTS} value=${env} onChange=${pick} />
    ${
      done
        ? html`<div class="notice" role="status" data-testid="rollback-done">
          ${done.env} restored to backup <code>${done.restored}</code>: ${count(done.files)} datasets (the replaced
          version is backup <code>${done.backupOfCurrent}</code>).
        </div>`
        : null
    }
    ${error ? html`<${ErrorBox} error=${error} />` : null}
    ${
      loading || !data
        ? html`<${Loading} what="promotion history" />`
        : html`<div>
          <h3>Published now</h3>
          ${
            data.current
              ? html`<p data-testid="current-version">
                version <code>${data.current.version}</code>${data.current.from ? ` from ${data.current.from}` : ''}${', '}
                ${count(data.current.files)} datasets, ${bytes(data.current.bytes)}, published ${when(data.current.createdAt)}
              </p>`
              : html`<p class="muted">${env} publishes no version: its datasets are plain files${env === 'dev' ? ' written by pipeline runs' : ''}.</p>`
          }
          <h3>Promotions into ${env}</h3>
          <${Table}
            columns=${[
              [
                'version',
                (p) =>
                  html`<code>${p.version}</code>${p.current ? html` <span class="badge ok">current</span>` : null}`,
              ],
              ['from', (p) => p.source],
              ['files', (p) => count(p.fileCount), 'num'],
              ['size', (p) => bytes(p.totalSize), 'num'],
              ['added', (p) => p.added.length, 'num'],
              ['changed', (p) => p.changed.length, 'num'],
              ['deleted', (p) => p.deleted.length, 'num'],
              ['backup taken', (p) => (p.backupId ? html`<code>${p.backupId}</code>` : '—')],
            ]}
            rows=${data.promotions}
            rowKey=${(p) => p.version}
            empty=${`Nothing was promoted into ${env} yet.`}
          />
          <h3>Backups of ${env}</h3>
          <${Table}
            columns=${[
              ['backup', (b) => html`<code>${b.id}</code>`],
              [
                'holds version',
                (b) =>
                  b.error
                    ? html`<span class="error-line">${b.error}</span>`
                    : html`<code>${b.version}</code>`,
              ],
              ['files', (b) => count(b.files), 'num'],
              ['size', (b) => bytes(b.bytes), 'num'],
              ['created', (b) => when(b.createdAt)],
              [
                '',
                (b) =>
                  b.error
                    ? null
                    : html`<button type="button" class="danger small" data-backup=${b.id}
                  title=${admin ? 'Publish this backup again' : 'Needs a token with the admin scope'}
                  onClick=${() => setTarget(b)}>Roll back to this</button>`,
              ],
            ]}
            rows=${data.backups}
            rowKey=${(b) => b.id}
            empty=${`${env} has no backups: one is taken before each promotion into it and each rollback.`}
          />
          ${admin ? null : html`<p class="muted">Rolling back needs a token with the admin scope.</p>`}
        </div>`
    }
    ${
      target
        ? html`<${RollbackDialog} env=${env} backup=${target} onCancel=${() => setTarget(null)}
          onDone=${(result) => {
            setTarget(null);
            setDone(result);
            reload();
          }} />`
        : null
    }
  </div>`;
}
