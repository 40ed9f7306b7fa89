// CPU time spent during a phase, split between the Accrue server process, this benchmark process
// (the client) and everything else on the machine (the embedded database's processes, when nothing
// else runs). With the phase's event count it says what one event costs, and so what two cores can
// do at most.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

export interface CpuSplit {
  serverMs: number;
  clientMs: number;
  /** Machine busy time minus server and client: the database's share when nothing else runs. */
  otherMs: number;
  /**
   * The embedded PostgreSQL's own processes (postmaster and backends, exited ones included): what the
   * database costs whatever else loads the machine. Zero on an external database.
   */
  databaseMs: number;
  /**
   * databaseMs by the kind of process (sessions, walwriter, checkpointer, autovacuum worker, ...;
   * "exited" is the whole life of those that ended during the phase, autovacuum workers mostly).
   */
  databaseByKindMs: Record<string, number>;
  wallMs: number;
  cores: number;
}

interface Reading {
  machineMs: number;
  serverMs: number;
  clientMs: number;
  databaseMs: number;
  databaseByKindMs: Map<string, number>;
  at: number;
}

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

export function startCpuMeter(serverPid: number, postmasterPid?: number): { stop(): CpuSplit } {
  const start = read(serverPid, postmasterPid);
  return {
    stop() {
      const end = read(serverPid, postmasterPid);
      const serverMs = end.serverMs - start.serverMs;
      const clientMs = end.clientMs - start.clientMs;
      return {
        serverMs,
        clientMs,
        otherMs: Math.max(0, end.machineMs - start.machineMs - serverMs - clientMs),
        databaseMs: end.databaseMs - start.databaseMs,
        databaseByKindMs: Object.fromEntries(
          [...end.databaseByKindMs].map(([kind, ms]) => [kind, ms - (start.databaseByKindMs.get(kind) ?? 0)]),
        ),
        wallMs: end.at - start.at,
        cores: os.cpus().length,
      };
    },
  };
}

function read(serverPid: number, postmasterPid: number | undefined): Reading {
  const machineMs = os
    .cpus()
    .reduce((sum, cpu) => sum + cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq, 0);
  const client = process.cpuUsage();
  const byKind = postmasterPid === undefined ? new Map<string, number>() : databaseTicksByKind(postmasterPid);
  const toMs = (ticks: number) => (ticks * 1000) / ticksPerSecond;
  return {
    machineMs,
    serverMs: (processTicks(serverPid) * 1000) / ticksPerSecond,
    clientMs: (client.user + client.system) / 1000,
    databaseMs: toMs([...byKind.values()].reduce((sum, ticks) => sum + ticks, 0)),
    databaseByKindMs: new Map([...byKind].map(([kind, ticks]) => [kind, toMs(ticks)])),
    at: performance.now(),
  };
}

/** /proc/<pid>/stat after the parenthesised name: ppid, then utime, stime, cutime, cstime at 11-14. */
function statFields(pid: number | string): string[] {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  } catch {
    return [];
  }
}

/** User and system ticks of a process, or of a thread (`<pid>/task/<tid>`). */
function processTicks(pid: number | string): number {
  const fields = statFields(pid);
  return Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
}

/**
 * The postmaster's own ticks, its reaped children's ("exited") and each live child's, by the kind its
 * process title names.
 */
function databaseTicksByKind(postmasterPid: number): Map<string, number> {
  const own = statFields(postmasterPid);
  const byKind = new Map([
    ['postmaster', Number(own[11] ?? 0) + Number(own[12] ?? 0)],
    ['exited', Number(own[13] ?? 0) + Number(own[14] ?? 0)],
  ]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    if (Number(fields[1]) !== postmasterPid) continue;
    const kind = processKind(entry);
    byKind.set(kind, (byKind.get(kind) ?? 0) + Number(fields[11] ?? 0) + Number(fields[12] ?? 0));
  }
  return byKind;
}

const backgroundKinds = [
  'walwriter',
  'checkpointer',
  'background writer',
  'autovacuum launcher',
  'autovacuum worker',
  'logical replication launcher',
];

/** "sessions" for client backends, else the title's kind: walwriter, checkpointer, autovacuum worker. */
function processKind(pid: string): string {
  let title = '';
  try {
    title = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return 'exited';
  }
  return backgroundKinds.find((kind) => title.startsWith(`postgres: ${kind}`)) ?? 'sessions';
}

/** The postmaster of an embedded data directory (`<dataDir>/pg`), if one runs there. */
export function readPostmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(`${dataDir}/pg/postmaster.pid`, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The events per second the measured CPU cost allows when every core works on nothing else. */
export function cpuCeiling(split: CpuSplit, events: number): number {
  const perEventMs = (split.serverMs + split.clientMs + split.otherMs) / events;
  return perEventMs > 0 ? (split.cores * 1000) / perEventMs : 0;
}

export interface ThreadSplit {
  /** The process's main thread (its thread id is the process id). */
  mainMs: number;
  /**
   * Each other thread's CPU time during the phase, largest first (worker threads, V8's collector and
   * compiler threads, libuv's pool).
   */
  otherMs: number[];
}

/**
 * CPU time by thread of `pid` during a phase. Node.js names none of its threads, so the other
 * threads are only ranked; a thread that ended during the phase is not counted.
 */
export function startThreadMeter(pid: number): { stop(): ThreadSplit } {
  const start = threadTicks(pid);
  return {
    stop() {
      const toMs = (ticks: number) => (ticks * 1000) / ticksPerSecond;
      const spent = [...threadTicks(pid)].map(([tid, ticks]): [number, number] => [
        tid,
        toMs(ticks - (start.get(tid) ?? 0)),
      ]);
      return {
        mainMs: spent.find(([tid]) => tid === pid)?.[1] ?? 0,
        otherMs: spent
          .filter(([tid]) => tid !== pid)
          .map(([, ms]) => ms)
          .sort((a, b) => b - a),
      };
    },
  };
}

function threadTicks(pid: number): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`))
    ticks.set(Number(tid), processTicks(`${pid}/task/${tid}`));
  return ticks;
}
