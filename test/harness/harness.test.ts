// Checks the integration-test harness itself against the real servers.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { connect, StringCodec } from 'nats';
import { Client } from 'ssh2';
import { Fleet, startFleet } from './fleet';
import { startNats } from '../../workers/embedded/nats-server';
import { canConnect } from '../../workers/embedded/processes';
import { startTemporal } from '../../workers/embedded/temporal-server';

jest.setTimeout(120_000);

const execFileAsync = promisify(execFile);

/** The fingerprint a server presents, as ssh-keyscan + ssh-keygen -lf report it. */
async function presentedFingerprint(address: string, port: number): Promise<string> {
  const { stdout: keys } = await execFileAsync('ssh-keyscan', ['-t', 'ed25519', '-p', String(port), address]);
  const keygen = execFileAsync('ssh-keygen', ['-lf', '-']);
  keygen.child.stdin?.end(keys);
  return (await keygen).stdout.split(' ')[1];
}

function passwordLogin(address: string, port: number, username: string, password: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    client
      .on('ready', () =>
        client.exec('whoami', (error, stream) => {
          if (error) return reject(error);
          let out = '';
          stream.on('data', (chunk: Buffer) => (out += chunk.toString()));
          stream.on('close', () => {
            client.end();
            resolve(out.trim());
          });
        }),
      )
      .on('error', reject)
      .connect({ host: address, port, username, password, tryKeyboard: false });
  });
}

describe('fleet', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({ count: 3 });
  });
  afterAll(() => fleet?.stop());

  it('logs in with the client key on each host address', async () => {
    for (const host of fleet.hosts) {
      const result = await fleet.exec(host.name, 'echo ok; echo $SSH_CONNECTION; id -un');
      expect(result).toMatchObject({ code: 0, stderr: '' });
      const [ok, connection, user] = result.stdout.trim().split('\n');
      expect(ok).toBe('ok');
      expect(connection.split(' ').slice(2)).toEqual([host.address, String(host.port)]);
      expect(user).toBe(fleet.user);
    }
  });

  it("gives every login this fleet's own $HOME, writable by the fleet user, in the user's home directory", async () => {
    const result = await fleet.exec(fleet.hosts[0].name, 'echo "$HOME"; pwd; mkdir -p ~/.ops/steps && echo written');
    expect(result).toMatchObject({ code: 0, stderr: '' });
    const [home, cwd, written] = result.stdout.trim().split('\n');
    expect(home).toBe(fleet.home);
    expect(cwd).not.toBe(fleet.home);
    expect(written).toBe('written');
  });

  it('logs in with the password', async () => {
    const host = fleet.hosts[0];
    await expect(passwordLogin(host.address, host.port, fleet.user, fleet.password)).resolves.toBe(fleet.user);
  });

  it('reports the host key each host presents, distinct per host', async () => {
    for (const host of fleet.hosts) {
      expect(await presentedFingerprint(host.address, host.port)).toBe(host.hostKeyFingerprint);
      expect(host.hostPublicKey).toMatch(/^ssh-ed25519 AAAA\S+$/);
    }
    expect(new Set(fleet.hosts.map((h) => h.hostKeyFingerprint)).size).toBe(3);
  });

  it('stops and starts exactly one host, dropping its open connections', async () => {
    const [first, second] = fleet.hosts;
    const running = fleet.exec(first.name, 'sleep 60');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await fleet.stopHost(first.name);
    expect((await running).code).toBe(255);
    expect(await canConnect(first.address, first.port)).toBe(false);
    expect((await fleet.exec(second.name, 'echo ok')).stdout).toBe('ok\n');
    await fleet.startHost(first.name);
    expect((await fleet.exec(first.name, 'echo ok')).stdout).toBe('ok\n');
  });
});

describe('fleet with several hosts per sshd', () => {
  let fleet: Fleet;
  beforeAll(async () => {
    fleet = await startFleet({ count: 3, hostsPerSshd: 2, firstAddress: '127.0.21.253', namePrefix: 'node' });
  });
  afterAll(() => fleet?.stop());

  it('numbers addresses across octets and shares the host key within one sshd', () => {
    expect(fleet.hosts.map((h) => [h.name, h.address])).toEqual([
      ['node-1', '127.0.21.253'],
      ['node-2', '127.0.21.254'],
      ['node-3', '127.0.22.1'],
    ]);
    const [a, b, c] = fleet.hosts.map((h) => h.hostKeyFingerprint);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it('stops one address while the other of its sshd keeps serving', async () => {
    const [first, second] = fleet.hosts;
    await fleet.stopHost(first.name);
    expect(await canConnect(first.address, first.port)).toBe(false);
    expect((await fleet.exec(second.name, 'echo ok')).stdout).toBe('ok\n');
    await fleet.startHost(first.name);
    expect((await fleet.exec(first.name, 'echo ok')).stdout).toBe('ok\n');
  });
});

describe('temporal', () => {
  it('serves the default namespace, also after a restart', async () => {
    const temporal = await startTemporal();
    try {
      const describe = async (): Promise<string | null | undefined> => {
        const connection = await Connection.connect({ address: temporal.address });
        try {
          const response = await connection.workflowService.describeNamespace({ namespace: temporal.namespace });
          return response.namespaceInfo?.name;
        } finally {
          await connection.close();
        }
      };
      expect(await describe()).toBe('default');
      await temporal.restart();
      expect(await describe()).toBe('default');
    } finally {
      await temporal.stop();
    }
  });
});

describe('nats', () => {
  it('stores and publishes with JetStream', async () => {
    const nats = await startNats();
    const nc = await connect({ servers: nats.url });
    try {
      const jsm = await nc.jetstreamManager();
      await jsm.streams.add({ name: 'HARNESS', subjects: ['harness.>'] });
      const ack = await nc.jetstream().publish('harness.test', StringCodec().encode('hello'));
      expect(ack).toMatchObject({ stream: 'HARNESS', seq: 1 });
    } finally {
      await nc.close();
      await nats.stop();
    }
  });
});
