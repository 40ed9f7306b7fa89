// The container files, without Docker (it cannot run here): the Dockerfile and compose.yaml parsed
// with maintained parsers and checked for what matters, and the image's start command (its
// ENTRYPOINT and CMD, as the image runs them) run as a process on a database of its own.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DockerfileParser, type Instruction, type JSONInstruction } from 'dockerfile-ast';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createTestDatabase, type TestDatabase } from '../harness.js';
import { freePort, testSecretKey } from './run-process.js';

const root = path.resolve(import.meta.dirname, '../..');
const dockerfile = DockerfileParser.parse(readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
const compose = parse(readFileSync(path.join(root, 'compose.yaml'), 'utf8'));
const envExample = readFileSync(path.join(root, 'accrue.env.example'), 'utf8');

/** The instructions of the image that is built: those after the last FROM. */
function finalStage(): Instruction[] {
  const instructions = dockerfile.getInstructions();
  const lastFrom = instructions.map((instruction) => instruction.getKeyword()).lastIndexOf('FROM');
  return instructions.slice(lastFrom);
}

function only(keyword: string): Instruction {
  const found = finalStage().filter((instruction) => instruction.getKeyword() === keyword);
  expect(found, keyword).toHaveLength(1);
  return found[0] as Instruction;
}

/** The words of an exec-form (JSON array) instruction; undefined in the shell form. */
function execForm(instruction: Instruction): string[] | undefined {
  const strings = (instruction as JSONInstruction).getJSONStrings?.() ?? [];
  return strings.length === 0 ? undefined : strings.map((argument) => argument.getJSONValue());
}

describe('Dockerfile', () => {
  it('builds in stages from an official Node.js image and keeps dev dependencies out', () => {
    const froms = dockerfile.getFROMs();
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from.getImageName()).toBe('node');
    const install = finalStage().some((instruction) => instruction.getKeyword() === 'RUN');
    expect(install, 'the final stage installs nothing').toBe(false);
    const dependencies = dockerfile
      .getInstructions()
      .filter((instruction) => instruction.getKeyword() === 'RUN')
      .map((instruction) => instruction.getArgumentsContent() ?? '');
    expect(dependencies.join(' ')).toContain('npm ci --omit=dev');
  });

  it('runs as a non-root user', () => {
    const user = only('USER').getArgumentsContent();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(user).toBe('node');
  });

  it('checks health on /readyz in exec form', () => {
    const healthcheck = dockerfile.getHEALTHCHECKs().at(-1);
    expect(healthcheck).toBeDefined();
    const words = healthcheck?.getArgumentsContent() ?? '';
    expect(words).toMatch(/^(--[a-z-]+=\S+\s+)*CMD \[/);
    expect(words).toContain('/readyz');
  });

  it('starts node itself in exec form, so that SIGTERM reaches the process that drains', () => {
    const entrypoint = execForm(only('ENTRYPOINT'));
    expect(entrypoint?.[0]).toBe('node');
    expect(execForm(only('CMD'))).toEqual(['serve']);
  });
});

describe('compose.yaml', () => {
  it('runs the server, a separate worker and the official PostgreSQL image on a volume', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['accrue', 'postgres', 'worker']);
    expect(compose.services.postgres.image).toMatch(/^postgres:\d+/);
    const [volume] = compose.services.postgres.volumes as string[];
    expect(volume).toMatch(/^postgres-data:\/var\/lib\/postgresql\/data$/);
    expect(Object.keys(compose.volumes)).toContain('postgres-data');
    expect(compose.services.accrue.command).toEqual(['serve']);
    expect(compose.services.worker.command).toEqual(['worker']);
    expect(compose.services.worker.image).toBe(compose.services.accrue.image);
  });

  it('gives every service the same environment file, which names the shared settings', () => {
    for (const service of ['postgres', 'accrue', 'worker']) {
      expect(compose.services[service].env_file, service).toBe('accrue.env');
      // No secret is written into compose.yaml itself.
      expect(JSON.stringify(compose.services[service].environment ?? {})).not.toMatch(/SECRET|PASSWORD/);
    }
    for (const name of ['DATABASE_URL', 'ACCRUE_SECRET_KEY', 'POSTGRES_PASSWORD']) {
      expect(envExample).toMatch(new RegExp(`^${name}=`, 'm'));
    }
    expect(compose.services.accrue.environment.ACCRUE_WORKERS).toBe('0');
    expect(compose.services.worker.depends_on.accrue.condition).toBe('service_healthy');
  });
});

describe("the image's start command, without Docker", () => {
  let database: TestDatabase;
  const running: ChildProcess[] = [];
  const command = [...(execForm(only('ENTRYPOINT')) ?? [])];

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    for (const child of running) if (child.exitCode === null) child.kill('SIGKILL');
    await database.handle.close();
  });

  /** The command line as the image runs it, with node being this machine's. */
  function start(args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string } {
    const [program, ...rest] = command;
    expect(program).toBe('node');
    const child = spawn(process.execPath, [...rest, ...args], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'production',
        HOST: '127.0.0.1',
        DATABASE_URL: database.url,
        ACCRUE_SECRET_KEY: testSecretKey,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.push(child);
    let output = '';
    child.stdout?.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr?.on('data', (chunk) => {
      output += chunk;
    });
    return { child, output: () => output };
  }

  async function waitFor(check: () => Promise<boolean>, what: string, output: () => string) {
    for (let waited = 0; waited < 60_000; waited += 200) {
      if (await check().catch(() => false)) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    throw new Error(`${what} did not happen:\n${output()}`);
  }

  const exitOf = (child: ChildProcess) =>
    new Promise<number | null>((resolve) => {
      if (child.exitCode !== null) resolve(child.exitCode);
      else child.once('exit', (code) => resolve(code));
    });

  it('serves, answers its health check, and exits 0 on one SIGTERM', async () => {
    const port = await freePort();
    const server = start([...(execForm(only('CMD')) ?? [])], { PORT: String(port), ACCRUE_WORKERS: '0' });
    const ready = async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;
    await waitFor(ready, 'the server answering /readyz', server.output);
    const metrics = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(metrics.status).toBe(200);
    server.child.kill('SIGTERM');
    expect(await exitOf(server.child)).toBe(0);
    expect(server.output()).toContain('shutting down');
  }, 90_000);

  it("runs compose's worker command, serves its metrics on ACCRUE_METRICS_PORT, and drains on SIGTERM", async () => {
    const metricsPort = await freePort();
    const worker = start(compose.services.worker.command, {
      ACCRUE_WORKERS: '1',
      ACCRUE_METRICS_PORT: String(metricsPort),
    });
    const scraped = async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).ok;
    await waitFor(scraped, 'the worker serving /metrics', worker.output);
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    expect(text).toContain('accrue_event_queue_depth 0');
    expect((await fetch(`http://127.0.0.1:${metricsPort}/other`)).status).toBe(404);
    // A second worker on the same host and port runs without metrics, and says so.
    const second = start(compose.services.worker.command, {
      ACCRUE_WORKERS: '1',
      ACCRUE_METRICS_PORT: String(metricsPort),
    });
    const running = async () =>
      second.output().includes('Accrue event workers and webhook deliverer are running');
    await waitFor(running, 'the second worker running', second.output);
    expect(second.output()).toContain('metrics not served: ACCRUE_METRICS_PORT is unavailable');
    for (const child of [second.child, worker.child]) {
      child.kill('SIGTERM');
      expect(await exitOf(child)).toBe(0);
    }
  }, 90_000);
});
