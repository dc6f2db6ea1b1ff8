// Ways of reaching hosts: password auth, a bastion, trust on first use; and large file transfers.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { startStack, workerLogs, type TestStack, type WorkerProcess } from '../harness/stack';
import { startFleet } from '../harness/fleet';
import type { HostResult } from '../../model/run';
import type { RunOutcome } from '../../workers/runs';

let stack: TestStack;
let worker: WorkerProcess;

beforeAll(async () => {
  stack = await startStack({ count: 3 });
  // Something only the worker's environment holds, which its steps must not see.
  worker = stack.startWorker([], { OPS_TEST_WORKER_ONLY: 'w0rker-s3cret' });
  await worker.ready;
});

afterAll(async () => {
  await stack?.stop();
});

const UPTIME = `apiVersion: ops.dev/v1
kind: Task
metadata: { name: uptime }
spec:
  targets: { all: true }
  maxFailures: 100%
  steps: [{ name: uptime, shell: 'echo "up on $(hostname)"' }]
`;

async function run(hostDocs: string, task = UPTIME, name = 'uptime'): Promise<HostResult[]> {
  const hosts = stack.writeFile(`hosts-${Date.now()}.yaml`, hostDocs);
  const tasks = stack.writeFile(`task-${Date.now()}.yaml`, task);
  const r = await stack.ops(['run', '-f', hosts, '-f', tasks, '--task', name, '--watch', '-o', 'json']);
  if (!r.stdout.trim()) throw new Error(`ops run gave no result (exit ${r.code}): ${r.stderr}\n${workerLogs(stack)}`);
  const outcome = JSON.parse(r.stdout) as RunOutcome;
  return outcome.kind === 'task' ? outcome.result.hosts : [];
}

function hostDoc(name: string, spec: Record<string, unknown>): string {
  return `apiVersion: ops.dev/v1\nkind: Host\nmetadata: { name: ${name} }\nspec: ${JSON.stringify(spec)}\n---\n`;
}

test('password authentication works, and a wrong password is reported as authFailed', async () => {
  const [h1, h2] = stack.fleet.hosts;
  const results = await run(
    hostDoc('by-password', { address: h1.address, port: h1.port, hostKey: h1.hostKeyFingerprint, credentialRef: 'fleet-password' }) +
      hostDoc('wrong-password', { address: h2.address, port: h2.port, hostKey: h2.hostKeyFingerprint, credentialRef: 'wrong-password' }) +
      hostDoc('no-such-credential', { address: h2.address, port: h2.port, hostKey: h2.hostKeyFingerprint, credentialRef: 'missing' }),
  );
  const byHost = Object.fromEntries(results.map((r) => [r.host, r]));
  expect(byHost['by-password'].status).toBe('succeeded');
  expect(byHost['wrong-password'].status).toBe('authFailed');
  expect(byHost['wrong-password'].message).toContain('authentication as "opsfleet"');
  expect(byHost['no-such-credential'].status).toBe('authFailed');
  expect(byHost['no-such-credential'].message).toContain('credential "missing" is not configured on this worker');
});

test('a credential added to the worker\'s file is used without a restart; a key that cannot be read is authFailed, naming the credential', async () => {
  const [h1] = stack.fleet.hosts;
  const file = stack.env.OPS_CREDENTIALS_FILE as string;
  const before = readFileSync(file, 'utf8');
  const junkKey = join(stack.dir, 'not-a-key');
  writeFileSync(junkKey, 'this is not a private key\n');
  writeFileSync(file, `${before}  added-later:\n    username: ${stack.fleet.user}\n    privateKeyFile: ${stack.fleet.clientKeyPath}\n  junk:\n    username: ${stack.fleet.user}\n    privateKeyFile: ${junkKey}\n`);
  try {
    const results = await run(
      hostDoc('added-later', { address: h1.address, port: h1.port, hostKey: h1.hostKeyFingerprint, credentialRef: 'added-later' }) +
        hostDoc('junk-key', { address: h1.address, port: h1.port, hostKey: h1.hostKeyFingerprint, credentialRef: 'junk' }),
    );
    const byHost = Object.fromEntries(results.map((r) => [r.host, r]));
    expect(byHost['added-later'].status).toBe('succeeded');
    expect(byHost['junk-key']).toMatchObject({ status: 'authFailed', message: expect.stringContaining('junk-key: credential "junk" cannot be used: Cannot parse privateKey') });
  } finally {
    writeFileSync(file, before);
  }
});

test('a connection: local host runs in the home directory with a login\'s environment, not the worker\'s', async () => {
  const task = `apiVersion: ops.dev/v1
kind: Task
metadata: { name: where }
spec:
  targets: { all: true }
  results: [{ name: seen }]
  steps: [{ name: look, shell: 'echo "::result seen=[$OPS_TEST_WORKER_ONLY] $(pwd) $HOME $USER"' }]
`;
  const [host] = await run(hostDoc('this-machine', { address: 'localhost', connection: 'local' }), task, 'where');
  expect(host).toMatchObject({ status: 'succeeded', results: { seen: `[] ${homedir()} ${homedir()} ${userInfo().username}` } });
});

test('a host behind a bastion is reached through it', async () => {
  const [jump, target] = stack.fleet.hosts;
  const results = await run(
    hostDoc('jump', { address: jump.address, port: jump.port, hostKey: jump.hostKeyFingerprint }) +
      hostDoc('behind', { address: target.address, port: target.port, hostKey: target.hostKeyFingerprint, bastion: 'jump' }),
    UPTIME.replace('{ all: true }', '{ hosts: [behind] }'),
  );
  expect(results).toMatchObject([{ host: 'behind', status: 'succeeded' }]);
  // The pooled connection to the target is carried by the bastion's sshd, not opened by the worker.
  const sockets = execFileSync('ss', ['-tnpH', 'state', 'established', 'dst', `${target.address}:${target.port}`], { encoding: 'utf8' });
  expect(sockets).toContain('sshd');
  expect(sockets).not.toContain('node');
});

test('trust on first use accepts the first key and refuses a changed one', async () => {
  const host = stack.fleet.hosts[2];
  const tofu = hostDoc('tofu', { address: host.address, port: host.port, trustOnFirstUse: true });
  expect(await run(tofu)).toMatchObject([{ host: 'tofu', status: 'succeeded' }]);
  const known = JSON.parse(readFileSync(join(stack.env.OPS_DATA_DIR ?? '', 'known_hosts.json'), 'utf8'));
  expect(known[`${host.address}:${host.port}`]).toBe(host.hostKeyFingerprint);
  // The same address now answers with another key (a rebuilt or impostor host).
  await stack.fleet.stopHost(host.name);
  const impostor = await startFleet({ count: 1, firstAddress: host.address, port: host.port, namePrefix: 'impostor' });
  try {
    const [result] = await run(tofu);
    expect(result.status).toBe('hostKeyRejected');
    expect(result.message).toContain(`changed from ${host.hostKeyFingerprint}`);
  } finally {
    await impostor.stop();
    await stack.fleet.startHost(host.name);
  }
});

test('large files are pushed and pulled with their checksums verified', async () => {
  const local = mkdtempSync(join(tmpdir(), 'ops-files-'));
  const data = randomBytes(24 * 1024 * 1024);
  writeFileSync(join(local, 'blob.bin'), data);
  const sha = createHash('sha256').update(data).digest('hex');
  const dir = `it-files-${Date.now()}`;
  const task = `apiVersion: ops.dev/v1
kind: Task
metadata: { name: transfer }
spec:
  targets: { all: true }
  steps:
    - name: dir
      shell: mkdir -p ${dir}/\${host.name}
    - name: push
      file: { source: ${join(local, 'blob.bin')}, destination: '${dir}/\${host.name}/blob.bin', mode: '0600' }
    - name: check
      shell: sha256sum ${dir}/\${host.name}/blob.bin
    - name: pull
      file: { direction: pull, source: '${dir}/\${host.name}/blob.bin', destination: ${join(local, 'pulled')} }
`;
  const results = await run(stack.hostsYaml(), task, 'transfer');
  expect(results.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
  for (const h of stack.fleet.hosts) {
    const remote = await stack.fleet.exec(h.name, `sha256sum ${dir}/${h.name}/blob.bin | cut -d' ' -f1; stat -c %a ${dir}/${h.name}/blob.bin`);
    expect(remote.stdout).toBe(`${sha}\n600\n`);
    const pulled = readFileSync(join(local, 'pulled', h.name, 'blob.bin'));
    expect(createHash('sha256').update(pulled).digest('hex')).toBe(sha);
  }
});

test('a one-line plain command runs as its own program, as root with sudo too, and its timeout kills it', async () => {
  // The script it runs prints the name of its parent: no shell stands between them, only the
  // wrapper's timeout or, on a host that has it, the step helper (a first attempt without sudo).
  const script = `${stack.fleet.home}/parent-${Date.now()}.sh`;
  await stack.fleet.exec('host-1', `printf '%s\\n' 'echo "::result parent=$(ps -o comm= -p $PPID)"' 'echo "::result uid=$(id -u)"' > ${script}`);
  const task = (name: string, steps: string) => `apiVersion: ops.dev/v1
kind: Task
metadata: { name: ${name} }
spec:
  targets: { hosts: [host-1] }
  results: [{ name: parent }, { name: uid }]
  steps: ${steps}
`;
  const uid = (await stack.fleet.exec('host-1', 'id -u')).stdout.trim();
  const [plain] = await run(stack.hostsYaml(), task('plain', `[{ name: parent, shell: sh ${script} }]`), 'plain');
  expect(plain).toMatchObject({ status: 'succeeded', results: { parent: expect.stringMatching(/^(timeout|ops-step-[0-9a-f]{6})$/), uid } });
  const [scripted] = await run(stack.hostsYaml(), task('scripted', `[{ name: parent, shell: "sh ${script} # under bash" }]`), 'scripted');
  expect(scripted).toMatchObject({ status: 'succeeded', results: { parent: 'bash' } });
  const [root] = await run(stack.hostsYaml(), task('plain-root', `[{ name: parent, sudo: true, shell: sh ${script} }]`), 'plain-root');
  expect(root).toMatchObject({ status: 'succeeded', results: { parent: 'timeout', uid: '0' } });
  const [hung] = await run(stack.hostsYaml(), task('plain-hang', '[{ name: hang, sudo: true, timeoutSeconds: 2, shell: sleep 307 }]'), 'plain-hang');
  expect(hung.status).toBe('timedOut');
  const left = await stack.fleet.exec('host-1', `pgrep -f "sleep 30[7]" || echo none; rm -f ${script}`);
  expect(left.stdout.trim()).toBe('none');
});

test('sudo steps run as root: a file lands with its owner and mode, and a timed-out root process is killed', async () => {
  const dir = `/tmp/ops-it-sudo-${Date.now()}`;
  const task = `apiVersion: ops.dev/v1
kind: Task
metadata: { name: as-root }
spec:
  targets: { hosts: [host-1] }
  results: [{ name: uid }]
  steps:
    - name: whoami
      sudo: true
      shell: |
        mkdir -p ${dir}
        echo "::result uid=$(id -u)"
    - name: config
      sudo: true
      file: { content: "root-owned\\n", destination: ${dir}/app.conf, mode: '0600', owner: 'root:root' }
`;
  const [result] = await run(stack.hostsYaml(), task, 'as-root');
  expect(result).toMatchObject({ host: 'host-1', status: 'succeeded', results: { uid: '0' } });
  const stat = await stack.fleet.exec('host-1', `sudo -n stat -c '%U:%G %a' ${dir}/app.conf; sudo -n cat ${dir}/app.conf`);
  expect(stat.stdout).toBe('root:root 600\nroot-owned\n');
  const hang = task.replace('name: as-root', 'name: hang-as-root').replace(/steps:[\s\S]*$/, 'steps:\n    - { name: hang, sudo: true, timeoutSeconds: 2, shell: "sleep 305 & sleep 306" }\n');
  const [timedOut] = await run(stack.hostsYaml(), hang, 'hang-as-root');
  expect(timedOut.status).toBe('timedOut');
  const left = await stack.fleet.exec('host-1', 'pgrep -f "sleep 30[56]" || echo none');
  expect(left.stdout.trim()).toBe('none');
});

test('the step helper: installed on a host after its first step there; first attempts then run through it with the same results; gone from the host, the wrapper runs the step, once', async () => {
  // A credential of its own: hosts this worker has not seen, so it starts without knowing whether they have the helper.
  const file = stack.env.OPS_CREDENTIALS_FILE as string;
  const before = readFileSync(file, 'utf8');
  writeFileSync(file, `${before}  helper-test:\n    username: ${stack.fleet.user}\n    privateKeyFile: ${stack.fleet.clientKeyPath}\n`);
  const bin = join(stack.fleet.home, '.ops', 'bin');
  const helpers = () => stack.fleet.exec('host-1', 'ls ~/.ops/bin 2>/dev/null | grep "^ops-step-" || true').then((r) => r.stdout.trim());
  const removeHelpers = () => stack.fleet.exec('host-1', 'rm -rf ~/.ops/bin');
  const hosts = stack.fleet.hosts.map((h) => hostDoc(h.name, { address: h.address, port: h.port, hostKey: h.hostKeyFingerprint, credentialRef: 'helper-test' })).join('');
  const marker = `helper-ran-${Date.now()}`;
  const task = `apiVersion: ops.dev/v1
kind: Task
metadata: { name: parent }
spec:
  targets: { all: true }
  results: [{ name: parent }]
  steps:
    - name: parent
      shell: |
        echo run >> ~/${marker}
        echo "::result parent=$(ps -o comm= -p $PPID)"
        exit 3
`;
  const parents = async () => {
    const results = await run(hosts, task, 'parent');
    expect(results.map((r) => [r.status, r.exitCode])).toEqual(results.map(() => ['failed', 3]));
    // What a host's shell says when it cannot run the helper is not the step's output.
    for (const r of results) expect(r.message).toMatch(/^step parent: exit code 3: ::result parent=/);
    return [...new Set(results.map((r) => r.results.parent))];
  };
  try {
    await removeHelpers();
    // Without the helper, the wrapper's `timeout` starts the script's bash.
    expect(await parents()).toEqual(['timeout']);
    const deadline = Date.now() + 30_000;
    while (!(await helpers()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    const name = await helpers();
    expect(name).toMatch(/^ops-step-[0-9a-f]{12}$/);
    expect(execFileSync('stat', ['-c', '%a %U', join(bin, name)], { encoding: 'utf8' }).trim()).toBe(`700 ${stack.fleet.user}`);
    // Every host of the fleet shares the one home: the other two installed it as well, give them a moment.
    await new Promise((r) => setTimeout(r, 2000));
    expect(await parents()).toEqual([name.slice(0, 15)]);
    await removeHelpers();
    expect(await parents()).toEqual(['timeout']);
    expect((await stack.fleet.exec('host-1', `wc -l < ~/${marker}`)).stdout.trim()).toBe(String(stack.fleet.hosts.length * 3));
  } finally {
    writeFileSync(file, before);
  }
});
