// Shared pieces of the pages: rendering, loading, errors beside fields, tables, lists paged by
// cursor, confirmation, charts and the server's CSV downloads.
import htm from 'htm';
import { h } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { api, apiDownload } from './api.js';

export const html = htm.bind(h);

/** Loads `path` (a GET) whenever it changes; `reload()` asks again. A null path loads nothing. */
export function useApi(path) {
  const [state, setState] = useState({ data: null, error: null, loading: path !== null });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return undefined;
    let current = true;
    setState((previous) => ({ ...previous, loading: true }));
    api('GET', path).then(
      (data) => current && setState({ data, error: null, loading: false }),
      (error) => current && setState({ data: null, error, loading: false }),
    );
    return () => {
      current = false;
    };
  }, [path, tick]);
  const reload = useCallback(() => setTick((n) => n + 1), []);
  return { ...state, reload };
}

/** A list page by cursor: `more()` appends the next page. */
export function usePages(path) {
  const [rows, setRows] = useState([]);
  const [cursor, setCursor] = useState(null);
  const first = useApi(path);
  useEffect(() => {
    setRows(first.data?.data ?? []);
    setCursor(first.data?.pagination?.next_cursor ?? null);
  }, [first.data]);
  const more = async () => {
    if (path === null) return;
    const separator = path.includes('?') ? '&' : '?';
    const page = await api('GET', `${path}${separator}cursor=${encodeURIComponent(cursor)}`);
    setRows((previous) => [...previous, ...page.data]);
    setCursor(page.pagination.next_cursor);
  };
  return { rows, cursor, more, error: first.error, loading: first.loading, reload: first.reload };
}

export function Loading({ state, children }) {
  if (state.error) return html`<${ErrorNote} error=${state.error} />`;
  if (state.loading && !state.data) return html`<p class="muted" role="status">Loading…</p>`;
  return children;
}

export function ErrorNote({ error }) {
  if (!error) return null;
  return html`<p class="error" role="alert">${error.message}${error.code ? html` <code>${error.code}</code>` : ''}</p>`;
}

/** A labelled input; the API's error appears beside it when the error names this field. */
export function Field({ label, name, error, hint, children, ...input }) {
  const mine = error && fieldMatches(error.field, name) ? error : null;
  const control =
    children ??
    html`<input id=${`f-${name}`} name=${name} aria-invalid=${mine ? 'true' : 'false'} ...${input} />`;
  return html`<div class="field">
    <label for=${`f-${name}`}>${label}</label>
    ${control}
    ${hint && !mine ? html`<small class="muted">${hint}</small>` : null}
    ${mine ? html`<small class="field-error" role="alert">${mine.message}</small>` : null}
  </div>`;
}

/** `actions[0].amount` belongs to the field `actions`; `condition` to `condition`. */
export function fieldMatches(field, name) {
  if (typeof field !== 'string') return false;
  return (
    field === name ||
    field.startsWith(`${name}.`) ||
    field.startsWith(`${name}[`) ||
    field.startsWith(`/${name}`)
  );
}

/** Errors that name no field on the form are shown above it. */
export function FormError({ error, fields }) {
  if (!error || fields.some((name) => fieldMatches(error.field, name))) return null;
  return html`<${ErrorNote} error=${error} />`;
}

export function Empty({ children }) {
  return html`<div class="empty">${children}</div>`;
}

export function Table({ columns, rows, empty, rowKey = (row) => row.id }) {
  if (rows.length === 0) return html`<${Empty}>${empty}<//>`;
  return html`<div class="table-wrap"><table>
    <thead><tr>${columns.map((column) => html`<th>${column.label}</th>`)}</tr></thead>
    <tbody>${rows.map(
      (row) =>
        html`<tr key=${rowKey(row)}>${columns.map((column) => html`<td data-label=${column.label}>${column.cell(row)}</td>`)}</tr>`,
    )}</tbody>
  </table></div>`;
}

export function More({ pages }) {
  if (!pages.cursor) return null;
  return html`<button class="secondary" onClick=${pages.more}>Load more</button>`;
}

/** A list from usePages: loading or its error, the table (or what to do when empty), Load more. */
export function PagedTable({ pages, columns, empty, rowKey }) {
  return html`<${Loading} state=${pages}>
    <${Table} columns=${columns} rows=${pages.rows} empty=${empty} rowKey=${rowKey} />
    <${More} pages=${pages} />
  <//>`;
}

/** A button that asks before it acts; the API's answer or error is shown under it. */
export function ConfirmButton({ label, question, onConfirm, danger }) {
  const dialog = useRef(null);
  const [error, setError] = useState(null);
  const confirm = async () => {
    setError(null);
    try {
      await onConfirm();
      dialog.current.close();
    } catch (caught) {
      setError(caught);
    }
  };
  return html`<span>
    <button class=${danger ? 'danger' : ''} onClick=${() => dialog.current.showModal()}>${label}</button>
    <dialog ref=${dialog} aria-label=${label}>
      <p>${question}</p>
      <${ErrorNote} error=${error} />
      <div class="row">
        <button class=${danger ? 'danger' : ''} onClick=${confirm}>Yes, ${label.toLowerCase()}</button>
        <button class="secondary" onClick=${() => dialog.current.close()}>Cancel</button>
      </div>
    </dialog>
  </span>`;
}

export function Status({ value }) {
  return html`<span class=${`status status-${String(value).toLowerCase()}`}>${value}</span>`;
}

export function time(value) {
  return value ? new Date(value).toISOString().replace('T', ' ').slice(0, 19) : '—';
}

export function link(path) {
  return `#${path}`;
}

/** A line chart of series over time (uPlot, loaded as a classic script). */
export function Chart({ title, times, series }) {
  const box = useRef(null);
  useEffect(() => {
    if (!box.current || times.length === 0 || !window.uPlot) return undefined;
    const width = Math.min(box.current.clientWidth || 600, 900);
    const colors = ['#2457c5', '#c2410c', '#6b7280', '#15803d'];
    const plot = new window.uPlot(
      {
        title,
        width,
        height: 220,
        series: [
          {},
          ...series.map((one, index) => ({
            label: one.label,
            stroke: colors[index % colors.length],
            width: 2,
          })),
        ],
      },
      [times, ...series.map((one) => one.values)],
      box.current,
    );
    return () => plot.destroy();
  }, [title, times, series]);
  if (times.length === 0) return null;
  return html`<figure class="chart" ref=${box} aria-label=${title}></figure>`;
}

/**
 * Downloads `path` as the server's CSV (the same filters as the JSON, `format=csv`) under the name
 * the server gives it; the API's error is shown beside the button.
 */
export function CsvButton({ path, label = 'Download CSV' }) {
  const [error, setError] = useState(null);
  const download = async () => {
    setError(null);
    try {
      const { blob, filename } = await apiDownload(path);
      const url = URL.createObjectURL(blob);
      const anchor = document.createElement('a');
      anchor.href = url;
      anchor.download = filename;
      document.body.append(anchor);
      anchor.click();
      anchor.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    } catch (caught) {
      setError(caught);
    }
  };
  return html`<span><button class="secondary" onClick=${download}>${label}</button><${ErrorNote} error=${error} /></span>`;
}

export function Json({ value }) {
  return html`<pre class="json">${JSON.stringify(value, null, 2)}</pre>`;
}
