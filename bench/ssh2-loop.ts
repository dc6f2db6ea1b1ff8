// The bare ssh2 baseline of the fan-out benchmark, run as its own node process:
//   node dist/bench/ssh2-loop.js CONFIG.json
// Opens one ssh2 connection per host with `concurrency` at once, execs the command, collects its
// output (phase "cold"), execs it again on the open connections ("warm"), closes and exits. It
// prints one JSON line with the phase times; the parent times the process from spawn to exit.
// With `probe: true` it instead measures what the product's remote wrapper
// (activities/remote-step.ts) and step helper (activities/ssh/step-helper.ts) cost compared with a
// plain exec, on open connections.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Client } from 'ssh2';
import { wrapperCommand } from '../activities/remote-step';
import { StepHelper } from '../activities/ssh/step-helper';
import type { HostTarget } from '../model/run';
import { machineBusyTicks, median, pidsWithCommandLine, treeCpuTicks } from './measure';

export interface LoopConfig {
  hosts: Array<{ address: string; port: number; fingerprint: string }>;
  username: string;
  privateKeyPath: string;
  concurrency: number;
  command: string;
  /** Text every output must contain (verifies the command really ran). */
  expect: string;
  probe?: boolean;
  /** For the probe: a string in the fleet's sshd command lines, to account their CPU. */
  sshdNeedle?: string;
}

export interface LoopReport {
  /** ms from process start (timeOrigin) to the first connect. */
  startupMs: number;
  coldMs: number;
  warmMs: number;
  closeMs: number;
  ok: number;
  failed: string[];
  probe?: ProbeReport;
}

export interface ProbePhase {
  wallMs: number;
  /** CPU seconds of the fleet's sshd trees (sshd and everything the exec ran on the "hosts"). */
  sshdCpuSeconds: number;
  /** Busy CPU seconds of the whole machine. */
  machineCpuSeconds: number;
}

export interface ProbeReport {
  /** All hosts at once, on open connections: a plain exec of the command; the product's wrapper. */
  fanoutPlain: ProbePhase;
  fanoutWrapper: ProbePhase;
  /** The product's wrapper with HOME pointing at a fresh directory, so its ~/.ops/steps starts empty. */
  fanoutWrapperEmptySteps: ProbePhase;
  /** The step helper that runs first attempts in the wrapper's place, where the fleet has it (the product runs install it). */
  fanoutHelper?: ProbePhase;
  /** Entries in the fleet user's ~/.ops/steps when the probe started (every fleet host shares that home). */
  stepDirs: number;
  /** One host, one exec at a time, open connection: median latency of each. */
  singlePlainMs: number;
  singleWrapperMs: number;
  singleWrapperEmptyStepsMs: number;
  singleHelperMs?: number;
  singleRuns: number;
}

interface Exec {
  code: number | null;
  stdout: string;
  stderr: string;
}

function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

function connect(host: LoopConfig['hosts'][number], username: string, privateKey: Buffer): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client
      // Same socket as the product's (activities/ssh/connect.ts): without TCP_NODELAY an exec waits ~40 ms on a delayed ACK.
      .once('connect', () => client.setNoDelay(true))
      .once('ready', () => resolve(client))
      .once('error', (e) => {
        client.end();
        reject(e);
      })
      .connect({ host: host.address, port: host.port, username, privateKey, readyTimeout: 30_000, hostVerifier: (key: Buffer) => fingerprint(key) === host.fingerprint });
  });
}

function exec(client: Client, command: string, stdin?: string): Promise<Exec> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, channel) => {
      if (err) return reject(err);
      let stdout = '';
      let stderr = '';
      let code: number | null = null;
      channel.on('data', (c: Buffer) => (stdout += c.toString()));
      channel.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      channel.on('exit', (c: number | null) => (code = c));
      channel.on('close', () => resolve({ code, stdout, stderr }));
      channel.end(stdin);
    });
  });
}

/** Runs `fn` over `items` with at most `limit` at once. */
async function lanes<T>(items: T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      await fn(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

export async function runLoop(config: LoopConfig): Promise<LoopReport> {
  const privateKey = readFileSync(config.privateKeyPath);
  const clients: Array<Client | undefined> = new Array(config.hosts.length);
  const failed: string[] = [];
  const check = (where: string, r: Exec) => {
    if (r.code !== 0 || !r.stdout.includes(config.expect)) failed.push(`${where}: exit ${r.code} ${r.stderr.trim().slice(0, 200)}`);
  };
  const startupMs = performance.now();

  const coldStart = performance.now();
  await lanes(config.hosts, config.concurrency, async (host, i) => {
    try {
      const client = await connect(host, config.username, privateKey);
      clients[i] = client;
      check(`${host.address} cold`, await exec(client, config.command));
    } catch (e) {
      failed.push(`${host.address} cold: ${(e as Error).message}`);
    }
  });
  const coldMs = performance.now() - coldStart;

  const open = clients.flatMap((c, i) => (c ? [{ client: c, host: config.hosts[i] }] : []));
  const warmStart = performance.now();
  await lanes(open, config.concurrency, async ({ client, host }) => {
    try {
      check(`${host.address} warm`, await exec(client, config.command));
    } catch (e) {
      failed.push(`${host.address} warm: ${(e as Error).message}`);
    }
  });
  const warmMs = performance.now() - warmStart;

  const probe = config.probe ? await probeWrapper(open.map((o) => o.client), config, check) : undefined;

  const closeStart = performance.now();
  await Promise.all(open.map(({ client }) => new Promise<void>((done) => {
    client.once('close', () => done());
    client.end();
  })));
  const closeMs = performance.now() - closeStart;
  return { startupMs, coldMs, warmMs, closeMs, ok: config.hosts.length - new Set(failed.map((f) => f.split(' ')[0])).size, failed, probe };
}

/**
 * The product runs each step through the wrapper of activities/remote-step.ts (own session,
 * output kept in files by a `tee` per stream, exit status recorded). This measures that
 * wrapper against a plain exec, over the same open connections, so its cost is known apart
 * from Temporal and connection set-up.
 */
async function probeWrapper(clients: Client[], config: LoopConfig, check: (where: string, r: Exec) => void): Promise<ProbeReport> {
  const tag = `bench-${process.pid}-${Date.now()}`;
  let n = 0;
  const wrapped = () => wrapperCommand({ key: `${tag}-${(n += 1)}`, timeoutSeconds: 600, sudo: false, script: config.command });
  const stepHelper = StepHelper.load();
  const host: HostTarget = { name: 'probe', address: '', port: 22, connection: 'ssh', cluster: 'local', trustOnFirstUse: false, labels: {} };
  const throughHelper = () => stepHelper?.command(host, { key: `${tag}-${(n += 1)}`, timeoutSeconds: 600, sudo: false, script: config.command }) ?? '';
  const helperThere = stepHelper !== undefined && (await exec(clients[0], `test -x "$HOME/.ops/bin/${stepHelper.name}"`)).code === 0;
  const sshdRoots = () => (config.sshdNeedle ? pidsWithCommandLine('/usr/sbin/sshd', config.sshdNeedle) : []);
  const phase = async (run: () => Promise<void>): Promise<ProbePhase> => {
    const sshd0 = treeCpuTicks(sshdRoots());
    const machine0 = machineBusyTicks();
    const start = performance.now();
    await run();
    const wallMs = performance.now() - start;
    return { wallMs, sshdCpuSeconds: (treeCpuTicks(sshdRoots()) - sshd0) / 100, machineCpuSeconds: (machineBusyTicks() - machine0) / 100 };
  };
  const fanout = (command: () => string, stdin?: string) =>
    phase(() => lanes(clients, config.concurrency, async (c, i) => check(`probe ${i}`, await exec(c, command(), stdin))));

  // All fleet hosts log in as one user, so they share one ~/.ops/steps, where each step adds its
  // records: count them, and compare with an empty one.
  const stepDirs = Number((await exec(clients[0], 'ls "$HOME/.ops/steps" 2>/dev/null | wc -l')).stdout.trim());
  const emptyHome = `/tmp/${tag}-home`;
  const emptySteps = () => `HOME=${emptyHome} ${wrapped()}`;
  const fanoutPlain = await fanout(() => config.command);
  const fanoutWrapper = await fanout(wrapped, config.command);
  const fanoutWrapperEmptySteps = await fanout(emptySteps, config.command);
  const fanoutHelper = helperThere ? await fanout(throughHelper, config.command) : undefined;
  await exec(clients[0], `rm -rf ${emptyHome}`);

  const singleRuns = 15;
  const plain: number[] = [];
  const wrapper: number[] = [];
  const wrapperEmpty: number[] = [];
  const helper: number[] = [];
  const time = async (into: number[], command: string, stdin?: string) => {
    const t = performance.now();
    check('single', await exec(clients[0], command, stdin));
    into.push(performance.now() - t);
  };
  for (let i = 0; i < singleRuns; i += 1) {
    await time(plain, config.command);
    await time(wrapper, wrapped(), config.command);
    await time(wrapperEmpty, emptySteps(), config.command);
    if (helperThere) await time(helper, throughHelper(), config.command);
  }
  // The wrapper leaves a step directory per exec under ~/.ops/steps, as the product does; remove ours.
  await exec(clients[0], `rm -rf "$HOME/.ops/steps/${tag}"-* ${emptyHome}`);
  return {
    fanoutPlain,
    fanoutWrapper,
    fanoutWrapperEmptySteps,
    fanoutHelper,
    stepDirs,
    singlePlainMs: median(plain),
    singleWrapperMs: median(wrapper),
    singleWrapperEmptyStepsMs: median(wrapperEmpty),
    ...(helperThere ? { singleHelperMs: median(helper) } : {}),
    singleRuns,
  };
}

if (require.main === module) {
  const config = JSON.parse(readFileSync(process.argv[2], 'utf8')) as LoopConfig;
  runLoop(config).then(
    (report) => {
      process.stdout.write(`${JSON.stringify(report)}\n`, () => process.exit(report.failed.length ? 1 : 0));
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
