// Rewards, groups and webhook endpoints with their deliveries (retry behind a confirmation).
import { useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { ConfirmButton, html, Loading, PagedTable, Status, Table, time, useApi, usePages } from '../ui.js';

export function CatalogPage({ programId }) {
  return html`<section>
    <h1>Rewards, groups, webhooks</h1>
    <${Rewards} programId=${programId} />
    <${Groups} />
    <${Webhooks} />
  </section>`;
}

function Rewards({ programId }) {
  const pages = usePages(`/v1/programs/${programId}/rewards?limit=50`);
  return html`<div class="card"><h2>Rewards</h2><${PagedTable} pages=${pages} empty="No reward in the catalog: POST /v1/programs/{id}/rewards adds one."
      columns=${[
        { label: 'Reward', cell: (r) => r.name },
        { label: 'Cost', cell: (r) => r.unit_cost ?? '' },
        { label: 'Redeemed', cell: (r) => r.redeemed_count },
        { label: 'Status', cell: (r) => html`<${Status} value=${r.status} />` },
      ]} /></div>`;
}

function Groups() {
  const pages = usePages('/v1/groups?limit=50');
  return html`<div class="card"><h2>Groups</h2><${PagedTable} pages=${pages} empty="No group: groups are shared wallets (POST /v1/groups)."
      columns=${[
        { label: 'Group', cell: (g) => g.name },
        { label: 'Status', cell: (g) => html`<${Status} value=${g.status} />` },
        { label: 'Created', cell: (g) => time(g.created_at) },
      ]} /></div>`;
}

function Webhooks() {
  const endpoints = useApi('/v1/webhook-endpoints?limit=50');
  return html`<div class="card"><h2>Webhook endpoints</h2><${Loading} state=${endpoints}>
    <${Table} rows=${endpoints.data?.data ?? []} empty="No webhook endpoint: POST /v1/webhook-endpoints subscribes a URL to events."
      columns=${[
        { label: 'URL', cell: (e) => e.url },
        { label: 'Events', cell: (e) => (e.enabled_events ?? []).join(', ') },
        { label: 'Deliveries', cell: (e) => html`<${Deliveries} endpointId=${e.id} />` },
      ]} />
  <//></div>`;
}

/** An endpoint's latest deliveries, loaded when opened; FAILED ones can be retried. */
function Deliveries({ endpointId }) {
  const [open, setOpen] = useState(false);
  const pages = usePages(
    open ? `/v1/webhook-endpoints/${endpointId}/deliveries${query({ limit: 25 })}` : null,
  );
  if (!open) return html`<button class="link" onClick=${() => setOpen(true)}>Show deliveries</button>`;
  const retry = (id) => async () => {
    await api('POST', `/v1/webhook-deliveries/${id}/retry`);
    pages.reload();
  };
  return html`<${PagedTable} pages=${pages} empty="No delivery yet."
      columns=${[
        { label: 'Event', cell: (d) => d.event_type },
        { label: 'Status', cell: (d) => html`<${Status} value=${d.status} />` },
        { label: 'Attempts', cell: (d) => `${d.attempt_count} / ${d.max_attempts}` },
        { label: 'Last error', cell: (d) => d.last_error ?? '' },
        {
          label: '',
          cell: (d) =>
            d.status === 'FAILED'
              ? html`<${ConfirmButton} label="Retry" question="Send this delivery again?" onConfirm=${retry(d.id)} />`
              : null,
        },
      ]} />`;
}
