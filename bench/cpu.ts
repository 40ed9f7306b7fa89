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
  wallMs: number;
  cores: number;
}

interface Reading {
  machineMs: number;
  serverMs: number;
  clientMs: number;
  databaseMs: number;
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
  return {
    machineMs,
    serverMs: (processTicks(serverPid) * 1000) / ticksPerSecond,
    clientMs: (client.user + client.system) / 1000,
    databaseMs: postmasterPid === undefined ? 0 : (databaseTicks(postmasterPid) * 1000) / ticksPerSecond,
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

function processTicks(pid: number): number {
  const fields = statFields(pid);
  return Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
}

/** The postmaster with its reaped children, plus its live children. */
function databaseTicks(postmasterPid: number): number {
  const own = statFields(postmasterPid);
  let ticks = [11, 12, 13, 14].reduce((sum, index) => sum + Number(own[index] ?? 0), 0);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(entry);
    if (Number(fields[1]) === postmasterPid) ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  }
  return ticks;
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
