// `npm run bench -- fanout --hosts 200 [--runs 3]`: `uptime` on every host of a fleet of real sshd
// hosts, through the product path (ops CLI → Temporal → ops worker → pooled SSH), through
// Debian's parallel-ssh, and through a bare ssh2 loop, cold and warm. See BENCHMARKS.md.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, homedir, release, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import { startFleet, type Fleet } from '../test/harness/fleet';
import { startTemporal, temporalBinary, type TemporalServer } from '../workers/embedded/temporal-server';
import { natsBinary, startNats, type NatsServer } from '../workers/embedded/nats-server';
import { stopProcess, watchProcess, type WatchedProcess } from '../workers/embedded/processes';
import { loadConfig } from '../workers/config';
import { connectClient } from '../workers/temporal';
import { runBreakdown, type RunBreakdown } from './history';
import { childPids, killLiveCommands, median, processSnapshot, snapshotDelta, waitForQuiet, min, ms, percentile, pidsWithCommandLine, seconds, table, timeCommand, type TimedRun } from './measure';
import type { LoopConfig, LoopReport } from './ssh2-loop';

const DIST = resolve(__dirname, '..');
const CLI = join(DIST, 'cli', 'main.js');
const LOOP = join(__dirname, 'ssh2-loop.js');
const PSSH = '/usr/bin/parallel-ssh';
const HOSTS_PER_SSHD = 16;
/**
 * The bench's workers close an SSH connection nobody used for this long, so "cold" can be
 * measured on a running worker: its earlier run's connections close, as they do in production
 * between runs more than `ops worker --ssh-idle-seconds` (300) apart.
 */
const SSH_IDLE_SECONDS = 20;

const TARGETS = { coldVsPssh: 0.6, coldVsSsh2: 1.3, warmVsPssh: 0.25 };

interface Options {
  hosts: number;
  runs: number;
  analysis: boolean;
  json?: string;
  /** Seconds to wait, before each measurement, for the machine to go quiet. */
  quietWait: number;
  cpuByProcess: boolean;
}

function usage(): never {
  console.error('usage: npm run bench -- fanout [--hosts N (200)] [--runs N (3)] [--no-analysis] [--json FILE] [--quiet-wait SECONDS (120)] [--cpu-by-process]');
  process.exit(2);
}

function parseOptions(argv: string[]): Options {
  const options: Options = { hosts: 200, runs: 3, analysis: true, quietWait: 120, cpuByProcess: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const value = () => {
      const v = argv[(i += 1)];
      if (v === undefined) usage();
      return v;
    };
    const count = () => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) usage();
      return n;
    };
    if (arg === '--hosts') options.hosts = count();
    else if (arg === '--runs') options.runs = count();
    else if (arg === '--no-analysis') options.analysis = false;
    else if (arg === '--json') options.json = value();
    else if (arg === '--quiet-wait') {
      options.quietWait = Number(value());
      if (!Number.isFinite(options.quietWait) || options.quietWait < 0) usage();
    } else if (arg === '--cpu-by-process') options.cpuByProcess = true;
    else usage();
  }
  return options;
}

/** Everything the bench started, stopped in reverse order by `stop()`, also on errors and signals. */
class Resources {
  private readonly stops: Array<() => Promise<unknown>> = [];
  add(stop: () => Promise<unknown>): void {
    this.stops.push(stop);
  }
  async stopAll(): Promise<void> {
    killLiveCommands();
    while (this.stops.length) {
      const stop = this.stops.pop() as () => Promise<unknown>;
      await stop().catch((e: Error) => console.error(`bench: cleanup: ${e.message}`));
    }
  }
}

interface Measured {
  /** New connections on a new worker process (its code not yet optimised by V8). */
  productFresh: TimedRun[];
  productCold: TimedRun[];
  productWarm: TimedRun[];
  psshCold: TimedRun[];
  psshWarm: TimedRun[];
  ssh2Cold: number[];
  ssh2Warm: number[];
  ssh2Runs: TimedRun[];
  breakdownCold: RunBreakdown[];
  breakdownWarm: RunBreakdown[];
}

export async function fanout(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  if (process.getuid?.() !== 0) throw new Error('the fan-out bench starts sshd hosts and needs root (as npm test does)');
  for (const file of [CLI, LOOP]) if (!existsSync(file)) throw new Error(`${file} is missing: run "npm run build" (scripts/bench.sh does)`);
  if (!existsSync(PSSH)) throw new Error(`${PSSH} is missing: run "sh scripts/provision.sh test" (scripts/bench.sh does)`);

  const resources = new Resources();
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`bench: ${signal}: stopping everything it started`);
    void resources.stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await runBench(options, resources);
  } finally {
    await resources.stopAll();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

async function runBench(options: Options, resources: Resources): Promise<number> {
  const n = options.hosts;
  const say = (line: string) => console.log(line);
  say(machineLine());
  say(versionsLine());
  say(`fan-out: uptime on ${n} hosts (${Math.ceil(n / HOSTS_PER_SSHD)} sshd, ${HOSTS_PER_SSHD} loopback addresses each), concurrency ${n}, ${options.runs} run(s) of each\n`);

  const dir = mkdtempSync(join(tmpdir(), 'ops-bench-'));
  resources.add(async () => rmSync(dir, { recursive: true, force: true }));
  const started = await Promise.allSettled([startTemporal(), startNats(), startFleet({ count: n, hostsPerSshd: HOSTS_PER_SSHD })]);
  const [temporalStart, natsStart, fleetStart] = started;
  if (temporalStart.status === 'fulfilled') resources.add(() => temporalStart.value.stop());
  if (natsStart.status === 'fulfilled') resources.add(() => natsStart.value.stop());
  if (fleetStart.status === 'fulfilled') resources.add(() => fleetStart.value.stop());
  for (const s of started) if (s.status === 'rejected') throw s.reason;
  const temporal = (temporalStart as PromiseFulfilledResult<TemporalServer>).value;
  const nats = (natsStart as PromiseFulfilledResult<NatsServer>).value;
  const fleet = (fleetStart as PromiseFulfilledResult<Fleet>).value;

  const files = writeDefinitions(dir, fleet);
  // Another process busy on the machine (a test run) makes every figure noisy: wait for quiet.
  const quietness = { waited: 0, notQuiet: 0 };
  const settle = async () => {
    if (options.quietWait <= 0) return;
    const { waitedMs, quiet } = await waitForQuiet(options.quietWait * 1000);
    quietness.waited += waitedMs;
    if (!quiet) quietness.notQuiet += 1;
  };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: 'default',
    OPS_NATS_URL: nats.url,
    OPS_DATA_DIR: join(dir, 'data'),
    OPS_CREDENTIALS_FILE: files.credentials,
  };
  // Creates the codec key ring in the data dir before any ops process starts.
  const client = await connectClient(loadConfig({}, env));
  resources.add(() => client.connection.close());
  // The fleet's logins have a $HOME of their own (test/harness/fleet.ts), so its ~/.ops/steps holds
  // only this bench's step records (a product run adds ${n}); each round removes them, so every round
  // starts from the same state. The warm-up's records are in the worker's own home.
  const homes = [fleet.home, homedir()];
  resources.add(async () => {
    const removed = await removeStepRecords(client, homes);
    if (removed) console.log(`bench: removed the ${removed} step records its runs left in ~/.ops/steps`);
  });

  let workerIndex = 0;
  let worker: WatchedProcess | undefined;
  const startWorker = async (extraEnv: NodeJS.ProcessEnv = {}): Promise<WatchedProcess> => {
    workerIndex += 1;
    const log = createWriteStream(join(dir, `worker-${workerIndex}.log`));
    const child = spawn(process.execPath, [CLI, 'worker', '--ssh-idle-seconds', String(SSH_IDLE_SECONDS)], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    const watched = watchProcess(child);
    child.stdout?.pipe(log);
    await new Promise<void>((ready, fail) => {
      let seen = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        log.write(chunk);
        seen += chunk.toString();
        if (/polling/.test(seen)) ready();
      });
      child.once('exit', (code, signal) => fail(new Error(`ops worker exited (${code ?? signal}) before polling:\n${seen}`)));
    });
    worker = watched;
    resources.add(() => stopProcess(watched, 10_000));
    return watched;
  };
  /** The fleet's open SSH connections: one sshd child of a listener each. */
  const fleetConnections = () => childPids(trees.sshd()).sort((a, b) => a - b);
  const connectionsClosed = async () => {
    const deadline = Date.now() + (SSH_IDLE_SECONDS + 30) * 1000;
    while (fleetConnections().length) {
      if (Date.now() > deadline) throw new Error(`the worker kept ${fleetConnections().length} fleet connections open beyond its ${SSH_IDLE_SECONDS} s idle timeout`);
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const stopWorker = async () => {
    if (worker) await stopProcess(worker, 10_000);
    worker = undefined;
  };

  const trees = {
    temporal: () => pidsWithCommandLine(temporalBinary(), temporal.dbFile),
    worker: () => (worker?.child.pid ? [worker.child.pid] : []),
    nats: () => pidsWithCommandLine(natsBinary(), nats.storeDir),
    sshd: () => pidsWithCommandLine('/usr/sbin/sshd', fleet.dir),
  };
  const opsRun = (definitions: string[], task: string, extraEnv: NodeJS.ProcessEnv = {}) =>
    timeCommand(process.execPath, [CLI, 'run', ...definitions.flatMap((f) => ['-f', f]), '--task', task, '--watch'], { env: { ...env, ...extraEnv }, trees, timeoutMs: 600_000 });
  const product = async (label: string): Promise<{ run: TimedRun; breakdown: RunBreakdown }> => {
    await settle();
    const snap = options.cpuByProcess ? processSnapshot() : undefined;
    const stat0 = options.cpuByProcess ? procStat() : [];
    const run = await opsRun([files.hosts, files.task], 'uptime');
    if (snap) {
      const delta = snapshotDelta(snap, processSnapshot());
      const stat = procStat().map((v, i) => ((v - stat0[i]) / 100).toFixed(2));
      console.log(`${label}: CPU by process name`, JSON.stringify(delta.map(([k, v]) => `${k} ${v.toFixed(2)}`)));
      console.log(`${label}: all processes ${delta.reduce((a, [, v]) => a + v, 0).toFixed(2)} CPU-s; /proc/stat user nice system idle iowait irq softirq steal: ${stat.slice(0, 8).join(' ')}`);
    }
    const runId = /^run (\S+) started/m.exec(run.stdout)?.[1];
    if (run.code !== 0 || !run.stdout.includes(`run succeeded (${n} succeeded, 0 failed`) || !runId) {
      throw new Error(`${label}: the run did not succeed on all ${n} hosts (exit ${run.code ?? run.signal}):\n${tail(run.stdout)}\n${tail(run.stderr)}\nworker log:\n${workerLog(dir, workerIndex)}`);
    }
    return { run, breakdown: await runBreakdown(client, runId, run.spawnAt, run.exitAt) };
  };
  const pssh = async (label: string): Promise<TimedRun> => {
    await settle();
    const sshOptions = `-F /dev/null -i ${fleet.clientKeyPath} -o UserKnownHostsFile=${fleet.knownHostsPath} -o StrictHostKeyChecking=yes -o GlobalKnownHostsFile=/dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o LogLevel=ERROR`;
    const run = await timeCommand(PSSH, ['-p', String(n), '-t', '300', '-i', '-h', files.psshHosts, '-l', fleet.user, '-x', sshOptions, 'uptime'], { trees, timeoutMs: 600_000 });
    const ok = (run.stdout.match(/\[SUCCESS\]/g) ?? []).length;
    const outputs = (run.stdout.match(/load average/g) ?? []).length;
    if (run.code !== 0 || ok !== n || outputs !== n) throw new Error(`${label}: parallel-ssh succeeded on ${ok} of ${n} hosts, ${outputs} outputs (exit ${run.code ?? run.signal}):\n${tail(run.stdout)}\n${tail(run.stderr)}`);
    return run;
  };
  const ssh2Loop = async (probe = false): Promise<{ run: TimedRun; report: LoopReport }> => {
    const config: LoopConfig = {
      hosts: fleet.hosts.map((h) => ({ address: h.address, port: h.port, fingerprint: h.hostKeyFingerprint })),
      username: fleet.user,
      privateKeyPath: fleet.clientKeyPath,
      concurrency: n,
      command: 'uptime',
      expect: 'load average',
      probe,
      sshdNeedle: fleet.dir,
    };
    const configFile = join(dir, 'ssh2-loop.json');
    writeFileSync(configFile, JSON.stringify(config));
    await settle();
    const run = await timeCommand(process.execPath, [LOOP, configFile], { trees, timeoutMs: 600_000 });
    let report: LoopReport;
    try {
      report = JSON.parse(run.stdout.trim().split('\n').pop() ?? '') as LoopReport;
    } catch {
      throw new Error(`ssh2 loop printed no report (exit ${run.code ?? run.signal}):\n${tail(run.stdout)}\n${tail(run.stderr)}`);
    }
    if (run.code !== 0 || report.failed.length) throw new Error(`ssh2 loop failed on ${report.failed.length} host(s): ${report.failed.slice(0, 5).join('; ')}`);
    return { run, report };
  };
  const warmUp = async () => {
    const run = await opsRun([files.warmup], 'warmup');
    if (run.code !== 0) throw new Error(`warm-up run failed (exit ${run.code}):\n${tail(run.stdout)}\n${tail(run.stderr)}\nworker log:\n${workerLog(dir, workerIndex)}`);
    return run;
  };

  const m: Measured = { productFresh: [], productCold: [], productWarm: [], psshCold: [], psshWarm: [], ssh2Cold: [], ssh2Warm: [], ssh2Runs: [], breakdownCold: [], breakdownWarm: [] };
  for (let r = 1; r <= options.runs; r += 1) {
    // A new worker each round, warmed on the local host (no SSH), so its workflow bundle and SDK
    // are loaded before the clock starts. Its first fleet run is "cold, new worker"; once the
    // worker has closed those connections for being idle, "cold" opens them again and "warm"
    // finds them open.
    const workerStart = Date.now();
    await startWorker();
    const workerReady = Date.now() - workerStart;
    const warm = await warmUp();
    const fresh = await product(`run ${r} product cold, new worker`);
    await connectionsClosed();
    const cold = await product(`run ${r} product cold`);
    const open = fleetConnections();
    const hot = await product(`run ${r} product warm`);
    if (open.length !== n || fleetConnections().join() !== open.join()) {
      throw new Error(`run ${r} product warm: expected it to reuse the ${n} connections the cold run opened; ${open.length} were open before it, and it opened others`);
    }
    await stopWorker();
    // Each round starts with the steps directory as the bench found it.
    await removeStepRecords(client, homes);
    m.productFresh.push(fresh.run);
    m.productCold.push(cold.run);
    m.breakdownCold.push(cold.breakdown);
    m.productWarm.push(hot.run);
    m.breakdownWarm.push(hot.breakdown);
    const p1 = await pssh(`run ${r} pssh cold`);
    const p2 = await pssh(`run ${r} pssh warm`);
    m.psshCold.push(p1);
    m.psshWarm.push(p2);
    const loop = await ssh2Loop();
    // Cold: spawn → exit of a process that connects, execs, collects and closes; this one also
    // ran the warm round before closing, so that round's time is taken off.
    m.ssh2Cold.push(loop.run.wallMs - loop.report.warmMs);
    m.ssh2Warm.push(loop.report.warmMs);
    m.ssh2Runs.push(loop.run);
    say(
      `run ${r}/${options.runs}: product cold ${seconds(cold.run.wallMs)} s (new worker ${seconds(fresh.run.wallMs)} s), warm ${seconds(hot.run.wallMs)} s | pssh ${seconds(p1.wallMs)} s, ${seconds(p2.wallMs)} s | ssh2 cold ${seconds(loop.run.wallMs - loop.report.warmMs)} s, warm ${seconds(loop.report.warmMs)} s` +
        `   (worker ready in ${seconds(workerReady)} s, warm-up run ${seconds(warm.wallMs)} s)`,
    );
  }

  say('');
  say(`before each measurement the bench waited for a quiet machine (< 0.25 CPU-s busy in 1 s): ${seconds(quietness.waited)} s in all` + (quietness.notQuiet ? `; ${quietness.notQuiet} measurement(s) started without finding quiet in ${options.quietWait} s` : ''));
  say('');
  say(resultsTable(m));
  say('');
  const verdicts = ratios(m);
  say(verdicts.text);
  say('');
  say(breakdownTable(m));
  say('');
  say(cpuTable(m));

  let analysis: Record<string, unknown> | undefined;
  if (options.analysis) {
    say('');
    analysis = await analyse({ n, say, startWorker, stopWorker, warmUp, opsRun, ssh2Loop, files, client, settle });
  }
  if (options.json) {
    writeFileSync(options.json, JSON.stringify({ machine: machineLine(), versions: versionsLine(), options, measured: m, analysis }, null, 2));
    say(`\nraw figures written to ${options.json}`);
  }
  // A missed target is a finding (printed above), not a failure of the bench.
  return 0;
}

interface AnalysisDeps {
  n: number;
  say: (line: string) => void;
  startWorker: (extraEnv?: NodeJS.ProcessEnv) => Promise<WatchedProcess>;
  stopWorker: () => Promise<void>;
  warmUp: () => Promise<TimedRun>;
  opsRun: (definitions: string[], task: string, extraEnv?: NodeJS.ProcessEnv) => Promise<TimedRun>;
  ssh2Loop: (probe?: boolean) => Promise<{ run: TimedRun; report: LoopReport }>;
  files: Definitions;
  client: Client;
  settle: () => Promise<void>;
}

/** Measurements that split the product path's time; printed under "where the time goes". */
async function analyse(d: AnalysisDeps): Promise<Record<string, unknown>> {
  const { say } = d;
  say('where the product path spends its time');
  const repeat = async (times: number, fn: () => Promise<TimedRun>) => {
    const runs: TimedRun[] = [];
    for (let i = 0; i < times; i += 1) runs.push(await fn());
    return runs;
  };
  await d.settle();
  const nodeBare = await repeat(5, () => timeCommand(process.execPath, ['-e', '0']));
  const cliHelp = await repeat(5, () => timeCommand(process.execPath, [CLI, '--help']));
  say(`  process start-up: node -e 0 ${ms(median(nodeBare.map((r) => r.wallMs)))}, ops --help ${ms(median(cliHelp.map((r) => r.wallMs)))} (medians of 5)`);

  const loads: Array<[string, string]> = [
    ['ops CLI (dist/cli/main.js, every command)', join(DIST, 'cli', 'main.js')],
    ['the run command alone (dist/cli/commands/run.js)', join(DIST, 'cli', 'commands', 'run.js')],
    ['@temporalio/client', '@temporalio/client'],
    ['@temporalio/worker', '@temporalio/worker'],
  ];
  await d.settle();
  const moduleLoads: Record<string, Array<{ ms: number; modules: number }>> = {};
  for (const [label, target] of loads) {
    const samples = (moduleLoads[label] = await moduleLoad(target, 5));
    say(`  require ${label}: ${ms(median(samples.map((x) => x.ms)))}, ${samples[0]?.modules ?? '?'} modules (median of 5, fresh process each)`);
  }

  const probe = (await d.ssh2Loop(true)).report.probe as NonNullable<LoopReport['probe']>;
  const phase = (p: { wallMs: number; sshdCpuSeconds: number; machineCpuSeconds: number }) => `${ms(p.wallMs)} (sshd side ${p.sshdCpuSeconds.toFixed(1)} CPU-s, machine ${p.machineCpuSeconds.toFixed(1)} CPU-s)`;
  say(`  remote wrapper (activities/remote-step.ts) and step helper vs plain exec, on open ssh2 connections:`);
  const variant = (label: string, p: { wallMs: number; sshdCpuSeconds: number; machineCpuSeconds: number }) => say(`    ${d.n} hosts at once, ${`${label}:`.padEnd(26)} ${phase(p)}`);
  variant('plain exec', probe.fanoutPlain);
  variant('product wrapper', probe.fanoutWrapper);
  variant('wrapper, empty steps dir', probe.fanoutWrapperEmptySteps);
  if (probe.fanoutHelper) variant('step helper', probe.fanoutHelper);
  else say('    (no step helper on the fleet: this build has none, or no product run installed it)');
  const helperSingle = probe.singleHelperMs !== undefined ? `, step helper ${ms(probe.singleHelperMs)}` : '';
  say(`    one host, one at a time: plain ${ms(probe.singlePlainMs)}, wrapper ${ms(probe.singleWrapperMs)}, wrapper with an empty ~/.ops/steps ${ms(probe.singleWrapperEmptyStepsMs)}${helperSingle} (medians of ${probe.singleRuns})`);
  say(`    (the fleet's ~/.ops/steps held ${probe.stepDirs} step records; a host prunes those older than a day once per connection)`);

  await d.startWorker();
  await d.warmUp();
  await d.settle();
  const oneCold = await d.opsRun([d.files.hosts, d.files.oneHost], 'uptime-one');
  const oneWarm = await repeat(3, () => d.opsRun([d.files.hosts, d.files.oneHost], 'uptime-one'));
  const oneBreakdowns = await Promise.all(oneWarm.map((r) => runBreakdown(d.client, /^run (\S+) started/m.exec(r.stdout)?.[1] ?? '', r.spawnAt, r.exitAt)));
  const localRuns = await repeat(3, () => d.warmUp());
  await d.stopWorker();
  say(`  1-host product run: cold ${ms(oneCold.wallMs)}, warm ${ms(median(oneWarm.map((r) => r.wallMs)))} (median of 3); task on the worker's local host (no SSH) ${ms(median(localRuns.map((r) => r.wallMs)))}`);
  const ob = (pick: (b: RunBreakdown) => number) => ms(median(oneBreakdowns.map(pick)));
  say(`    warm 1-host split: CLI to workflow start ${ob((b) => b.cliToStartMs)}, to activity scheduled ${ob((b) => b.startToFirstScheduleMs)}, schedule→start ${ob((b) => b.scheduleToStartMs[0])}, activity ${ob((b) => b.executionMs[0])} (wrapper exec ${ob((b) => b.execMs[0])}), to workflow closed ${ob((b) => b.lastActivityToCloseMs)}, to CLI exit ${ob((b) => b.closeToExitMs)}`);

  // Step output goes to NATS JetStream; a worker without NATS shows what publishing costs.
  await d.startWorker({ OPS_NATS_URL: 'off' });
  await d.warmUp();
  await d.settle();
  const noNatsCold = await d.opsRun([d.files.hosts, d.files.task], 'uptime');
  await d.settle();
  const noNatsWarm = await d.opsRun([d.files.hosts, d.files.task], 'uptime');
  await d.stopWorker();
  say(`  ${d.n}-host product run with a worker without NATS (OPS_NATS_URL=off): cold ${ms(noNatsCold.wallMs)}, warm ${ms(noNatsWarm.wallMs)}${noNatsCold.code || noNatsWarm.code ? ' (a run FAILED)' : ''}`);
  return { nodeBare, cliHelp, moduleLoads, probe, oneCold, oneWarm, oneBreakdowns, localRuns, noNatsCold, noNatsWarm };
}

/** Time to require a module in a fresh node process (in-process clock, so node's own start-up is not in it). */
async function moduleLoad(target: string, times: number): Promise<Array<{ ms: number; modules: number }>> {
  const script = `const t = process.hrtime.bigint(); require(${JSON.stringify(target)}); console.log(JSON.stringify({ ms: Number(process.hrtime.bigint() - t) / 1e6, modules: Object.keys(require.cache).length }))`;
  const samples: Array<{ ms: number; modules: number }> = [];
  for (let i = 0; i < times; i += 1) {
    const run = await timeCommand(process.execPath, ['-e', script]);
    try {
      samples.push(JSON.parse(run.stdout) as { ms: number; modules: number });
    } catch {
      // a module that fails to load shows as '-'
    }
  }
  return samples;
}

function procStat(): number[] {
  return readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
}

/** Removes the step records (`<workflow run id>-<activity id>`) of every run on the bench's own Temporal server. */
async function removeStepRecords(client: Client, homes: string[]): Promise<number> {
  const runIds = new Set<string>();
  for await (const execution of client.workflow.list()) runIds.add(execution.runId);
  let removed = 0;
  for (const home of homes) {
    const dir = join(home, '.ops', 'steps');
    let entries: string[] = [];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const entry of entries) {
      if (!runIds.has(entry.split('-').slice(0, 5).join('-'))) continue;
      rmSync(join(dir, entry), { recursive: true, force: true });
      removed += 1;
    }
  }
  return removed;
}

interface Definitions {
  credentials: string;
  hosts: string;
  task: string;
  oneHost: string;
  warmup: string;
  psshHosts: string;
}

function writeDefinitions(dir: string, fleet: Fleet): Definitions {
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const n = fleet.hosts.length;
  return {
    credentials: write('credentials.yaml', `default: fleet\ncredentials:\n  fleet:\n    username: ${fleet.user}\n    privateKeyFile: ${fleet.clientKeyPath}\n`),
    hosts: write(
      'hosts.yaml',
      fleet.hosts
        .map((h) => `apiVersion: ops.dev/v1\nkind: Host\nmetadata:\n  name: ${h.name}\n  labels: { role: fleet }\nspec: ${JSON.stringify({ address: h.address, port: h.port, hostKey: h.hostKeyFingerprint })}\n`)
        .join('---\n'),
    ),
    task: write('task.yaml', `apiVersion: ops.dev/v1\nkind: Task\nmetadata: { name: uptime }\nspec:\n  targets: { all: true }\n  concurrency: ${n}\n  steps: [{ name: uptime, shell: uptime }]\n`),
    oneHost: write('one-host.yaml', `apiVersion: ops.dev/v1\nkind: Task\nmetadata: { name: uptime-one }\nspec:\n  targets: { hosts: [${fleet.hosts[0].name}] }\n  steps: [{ name: uptime, shell: uptime }]\n`),
    warmup: write(
      'warmup.yaml',
      `apiVersion: ops.dev/v1\nkind: Host\nmetadata: { name: bench-local }\nspec: { address: localhost, connection: local }\n---\napiVersion: ops.dev/v1\nkind: Task\nmetadata: { name: warmup }\nspec:\n  targets: { hosts: [bench-local] }\n  steps: [{ name: uptime, shell: uptime }]\n`,
    ),
    psshHosts: write('pssh-hosts', fleet.hosts.map((h) => `${h.address}:${h.port}\n`).join('')),
  };
}

function resultsTable(m: Measured): string {
  const row = (name: string, walls: number[]) => [name, seconds(median(walls)), seconds(min(walls)), walls.map(seconds).join(' ')];
  return table(
    ['wall time, s', 'median', 'min', 'runs'],
    [
      row('product cold (ops run --watch)', m.productCold.map((r) => r.wallMs)),
      row('product cold, new worker process', m.productFresh.map((r) => r.wallMs)),
      row('product warm', m.productWarm.map((r) => r.wallMs)),
      row('parallel-ssh 1st', m.psshCold.map((r) => r.wallMs)),
      row('parallel-ssh 2nd', m.psshWarm.map((r) => r.wallMs)),
      row('bare ssh2 cold (process)', m.ssh2Cold),
      row('bare ssh2 warm (open conns)', m.ssh2Warm),
    ],
  );
}

function ratios(m: Measured): { text: string; allMet: boolean } {
  const productCold = m.productCold.map((r) => r.wallMs);
  const productWarm = m.productWarm.map((r) => r.wallMs);
  const psshCold = m.psshCold.map((r) => r.wallMs);
  const psshWarm = m.psshWarm.map((r) => r.wallMs);
  // The machine's speed drifts between rounds and moves all figures of a round together, so each
  // round's own ratio is shown beside the ratio of the medians (which decides "met").
  const lines: string[] = [
    'ratios                           medians  per round (median)   target   met',
  ];
  let allMet = true;
  const check = (name: string, product: number[], baseline: number[], target?: number) => {
    const value = median(product) / median(baseline);
    const paired = median(product.map((p, i) => p / baseline[i]));
    const met = target === undefined ? '' : value <= target ? 'yes' : 'NO';
    if (target !== undefined && value > target) allMet = false;
    lines.push(`${name.padEnd(32)} ${value.toFixed(2).padStart(7)}  ${paired.toFixed(2).padStart(18)}   ${target === undefined ? '     -' : `≤ ${target.toFixed(2)}`}   ${met}`);
  };
  check('product cold / pssh', productCold, psshCold, TARGETS.coldVsPssh);
  check('product cold / bare ssh2 cold', productCold, m.ssh2Cold, TARGETS.coldVsSsh2);
  check('  new worker / bare ssh2 cold', m.productFresh.map((r) => r.wallMs), m.ssh2Cold);
  check('product warm / pssh', productWarm, psshWarm, TARGETS.warmVsPssh);
  check('product warm / bare ssh2 warm', productWarm, m.ssh2Warm);
  return { text: lines.join('\n'), allMet };
}

function breakdownTable(m: Measured): string {
  const row = (name: string, pick: (b: RunBreakdown) => number) => [name, ms(median(m.breakdownCold.map(pick))), ms(median(m.breakdownWarm.map(pick)))];
  const all = (b: RunBreakdown[], pick: (b: RunBreakdown) => number[]) => b.flatMap(pick);
  const dist = (name: string, pick: (b: RunBreakdown) => number[]) => [
    name,
    `${ms(median(all(m.breakdownCold, pick)))} / ${ms(percentile(all(m.breakdownCold, pick), 95))} / ${ms(Math.max(...all(m.breakdownCold, pick)))}`,
    `${ms(median(all(m.breakdownWarm, pick)))} / ${ms(percentile(all(m.breakdownWarm, pick), 95))} / ${ms(Math.max(...all(m.breakdownWarm, pick)))}`,
  ];
  return [
    'product path, from the workflow histories (medians over runs)',
    table(
      ['phase', 'cold', 'warm'],
      [
        row('CLI spawn → taskRun started', (b) => b.cliToStartMs),
        row('taskRun started → 1st activity scheduled', (b) => b.startToFirstScheduleMs),
        row('1st activity scheduled → last completed', (b) => b.activitySpanMs),
        row('last activity completed → taskRun closed', (b) => b.lastActivityToCloseMs),
        row('taskRun closed → CLI exit', (b) => b.closeToExitMs),
        row('peak activities running at once', (b) => b.peakInFlight).map((c, i) => (i ? c.replace(' ms', '') : c)),
        row('activities started per second', (b) => b.startRate).map((c, i) => (i ? c.replace(' ms', '') : c)),
        row('history events (all workflows)', (b) => b.events).map((c, i) => (i ? c.replace(' ms', '') : c)),
        row('workflow tasks completed', (b) => b.workflowTasks).map((c, i) => (i ? c.replace(' ms', '') : c)),
      ],
    ),
    '',
    table(
      ['per activity (all runs): median / p95 / max', 'cold', 'warm'],
      [
        dist('scheduled → started (queue wait)', (b) => b.scheduleToStartMs),
        dist('started → completed (activity)', (b) => b.executionMs),
        dist('  of which wrapper exec (step durationMs)', (b) => b.execMs),
      ],
    ),
  ].join('\n');
}

function cpuTable(m: Measured): string {
  const row = (name: string, runs: TimedRun[]) => {
    const pick = (f: (r: TimedRun) => number) => median(runs.map(f)).toFixed(1);
    const ours = (r: TimedRun) => r.cpuSeconds + Object.values(r.treeCpu).reduce((a, b) => a + b, 0);
    return [
      name,
      pick((r) => r.cpuSeconds),
      pick((r) => r.treeCpu.worker ?? 0),
      pick((r) => r.treeCpu.temporal ?? 0),
      pick((r) => r.treeCpu.nats ?? 0),
      pick((r) => r.treeCpu.sshd ?? 0),
      pick((r) => Math.max(0, r.machineCpuSeconds - ours(r))),
      pick((r) => r.machineCpuSeconds),
      pick((r) => (r.wallMs / 1000) * cpus().length),
    ];
  };
  return [
    `CPU seconds used during each measurement (medians; the machine has ${cpus().length} cores, so a run of W s has ${cpus().length}·W CPU-s available).`,
    'command: the measured process and its children; sshd: the fleet\'s sshd and all they run on the "hosts";',
    'unattributed: busy time no process above is charged with: kernel work, other processes on the machine (a concurrent test run),',
    'and the key-exchange CPU of SSH connections still open when the command exits (sshd charges it to no live process until the',
    'connection closes), so for "product cold", whose connections stay pooled, it holds the sshd side of its handshakes',
    table(
      ['', 'command', 'worker', 'temporal', 'nats', 'sshd', 'unattributed', 'machine', 'available'],
      [row('product cold', m.productCold), row('product cold, new worker', m.productFresh), row('product warm', m.productWarm), row('parallel-ssh 1st', m.psshCold), row('parallel-ssh 2nd', m.psshWarm), row('bare ssh2 (cold+warm)', m.ssh2Runs)],
    ),
  ].join('\n');
}

function machineLine(): string {
  const cpu = cpus();
  return `machine: ${cpu.length} cores (${cpu[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`;
}

function versionsLine(): string {
  const quiet = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim().split('\n')[0];
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      return (err.stderr ?? err.message).trim().split('\n')[0];
    }
  };
  const pkg = (name: string) => {
    try {
      return (JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string }).version;
    } catch {
      return '?';
    }
  };
  const openssh = execSyncStderr('ssh', ['-V']);
  return [
    `versions: node ${process.version}`,
    `@temporalio/* ${pkg('@temporalio/worker')}`,
    `ssh2 ${pkg('ssh2')}`,
    quiet(temporalBinary(), ['--version']).replace(/^temporal version /, 'temporal CLI '),
    quiet(natsBinary(), ['--version']),
    `parallel-ssh ${quiet(PSSH, ['--version'])}`,
    openssh,
  ].join(', ');
}

/** `ssh -V` prints its version on stderr. */
function execSyncStderr(cmd: string, args: string[]): string {
  const result = spawnSync(cmd, args, { encoding: 'utf8' });
  return `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n')[0];
}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function workerLog(dir: string, index: number): string {
  try {
    return tail(readFileSync(join(dir, `worker-${index}.log`), 'utf8'), 30);
  } catch {
    return '(no log)';
  }
}
