// Timing and CPU accounting for the benchmarks: wall time of a child process from spawn to exit,
// the CPU time it (and everything below it) used, and where the machine's CPU went meanwhile.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Linux reports CPU times in clock ticks; 100 per second on every mainstream kernel build. */
const TICKS_PER_SECOND = 100;

export interface TimedRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Epoch ms just before spawn and at exit. */
  spawnAt: number;
  exitAt: number;
  wallMs: number;
  /** CPU seconds (user + system) of the process and every descendant it waited for. */
  cpuSeconds: number;
  /** CPU seconds each watched process tree used while the command ran. */
  treeCpu: Record<string, number>;
  /** Busy CPU seconds of the whole machine (all processes, ours or not) while the command ran. */
  machineCpuSeconds: number;
}

/** Processes the bench started and must stop, even when a measurement fails half way. */
const live = new Set<ChildProcess>();

export function killLiveCommands(): void {
  for (const child of live) child.kill('SIGKILL');
}

/**
 * Runs a command to completion and times it from spawn to exit. The parent does nothing else
 * meanwhile, so its own CPU does not compete with the command.
 */
export function timeCommand(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; trees?: Record<string, () => number[]> } = {},
): Promise<TimedRun> {
  const trees = options.trees ?? {};
  const treeBefore = Object.fromEntries(Object.entries(trees).map(([name, roots]) => [name, treeCpuTicks(roots())]));
  const machineBefore = machineBusyTicks();
  const reapedBefore = reapedChildTicks();
  return new Promise((resolve, reject) => {
    const spawnAt = Date.now();
    const child = spawn(command, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 300_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      live.delete(child);
      reject(e);
    });
    child.once('exit', (code, signal) => {
      const exitAt = Date.now();
      clearTimeout(timer);
      live.delete(child);
      const treeCpu = Object.fromEntries(Object.entries(trees).map(([name, roots]) => [name, (treeCpuTicks(roots()) - treeBefore[name]) / TICKS_PER_SECOND]));
      const machineCpuSeconds = (machineBusyTicks() - machineBefore) / TICKS_PER_SECOND;
      // 'exit' may come before the streams are drained; 'close' says they are.
      child.once('close', () => {
        resolve({
          code,
          signal,
          stdout,
          stderr,
          spawnAt,
          exitAt,
          wallMs: exitAt - spawnAt,
          cpuSeconds: (reapedChildTicks() - reapedBefore) / TICKS_PER_SECOND,
          treeCpu,
          machineCpuSeconds,
        });
      });
    });
  });
}

/** cutime + cstime of this process: the CPU of every child it has reaped, with their own reaped children. */
function reapedChildTicks(): number {
  const fields = statFields(process.pid);
  return fields ? fields[13] + fields[14] : 0;
}

/** Busy ticks (everything but idle and iowait) of all CPUs since boot. */
export function machineBusyTicks(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest is already in user)
  const [user, nice, system, , , irq, softirq, steal] = values;
  return user + nice + system + irq + softirq + (steal ?? 0);
}

/**
 * Fields of /proc/PID/stat after the command name, as numbers: index 0 is `state` (NaN),
 * 1 ppid, 11 utime, 12 stime, 13 cutime, 14 cstime (field numbers of proc(5) minus 3).
 */
function statFields(pid: number): number[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
  } catch {
    return undefined;
  }
}

/** The pids in /proc now; any may be gone by the time it is read. */
function livePids(): number[] {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry)).map(Number);
}

/** Every live process with its statFields. */
function* processStats(): Generator<[number, number[]]> {
  for (const pid of livePids()) {
    const f = statFields(pid);
    if (f) yield [pid, f];
  }
}

/**
 * CPU ticks of the trees under `roots`: each live process's own time plus what it reaped from
 * children that have gone. A child that exits between two readings moves from "live" into its
 * parent's reaped time, so the difference of two readings is what the tree used in between.
 */
export function treeCpuTicks(roots: number[]): number {
  const children = new Map<number, number[]>();
  const own = new Map<number, number>();
  for (const [pid, f] of processStats()) {
    own.set(pid, f[11] + f[12] + f[13] + f[14]);
    children.set(f[1], [...(children.get(f[1]) ?? []), pid]);
  }
  let total = 0;
  const queue = roots.filter((pid) => own.has(pid));
  const seen = new Set<number>();
  while (queue.length) {
    const pid = queue.shift() as number;
    if (seen.has(pid)) continue;
    seen.add(pid);
    total += own.get(pid) ?? 0;
    queue.push(...(children.get(pid) ?? []));
  }
  return total;
}

/** Pids of the direct children of `parents`: an sshd listener has one per open connection. */
export function childPids(parents: number[]): number[] {
  const wanted = new Set(parents);
  return [...processStats()].filter(([, f]) => wanted.has(f[1])).map(([pid]) => pid);
}

/** Pids whose command line names `program` (sshd rewrites its title, so not only at the start) and contains `needle` (e.g. a server's private temp dir). */
export function pidsWithCommandLine(program: string, needle: string): number[] {
  const found: number[] = [];
  for (const pid of livePids()) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes(program) && cmdline.includes(needle)) found.push(pid);
    } catch {
      // gone
    }
  }
  return found;
}

export function median(values: number[]): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function percentile(values: number[], p: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export function min(values: number[]): number {
  return values.length ? Math.min(...values) : NaN;
}

export function seconds(ms: number): string {
  return Number.isFinite(ms) ? (ms / 1000).toFixed(2) : '-';
}

export function ms(value: number): string {
  return Number.isFinite(value) ? `${Math.round(value)} ms` : '-';
}

/** A plain text table with right-aligned numbers. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** pid → [command name, own CPU ticks, reaped children's CPU ticks]: for finding where unattributed CPU went. */
export function processSnapshot(): Map<number, [string, number, number]> {
  const snap = new Map<number, [string, number, number]>();
  for (const pid of livePids()) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number);
      snap.set(pid, [comm, f[11] + f[12], f[13] + f[14]]);
    } catch {
      // gone
    }
  }
  return snap;
}

/** CPU seconds by command name between two snapshots (own time of live processes, and what each reaped). */
export function snapshotDelta(before: Map<number, [string, number, number]>, after: Map<number, [string, number, number]>): Array<[string, number]> {
  const by = new Map<string, number>();
  for (const [pid, [comm, own, reaped]] of after) {
    const [, own0, reaped0] = before.get(pid) ?? [comm, 0, 0];
    const name = comm === "node" ? `node[${pid}${pid === process.pid ? " bench" : ""}]` : comm;
    by.set(`${name} own`, (by.get(`${name} own`) ?? 0) + (own - own0) / TICKS_PER_SECOND);
    by.set(`${name} reaped`, (by.get(`${name} reaped`) ?? 0) + (reaped - reaped0) / TICKS_PER_SECOND);
  }
  return [...by].filter(([, v]) => v > 0.05).sort((a, b) => b[1] - a[1]);
}

/**
 * Waits until the machine has been nearly idle for a second (busy below `threshold` of one core),
 * so a measurement does not start while something else (another test run) is using the CPU.
 * Gives up after `timeoutMs`; returns how long it waited and whether it found quiet.
 */
export async function waitForQuiet(timeoutMs: number, threshold = 0.25): Promise<{ waitedMs: number; quiet: boolean }> {
  const start = Date.now();
  for (;;) {
    const before = machineBusyTicks();
    await new Promise((r) => setTimeout(r, 1000));
    const busy = (machineBusyTicks() - before) / TICKS_PER_SECOND;
    if (busy < threshold) return { waitedMs: Date.now() - start, quiet: true };
    if (Date.now() - start > timeoutMs) return { waitedMs: Date.now() - start, quiet: false };
  }
}
