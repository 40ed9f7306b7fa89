// Tiers: each tier with its levels, edited through the public API (PATCH matches levels by key and
// adds the new ones; POST creates a tier; archive behind a confirmation).
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { ConfirmButton, Field, FormError, html, Loading, Status, Table, useApi } from '../ui.js';

const criterionPattern = /^\s*([\w.:-]+)\s*(>=|<=|==|>|<)\s*(-?\d+(?:\.\d+)?)\s*$/;

export function TiersPage({ programId }) {
  const tiers = useApi(`/v1/programs/${programId}/tiers?limit=50`);
  const [adding, setAdding] = useState(false);
  const list = tiers.data?.data ?? [];
  const saved = () => {
    setAdding(false);
    tiers.reload();
  };
  return html`<section>
    <div class="row spread"><h1>Tiers</h1>
      ${adding ? null : html`<button onClick=${() => setAdding(true)}>New tier</button>`}
    </div>
    ${adding ? html`<${TierEditor} programId=${programId} onSaved=${saved} onCancel=${() => setAdding(false)} />` : null}
    <${Loading} state=${tiers}>
      ${
        list.length === 0 && !adding
          ? html`<div class="empty">No tier yet: New tier adds one. Members reach its levels from their counters (a rule's COUNTER action keeps them).</div>`
          : list.map(
              (tier) =>
                html`<${TierCard} key=${tier.id} tier=${tier} programId=${programId} onSaved=${tiers.reload} />`,
            )
      }
    <//>
  </section>`;
}

function criteriaText(qualification) {
  return (qualification?.criteria ?? [])
    .map((one) => `${one.counter} ${one.operator} ${one.threshold}`)
    .join(', ');
}

function TierCard({ tier, programId, onSaved }) {
  const [editing, setEditing] = useState(false);
  const archive = async () => {
    await api('POST', `/v1/programs/${programId}/tiers/${encodeURIComponent(tier.key)}/archive`);
    onSaved();
  };
  if (editing)
    return html`<${TierEditor} tier=${tier} programId=${programId} onCancel=${() => setEditing(false)}
      onSaved=${() => {
        setEditing(false);
        onSaved();
      }} />`;
  return html`<div class="card">
    <div class="row spread"><h2>${tier.display_name ?? tier.key} <${Status} value=${tier.status} /></h2>
      ${
        tier.status === 'ACTIVE'
          ? html`<div class="row">
          <button class="secondary" onClick=${() => setEditing(true)}>Edit</button>
          <${ConfirmButton} label="Archive" danger=${true} question=${`Archive the tier ${tier.key}? Members keep their history; nobody moves between its levels any more.`} onConfirm=${archive} />
        </div>`
          : null
      }
    </div>
    <${Table} rows=${tier.levels} empty="No level."
      columns=${[
        { label: 'Rank', cell: (level) => level.rank },
        { label: 'Level', cell: (level) => level.display_name ?? level.key },
        { label: 'Key', cell: (level) => html`<code>${level.key}</code>` },
        {
          label: 'Qualifies when',
          cell: (level) =>
            level.qualification
              ? `${level.qualification.mode === 'ANY' ? 'any of' : 'all of'}: ${criteriaText(level.qualification)}`
              : 'always (base level)',
        },
      ]} />
  </div>`;
}

function levelDraft(level) {
  return {
    key: level?.key ?? '',
    rank: level?.rank ?? '',
    display_name: level?.display_name ?? '',
    mode: level?.qualification?.mode ?? 'ALL',
    criteria: criteriaText(level?.qualification),
    isNew: level === undefined,
  };
}

/** `spend >= 100, visits > 2` as the API's criteria; an error names the level's field. */
function qualificationOf(level, index) {
  if (level.criteria.trim() === '') return { qualification: {} };
  const criteria = [];
  for (const part of level.criteria.split(',')) {
    const match = criterionPattern.exec(part);
    if (!match)
      return {
        error: {
          field: `levels[${index}].qualification`,
          message: `“${part.trim()}” is not “counter >= number” (operators >=, >, ==, <=, <)`,
        },
      };
    criteria.push({ counter: match[1], operator: match[2], threshold: Number(match[3]) });
  }
  return { qualification: { mode: level.mode, criteria } };
}

/** The body of a create (every level) or a patch (levels matched by key). */
function tierBody(draft, isNew) {
  const levels = [];
  for (const [index, level] of draft.levels.entries()) {
    const { qualification, error } = qualificationOf(level, index);
    if (error) return { error };
    const one = {
      key: level.key.trim(),
      rank: level.rank === '' ? undefined : Number(level.rank),
      qualification,
    };
    if (level.display_name.trim() !== '') one.display_name = level.display_name.trim();
    else if (!isNew && !level.isNew) one.display_name = null;
    levels.push(one);
  }
  const body = { levels };
  if (draft.display_name.trim() !== '') body.display_name = draft.display_name.trim();
  if (isNew) body.key = draft.key.trim();
  return { body };
}

function TierEditor({ tier, programId, onSaved, onCancel }) {
  const isNew = tier === undefined;
  const [draft, setDraft] = useState(() => ({
    key: tier?.key ?? '',
    display_name: tier?.display_name ?? '',
    levels: tier
      ? tier.levels.map(levelDraft)
      : [levelDraft({ key: 'member', rank: 0 })].map((l) => ({ ...l, isNew: true })),
  }));
  const [error, setError] = useState(null);
  const setLevel = (index, name) => (event) =>
    setDraft({
      ...draft,
      levels: draft.levels.map((level, i) =>
        i === index ? { ...level, [name]: event.target.value } : level,
      ),
    });
  const addLevel = () => {
    const rank = Math.max(-1, ...draft.levels.map((level) => Number(level.rank) || 0)) + 1;
    setDraft({ ...draft, levels: [...draft.levels, { ...levelDraft(), rank }] });
  };
  const save = async (event) => {
    event.preventDefault();
    setError(null);
    const { body, error: invalid } = tierBody(draft, isNew);
    if (invalid) return setError(invalid);
    try {
      if (isNew) await api('POST', `/v1/programs/${programId}/tiers`, body);
      else await api('PATCH', `/v1/programs/${programId}/tiers/${encodeURIComponent(tier.key)}`, body);
      onSaved();
    } catch (caught) {
      setError(caught);
    }
    return undefined;
  };
  const levelError = (index, name) => (error?.field?.startsWith(`levels[${index}].${name}`) ? error : null);
  return html`<form class="card tier-editor" onSubmit=${save}>
    <h2>${isNew ? 'New tier' : `Edit ${tier.key}`}</h2>
    <div class="row wrap">
      ${isNew ? html`<${Field} label="Key" name="key" error=${error} value=${draft.key} required onInput=${(e) => setDraft({ ...draft, key: e.target.value })} placeholder="status" />` : null}
      <${Field} label="Display name" name="display_name" error=${error} value=${draft.display_name} onInput=${(e) => setDraft({ ...draft, display_name: e.target.value })} placeholder="Status" />
    </div>
    <fieldset><legend>Levels (higher rank is better; a level with no criteria is the base)</legend>
      ${draft.levels.map(
        (level, index) => html`<div class="row wrap level" key=${index}>
        <${Field} label="Key" name=${`levels[${index}].key`} error=${levelError(index, 'key')} value=${level.key} readOnly=${!level.isNew} required onInput=${setLevel(index, 'key')} />
        <${Field} label="Rank" name=${`levels[${index}].rank`} error=${levelError(index, 'rank')} type="number" min="0" value=${level.rank} onInput=${setLevel(index, 'rank')} />
        <${Field} label="Display name" name=${`levels[${index}].display_name`} error=${levelError(index, 'display_name')} value=${level.display_name} onInput=${setLevel(index, 'display_name')} />
        <${Field} label="Mode" name=${`levels[${index}].mode`}>
          <select id=${`f-levels[${index}].mode`} value=${level.mode} onChange=${setLevel(index, 'mode')}>
            <option value="ALL">all of</option><option value="ANY">any of</option>
          </select>
        <//>
        <${Field} label="Qualifies when" name=${`levels[${index}].qualification`} error=${levelError(index, 'qualification')} value=${level.criteria} onInput=${setLevel(index, 'criteria')} placeholder="spend >= 100, visits > 2" class="grow" />
      </div>`,
      )}
      <button type="button" class="secondary" onClick=${addLevel}>Add a level</button>
    </fieldset>
    <${FormError} error=${error} fields=${['key', 'display_name', ...draft.levels.map((_, index) => `levels[${index}]`)]} />
    <div class="row">
      <button type="submit">${isNew ? 'Create the tier' : 'Save the tier'}</button>
      <button type="button" class="secondary" onClick=${onCancel}>Cancel</button>
    </div>
  </form>`;
}
