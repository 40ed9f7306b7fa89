// Runs the curl commands of a document's shell blocks against a real app with workers, as a reader
// would, and checks every response the document shows (`# 201 {...}`): the status, and each literal
// "field":value it prints (`…` stands for anything). `export NAME=<the id above>` lines take the id
// of the response before them; `<..., from GET /v1/...>` takes the first id of that list.
import type { Tenant } from './harness.js';

interface Step {
  method: string;
  url: string;
  body: string | undefined;
  /** `export NAME=<...>` lines that follow the command, in order. */
  exports: string[];
  expected: { status: number; text: string } | undefined;
}

/** Commands (continuation lines joined), each with the expectation and exports after it. */
export function parseSteps(block: string): Step[] {
  const steps: Step[] = [];
  const lines = block.split('\n');
  for (let index = 0; index < lines.length; index += 1) {
    const line = lines[index] ?? '';
    const step = steps.at(-1);
    if (line.startsWith('curl ')) {
      let command = line;
      // Joined while a line ends in a backslash or a single-quoted body is still open.
      while (command.endsWith('\\') || isQuoteOpen(command)) {
        index += 1;
        command = `${command.replace(/\\$/, '')}\n${lines[index] ?? ''}`;
      }
      steps.push(parseCurl(command));
    } else if (/^# \d{3} /.test(line) && step !== undefined) {
      let text = line.slice(2);
      while (/^# {2,}\S/.test(lines[index + 1] ?? '')) {
        index += 1;
        text += (lines[index] ?? '').slice(1).trim();
      }
      step.expected = { status: Number(text.slice(0, 3)), text: text.slice(4) };
    } else if (line.startsWith('export ') && step !== undefined) {
      step.exports.push(line);
    }
  }
  return steps;
}

function isQuoteOpen(command: string): boolean {
  return command.replace(/'\$[A-Z]+'/g, '').split("'").length % 2 === 0;
}

function parseCurl(command: string): Step {
  // A body is single-quoted; '$NAME' inside it closes the quotes around a shell variable.
  const spliced = command.replace(/'\$([A-Z]+)'/g, '@@$1@@');
  const body = /--data '([\s\S]*?)'/.exec(spliced)?.[1]?.replace(/@@([A-Z]+)@@/g, '$$$1');
  const url = /"?\$API(\/[^"\s]*)"?/.exec(command)?.[1];
  if (url === undefined) throw new Error(`no $API URL in: ${command}`);
  return { method: /-X (\w+)/.exec(command)?.[1] ?? 'GET', url, body, exports: [], expected: undefined };
}

/** The literal "field":value pairs a shown response contains; anything with … is left out. */
export function literalFields(text: string): string[] {
  const value = String.raw`"[^"…]*"|-?\d+(?:\.\d+)?|true|false|null|\[\]|\{\}|\["[^"…\]]*"(?:,"[^"…\]]*")*\]`;
  return [...text.matchAll(new RegExp(String.raw`"[a-z_]+":(?:${value})(?=[,}\]])`, 'g'))].map(
    (match) => match[0],
  );
}

/** The ```sh blocks of a Markdown text, in order. */
export function shellBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
}

/** Until no event is PENDING or PROCESSING: what readers wait a moment for. */
async function waitForEvents(tenant: Tenant): Promise<void> {
  const unfinished = async (status: string) =>
    ((await tenant.request('GET', `/v1/events?status=${status}`)).json() as { data: unknown[] }).data.length;
  for (let waited = 0; waited < 20_000; waited += 50) {
    if ((await unfinished('PENDING')) + (await unfinished('PROCESSING')) === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('events still unfinished');
}

export interface StepFailure {
  step: string;
  problem: string;
}

/**
 * Sends every step in order; answers what went wrong (empty when the document is right) and how
 * many shown responses were checked.
 */
export async function runSteps(
  tenant: Tenant,
  steps: Step[],
): Promise<{ failures: StepFailure[]; checked: number }> {
  const variables = new Map<string, string>();
  const failures: StepFailure[] = [];
  let eventId: string | undefined;
  let checked = 0;
  for (const step of steps) {
    const substitute = (text: string) =>
      text.replace(/\$([A-Z]+)/g, (whole, name: string) => variables.get(name) ?? whole);
    if (step.method === 'GET') await waitForEvents(tenant);
    const label = `${step.method} ${step.url}`;
    const response = await tenant.request(
      step.method,
      substitute(step.url),
      step.body === undefined ? undefined : JSON.parse(substitute(step.body)),
    );
    const answer = (response.body === '' ? {} : response.json()) as { id?: string; data?: { id: string }[] };
    if (step.method === 'POST' && step.url === '/v1/events' && eventId === undefined) eventId = answer.id;
    for (const line of step.exports) {
      const name = /^export ([A-Z]+)=/.exec(line)?.[1] ?? '';
      const source = /from GET (\S+?)>/.exec(line)?.[1];
      if (source !== undefined) await waitForEvents(tenant);
      const from = source === undefined ? answer : (await tenant.request('GET', substitute(source))).json();
      const value = name === 'EVENT' ? eventId : (from.id ?? from.data?.[0]?.id);
      if (value === undefined) failures.push({ step: label, problem: `no value for ${line}` });
      else variables.set(name, value);
    }
    if (step.expected === undefined) {
      if (response.statusCode >= 300)
        failures.push({ step: label, problem: `${response.statusCode} ${response.body}` });
      continue;
    }
    checked += 1;
    if (response.statusCode !== step.expected.status) {
      failures.push({
        step: label,
        problem: `answered ${response.statusCode}, shown ${step.expected.status}: ${response.body}`,
      });
      continue;
    }
    for (const field of literalFields(step.expected.text)) {
      if (!response.body.includes(field))
        failures.push({ step: label, problem: `shows ${field}; answered ${response.body}` });
    }
  }
  return { failures, checked };
}
