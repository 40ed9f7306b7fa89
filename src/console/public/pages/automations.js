// Automations: a program's automations with their status and the progress of the current run; create
// (cron, one time, immediate; program or participants scope), pause / resume, trigger, cancel a run
// and archive, each behind a confirmation; subscriptions of participant_state automations.
import { useEffect, useState } from 'preact/hooks';
import { api, query } from '../api.js';
import { ConfirmButton, Field, FormError, html, PagedTable, Status, time, usePages } from '../ui.js';

const statuses = ['', 'active', 'paused', 'archived'];
const runningMs = 3000;
const running = (automation) => ['pending', 'executing'].includes(automation.execution_status);
/** Running, or due to start within the refresh period (a trigger makes it due now). */
const busy = (automation) =>
  running(automation) ||
  (automation.status === 'active' &&
    automation.next_run_at !== null &&
    Date.parse(automation.next_run_at) <= Date.now() + runningMs);

export function AutomationsPage({ programId, params }) {
  const status = params.get('status') ?? '';
  const base = `/v1/programs/${programId}/automations`;
  const pages = usePages(`${base}${query({ status, limit: 25 })}`);
  const [adding, setAdding] = useState(false);
  const anyBusy = pages.rows.some(busy);
  useEffect(() => {
    if (!anyBusy) return undefined;
    const timer = setInterval(pages.reload, runningMs);
    return () => clearInterval(timer);
  }, [anyBusy, pages.reload]);
  const act = (automation, method, suffix, body) => async () => {
    await api(method, `${base}/${automation.id}${suffix}`, body);
    pages.reload();
  };
  const columns = [
    {
      label: 'Name',
      cell: (a) => html`<strong>${a.name}</strong><br /><small class="muted">fires ${a.event_name}</small>`,
    },
    { label: 'Trigger', cell: describeTrigger },
    { label: 'Scope', cell: (a) => a.scope },
    {
      label: 'Status',
      cell: (a) => html`<${Status} value=${a.status} /> <${Status} value=${a.execution_status} />
        ${a.execution_error ? html`<br /><small class="error">${a.execution_error}</small>` : null}`,
    },
    { label: 'Progress', cell: progressOf },
    { label: 'Next run', cell: (a) => time(a.next_run_at) },
    { label: 'Last run', cell: (a) => time(a.last_run_at) },
    { label: '', cell: (a) => html`<${Controls} automation=${a} act=${act} />` },
  ];
  return html`<section>
    <div class="row spread"><h1>Automations</h1>
      ${adding ? null : html`<button onClick=${() => setAdding(true)}>New automation</button>`}
    </div>
    ${
      adding
        ? html`<${AutomationForm} path=${base} onCancel=${() => setAdding(false)} onCreated=${() => {
            setAdding(false);
            pages.reload();
          }} />`
        : null
    }
    <label>Status
      <select aria-label="Status filter" value=${status} onChange=${(event) => {
        window.location.hash = `#/automations${query({ status: event.target.value })}`;
      }}>
        ${statuses.map((one) => html`<option value=${one}>${one || 'active and paused'}</option>`)}
      </select>
    </label>
    <${PagedTable} pages=${pages} columns=${columns}
      empty=${status ? `No ${status} automation in this program.` : 'No automation yet: New automation sends events on a schedule (a monthly statement, a birthday bonus) to the program or to each participant.'} />
  </section>`;
}

function describeTrigger(a) {
  if (a.trigger_type === 'cron') return html`cron <code>${a.cron_expression}</code> ${a.timezone}`;
  if (a.trigger_type === 'one_time') return `once at ${time(a.trigger_at)}`;
  if (a.trigger_type === 'participant_state')
    return html`participant state (${a.schedule_type})<br /><${Subscriptions} automation=${a} />`;
  return 'immediate';
}

function progressOf(a) {
  if (a.scope !== 'participants') return a.execution_status === 'completed' ? 'sent' : '—';
  const total = a.participants_total;
  if (total === null) return `${a.participants_processed} processed`;
  return html`<meter min="0" max=${Math.max(total, 1)} value=${a.participants_processed}></meter>
    ${a.participants_processed} / ${total}`;
}

function Controls({ automation: a, act }) {
  if (a.status === 'archived') return null;
  const paused = a.status === 'paused';
  const triggerable =
    !paused &&
    !running(a) &&
    a.trigger_type !== 'participant_state' &&
    !(a.trigger_type === 'one_time' && a.scope === 'program');
  return html`<div class="row wrap">
    <${ConfirmButton} label=${paused ? 'Resume' : 'Pause'} question=${paused ? `Resume ${a.name}? A cron schedule counts from now.` : `Pause ${a.name}? Future runs stop; a run in progress goes on.`}
      onConfirm=${act(a, 'PATCH', '', { status: paused ? 'active' : 'paused' })} />
    ${triggerable ? html`<${ConfirmButton} label="Trigger" question=${`Fire ${a.name} now (${a.scope === 'participants' ? 'one event per matching participant' : 'one event'})?`} onConfirm=${act(a, 'POST', '/trigger')} />` : null}
    ${running(a) ? html`<${ConfirmButton} label="Cancel run" danger=${true} question=${`Cancel the run of ${a.name}? Participants already sent keep their events; the rest are skipped.`} onConfirm=${act(a, 'POST', '/cancel')} />` : null}
    <${ConfirmButton} label="Archive" danger=${true} question=${`Archive ${a.name}? It never fires again and cannot be re-activated (Pause stops it for a while).`} onConfirm=${act(a, 'DELETE', '')} />
  </div>`;
}

/** A participant_state automation's subscriptions (one per participant it follows), on demand. */
function Subscriptions({ automation }) {
  const [open, setOpen] = useState(false);
  const pages = usePages(
    open ? `/v1/programs/${automation.program_id}/automations/${automation.id}/subscriptions?limit=25` : null,
  );
  if (!open) return html`<button class="link" onClick=${() => setOpen(true)}>Subscriptions</button>`;
  return html`<${PagedTable} pages=${pages} empty="No subscription yet: participants matching the filter are subscribed as their state changes."
    columns=${[
      {
        label: 'Participant',
        cell: (s) =>
          html`<a href=${`#/participants/${s.participant_id}`}>${s.participant_id.slice(0, 8)}</a>`,
      },
      { label: 'Status', cell: (s) => html`<${Status} value=${s.status} />` },
      { label: 'Next', cell: (s) => time(s.next_trigger_at) },
      { label: 'Fired', cell: (s) => s.trigger_count },
      { label: 'Error', cell: (s) => s.last_error ?? '' },
    ]} />`;
}

const formFields = ['name', 'event_name', 'trigger', 'scope', 'participant_filter', 'payload'];

/** The create body from the form; an error names the field that is not right. */
function automationBody(form) {
  const trigger = { type: form.trigger_type };
  if (form.trigger_type === 'cron') {
    trigger.cron_expression = form.cron_expression;
    if (form.timezone) trigger.timezone = form.timezone;
  }
  if (form.trigger_type === 'one_time') {
    const at = Date.parse(form.trigger_at);
    if (Number.isNaN(at)) return { error: { field: 'trigger.trigger_at', message: 'pick a date and time' } };
    trigger.trigger_at = new Date(at).toISOString();
  }
  const body = { name: form.name, event_name: form.event_name, scope: form.scope, trigger };
  if (form.scope === 'participants' && form.participant_filter.trim() !== '')
    body.participant_filter = form.participant_filter;
  if (form.payload.trim() !== '') {
    try {
      body.payload = JSON.parse(form.payload);
    } catch (caught) {
      return { error: { field: 'payload', message: `payload is not JSON: ${caught.message}` } };
    }
  }
  return { body };
}

function AutomationForm({ path, onCreated, onCancel }) {
  const [form, setForm] = useState({
    name: '',
    event_name: '',
    trigger_type: 'cron',
    cron_expression: '0 9 1 * *',
    timezone: 'UTC',
    trigger_at: '',
    scope: 'participants',
    participant_filter: '',
    payload: '',
  });
  const [error, setError] = useState(null);
  const set = (name) => (event) => setForm({ ...form, [name]: event.target.value });
  const submit = async (event) => {
    event.preventDefault();
    setError(null);
    const { body, error: invalid } = automationBody(form);
    if (invalid) return setError(invalid);
    try {
      await api('POST', path, body);
      onCreated();
    } catch (caught) {
      setError(caught);
    }
    return undefined;
  };
  const type = form.trigger_type;
  return html`<form class="card" onSubmit=${submit}>
    <h2>New automation</h2>
    <div class="row wrap">
      <${Field} label="Name" name="name" error=${error} required value=${form.name} onInput=${set('name')} placeholder="Monthly statement" />
      <${Field} label="Event type it fires" name="event_name" error=${error} required value=${form.event_name} onInput=${set('event_name')} placeholder="monthly_statement" hint="Rules see it as event.type" />
      <${Field} label="When" name="trigger.type" error=${error}>
        <select id="f-trigger.type" value=${type} onChange=${set('trigger_type')}>
          <option value="cron">on a schedule (cron)</option>
          <option value="one_time">once, at a time</option>
          <option value="immediate">now, once</option>
        </select>
      <//>
      ${type === 'cron' ? html`<${Field} label="Cron (minute hour day month weekday)" name="trigger.cron_expression" error=${error} value=${form.cron_expression} onInput=${set('cron_expression')} />` : null}
      ${type === 'cron' ? html`<${Field} label="Time zone" name="trigger.timezone" error=${error} value=${form.timezone} onInput=${set('timezone')} placeholder="Europe/Paris" />` : null}
      ${type === 'one_time' ? html`<${Field} label="At" name="trigger.trigger_at" error=${error} type="datetime-local" value=${form.trigger_at} onInput=${set('trigger_at')} />` : null}
      <${Field} label="Scope" name="scope" error=${error}>
        <select id="f-scope" value=${form.scope} onChange=${set('scope')}>
          <option value="participants">one event per participant</option>
          <option value="program">one event for the program</option>
        </select>
      <//>
    </div>
    ${form.scope === 'participants' ? html`<${Field} label="Participant filter (CEL, optional)" name="participant_filter" error=${error} value=${form.participant_filter} onInput=${set('participant_filter')} placeholder='"statements" in participant.tags' />` : null}
    <${Field} label="Payload (JSON, optional)" name="payload" error=${error} value=${form.payload} onInput=${set('payload')} placeholder='{"channel": "email"}' hint="Merged into each event's event_data" />
    <${FormError} error=${error} fields=${formFields} />
    <div class="row">
      <button type="submit">Create</button>
      <button type="button" class="secondary" onClick=${onCancel}>Cancel</button>
    </div>
  </form>`;
}
