// Setup: model a program without the API reference: a program, its asset and a tier.
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { Field, FormError, html } from '../ui.js';

function useSubmit(send) {
  const [error, setError] = useState(null);
  const [done, setDone] = useState(null);
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    setDone(null);
    try {
      setDone(await send(Object.fromEntries(new FormData(event.target))));
    } catch (caught) {
      setError(
        caught instanceof SyntaxError
          ? { field: 'levels', message: `levels is not JSON: ${caught.message}` }
          : caught,
      );
    }
  };
  return { error, done, submit };
}

export function SetupPage({ programId, onProgramCreated }) {
  const program = useSubmit(async (form) => {
    const created = await api('POST', '/v1/programs', { name: form.name, on_unknown_participant: 'CREATE' });
    onProgramCreated(created.id);
    return `Program “${created.name}” created: it enrolls unknown participants on their first event.`;
  });
  const asset = useSubmit(async (form) => {
    const created = await api('POST', '/v1/assets', {
      program_id: programId,
      name: form.name,
      symbol: form.symbol,
      scale: Number(form.scale),
      inventory_mode: 'SIMPLE',
      issuance_policy: 'UNLIMITED',
    });
    return `Asset ${created.symbol} created and linked. Next: a rule that credits it (Rules → New rule).`;
  });
  const tier = useSubmit(async (form) => {
    const created = await api('POST', `/v1/programs/${programId}/tiers`, {
      key: form.key,
      display_name: form.display_name,
      levels: JSON.parse(form.levels),
    });
    return `Tier ${created.key} created.`;
  });
  return html`<section>
    <h1>Setup</h1>
    <p>${programId ? 'Model the chosen program: add an asset, then rules and tiers.' : 'No program yet: create one to start.'}</p>
    <form class="card" onSubmit=${program.submit}><h2>New program</h2>
      <${Field} label="Name" name="name" error=${program.error} required placeholder="Coffee club" />
      <${FormError} error=${program.error} fields=${['name']} />
      ${program.done ? html`<p class="ok" role="status">${program.done}</p>` : null}
      <button type="submit">Create program</button>
    </form>
    ${
      programId &&
      html`<form class="card" onSubmit=${asset.submit}><h2>New asset (points)</h2>
      <div class="row wrap">
        <${Field} label="Name" name="name" error=${asset.error} required placeholder="Points" />
        <${Field} label="Symbol" name="symbol" error=${asset.error} required placeholder="PTS" />
        <${Field} label="Decimals (scale)" name="scale" error=${asset.error} type="number" value="0" min="0" max="18" />
      </div>
      <${FormError} error=${asset.error} fields=${['name', 'symbol', 'scale']} />
      ${asset.done ? html`<p class="ok" role="status">${asset.done}</p>` : null}
      <button type="submit">Create asset</button>
    </form>`
    }
    ${
      programId &&
      html`<form class="card" onSubmit=${tier.submit}><h2>New tier</h2>
      <div class="row wrap">
        <${Field} label="Key" name="key" error=${tier.error} required placeholder="status" />
        <${Field} label="Display name" name="display_name" error=${tier.error} placeholder="Status" />
      </div>
      <${Field} label="Levels (JSON)" name="levels" error=${tier.error}>
        <textarea id="f-levels" name="levels" rows="5">${'[{"key": "member", "rank": 0},\n {"key": "gold", "rank": 1, "qualification": {"mode": "ALL", "criteria": [{"counter": "spend", "operator": ">=", "threshold": 500}]}}]'}</textarea>
      <//>
      <${FormError} error=${tier.error} fields=${['key', 'display_name', 'levels']} />
      ${tier.done ? html`<p class="ok" role="status">${tier.done}</p>` : null}
      <button type="submit">Create tier</button>
    </form>`
    }
  </section>`;
}
