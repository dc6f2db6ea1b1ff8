import { createServer, type Server } from 'node:http';

/**
 * /healthz and /readyz for a worker process, for Kubernetes probes: live while no worker has
 * failed, ready while every worker polls its queue.
 */
export function serveWorkerHealth(port: number, states: () => string[]): Promise<Server> {
  const server = createServer((req, res) => {
    const now = states();
    const live = now.every((s) => s !== 'FAILED' && s !== 'STOPPED');
    const ready = now.length > 0 && now.every((s) => s === 'RUNNING');
    const ok = req.url?.startsWith('/readyz') ? ready : req.url?.startsWith('/healthz') ? live : undefined;
    if (ok === undefined) return void res.writeHead(404).end();
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ workers: now }));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve(server));
  });
}
