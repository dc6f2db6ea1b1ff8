// A real Kubernetes control plane on this machine: etcd, kube-apiserver, kube-controller-manager
// and kube-scheduler built from their Go modules (tools/kube), and kwok simulating
// the nodes' kubelets. kwok runs exec requests as local processes (ClusterExec), inside its own
// PID namespace so that a step pod's `nsenter --target 1` enters kwok's namespaces for real.
// Binaries come from ${OPS_CACHE_DIR:-~/.cache/ops}/bin (sh tools/kube/build.sh).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { freePort, killProcessTree, opsCacheDir, pollUntil, watchProcess, type WatchedProcess } from '../../workers/embedded/processes';

const BIN = join(opsCacheDir(), 'bin');
// Debian's etcd 3.4.23 starts, but lacks the watch progress requests kube-apiserver 1.36 needs:
// watch-list streams then fail over and over and kwok sees pod deletions tens of seconds late.
const ETCD = join(BIN, 'etcd');
const START_TIMEOUT_MS = 90_000;

export interface KubeCluster {
  dir: string;
  /** Admin kubeconfig (system:masters). */
  kubeconfig: string;
  server: string;
  /** HOME of the commands kwok runs for exec: the simulated nodes' root home. */
  nodeHome: string;
  /** Namespace the tests put step pods in. */
  namespace: string;
  /** Calls the API as admin; JSON in and out. */
  api<T = unknown>(method: string, path: string, body?: unknown, contentType?: string): Promise<{ status: number; body: T }>;
  /** Creates nodes that kwok manages (Ready within a second or two). */
  addNodes(names: string[], labels?: Record<string, string>): Promise<void>;
  /** Creates a node nobody manages: it never becomes Ready. */
  addUnmanagedNode(name: string): Promise<void>;
  stop(): Promise<void>;
}

export function kubeBinariesPresent(): boolean {
  return ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'].every((b) => existsSync(join(BIN, b)));
}

export async function startKube(): Promise<KubeCluster> {
  if (!kubeBinariesPresent()) throw new Error(`Kubernetes test binaries missing in ${BIN}: run "sh scripts/provision.sh test"`);
  const dir = mkdtempSync(join(tmpdir(), 'ops-kube-'));
  const nodeHome = join(dir, 'node-home');
  mkdirSync(nodeHome);
  const pki = makePki(dir);
  const [etcdPort, peerPort, apiPort, kubeletPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const processes: WatchedProcess[] = [];
  const start = (name: string, command: string, args: string[]): WatchedProcess => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOME: nodeHome } });
    const log = join(dir, `${name}.log`);
    child.stdout?.on('data', (c: Buffer) => writeFileSync(log, c, { flag: 'a' }));
    child.stderr?.on('data', (c: Buffer) => writeFileSync(log, c, { flag: 'a' }));
    const watched = watchProcess(child);
    processes.push(watched);
    return watched;
  };
  const server = `https://127.0.0.1:${apiPort}`;
  const kubeconfig = join(dir, 'admin.kubeconfig');
  writeFileSync(kubeconfig, kubeconfigYaml(server, pki));
  const api = apiClient(server, pki);
  const stop = async (): Promise<void> => {
    for (const p of [...processes].reverse()) await killProcessTree(p);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const etcd = start('etcd', ETCD, [
      '--data-dir', join(dir, 'etcd'),
      '--listen-client-urls', `http://127.0.0.1:${etcdPort}`,
      '--advertise-client-urls', `http://127.0.0.1:${etcdPort}`,
      '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
      '--initial-cluster', `default=http://127.0.0.1:${peerPort}`,
      '--unsafe-no-fsync',
    ]);
    const apiserver = start('kube-apiserver', join(BIN, 'kube-apiserver'), [
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--kubelet-client-certificate=${pki.adminCert}`,
      `--kubelet-client-key=${pki.adminKey}`,
      '--authorization-mode=Node,RBAC',
      '--allow-privileged=true',
      '--service-cluster-ip-range=10.96.0.0/16',
      '--enable-priority-and-fairness=false',
      '--endpoint-reconciler-type=none',
    ]);
    await pollUntil('etcd', async () => (await api('GET', '/readyz').catch(() => ({ status: 0 }))).status === 200, START_TIMEOUT_MS, apiserver).catch(async (e) => {
      throw new Error(`${(e as Error).message}\netcd: ${etcd.outputTail()}`);
    });
    start('kube-controller-manager', join(BIN, 'kube-controller-manager'), [
      `--kubeconfig=${kubeconfig}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      '--secure-port=0',
      `--service-account-private-key-file=${pki.saKey}`,
      `--root-ca-file=${pki.caCert}`,
      // nodelifecycle lifts the not-ready taint off nodes once kwok reports them Ready.
      '--controllers=*,-nodeipam,-service,-route,-cloud-node-lifecycle',
    ]);
    start('kube-scheduler', join(BIN, 'kube-scheduler'), [`--kubeconfig=${kubeconfig}`, '--leader-elect=false', '--bind-address=127.0.0.1', '--secure-port=0']);
    const kwokConfig = join(dir, 'kwok.yaml');
    writeFileSync(kwokConfig, kwokConfigYaml(nodeHome));
    // kwok becomes PID 1 of a new PID namespace with its own /proc.
    start('kwok', 'unshare', [
      '--pid', '--fork', '--mount-proc',
      join(BIN, 'kwok'),
      `--kubeconfig=${kubeconfig}`,
      `--config=${kwokConfig}`,
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      '--node-ip=127.0.0.1',
      `--node-port=${kubeletPort}`,
      `--server-address=127.0.0.1:${kubeletPort}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
    ]);
    // The namespace the service account controller fills is the sign the controllers run.
    await pollUntil('kube-controller-manager', async () => (await api('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200, START_TIMEOUT_MS);
  } catch (e) {
    const logs = readdirSync(dir).filter((f) => f.endsWith('.log')).map((f) => `--- ${f}\n${readFileSync(join(dir, f), 'utf8').slice(-3000)}`).join('\n');
    await stop();
    throw new Error(`${(e as Error).message}\n${logs}`);
  }
  const namespace = 'ops-steps';
  await api('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  const node = (name: string, labels: Record<string, string>, managed: boolean) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels }, annotations: managed ? { 'kwok.x-k8s.io/node': 'fake' } : {} },
  });
  return {
    dir,
    kubeconfig,
    server,
    nodeHome,
    namespace,
    api,
    async addNodes(names, labels = {}) {
      for (const name of names) {
        const created = await api('POST', '/api/v1/nodes', node(name, labels, true));
        if (created.status !== 201) throw new Error(`creating node ${name}: ${created.status} ${JSON.stringify(created.body)}`);
      }
      await pollUntil(`nodes ${names.join(', ')} Ready`, async () => {
        const states = await Promise.all(names.map((n) => api<{ status?: { conditions?: Array<{ type: string; status: string }> } }>('GET', `/api/v1/nodes/${n}`)));
        return states.every((s) => s.body.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      }, 30_000);
    },
    async addUnmanagedNode(name) {
      await api('POST', '/api/v1/nodes', node(name, {}, false));
    },
    stop,
  };
}

interface Pki {
  caCert: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  saKey: string;
  saPub: string;
}

function makePki(dir: string): Pki {
  const p = (name: string) => join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '2', '-subj', '/CN=ops-test-ca');
  const issue = (name: string, subject: string, ext: string) => {
    writeFileSync(p(`${name}.ext`), ext);
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', subject);
    ssl('x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p(`${name}.crt`), '-days', '2', '-extfile', p(`${name}.ext`));
  };
  issue('server', '/CN=kube-apiserver', 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth,clientAuth\n');
  issue('admin', '/O=system:masters/CN=admin', 'extendedKeyUsage=clientAuth\n');
  ssl('genrsa', '-out', p('sa.key'), '2048');
  ssl('rsa', '-in', p('sa.key'), '-pubout', '-out', p('sa.pub'));
  return { caCert: p('ca.crt'), serverCert: p('server.crt'), serverKey: p('server.key'), adminCert: p('admin.crt'), adminKey: p('admin.key'), saKey: p('sa.key'), saPub: p('sa.pub') };
}

function kubeconfigYaml(server: string, pki: Pki): string {
  const b64 = (file: string) => readFileSync(file).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: { server: "${server}", certificate-authority-data: ${b64(pki.caCert)} }
users:
- name: admin
  user: { client-certificate-data: ${b64(pki.adminCert)}, client-key-data: ${b64(pki.adminKey)} }
contexts:
- name: test
  context: { cluster: test, user: admin }
current-context: test
`;
}

/** kwok's own node and pod stages (copied from its module by tools/kube/build.sh) and local exec for every pod. */
function kwokConfigYaml(nodeHome: string): string {
  const stagesDir = join(opsCacheDir(), 'kwok-stages');
  const stages = readdirSync(stagesDir).filter((f) => f.endsWith('.yaml')).map((f) => readFileSync(join(stagesDir, f), 'utf8').trim());
  const exec = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterExec
metadata:
  name: local
spec:
  execs:
  - local:
      envs:
      - { name: HOME, value: "${nodeHome}" }
      - { name: PATH, value: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" }`;
  return [...stages, exec].join('\n---\n') + '\n';
}

function apiClient(server: string, pki: Pki): KubeCluster['api'] {
  const ca = readFileSync(pki.caCert);
  const cert = readFileSync(pki.adminCert);
  const key = readFileSync(pki.adminKey);
  return (method, path, body, contentType = 'application/json') =>
    new Promise((resolve, reject) => {
      const req = request(`${server}${path}`, { method, ca, cert, key, headers: body === undefined ? {} : { 'content-type': contentType } }, (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {
            // plain text (healthz)
          }
          resolve({ status: res.statusCode ?? 0, body: parsed as never });
        });
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
    });
}
