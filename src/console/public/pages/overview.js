// Overview of one program: participants, ingestion rate, backlog, failed events, outstanding
// liability per asset, and issued / redeemed / expired per day over the last week.
import { useEffect, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { Chart, ErrorNote, html, Loading, Table, useApi } from '../ui.js';

const chartDays = 7;
const dayMs = 86_400_000;
const refreshMs = 5000;

export function OverviewPage({ programId }) {
  const overview = useApi(`/v1/reports/program-overview${query({ program_id: programId })}`);
  const liability = useApi(`/v1/reports/liability${query({ program_id: programId, limit: 50 })}`);
  useEffect(() => {
    const timer = setInterval(overview.reload, refreshMs);
    return () => clearInterval(timer);
  }, [overview.reload]);
  const o = overview.data;
  return html`<section>
    <h1>Overview</h1>
    <${Loading} state=${overview}>
      ${
        o &&
        html`<div class="figures">
        <a class="figure" href="#/participants"><strong>${o.participants.toLocaleString()}</strong> participants</a>
        <a class="figure" href="#/events"><strong>${o.events_per_minute}</strong> events / min</a>
        <a class="figure" href="#/events?status=PENDING"><strong>${o.backlog.toLocaleString()}</strong> backlog</a>
        <a class="figure" href="#/events?status=FAILED"><strong>${o.failed.toLocaleString()}</strong> failed</a>
      </div>`
      }
    <//>
    <div class="card"><h2>Outstanding liability</h2><${Loading} state=${liability}>
      <${Table} rowKey=${(row) => row.asset_id} rows=${liability.data?.data ?? []}
        empty="Nothing outstanding: once rules credit points, what is owed shows here."
        columns=${[
          { label: 'Asset', cell: (row) => `${row.asset_name} (${row.asset_symbol})` },
          { label: 'Balance', cell: (row) => row.balance },
        ]} />
    <//></div>
    <${Movements} programId=${programId} />
  </section>`;
}

/** One rollforward per day: the API's report, summed per day over the program's assets. */
function Movements({ programId }) {
  const [series, setSeries] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    const today = Math.floor(Date.now() / dayMs) * dayMs;
    const days = Array.from({ length: chartDays }, (_, index) => today - (chartDays - 1 - index) * dayMs);
    Promise.all(
      days.map((from) =>
        api(
          'GET',
          `/v1/reports/liability-rollforward${query({ program_id: programId, from: new Date(from).toISOString(), to: new Date(from + dayMs).toISOString() })}`,
        ),
      ),
    ).then((reports) => {
      const sum = (report, field) => report.data.reduce((total, row) => total + Number(row[field]), 0);
      setSeries({
        times: days.map((day) => day / 1000),
        series: ['issued', 'redeemed', 'expired'].map((field) => ({
          label: field,
          values: reports.map((report) => sum(report, field)),
        })),
      });
    }, setError);
  }, [programId]);
  return html`<div class="card"><h2>Issued, redeemed and expired per day</h2>
    <${ErrorNote} error=${error} />
    ${series ? html`<${Chart} title="Last 7 days (all assets, in their units)" times=${series.times} series=${series.series} />` : null}
  </div>`;
}
