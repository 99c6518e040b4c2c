/** Pieces every view uses: loading an API path, periodic refresh, errors, tabs and a confirmation. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import { html } from './html.js';

/**
 * `{data, error, loading, reload}` for an API path (none while `path` is falsy). An answer that
 * arrives after the path changed is dropped rather than its request aborted: an aborted request
 * would show as a failed one in the browser's log.
 */
export function useApi(path) {
  const [state, setState] = useState({ data: null, error: null, loading: Boolean(path) });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return undefined;
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    api(path).then(
      (data) => current && setState({ data, error: null, loading: false }),
      (error) => current && setState({ data: null, error, loading: false }),
    );
    return () => {
      current = false;
    };
  }, [path, tick]);
  return { ...state, reload: () => setTick((t) => t + 1) };
}

/** Calls `fn` every `ms` while the component is shown. */
export function useInterval(fn, ms) {
  const saved = useRef(fn);
  saved.current = fn;
  useEffect(() => {
    const id = setInterval(() => saved.current(), ms);
    return () => clearInterval(id);
  }, [ms]);
}

export function ErrorBox({ error }) {
  if (!error) return null;
  const title =
    error.status === 403
      ? 'Not allowed (403):'
      : error.status === 401
        ? 'Not signed in (401):'
        : error.status
          ? `Error ${error.status}:`
          : 'Error:';
  return html`<div class="error" role="alert"><strong>${title}</strong> ${error.message}</div>`;
}

export function Loading({ what }) {
  return html`<p class="muted">Loading ${what}…</p>`;
}

/** Buttons to pick one of `options` (`[value, label]`). */
export function Tabs({ options, value, onChange, label }) {
  return html`<div class="tabs" role="tablist" aria-label=${label}>
    ${options.map(
      ([v, text]) =>
        html`<button type="button" role="tab" aria-selected=${v === value} class=${v === value ? 'tab active' : 'tab'}
          onClick=${() => onChange(v)}>${text}</button>`,
    )}
  </div>`;
}

export const ENVIRONMENTS = [
  ['dev', 'dev'],
  ['qa', 'qa'],
  ['prod', 'prod'],
];

/** A modal question with a confirm and a cancel button; `busy` disables both while it runs. */
export function ConfirmDialog({ title, children, confirmLabel, onConfirm, onCancel, busy }) {
  const confirmRef = useRef(null);
  useEffect(() => confirmRef.current?.focus(), []);
  return html`<div class="backdrop">
    <div class="dialog" role="dialog" aria-modal="true" aria-label=${title}>
      <h3>${title}</h3>
      <div class="dialog-body">${children}</div>
      <div class="dialog-actions">
        <button type="button" onClick=${onCancel} disabled=${busy}>Cancel</button>
        <button type="button" class="danger" ref=${confirmRef} onClick=${onConfirm} disabled=${busy}>
          ${busy ? 'Working…' : confirmLabel}
        </button>
      </div>
    </div>
  </div>`;
}

/** A table of `rows` with `columns` as `[header, row => cell, className?]`. */
export function Table({ columns, rows, empty, onRowClick, selected, rowKey }) {
  if (rows.length === 0) return html`<p class="muted">${empty ?? 'Nothing here.'}</p>`;
  return html`<table class="grid">
    <thead><tr>${columns.map(([h, , cls]) => html`<th class=${cls ?? ''}>${h}</th>`)}</tr></thead>
    <tbody>
      ${rows.map((r, i) => {
        const key = rowKey ? rowKey(r) : i;
        return html`<tr key=${key} class=${[onRowClick ? 'clickable' : '', selected === key ? 'selected' : ''].join(' ')}
          onClick=${onRowClick ? () => onRowClick(r) : undefined}>
          ${columns.map(([, f, cls]) => html`<td class=${cls ?? ''}>${f(r)}</td>`)}
        </tr>`;
      })}
    </tbody>
  </table>`;
}
