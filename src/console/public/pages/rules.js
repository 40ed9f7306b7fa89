// Rules: the program's rules in evaluation order; an editor that validates as you type and simulates
// against a sample or a recent real event; version history as a diff; budgets with consumption.
import { useEffect, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import {
  Field,
  FormError,
  html,
  Json,
  Loading,
  link,
  More,
  PagedTable,
  Status,
  Table,
  time,
  useApi,
  usePages,
} from '../ui.js';

const validateDelayMs = 400;

export function RulesPage({ programId }) {
  const pages = usePages(
    `/v1/rules${query({ program_id: programId, sort_by: 'order', sort_dir: 'asc', limit: 50 })}`,
  );
  return html`<section>
    <div class="row spread"><h1>Rules</h1><a class="button" href="#/rules/new">New rule</a></div>
    <${PagedTable} pages=${pages} empty="No rule yet: a rule turns events into points. Start with New rule."
        columns=${[
          { label: 'Order', cell: (r) => r.order },
          { label: 'Name', cell: (r) => html`<a href=${link(`/rules/${r.id}`)}>${r.name}</a>` },
          { label: 'Condition', cell: (r) => html`<code>${r.condition}</code>` },
          { label: 'Status', cell: (r) => html`<${Status} value=${r.status} />` },
          { label: 'Budgets', cell: (r) => r.budgets.map((b) => `${b.consumed} / ${b.limit}`).join(', ') },
        ]} />
  </section>`;
}

export function RulePage({ id, programId }) {
  const isNew = id === 'new';
  const rule = useApi(isNew ? null : `/v1/rules/${id}`);
  if (!isNew && !rule.data) return html`<${Loading} state=${rule}>${null}<//>`;
  return html`<section>
    <p><a href="#/rules">← Rules</a></p>
    <${RuleEditor} key=${rule.data?.updated_at ?? 'new'} rule=${rule.data} programId=${programId} onSaved=${rule.reload} />
    ${rule.data ? html`<${Budgets} rule=${rule.data} programId=${programId} onSaved=${rule.reload} /><${History} id=${rule.data.id} />` : null}
  </section>`;
}

function draftOf(rule) {
  return {
    name: rule?.name ?? '',
    condition: rule?.condition ?? 'event.type == "purchase"',
    actions: JSON.stringify(
      rule?.actions ?? [{ type: 'CREDIT', asset_id: '', amount: 'event.amount * 10.0' }],
      null,
      2,
    ),
    order: rule?.order ?? '',
  };
}

/** The body a save sends; null with an error when the actions are not JSON. */
function bodyOf(draft, programId) {
  try {
    const body = {
      program_id: programId,
      name: draft.name,
      condition: draft.condition,
      actions: JSON.parse(draft.actions),
    };
    if (draft.order !== '') body.order = Number(draft.order);
    return { body };
  } catch (caught) {
    return { error: { field: 'actions', message: `actions is not JSON: ${caught.message}` } };
  }
}

function useValidation(draft, programId) {
  const [problems, setProblems] = useState([]);
  useEffect(() => {
    const timer = setTimeout(async () => {
      const { body, error } = bodyOf(draft, programId);
      if (error) return setProblems([error]);
      if (body.name === '') delete body.name;
      try {
        const result = await api('POST', '/v1/rules/validate', body);
        setProblems(result.problems);
      } catch (caught) {
        setProblems([{ field: caught.field, message: caught.message }]);
      }
    }, validateDelayMs);
    return () => clearTimeout(timer);
  }, [draft.name, draft.condition, draft.actions, draft.order]);
  return problems;
}

function RuleEditor({ rule, programId, onSaved }) {
  const assets = useApi(`/v1/programs/${programId}/assets?limit=200`);
  const [draft, setDraft] = useState(() => draftOf(rule));
  const [saved, setSaved] = useState(rule);
  const [error, setError] = useState(null);
  const [simulation, setSimulation] = useState(null);
  const problems = useValidation(draft, programId);
  const firstAsset = assets.data?.data[0]?.id;
  useEffect(() => {
    if (!rule && firstAsset && draft.actions.includes('"asset_id": ""')) {
      setDraft((d) => ({
        ...d,
        actions: d.actions.replace('"asset_id": ""', `"asset_id": "${firstAsset}"`),
      }));
    }
  }, [firstAsset]);
  const set = (name) => (event) => setDraft({ ...draft, [name]: event.target.value });
  const problem = (name) =>
    problems.find(
      (p) => p.field === name || p.field?.startsWith(`${name}[`) || p.field?.startsWith(`${name}.`),
    );
  const fieldError = (name) => (error?.field?.startsWith(name) ? error : (problem(name) ?? null));
  /** Saves the draft; a rule created with Save (not activated) stays SUSPENDED until activated. */
  const save = async (status) => {
    setError(null);
    const { body, error: invalid } = bodyOf(draft, programId);
    if (invalid) {
      setError(invalid);
      return null;
    }
    try {
      const result = saved
        ? await api('PATCH', `/v1/rules/${saved.id}`, {
            name: body.name,
            condition: body.condition,
            actions: body.actions,
            ...(status ? { status } : {}),
          })
        : await api('POST', '/v1/rules', { ...body, status: status ?? 'SUSPENDED' });
      setSaved(result);
      return result;
    } catch (caught) {
      setError(caught);
      return null;
    }
  };
  const activate = async () => {
    const result = await save('ACTIVE');
    if (result) window.location.hash = `#/rules/${result.id}`;
    if (result && rule) onSaved();
  };
  return html`<div class="card">
    <h1>${saved ? saved.name : 'New rule'} ${saved ? html`<${Status} value=${saved.status} />` : null}</h1>
    <div class="row wrap">
      <${Field} label="Name" name="name" error=${fieldError('name')} value=${draft.name} onInput=${set('name')} placeholder="10 points per dollar" />
      <${Field} label="Order" name="order" error=${fieldError('order')} value=${draft.order} onInput=${set('order')} type="number" hint="Lower runs first" />
    </div>
    <${Field} label="Condition (CEL)" name="condition" error=${fieldError('condition')}>
      <textarea id="f-condition" rows="2" spellcheck="false" value=${draft.condition} onInput=${set('condition')}></textarea>
    <//>
    <${Field} label="Actions (JSON)" name="actions" error=${fieldError('actions')}
      hint="e.g. CREDIT with asset_id and a CEL amount; see the API reference for every action type">
      <textarea id="f-actions" rows="7" spellcheck="false" value=${draft.actions} onInput=${set('actions')}></textarea>
    <//>
    <p class=${problems.length === 0 ? 'ok' : 'muted'} role="status">${problems.length === 0 ? 'Valid.' : `${problems.length} problem(s): ${problems.map((p) => p.message).join('; ')}`}</p>
    <${FormError} error=${error} fields=${['name', 'condition', 'actions', 'order']} />
    <${Simulator} programId=${programId} draft=${draft} onResult=${setSimulation} onDraftError=${setError} />
    ${simulation ? html`<${SimulationResult} result=${simulation} />` : null}
    <div class="row wrap">
      ${
        saved?.status === 'ACTIVE'
          ? html`<button onClick=${() => save()}>Save changes</button>`
          : html`<button onClick=${activate} disabled=${problems.length > 0}>Save and activate</button>`
      }
      ${saved && saved.status === 'ACTIVE' ? html`<button class="secondary" onClick=${() => save('SUSPENDED')}>Suspend</button>` : null}
    </div>
  </div>`;
}

/**
 * Simulates the editor's draft as it is, unsaved (POST /v1/rules/simulate), against a sample or the
 * program's latest real event: nothing is written, and the draft's problems appear beside its fields.
 */
function Simulator({ programId, draft, onResult, onDraftError }) {
  const [sample, setSample] = useState('{"type": "purchase", "amount": 12.5}');
  const [error, setError] = useState(null);
  const useRecent = async () => {
    const recent = await api('GET', `/v1/events${query({ program_id: programId, limit: 1 })}`);
    if (recent.data[0]) setSample(JSON.stringify(recent.data[0].event_data));
    else setError({ message: 'This program has no event yet: type a sample instead.' });
  };
  const simulate = async () => {
    setError(null);
    onDraftError(null);
    let event;
    try {
      event = JSON.parse(sample);
    } catch (caught) {
      return setError({ field: 'event', message: `the sample is not JSON: ${caught.message}` });
    }
    const { body, error: invalid } = bodyOf(draft, programId);
    if (invalid) return onDraftError(invalid);
    try {
      const { program_id, condition, actions } = body;
      onResult(await api('POST', '/v1/rules/simulate', { program_id, condition, actions, event }));
    } catch (caught) {
      if (caught.field === 'event' || !caught.field) setError(caught);
      else onDraftError(caught);
    }
    return undefined;
  };
  return html`<div class="simulator">
    <${Field} label="Sample event_data (JSON)" name="event" error=${error} value=${sample} onInput=${(e) => setSample(e.target.value)} />
    <${FormError} error=${error} fields=${['event']} />
    <div class="row wrap">
      <button class="secondary" onClick=${useRecent}>Use the latest real event</button>
      <button onClick=${simulate}>Simulate</button>
    </div>
  </div>`;
}

function SimulationResult({ result }) {
  const { evaluation } = result;
  return html`<div class="card simulation" role="status">
    <h2>Simulation: ${evaluation.matched ? 'matched' : 'not matched'}</h2>
    ${evaluation.message ? html`<p>${evaluation.message}</p>` : null}
    ${(evaluation.results ?? []).map((one) => html`<${Json} value=${one} />`)}
  </div>`;
}

/** The rule's budgets with their consumption; editing sends them all (PATCH budgets). */
function Budgets({ rule, programId, onSaved }) {
  const [editing, setEditing] = useState(false);
  const assets = useApi(`/v1/programs/${programId}/assets?limit=200`);
  const symbol = (assetId) => assets.data?.data.find((a) => a.id === assetId)?.symbol ?? assetId.slice(0, 8);
  return html`<div class="card"><div class="row spread"><h2>Budgets</h2>
      ${editing ? null : html`<button class="secondary" onClick=${() => setEditing(true)}>Edit budgets</button>`}
    </div>
    <${Table} rows=${rule.budgets} rowKey=${(b) => b.asset_id}
      empty="No budget: this rule may issue without a cap. Edit budgets sets one per asset."
      columns=${[
        { label: 'Asset', cell: (b) => symbol(b.asset_id) },
        {
          label: 'Consumed',
          cell: (b) =>
            html`<meter min="0" max=${Number(b.limit)} value=${Number(b.consumed)}></meter> ${b.consumed} / ${b.limit}`,
        },
        {
          label: 'Resets',
          cell: (b) =>
            b.schedule_type ? `${b.cron_expression ?? b.interval} (next ${time(b.next_reset_at)})` : 'never',
        },
      ]} />
    ${
      editing
        ? html`<${BudgetEditor} rule=${rule} assets=${assets.data?.data ?? []} onCancel=${() => setEditing(false)}
          onSaved=${() => {
            setEditing(false);
            onSaved();
          }} />`
        : null
    }
  </div>`;
}

function budgetDraft(budget) {
  return {
    asset_id: budget.asset_id,
    limit: budget.limit,
    schedule_type: budget.schedule_type ?? '',
    every: budget.cron_expression ?? budget.interval ?? '',
  };
}

function budgetInput(draft) {
  const input = { asset_id: draft.asset_id, limit: draft.limit.trim() };
  if (draft.schedule_type === 'CRON')
    Object.assign(input, { schedule_type: 'CRON', cron_expression: draft.every });
  if (draft.schedule_type === 'INTERVAL')
    Object.assign(input, { schedule_type: 'INTERVAL', interval: draft.every });
  return input;
}

function BudgetEditor({ rule, assets, onSaved, onCancel }) {
  const [rows, setRows] = useState(() => rule.budgets.map(budgetDraft));
  const [error, setError] = useState(null);
  const set = (index, name) => (event) =>
    setRows(rows.map((row, i) => (i === index ? { ...row, [name]: event.target.value } : row)));
  const add = () =>
    setRows([...rows, { asset_id: assets[0]?.id ?? '', limit: '', schedule_type: '', every: '' }]);
  const save = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      await api('PATCH', `/v1/rules/${rule.id}`, { budgets: rows.map(budgetInput) });
      onSaved();
    } catch (caught) {
      setError(caught);
    }
  };
  const rowError = (index, name) => (error?.field?.startsWith(`budgets[${index}].${name}`) ? error : null);
  return html`<form class="budget-editor" onSubmit=${save}>
    ${rows.map(
      (row, index) => html`<div class="row wrap" key=${index}>
      <${Field} label="Asset" name=${`budgets[${index}].asset_id`} error=${rowError(index, 'asset_id')}>
        <select id=${`f-budgets[${index}].asset_id`} value=${row.asset_id} onChange=${set(index, 'asset_id')}>
          ${assets.map((asset) => html`<option value=${asset.id}>${asset.symbol}</option>`)}
        </select>
      <//>
      <${Field} label="Limit" name=${`budgets[${index}].limit`} error=${rowError(index, 'limit')} value=${row.limit} required onInput=${set(index, 'limit')} placeholder="10000" />
      <${Field} label="Resets" name=${`budgets[${index}].schedule_type`} error=${rowError(index, 'schedule_type')}>
        <select id=${`f-budgets[${index}].schedule_type`} value=${row.schedule_type} onChange=${set(index, 'schedule_type')}>
          <option value="">never</option><option value="CRON">on a cron schedule</option><option value="INTERVAL">every interval</option>
        </select>
      <//>
      ${row.schedule_type ? html`<${Field} label=${row.schedule_type === 'CRON' ? 'Cron' : 'Interval (e.g. 720h)'} name=${`budgets[${index}].${row.schedule_type === 'CRON' ? 'cron_expression' : 'interval'}`} error=${rowError(index, row.schedule_type === 'CRON' ? 'cron_expression' : 'interval')} value=${row.every} onInput=${set(index, 'every')} />` : null}
      <button type="button" class="secondary" onClick=${() => setRows(rows.filter((_, i) => i !== index))}>Remove</button>
    </div>`,
    )}
    <${FormError} error=${error} fields=${rows.map((_, index) => `budgets[${index}]`)} />
    <div class="row wrap">
      <button type="button" class="secondary" onClick=${add}>Add a budget</button>
      <button type="submit">Save budgets</button>
      <button type="button" class="secondary" onClick=${onCancel}>Cancel</button>
    </div>
  </form>`;
}

function History({ id }) {
  const pages = usePages(`/v1/rules/${id}/history?limit=20`);
  return html`<div class="card"><h2>Version history</h2><${Loading} state=${pages}>
    <ol class="history">${pages.rows.map(
      (version) => html`<li key=${version.id}>
      <strong>${version.change_type}</strong> ${time(version.changed_at)}
      <table class="diff"><tbody>${Object.entries(version.changes).map(
        ([field, change]) => html`<tr>
        <th>${field}</th>
        <td class="from">${change.from === null ? '' : JSON.stringify(change.from)}</td>
        <td class="to">${JSON.stringify(change.to)}</td>
      </tr>`,
      )}</tbody></table>
    </li>`,
    )}</ol>
    <${More} pages=${pages} />
  <//></div>`;
}
