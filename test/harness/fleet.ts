// A fleet of real SSH "hosts": sshd processes listening on loopback addresses
// (127.x.y.z needs no setup on Linux), all logging in one dedicated user.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { descendantPids, freePort, killProcessTree, opsCacheDir, pollUntil, watchProcess, WatchedProcess } from '../../workers/embedded/processes';

const USER = 'opsfleet';
const SSHD = '/usr/sbin/sshd';
const MAX_HOSTS_PER_SSHD = 16; // sshd accepts at most 16 ListenAddress entries
const START_TIMEOUT_MS = 20_000;
const KEYGEN_CONCURRENCY = 32;

export interface FleetOptions {
  count: number;
  /** Hosts served by one sshd (1..16, default 1). Hosts of one sshd share its host key. */
  hostsPerSshd?: number;
  /** First loopback address, default 127.0.20.1; later ones count up the last, then the third octet. */
  firstAddress?: string;
  /** SSH port of every host, default a free one. */
  port?: number;
  /** Host names are `${namePrefix}-1`, `${namePrefix}-2`, … (default 'host'). */
  namePrefix?: string;
}

export interface FleetHost {
  name: string;
  address: string;
  port: number;
  /** 'SHA256:…' exactly as `ssh-keygen -lf` prints it. */
  hostKeyFingerprint: string;
  /** 'ssh-ed25519 AAAA…' (no comment). */
  hostPublicKey: string;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface Fleet {
  user: string;
  password: string;
  clientKeyPath: string;
  /** 'ssh-ed25519 AAAA… comment' of the client key every host accepts. */
  clientPublicKey: string;
  /** known_hosts file listing every host's key, for the system ssh client. */
  knownHostsPath: string;
  dir: string;
  /**
   * $HOME of every login to this fleet (under `dir`, removed with it), so the step records a run
   * leaves in ~/.ops/steps are this fleet's alone: the fleet user is shared by every test and bench.
   * The working directory of a login is still the user's own home.
   */
  home: string;
  hosts: FleetHost[];
  /**
   * Takes one host off the network: its address refuses connections and its open
   * connections drop. With hostsPerSshd > 1 its sshd restarts without that
   * address, which also drops the open connections of the hosts sharing it.
   */
  stopHost(name: string): Promise<void>;
  /**
   * Takes one host off the network as a pulled cable would: its address refuses connections and
   * its open connections drop, but what they started on the host goes on (only sshd's own
   * processes end). startHost brings it back.
   */
  cutOff(name: string): Promise<void>;
  startHost(name: string): Promise<void>;
  /** Runs `command` as the fleet user on that host with the system ssh client. */
  exec(name: string, command: string): Promise<ExecResult>;
  stop(): Promise<void>;
}

/** One sshd process and the hosts (listen addresses) it serves. */
interface Sshd {
  configPath: string;
  hostKeyPath: string;
  pidPath: string;
  hosts: FleetHost[];
  down: Set<string>;
  server?: WatchedProcess;
  /** Serialises stop/start of this sshd. */
  queue: Promise<void>;
}

export async function startFleet(opts: FleetOptions): Promise<Fleet> {
  const hostsPerSshd = opts.hostsPerSshd ?? 1;
  if (!Number.isInteger(opts.count) || opts.count < 1) throw new Error(`fleet count must be a positive integer, got ${opts.count}`);
  if (!Number.isInteger(hostsPerSshd) || hostsPerSshd < 1 || hostsPerSshd > MAX_HOSTS_PER_SSHD) {
    throw new Error(`hostsPerSshd must be 1..${MAX_HOSTS_PER_SSHD}, got ${hostsPerSshd}`);
  }
  if (process.getuid?.() !== 0) throw new Error('startFleet needs root: it creates the opsfleet user and runs sshd');
  if (!existsSync(SSHD)) throw new Error(`${SSHD} not found: run "sh scripts/provision.sh test"`);

  const addresses = loopbackAddresses(opts.firstAddress ?? '127.0.20.1', opts.count);
  const port = opts.port ?? (await freePort(addresses[0]));
  const namePrefix = opts.namePrefix ?? 'host';
  const password = await fleetPassword();
  await ensureFleetUser(password);
  // sshd refuses to start without its privilege separation directory; /run is a tmpfs.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });

  const dir = await mkdtemp(join(tmpdir(), 'ops-fleet-'));
  await chmod(dir, 0o711); // sshd reads authorized_keys as the fleet user
  const clientKeyPath = join(dir, 'id_ed25519');
  const authorizedKeysPath = join(dir, 'authorized_keys');
  const knownHostsPath = join(dir, 'known_hosts');
  const home = join(dir, 'home');
  await mkdir(home, { mode: 0o700 });
  const [uid, gid] = (await run('getent', ['passwd', USER])).stdout.split(':').slice(2, 4).map(Number);
  await chown(home, uid, gid);

  const sshdCount = Math.ceil(opts.count / hostsPerSshd);
  const sshds: Sshd[] = Array.from({ length: sshdCount }, (_, i) => ({
    configPath: join(dir, `sshd-${i + 1}.config`),
    hostKeyPath: join(dir, `sshd-${i + 1}.host_key`),
    pidPath: join(dir, `sshd-${i + 1}.pid`),
    hosts: [],
    down: new Set<string>(),
    queue: Promise.resolve(),
  }));
  const [clientKey, hostKeys] = await Promise.all([
    generateKey(clientKeyPath, 'ops-fleet-client'),
    inParallel(sshds, KEYGEN_CONCURRENCY, (sshd, i) => generateKey(sshd.hostKeyPath, `ops-fleet-sshd-${i + 1}`)),
  ]);
  const hosts: FleetHost[] = addresses.map((address, i) => {
    const sshdIndex = Math.floor(i / hostsPerSshd);
    const host: FleetHost = {
      name: `${namePrefix}-${i + 1}`,
      address,
      port,
      hostKeyFingerprint: hostKeys[sshdIndex].fingerprint,
      hostPublicKey: hostKeys[sshdIndex].publicKey,
    };
    sshds[sshdIndex].hosts.push(host);
    return host;
  });
  await writeFile(authorizedKeysPath, `${clientKey.line}\n`, { mode: 0o644 });
  await writeFile(knownHostsPath, hosts.map((h) => `[${h.address}]:${h.port} ${h.hostPublicKey}\n`).join(''));

  const sshdOf = (name: string): Sshd => {
    const sshd = sshds.find((s) => s.hosts.some((h) => h.name === name));
    if (!sshd) throw new Error(`no fleet host named ${name}`);
    return sshd;
  };
  const restart = (sshd: Sshd): Promise<void> => {
    const restarted = sshd.queue.then(async () => {
      if (sshd.server) await killProcessTree(sshd.server);
      sshd.server = await launchSshd(sshd, authorizedKeysPath, home);
    });
    sshd.queue = restarted.catch(() => undefined); // a failed restart must not block later ones
    return restarted;
  };

  try {
    await Promise.all(sshds.map(async (sshd) => (sshd.server = await launchSshd(sshd, authorizedKeysPath, home))));
  } catch (error) {
    await Promise.all(sshds.map((sshd) => sshd.server && killProcessTree(sshd.server)));
    await rm(dir, { recursive: true, force: true });
    throw error;
  }

  const fleet: Fleet = {
    user: USER,
    password,
    clientKeyPath,
    clientPublicKey: clientKey.line,
    knownHostsPath,
    dir,
    home,
    hosts,
    async stopHost(name) {
      const sshd = sshdOf(name);
      if (sshd.down.has(name)) return;
      sshd.down.add(name);
      await restart(sshd);
    },
    async cutOff(name) {
      const sshd = sshdOf(name);
      const pid = sshd.server?.child.pid;
      // sshd's own processes end first, so stopping the host leaves what they started running.
      if (pid !== undefined && !sshd.down.has(name)) {
        for (const p of [...descendantPids(pid).filter((d) => commandName(d) === 'sshd'), pid]) {
          try {
            process.kill(p, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
      await fleet.stopHost(name);
    },
    async startHost(name) {
      const sshd = sshdOf(name);
      if (!sshd.down.delete(name)) return;
      await restart(sshd);
    },
    async exec(name, command) {
      const host = hosts.find((h) => h.name === name);
      if (!host) throw new Error(`no fleet host named ${name}`);
      return run('ssh', [
        '-F', '/dev/null', // ignore the caller's ~/.ssh/config
        '-i', clientKeyPath,
        '-p', String(host.port),
        '-o', 'BatchMode=yes',
        '-o', 'IdentitiesOnly=yes',
        '-o', 'StrictHostKeyChecking=yes',
        '-o', `UserKnownHostsFile=${knownHostsPath}`,
        '-o', 'GlobalKnownHostsFile=/dev/null',
        '-o', 'ConnectTimeout=10',
        '-o', 'LogLevel=ERROR',
        `${USER}@${host.address}`,
        command,
      ]);
    },
    async stop() {
      await Promise.all(sshds.map(async (sshd) => {
        await sshd.queue;
        if (sshd.server) await killProcessTree(sshd.server);
      }));
      await rm(dir, { recursive: true, force: true });
    },
  };
  return fleet;
}

/** Starts the sshd for its hosts that are not down; undefined when all are down. */
async function launchSshd(sshd: Sshd, authorizedKeysPath: string, home: string): Promise<WatchedProcess | undefined> {
  const up = sshd.hosts.filter((h) => !sshd.down.has(h.name));
  if (up.length === 0) return undefined;
  await writeFile(sshd.configPath, sshdConfig(up, sshd, authorizedKeysPath, home));
  const server = watchProcess(spawn(SSHD, ['-D', '-e', '-f', sshd.configPath], { stdio: ['ignore', 'ignore', 'pipe'] }));
  try {
    await Promise.all(up.map((h) => pollUntil(`sshd ${h.name} ${h.address}:${h.port}`, () => presentsSshBanner(h.address, h.port), START_TIMEOUT_MS, server)));
    return server;
  } catch (error) {
    await killProcessTree(server);
    throw error;
  }
}

function sshdConfig(up: FleetHost[], sshd: Sshd, authorizedKeysPath: string, home: string): string {
  return [
    ...up.map((h) => `ListenAddress ${h.address}:${h.port}`),
    `HostKey ${sshd.hostKeyPath}`,
    `PidFile ${sshd.pidPath}`,
    `AuthorizedKeysFile ${authorizedKeysPath}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication yes',
    'KbdInteractiveAuthentication no',
    'UsePAM yes', // password auth checks the user's real password through PAM
    'UseDNS no',
    'StrictModes no',
    'MaxStartups 1000:30:1000',
    'MaxSessions 100',
    'AllowTcpForwarding yes', // a host may serve as bastion
    'PermitRootLogin no',
    'LogLevel ERROR',
    'Subsystem sftp internal-sftp',
    `AllowUsers ${USER}`,
    'PrintMotd no',
    'PrintLastLog no',
    `SetEnv HOME=${home}`,
    '',
  ].join('\n');
}

/** Consecutive loopback addresses: the last octet runs 1..254, then the third octet counts up. */
export function loopbackAddresses(first: string, count: number): string[] {
  const octets = first.split('.').map(Number);
  const valid = octets.length === 4 && octets[0] === 127 && octets.every((o) => Number.isInteger(o) && o >= 0 && o <= 255);
  if (!valid || octets[3] < 1 || octets[3] > 254) throw new Error(`firstAddress must be 127.x.y.z with z in 1..254, got ${first}`);
  let [, second, third, fourth] = octets;
  const addresses: string[] = [];
  while (addresses.length < count) {
    if (fourth > 254) [third, fourth] = [third + 1, 1];
    if (third > 255) throw new Error(`${count} addresses from ${first} run past 127.${second}.255.254`);
    addresses.push(`127.${second}.${third}.${fourth}`);
    fourth += 1;
  }
  return addresses;
}

/** Whether host:port accepts TCP and greets with an SSH identification line. */
function presentsSshBanner(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    let received = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.includes('\n')) done(received.startsWith('SSH-'));
    });
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
  });
}

/**
 * The fleet user's password: random per machine, kept in the Ops cache dir so
 * fleets started by parallel test processes agree on it.
 */
async function fleetPassword(): Promise<string> {
  const cacheDir = opsCacheDir();
  const file = join(cacheDir, 'fleet-password');
  await mkdir(cacheDir, { recursive: true });
  try {
    await writeFile(file, randomBytes(18).toString('base64url'), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return (await readFile(file, 'utf8')).trim();
}

async function ensureFleetUser(password: string): Promise<void> {
  const exists = async (): Promise<boolean> => (await run('id', ['-u', USER])).code === 0;
  if (!(await exists())) {
    const created = await run('useradd', ['-m', '-s', '/bin/sh', USER]);
    // A parallel test process may have created it first.
    if (created.code !== 0 && !(await exists())) throw new Error(`useradd ${USER} failed: ${created.stderr}`);
  }
  const home = (await run('getent', ['passwd', USER])).stdout.split(':')[5];
  // Logins must print nothing extra and start fast: no rc files, no motd.
  await Promise.all(['.bashrc', '.profile', '.bash_logout'].map((f) => rm(join(home, f), { force: true })));
  await writeFile(join(home, '.hushlogin'), '');
  const changed = await run('chpasswd', [], `${USER}:${password}\n`);
  if (changed.code !== 0) throw new Error(`chpasswd for ${USER} failed: ${changed.stderr}`);
  // Steps with `sudo: true` run `sudo -n`, which needs a rule without password.
  if (existsSync('/etc/sudoers.d')) await writeFile('/etc/sudoers.d/ops-test-fleet', `${USER} ALL=(ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
}

interface PublicKey {
  /** The .pub file line: 'type base64 comment'. */
  line: string;
  /** 'type base64'. */
  publicKey: string;
  /** 'SHA256:…', computed the way `ssh-keygen -l` does. */
  fingerprint: string;
}

async function generateKey(path: string, comment: string): Promise<PublicKey> {
  const result = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path]);
  if (result.code !== 0) throw new Error(`ssh-keygen ${path} failed: ${result.stderr}`);
  const line = (await readFile(`${path}.pub`, 'utf8')).trim();
  const [type, base64] = line.split(/\s+/);
  const digest = createHash('sha256').update(Buffer.from(base64, 'base64')).digest('base64');
  return { line, publicKey: `${type} ${base64}`, fingerprint: `SHA256:${digest.replace(/=+$/, '')}` };
}

function run(command: string, args: string[], input?: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code: code ?? -1 })); // -1: killed by a signal
    child.stdin.on('error', () => undefined); // EPIPE when it exits without reading; its exit code tells
    child.stdin.end(input);
  });
}

async function inParallel<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index], index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A process's command name, or undefined once it has exited. */
function commandName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}
