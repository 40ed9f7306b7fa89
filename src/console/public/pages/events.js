// Events: a live list with a status filter; an event with its payload, every rule evaluation and
// the journal entries it produced; FAILED events can be retried.
import { useEffect, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import {
  ConfirmButton,
  ErrorNote,
  html,
  Json,
  Loading,
  link,
  PagedTable,
  Status,
  Table,
  time,
  useApi,
  usePages,
} from '../ui.js';

const statuses = ['', 'PENDING', 'PROCESSING', 'COMPLETED', 'FAILED'];
const refreshMs = 3000;

export function EventsPage({ programId, params }) {
  const status = params.get('status') ?? '';
  const pages = usePages(`/v1/events${query({ program_id: programId, status, limit: 25 })}`);
  const [live, setLive] = useState(true);
  useEffect(() => {
    if (!live) return undefined;
    const timer = setInterval(pages.reload, refreshMs);
    return () => clearInterval(timer);
  }, [live, pages.reload]);
  const columns = [
    { label: 'Received', cell: (e) => html`<a href=${link(`/events/${e.id}`)}>${time(e.created_at)}</a>` },
    { label: 'Type', cell: (e) => e.event_data?.type ?? e.event_type },
    {
      label: 'Participant',
      cell: (e) =>
        e.participant_id
          ? html`<a href=${link(`/participants/${e.participant_id}`)}>${e.external_id ?? e.participant_id}</a>`
          : (e.external_id ?? ''),
    },
    { label: 'Status', cell: (e) => html`<${Status} value=${e.status} />` },
    { label: 'Error', cell: (e) => e.error_message ?? '' },
  ];
  return html`<section>
    <h1>Events</h1>
    <div class="row wrap">
      <label>Status
        <select aria-label="Status filter" value=${status} onChange=${(event) => {
          window.location.hash = `#/events${query({ status: event.target.value })}`;
        }}>
          ${statuses.map((one) => html`<option value=${one}>${one || 'all'}</option>`)}
        </select>
      </label>
      <label><input type="checkbox" checked=${live} onChange=${(event) => setLive(event.target.checked)} /> Live (every ${refreshMs / 1000} s)</label>
    </div>
    <${SendEvent} programId=${programId} onSent=${pages.reload} />
    <${PagedTable} pages=${pages} columns=${columns} empty=${status ? `No ${status} event in this program.` : 'No event yet. Send one with the form above or POST /v1/events from your app.'} />
  </section>`;
}

/** A test event, sent through POST /v1/events like an integration would. */
function SendEvent({ programId, onSent }) {
  const [error, setError] = useState(null);
  const [sent, setSent] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    const form = new FormData(event.target);
    try {
      const data = JSON.parse(form.get('event_data') || '{}');
      const accepted = await api('POST', '/v1/events', {
        program_id: programId,
        external_id: form.get('external_id'),
        idempotency_key: `console-${crypto.randomUUID()}`,
        event_timestamp: new Date().toISOString(),
        event_data: data,
      });
      setSent(accepted.id);
      onSent();
    } catch (caught) {
      setError(
        caught instanceof SyntaxError
          ? { message: `event_data is not JSON: ${caught.message}`, field: 'event_data' }
          : caught,
      );
    }
  };
  return html`<details class="card"><summary>Send a test event</summary>
    <form class="row wrap" onSubmit=${submit}>
      <label>External id <input name="external_id" required placeholder="user_abc123" /></label>
      <label class="grow">event_data (JSON) <input name="event_data" value='{"type": "purchase", "amount": 10}' /></label>
      <button type="submit">Send</button>
    </form>
    <${ErrorNote} error=${error} />
    ${sent ? html`<p class="ok" role="status">Accepted: <a href=${link(`/events/${sent}`)}>${sent}</a></p>` : null}
  </details>`;
}

export function EventPage({ id }) {
  const event = useApi(`/v1/events/${id}?include_skipped=true`);
  const entries = useApi(`/v1/journal-entries${query({ event_id: id, limit: 50 })}`);
  const e = event.data;
  const retry = async () => {
    await api('POST', `/v1/events/${id}/retry`);
    event.reload();
  };
  return html`<section>
    <p><a href="#/events">← Events</a></p>
    <${Loading} state=${event}>
      ${
        e &&
        html`<div>
        <h1>Event ${e.event_data?.type ?? ''} <${Status} value=${e.status} /></h1>
        <p class="muted">${e.id} · received ${time(e.received_at)} · processed ${time(e.processed_at)} · key ${e.idempotency_key}</p>
        ${e.error_message ? html`<p class="error">${e.error_message}</p>` : null}
        ${e.status === 'FAILED' ? html`<${ConfirmButton} label="Retry" question="Requeue this event? Its rules run again against the current state." onConfirm=${retry} />` : null}
        <div class="grid">
          <div class="card"><h2>Payload</h2><${Json} value=${e.event_data} /></div>
          <div class="card"><h2>Rule evaluations</h2>
            <${Table} rows=${e.rule_evaluations} rowKey=${(r) => r.id}
              empty=${e.status === 'COMPLETED' ? 'No rule of the program was evaluated.' : 'Evaluations appear once the event is processed.'}
              columns=${[
                {
                  label: 'Rule',
                  cell: (r) => html`<a href=${link(`/rules/${r.rule_id}`)}>${r.rule_name}</a>`,
                },
                { label: 'Status', cell: (r) => html`<${Status} value=${r.status} />` },
                { label: 'Reason', cell: (r) => r.reason ?? '' },
                { label: 'Error', cell: (r) => r.error_message ?? '' },
                {
                  label: 'Actions',
                  cell: (r) => (r.actions ?? []).map((a) => `${a.type} ${a.amount ?? ''}`).join(', '),
                },
              ]} />
          </div>
        </div>
        <div class="card"><h2>Journal entries</h2><${Loading} state=${entries}>
          <${Table} rows=${entries.data?.data ?? []} empty="This event posted no journal entry."
            columns=${[
              { label: 'Entry', cell: (j) => `${j.action_type} #${j.sequence_number}` },
              {
                label: 'Postings',
                cell: (j) =>
                  j.postings
                    .map((p) => `${p.amount} ${p.asset_symbol} ${p.system_account ?? p.bucket}`)
                    .join(' · '),
              },
              { label: 'At', cell: (j) => time(j.created_at) },
            ]} />
        <//></div>
      </div>`
      }
    <//>
  </section>`;
}
