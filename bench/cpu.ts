// CPU time spent during a phase, split between the Accrue server process, this benchmark process
// (the client) and everything else on the machine (the embedded database's processes, when nothing
// else runs). With the phase's event count it says what one event costs, and so what two cores can
// do at most.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface CpuSplit {
  serverMs: number;
  clientMs: number;
  /** Machine busy time minus server and client: the database's share when nothing else runs. */
  otherMs: number;
  wallMs: number;
  cores: number;
}

interface Reading {
  machineMs: number;
  serverMs: number;
  clientMs: number;
  at: number;
}

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

export function startCpuMeter(serverPid: number): { stop(): CpuSplit } {
  const start = read(serverPid);
  return {
    stop() {
      const end = read(serverPid);
      const serverMs = end.serverMs - start.serverMs;
      const clientMs = end.clientMs - start.clientMs;
      return {
        serverMs,
        clientMs,
        otherMs: Math.max(0, end.machineMs - start.machineMs - serverMs - clientMs),
        wallMs: end.at - start.at,
        cores: os.cpus().length,
      };
    },
  };
}

function read(serverPid: number): Reading {
  const machineMs = os
    .cpus()
    .reduce((sum, cpu) => sum + cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq, 0);
  // /proc/<pid>/stat: utime and stime are fields 14 and 15, counted after the parenthesised name.
  const fields = readFileSync(`/proc/${serverPid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  const serverTicks = Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  const client = process.cpuUsage();
  return {
    machineMs,
    serverMs: (serverTicks * 1000) / ticksPerSecond,
    clientMs: (client.user + client.system) / 1000,
    at: performance.now(),
  };
}

/** The events per second the measured CPU cost allows when every core works on nothing else. */
export function cpuCeiling(split: CpuSplit, events: number): number {
  const perEventMs = (split.serverMs + split.clientMs + split.otherMs) / events;
  return perEventMs > 0 ? (split.cores * 1000) / perEventMs : 0;
}
