// Participants: search, and a profile with balances, lots, tiers, counters, tags, attributes, one
// activity timeline, and the support actions (adjust, hold, release, status) behind a confirmation.
import { useState } from 'preact/hooks';
import { api, query } from '../api.js';
import {
  ConfirmButton,
  Empty,
  ErrorNote,
  Field,
  FormError,
  html,
  Loading,
  link,
  PagedTable,
  Status,
  Table,
  time,
  useApi,
  usePages,
} from '../ui.js';

export function ParticipantsPage({ programId, params }) {
  const search = params.get('search') ?? '';
  const pages = usePages(`/v1/participants${query({ program_id: programId, search, limit: 25 })}`);
  const submit = (event) => {
    event.preventDefault();
    const text = new FormData(event.target).get('search').trim();
    window.location.hash = `#/participants${query({ search: text })}`;
  };
  const columns = [
    {
      label: 'External id',
      cell: (p) => html`<a href=${link(`/participants/${p.id}`)}>${p.external_id}</a>`,
    },
    { label: 'Name', cell: (p) => p.display_name ?? [p.first_name, p.last_name].filter(Boolean).join(' ') },
    { label: 'Email', cell: (p) => p.email ?? '' },
    { label: 'Status', cell: (p) => html`<${Status} value=${p.status} />` },
    { label: 'Created', cell: (p) => time(p.created_at) },
  ];
  return html`<section>
    <h1>Participants</h1>
    <form class="row" role="search" onSubmit=${submit}>
      <input name="search" aria-label="Search participants" placeholder="External id, name, email or phone" value=${search} />
      <button type="submit">Search</button>
    </form>
    <${PagedTable} pages=${pages} columns=${columns} empty=${
      search
        ? `No participant of this program matches “${search}”. Try part of the external id, the email or a name.`
        : 'No participant in this program yet. Send an event for a new external_id (programs that CREATE unknown participants enroll them), or POST /v1/participants.'
    } />
  </section>`;
}

export function ParticipantPage({ id, programId }) {
  const participant = useApi(`/v1/participants/${id}`);
  const p = participant.data;
  return html`<section>
    <p><a href="#/participants">← Participants</a></p>
    <${Loading} state=${participant}>
      ${
        p &&
        html`<div>
        <h1>${p.display_name ?? p.external_id} <${Status} value=${p.status} /></h1>
        <p class="muted">${p.external_id} · ${p.email ?? 'no email'} · since ${time(p.created_at)}</p>
        <div class="grid">
          <${Balances} participant=${p} />
          <${Lots} id=${id} balances=${p.balances ?? []} />
          <${Tiers} tiers=${p.tiers} />
          <div class="card"><h2>Counters</h2><${KeyValues} value=${p.counters} empty="No counters yet: rules set them with COUNTER actions." /></div>
          <div class="card"><h2>Tags</h2>${p.tags.length === 0 ? html`<p class="muted">No tags.</p>` : p.tags.map((tag) => html`<span class="tag">${tag}</span> `)}</div>
          <div class="card"><h2>Attributes</h2><${KeyValues} value=${p.attributes} empty="No attributes." /></div>
        </div>
        <${SupportActions} participant=${p} programId=${programId} onDone=${participant.reload} />
        <${Redemptions} id=${id} onDone=${participant.reload} />
        <${Timeline} id=${id} programId=${programId} />
      </div>`
      }
    <//>
  </section>`;
}

function KeyValues({ value, empty }) {
  const entries = Object.entries(value ?? {});
  if (entries.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<dl>${entries.map(([key, one]) => html`<dt>${key}</dt><dd>${typeof one === 'object' ? JSON.stringify(one) : String(one)}</dd>`)}</dl>`;
}

function Balances({ participant }) {
  const assets = useApi('/v1/assets?limit=200');
  const symbol = (assetId) =>
    assets.data?.data.find((asset) => asset.id === assetId)?.symbol ?? assetId.slice(0, 8);
  const rows = participant.balances ?? [];
  return html`<div class="card"><h2>Balances</h2>
    <${Table} rowKey=${(b) => b.asset_id} rows=${rows}
      empty="No balance yet: a rule's CREDIT or an adjustment below creates one."
      columns=${[
        { label: 'Asset', cell: (b) => symbol(b.asset_id) },
        { label: 'Available', cell: (b) => b.available },
        { label: 'Held', cell: (b) => b.held },
        { label: 'Deferred', cell: (b) => b.deferred },
      ]} />
  </div>`;
}

/** Lots are listed per asset: one table for each asset the participant holds. */
function Lots({ id, balances }) {
  return html`<div class="card"><h2>Lots</h2>
    ${
      balances.length === 0
        ? html`<p class="muted">No lots: LOT assets keep one per credit, with its expiry.</p>`
        : balances.map(
            (balance) => html`<${AssetLots} key=${balance.asset_id} id=${id} assetId=${balance.asset_id} />`,
          )
    }
  </div>`;
}

function AssetLots({ id, assetId }) {
  const lots = useApi(`/v1/participants/${id}/balances/lots${query({ asset_id: assetId, limit: 20 })}`);
  if (lots.error?.code === 'unsupported_inventory_mode')
    return html`<p class="muted">A SIMPLE asset: it keeps balances, not lots.</p>`;
  return html`<${Loading} state=${lots}>
    <${Table} rows=${lots.data?.data ?? []} empty="No lot for this asset."
      columns=${[
        { label: 'Remaining', cell: (l) => `${l.remaining} of ${l.amount}` },
        { label: 'Status', cell: (l) => html`<${Status} value=${l.status} />` },
        { label: 'Expires', cell: (l) => time(l.expires_at) },
      ]} />
  <//>`;
}

function Tiers({ tiers }) {
  const entries = Object.entries(tiers ?? {});
  return html`<div class="card"><h2>Tiers</h2>${
    entries.length === 0
      ? html`<p class="muted">In no tier yet: define tiers on the Tiers page; members reach levels from their counters.</p>`
      : html`<dl>${entries.map(([key, tier]) => html`<dt>${key}</dt><dd>${tier.level ?? tier.level_key ?? JSON.stringify(tier)}${tier.progress ? html` <small class="muted">${JSON.stringify(tier.progress)}</small>` : ''}</dd>`)}</dl>`
  }</div>`;
}

function SupportActions({ participant, programId, onDone }) {
  const assets = useApi(`/v1/programs/${programId}/assets?limit=200`);
  const [form, setForm] = useState({ operation: 'CREDIT', asset_id: '', amount: '', description: '' });
  const [error, setError] = useState(null);
  const [done, setDone] = useState(null);
  const list = assets.data?.data ?? [];
  const assetId = form.asset_id || list[0]?.id || '';
  const set = (name) => (event) => setForm({ ...form, [name]: event.target.value });
  const run = async () => {
    setError(null);
    const base = {
      program_id: programId,
      asset_id: assetId,
      amount: form.amount,
      description: form.description,
    };
    const isAdjust = form.operation === 'CREDIT' || form.operation === 'DEBIT';
    const path = isAdjust ? 'adjust' : form.operation.toLowerCase();
    try {
      await api(
        'POST',
        `/v1/participants/${participant.id}/balances/${path}`,
        isAdjust ? { ...base, type: form.operation } : base,
      );
      setDone(`${form.operation} of ${form.amount} done.`);
      onDone();
    } catch (caught) {
      setError(caught);
      throw caught;
    }
  };
  const setStatus = (status) => async () => {
    await api('PATCH', `/v1/participants/${participant.id}/status`, { status });
    onDone();
  };
  return html`<div class="card"><h2>Support actions</h2>
    <div class="row wrap">
      <${Field} label="Action" name="operation">
        <select id="f-operation" value=${form.operation} onChange=${set('operation')}>
          <option value="CREDIT">Adjust: credit</option><option value="DEBIT">Adjust: debit</option>
          <option value="HOLD">Hold</option><option value="RELEASE">Release</option>
        </select>
      <//>
      <${Field} label="Asset" name="asset_id" error=${error}>
        <select id="f-asset_id" value=${assetId} onChange=${set('asset_id')}>
          ${list.map((asset) => html`<option value=${asset.id}>${asset.symbol}</option>`)}
        </select>
      <//>
      <${Field} label="Amount" name="amount" error=${error} value=${form.amount} onInput=${set('amount')} placeholder="10.00" />
      <${Field} label="Reason" name="description" error=${error} value=${form.description} onInput=${set('description')} placeholder="Goodwill for ticket #123" />
    </div>
    <${FormError} error=${error} fields=${['amount', 'description', 'asset_id']} />
    ${done ? html`<p class="ok" role="status">${done}</p>` : null}
    <div class="row wrap">
      <${ConfirmButton} label="Apply" question=${`${form.operation} ${form.amount || '?'} for ${participant.external_id}: “${form.description}”?`} onConfirm=${run} />
      ${['ACTIVE', 'SUSPENDED', 'CLOSED']
        .filter((status) => status !== participant.status)
        .map(
          (
            status,
          ) => html`<${ConfirmButton} label=${`Set ${status.toLowerCase()}`} danger=${status !== 'ACTIVE'}
          question=${`Change ${participant.external_id}'s status from ${participant.status} to ${status}?`} onConfirm=${setStatus(status)} />`,
        )}
    </div>
  </div>`;
}

/** The participant's redemptions; one not fully reversed can be reversed, in part or all, with a reason. */
function Redemptions({ id, onDone }) {
  const pages = usePages(`/v1/participants/${id}/redemptions${query({ limit: 20 })}`);
  const done = () => {
    pages.reload();
    onDone();
  };
  return html`<div class="card"><h2>Redemptions</h2><${PagedTable} pages=${pages} empty="No redemption: spending points on a reward or an amount shows here."
      columns=${[
        { label: 'When', cell: (r) => time(r.created_at) },
        { label: 'What', cell: (r) => r.description ?? '' },
        { label: 'Amount', cell: (r) => r.amount },
        { label: 'Reversed', cell: (r) => r.reversed_amount ?? '0' },
        { label: 'Status', cell: (r) => html`<${Status} value=${r.status} />` },
        {
          label: '',
          cell: (r) =>
            r.status === 'FULLY_REVERSED' ? null : html`<${Reverse} redemption=${r} onDone=${done} />`,
        },
      ]} /></div>`;
}

/** Reverses a redemption with a reason: the amount given, or the rest when the amount is empty. */
function Reverse({ redemption, onDone }) {
  const [form, setForm] = useState({ reason: '', amount: '' });
  const [error, setError] = useState(null);
  const set = (name) => (event) => setForm({ ...form, [name]: event.target.value });
  const rest = redemption.reversed_amount
    ? `the rest of ${redemption.amount} (${redemption.reversed_amount} already reversed)`
    : `all ${redemption.amount}`;
  const what = form.amount.trim() === '' ? rest : form.amount.trim();
  const reverse = async () => {
    setError(null);
    const body = { reason: form.reason };
    if (form.amount.trim() !== '') body.amount = form.amount.trim();
    try {
      await api('POST', `/v1/redemptions/${redemption.id}/reverse`, body);
      setForm({ reason: '', amount: '' });
    } catch (caught) {
      setError(caught);
      throw caught;
    }
    onDone();
  };
  const id = redemption.id;
  return html`<div class="row wrap reverse">
    <label>Amount <input aria-label="Amount to reverse" name=${`amount-${id}`} placeholder="all" size="8" value=${form.amount} onInput=${set('amount')} aria-invalid=${error?.field === 'amount' ? 'true' : 'false'} /></label>
    <label>Reason <input aria-label="Reason for the reversal" name=${`reason-${id}`} placeholder="Reason" value=${form.reason} onInput=${set('reason')} aria-invalid=${error?.field === 'reason' ? 'true' : 'false'} /></label>
    <${ConfirmButton} label="Reverse" danger=${true} question=${`Reverse ${what} of this redemption and give it back: “${form.reason}”?`} onConfirm=${reverse} />
    ${error ? html`<small class="field-error" role="alert">${error.field ? `${error.field}: ` : ''}${error.message}</small>` : null}
  </div>`;
}

/** Events (with their rule evaluations on demand), journal entries and state changes, newest first. */
function Timeline({ id, programId }) {
  const events = useApi(
    `/v1/participants/${id}/activity/events${query({ program_id: programId, limit: 20 })}`,
  );
  const entries = useApi(`/v1/journal-entries${query({ participant_id: id, limit: 20 })}`);
  const changes = useApi(`/v1/participants/${id}/activity/state-history${query({ limit: 20 })}`);
  const items = [
    ...(events.data?.data ?? []).map((event) => ({ at: event.created_at, kind: 'event', item: event })),
    ...(entries.data?.data ?? []).map((entry) => ({ at: entry.created_at, kind: 'entry', item: entry })),
    ...(changes.data?.data ?? []).map((change) => ({ at: change.changed_at, kind: 'state', item: change })),
  ].sort((a, b) => (a.at < b.at ? 1 : -1));
  const error = events.error ?? entries.error ?? changes.error;
  return html`<div class="card timeline"><h2>Activity</h2>
    <${ErrorNote} error=${error} />
    ${
      items.length === 0 && !events.loading
        ? html`<${Empty}>No activity yet. Send an event for this participant (Events page or POST /v1/events).<//>`
        : html`<ol>${items.map((entry) => html`<li key=${entry.kind + entry.item.id} class=${`kind-${entry.kind}`}><${TimelineItem} ...${entry} /></li>`)}</ol>`
    }
  </div>`;
}

function TimelineItem({ kind, at, item }) {
  const [evaluations, setEvaluations] = useState(null);
  if (kind === 'event') {
    const show = async () =>
      setEvaluations((await api('GET', `/v1/events/${item.id}?include_skipped=true`)).rule_evaluations);
    return html`<div>
      <time>${time(at)}</time> Event <a href=${link(`/events/${item.id}`)}>${item.event_data?.type ?? item.idempotency_key}</a> <${Status} value=${item.status} />
      ${item.error_message ? html`<span class="error"> ${item.error_message}</span>` : null}
      ${
        evaluations === null
          ? html` <button class="link" onClick=${show}>Rule evaluations</button>`
          : html`<ul>${evaluations.length === 0 ? html`<li class="muted">No rule evaluated.</li>` : evaluations.map((e) => html`<li>${e.rule_name}: <${Status} value=${e.status} /> ${e.reason ?? ''} ${e.error_message ?? ''}</li>`)}</ul>`
      }
    </div>`;
  }
  if (kind === 'entry') {
    const mine = item.postings.filter((posting) => posting.participant_id !== null);
    return html`<div><time>${time(at)}</time> Journal entry ${item.action_type}: ${mine.map((posting) => `${posting.amount} ${posting.asset_symbol} (${posting.bucket})`).join(', ')} <span class="muted">${item.description ?? ''}</span></div>`;
  }
  const value = (one) => (one === null ? '—' : JSON.stringify(one));
  return html`<div><time>${time(at)}</time> ${item.state_type} <code>${item.key}</code> ${item.operation}: ${value(item.old_value)} → ${value(item.new_value)}</div>`;
}
