import type { HostTarget } from '../model/run';
import type { HostLease } from './host-session';
import { LocalSession } from './local/session';
import type { SshPool } from './ssh/pool';

/** Reaches a host the way its definition says: pooled SSH, or the worker's own machine. */
export class HostConnector {
  private readonly local = new LocalSession();

  constructor(readonly ssh: SshPool) {}

  acquire(target: HostTarget): Promise<HostLease> {
    if (target.connection === 'local') return Promise.resolve({ session: this.local, release: () => undefined });
    return this.ssh.acquire(target);
  }
}
