import fs from 'node:fs';

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. 100 on every mainstream kernel build. */
const CLOCK_TICKS_PER_SECOND = 100;

/** Resident set size of a process, from VmRSS in /proc/<pid>/status. */
export function readRssBytes(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status (has the process exited?)`);
  return Number(match[1]) * 1024;
}

/** User + system CPU seconds a process has used so far, from /proc/<pid>/stat. */
export function readCpuSeconds(pid: number): number {
  return cpuSecondsOf(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/**
 * User + system CPU seconds of a process and of its children it has waited
 * for (cutime + cstime: an ffmpeg it ran counts once ffmpeg has exited).
 */
export function readCpuSecondsWithChildren(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_SECOND;
}

/** A process's own CPU seconds and those of its children it has waited for, apart. */
export function readCpuSplit(pid: number): { own: number; children: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { own: (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND, children: (Number(fields[13]) + Number(fields[14])) / CLOCK_TICKS_PER_SECOND };
}

/** The pids of a process's children whose command is `name`. */
export function childrenNamed(parent: number, name: string): number[] {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = fs.readFileSync(`/proc/${entry}/status`, 'utf8');
      if (new RegExp(`^Name:\\s+${name}$`, 'm').test(status) && new RegExp(`^PPid:\\s+${parent}$`, 'm').test(status)) found.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** User + system CPU seconds in the text of a /proc/<pid>/stat file. */
function cpuSecondsOf(stat: string): number {
  // Field 2 (comm) is parenthesised and may hold spaces: count fields after its closing paren.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 overall, i.e. 12 and 13 after comm.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

export interface RssSample {
  /** Milliseconds since the sampler started. */
  atMs: number;
  rssBytes: number;
}

/** Reads a process's RSS every `intervalMs` until stopped. */
export class RssSampler {
  readonly samples: RssSample[] = [];
  private timer?: NodeJS.Timeout;
  private startedAt = 0;
  private failure?: Error;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 50,
  ) {}

  start(): this {
    this.startedAt = performance.now();
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    return this;
  }

  /** Stops sampling; throws if a sample failed (e.g. the process exited meanwhile). */
  stop(): RssSample[] {
    clearInterval(this.timer);
    if (!this.failure) this.sample();
    if (this.failure) throw this.failure;
    return this.samples;
  }

  get peakBytes(): number {
    return Math.max(...this.samples.map((sample) => sample.rssBytes));
  }

  get meanBytes(): number {
    return this.samples.reduce((sum, sample) => sum + sample.rssBytes, 0) / this.samples.length;
  }

  private sample(): void {
    try {
      this.samples.push({ atMs: performance.now() - this.startedAt, rssBytes: readRssBytes(this.pid) });
    } catch (error) {
      // Runs in a timer: keep the error for stop() instead of crashing the process.
      this.failure ??= new Error(`could not sample the RSS of pid ${this.pid}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      clearInterval(this.timer);
    }
  }
}

/**
 * User + system CPU seconds used so far by each running process whose
 * command name starts with `prefix` (e.g. every Postgres backend), by pid.
 */
export function readCommandCpuSeconds(prefix: string): Map<number, number> {
  const seconds = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (stat.slice(stat.indexOf('(') + 1).startsWith(prefix)) seconds.set(Number(entry), cpuSecondsOf(stat));
    } catch {
      // exited meanwhile
    }
  }
  return seconds;
}

/** Busy CPU seconds of the whole machine (all cores, everything but idle and iowait), from /proc/stat. */
export function readMachineBusySeconds(): number {
  const [, ...ticks] = fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = ticks.map(Number);
  return (user! + nice! + system! + irq! + softirq! + steal!) / CLOCK_TICKS_PER_SECOND;
}

export interface CpuUse {
  cpuSeconds: number;
  /** CPU seconds per wall second: 1 is one core busy all along. */
  cores: number;
}

/**
 * CPU used over an interval by a set of processes (by label), by all
 * processes of a command (by label, see readCommandCpuSeconds), by this
 * process (`self`) and by the whole machine (`machine`, everything running).
 */
export class CpuMeter {
  private readonly start: Map<string, number>;
  private readonly commandStart: Map<string, Map<number, number>>;
  private readonly startedAt = performance.now();
  private readonly selfStart = process.cpuUsage();
  private readonly machineStart = readMachineBusySeconds();

  constructor(
    private readonly pids: Record<string, number>,
    private readonly commands: Record<string, string> = {},
  ) {
    this.start = new Map(Object.entries(pids).map(([label, pid]) => [label, readCpuSeconds(pid)]));
    this.commandStart = new Map(Object.entries(commands).map(([label, prefix]) => [label, readCommandCpuSeconds(prefix)]));
  }

  stop(): Record<string, CpuUse> {
    const wallSeconds = (performance.now() - this.startedAt) / 1000;
    const use = (cpuSeconds: number): CpuUse => ({ cpuSeconds, cores: cpuSeconds / wallSeconds });
    const result: Record<string, CpuUse> = {};
    for (const [label, pid] of Object.entries(this.pids)) result[label] = use(readCpuSeconds(pid) - this.start.get(label)!);
    for (const [label, prefix] of Object.entries(this.commands)) {
      const before = this.commandStart.get(label)!;
      let cpuSeconds = 0;
      // A process started meanwhile counts whole; one that exited meanwhile took its seconds with it,
      // so this fits servers and pooled connections, not short-lived workers.
      for (const [pid, seconds] of readCommandCpuSeconds(prefix)) cpuSeconds += seconds - (before.get(pid) ?? 0);
      result[label] = use(cpuSeconds);
    }
    const self = process.cpuUsage(this.selfStart);
    result.self = use((self.user + self.system) / 1e6);
    result.machine = use(readMachineBusySeconds() - this.machineStart);
    return result;
  }
}
