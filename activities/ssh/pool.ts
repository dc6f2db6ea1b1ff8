import type { Client, SFTPWrapper } from 'ssh2';
import type { HostTarget } from '../../model/run';
import type { HostLease } from '../host-session';
import { Semaphore } from '../semaphore';
import { connectSsh, tunnelThrough, type ConnectDeps } from './connect';
import { SshSession } from './session';
import { pruneCommand } from '../remote-step';

export interface PoolOptions {
  /** Close a connection nobody used for this long. */
  idleMs: number;
  /** Channels open at once on one connection (OpenSSH allows 10 sessions by default). */
  maxChannels: number;
}

/** How long after a connection opens its host's old step records are pruned. */
const PRUNE_DELAY_MS = 60_000;

/** One pooled connection; `sftp` is opened on first use and kept with it. */
export interface PooledConnection {
  client: Client;
  channels: Semaphore;
  sftp?: Promise<SFTPWrapper>;
}

interface Entry {
  key: string;
  connection: Promise<PooledConnection>;
  leases: number;
  idleTimer?: NodeJS.Timeout;
  /** Release of the bastion's lease, held as long as this connection lives. */
  releaseBastion?: () => void;
}

/**
 * One SSH connection per host, shared by every step and run on this worker: reused while busy,
 * closed after an idle period, dropped and reopened when it breaks.
 */
export class SshPool {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly deps: ConnectDeps,
    private readonly options: PoolOptions,
  ) {}

  async acquire(target: HostTarget): Promise<HostLease> {
    const entry = this.entryFor(target);
    entry.leases += 1;
    if (entry.idleTimer) clearTimeout(entry.idleTimer);
    entry.idleTimer = undefined;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      entry.leases -= 1;
      if (entry.leases === 0 && this.entries.get(entry.key) === entry) {
        entry.idleTimer = setTimeout(() => this.close(entry), this.options.idleMs);
        entry.idleTimer.unref();
      }
    };
    try {
      const connection = await entry.connection;
      return { session: new SshSession(connection, () => this.drop(entry)), release };
    } catch (err) {
      release();
      throw err;
    }
  }

  closeAll(): void {
    for (const entry of [...this.entries.values()]) this.close(entry);
  }

  private entryFor(target: HostTarget): Entry {
    const key = connectionKey(target);
    const existing = this.entries.get(key);
    if (existing) return existing;
    // Opening starts on the next tick, once `entry` exists for open() to record into.
    const entry: Entry = { key, leases: 0, connection: Promise.resolve().then(() => this.open(target, entry)) };
    // A failed connection is not cached: the next step tries again.
    entry.connection.catch(() => this.drop(entry));
    this.entries.set(key, entry);
    return entry;
  }

  private async open(target: HostTarget, entry: Entry): Promise<PooledConnection> {
    let sock;
    if (target.bastion) {
      const bastion = await this.acquire(target.bastion);
      entry.releaseBastion = bastion.release;
      sock = await tunnelThrough((bastion.session as SshSession).client, target);
    }
    const client = await connectSsh(target, this.deps, sock);
    client.on('close', () => this.drop(entry));
    client.on('error', () => this.drop(entry));
    const connection = { client, channels: new Semaphore(this.options.maxChannels) };
    // Old step records go once per connection, a while after it opened, so a burst of steps on
    // many new connections does not pay for it.
    setTimeout(() => {
      if (this.entries.get(entry.key) === entry) new SshSession(connection, () => undefined).exec(pruneCommand(), {}).catch(() => undefined);
    }, PRUNE_DELAY_MS).unref();
    return connection;
  }

  /** Forgets a broken connection so the next lease opens a new one. */
  private drop(entry: Entry): void {
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
    if (entry.idleTimer) clearTimeout(entry.idleTimer);
    entry.releaseBastion?.();
    entry.releaseBastion = undefined;
  }

  private close(entry: Entry): void {
    this.drop(entry);
    entry.connection.then((c) => c.client.end()).catch(() => undefined);
  }
}

/** Everything a connection was verified and authenticated with: a changed definition gets a new one. */
function connectionKey(t: HostTarget): string {
  const via = t.bastion ? ` via ${connectionKey(t.bastion)}` : '';
  return `${t.username ?? ''}@${t.address}:${t.port}/${t.credentialRef ?? ''}/${t.hostKey ?? (t.trustOnFirstUse ? 'tofu' : '')}${via}`;
}
