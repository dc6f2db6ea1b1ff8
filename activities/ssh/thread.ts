// The SSH thread of a worker (see thread-pool.ts): the pool and its connections, serving the
// main thread's leases, execs and transfers.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { CredentialStore } from '../credentials';
import type { HostLease } from '../host-session';
import { ConnectError } from '../step-failure';
import { KnownHosts } from './host-keys';
import { SshPool } from './pool';
import type { SshReply, SshRequest, SshThreadConfig } from './thread-pool';

function serve(port: MessagePort, config: SshThreadConfig): void {
  const pool = new SshPool({ credentials: CredentialStore.load(config.credentialsFile), knownHosts: new KnownHosts(config.knownHostsFile), readyTimeoutMs: config.readyTimeoutMs }, config.pool);
  const leases = new Map<number, HostLease>();
  let nextLease = 1;
  const reply = (message: SshReply) => port.postMessage(message);
  const failed = (id: number) => (e: Error) => reply({ id, op: 'failed', error: { message: e.message, ...(e instanceof ConnectError ? { type: e.type } : {}) } });
  const session = (id: number, lease: number) => {
    const held = leases.get(lease);
    if (!held) throw new Error(`lease ${lease} of request ${id} was released`);
    return held.session;
  };

  port.on('message', (request: SshRequest) => {
    switch (request.op) {
      case 'acquire':
        pool.acquire(request.target).then((held) => {
          const lease = nextLease++;
          leases.set(lease, held);
          reply({ id: request.id, op: 'leased', lease });
        }, failed(request.id));
        return;
      case 'release':
        leases.get(request.lease)?.release();
        leases.delete(request.lease);
        return;
      case 'exec': {
        const { id } = request;
        Promise.resolve()
          .then(() =>
            session(id, request.lease).exec(request.command, {
              stdin: request.stdin instanceof Uint8Array ? Buffer.from(request.stdin) : request.stdin,
              onStdout: (chunk) => reply({ id, op: 'stdout', chunk }),
              onStderr: (chunk) => reply({ id, op: 'stderr', chunk }),
            }),
          )
          .then((result) => reply({ id, op: 'done', result }), failed(id));
        return;
      }
      case 'upload': {
        const { id, data } = request;
        const source = 'bytes' in data ? { bytes: Buffer.from(data.bytes) } : data;
        Promise.resolve()
          .then(() => session(id, request.lease).upload(source, request.remotePath, (total) => reply({ id, op: 'bytes', total })))
          .then(() => reply({ id, op: 'done' }), failed(id));
        return;
      }
      case 'download': {
        const { id } = request;
        Promise.resolve()
          .then(() => session(id, request.lease).download(request.remotePath, request.localPath, (total) => reply({ id, op: 'bytes', total })))
          .then(() => reply({ id, op: 'done' }), failed(id));
        return;
      }
      case 'close':
        pool.closeAll();
        reply({ id: request.id, op: 'done' });
    }
  });
}

if (parentPort) serve(parentPort, workerData as SshThreadConfig);
