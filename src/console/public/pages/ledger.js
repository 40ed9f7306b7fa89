// Ledger: journal browser, integrity report, liability, rollforward and expiration schedule, with
// charts, and CSV downloads the server writes (the same URL and filters with format=csv).
import { useState } from 'preact/hooks';
import { query } from '../api.js';
import { Chart, CsvButton, html, Loading, PagedTable, Status, Table, time, useApi, usePages } from '../ui.js';

const dayMs = 86_400_000;

function isoDay(ms) {
  return new Date(ms).toISOString().slice(0, 10);
}

export function LedgerPage({ programId }) {
  const [range, setRange] = useState({
    from: isoDay(Date.now() - 30 * dayMs),
    to: isoDay(Date.now() + dayMs),
  });
  const set = (name) => (event) => setRange({ ...range, [name]: event.target.value });
  return html`<section>
    <h1>Ledger</h1>
    <div class="row wrap">
      <label>From <input type="date" value=${range.from} onChange=${set('from')} /></label>
      <label>To <input type="date" value=${range.to} onChange=${set('to')} /></label>
    </div>
    <div class="grid">
      <${Integrity} />
      <${Liability} programId=${programId} />
    </div>
    <${Rollforward} programId=${programId} range=${range} />
    <${ExpirationSchedule} programId=${programId} range=${range} />
    <${Journal} programId=${programId} />
  </section>`;
}

/** A full verification of the organization's ledger: run on demand, not on every visit. */
function Integrity() {
  const [path, setPath] = useState(null);
  const report = useApi(path);
  const r = report.data;
  const checks = [
    'hash_chain',
    'postings_balanced',
    'value_conservation',
    'stored_balances',
    'unsealed_entries',
  ];
  return html`<div class="card"><h2>Integrity</h2>
    <p class="muted">Checks the hash chain, that every entry balances, value conservation and every stored balance.</p>
    <button class="secondary" onClick=${() => (path === null ? setPath('/v1/reports/integrity') : report.reload())}>Run the integrity check</button>
    ${
      path !== null &&
      html`<${Loading} state=${report}>
      ${
        r &&
        html`<p><${Status} value=${r.all_passed ? 'PASSED' : 'FAILED'} /> verified ${time(r.verified_at)}</p>
        <ul>${checks.map((name) => html`<li>${name}: ${r[name]?.pass ? 'pass' : 'FAIL'} (${r[name]?.violation_count ?? 0} violations)</li>`)}</ul>`
      }
    <//>`
    }
  </div>`;
}

function Liability({ programId }) {
  const path = `/v1/reports/liability${query({ program_id: programId, limit: 200 })}`;
  const report = useApi(path);
  const rows = report.data?.data ?? [];
  return html`<div class="card"><div class="row spread"><h2>Liability</h2><${CsvButton} path=${path} /></div>
    <${Loading} state=${report}>
      <${Table} rowKey=${(row) => row.asset_id} rows=${rows} empty="Nothing outstanding yet."
        columns=${[{ label: 'Asset', cell: (row) => row.asset_symbol }, { label: 'Balance', cell: (row) => row.balance }]} />
    <//></div>`;
}

function Rollforward({ programId, range }) {
  const path = `/v1/reports/liability-rollforward${query({ program_id: programId, from: `${range.from}T00:00:00Z`, to: `${range.to}T00:00:00Z` })}`;
  const report = useApi(path);
  const rows = report.data?.data ?? [];
  return html`<div class="card"><div class="row spread"><h2>Rollforward</h2><${CsvButton} path=${path} /></div>
    <${Loading} state=${report}>
      <${Table} rowKey=${(row) => row.asset_id} rows=${rows} empty="No movement in this period: pick a wider range."
        columns=${[
          { label: 'Asset', cell: (row) => row.asset_symbol },
          { label: 'Opening', cell: (row) => row.opening_balance },
          { label: 'Issued', cell: (row) => row.issued },
          { label: 'Redeemed', cell: (row) => row.redeemed },
          { label: 'Expired', cell: (row) => row.expired },
          { label: 'Closing', cell: (row) => row.closing_balance },
        ]} />
    <//></div>`;
}

function ExpirationSchedule({ programId, range }) {
  const to = new Date(Date.parse(`${range.to}T00:00:00Z`) + 365 * dayMs).toISOString();
  const path = `/v1/reports/expiration-schedule${query({ program_id: programId, from: `${range.from}T00:00:00Z`, to, granularity: 'month' })}`;
  const report = useApi(path);
  const rows = (report.data?.data ?? []).flatMap((asset) =>
    asset.buckets.map((bucket) => ({
      asset_id: asset.asset_id,
      asset_symbol: asset.asset_symbol,
      ...bucket,
    })),
  );
  const times = rows.map((row) => Date.parse(row.bucket_start) / 1000).filter(Number.isFinite);
  return html`<div class="card"><div class="row spread"><h2>Expiration schedule</h2><${CsvButton} path=${path} /></div>
    <${Loading} state=${report}>
      ${
        rows.length === 0
          ? html`<p class="empty">Nothing expires in the next year. Lots expire when an asset or a CREDIT sets expires_at.</p>`
          : html`<${Chart} title="Expiring per month" times=${times} series=${[{ label: 'expiring', values: rows.map((row) => Number(row.amount)) }]} />
          <${Table} rowKey=${(row) => `${row.asset_id}${row.bucket_start}`} rows=${rows} empty=""
            columns=${Object.keys(rows[0])
              .filter((key) => key !== 'asset_id')
              .map((key) => ({ label: key, cell: (row) => String(row[key]) }))} />`
      }
    <//></div>`;
}

function Journal({ programId }) {
  const path = `/v1/journal-entries${query({ program_id: programId, limit: 25 })}`;
  const pages = usePages(path);
  return html`<div class="card"><div class="row spread"><h2>Journal</h2>
      <${CsvButton} path=${path} label="Download CSV (every entry, one row per posting)" />
    </div>
    <${PagedTable} pages=${pages} empty="No journal entry yet: every credit, debit, hold and redemption posts one."
      columns=${[
        { label: '#', cell: (entry) => entry.sequence_number },
        { label: 'Action', cell: (entry) => entry.action_type },
        {
          label: 'Postings',
          cell: (entry) =>
            entry.postings
              .map((p) => `${p.amount} ${p.asset_symbol} ${p.system_account ?? p.bucket}`)
              .join(' · '),
        },
        { label: 'Description', cell: (entry) => entry.description ?? '' },
        { label: 'At', cell: (entry) => time(entry.created_at) },
      ]} />
  </div>`;
}
