// A hub NATS and cluster ("edge") NATS joined by a leafnode link the test can cut and restore, as
// k8s/base/edge-nats joins a cluster's NATS to the hub: JetStream on both, the edge's domain its
// cluster's name, and the edge exporting none of what its streams keep (the hub sources those).
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { freePort, pollUntil } from '../../workers/embedded/processes';
import { startNats, type NatsServer } from '../../workers/embedded/nats-server';

const HOST = '127.0.0.1';

/** A TCP relay in front of the hub's leafnode port: cutting it drops the link and refuses new ones. */
export interface Link {
  port: number;
  cut(): void;
  restore(): void;
  close(): void;
}

async function startLink(targetPort: number): Promise<Link> {
  const sockets = new Set<Socket>();
  let open = true;
  const server: Server = createServer((client) => {
    if (!open) return void client.destroy();
    const upstream = createConnection(targetPort, HOST);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', drop);
      s.on('close', drop);
    }
    client.pipe(upstream).pipe(client);
  });
  const port = await freePort(HOST);
  await new Promise<void>((resolve) => server.listen(port, HOST, resolve));
  const cut = () => {
    open = false;
    for (const s of sockets) s.destroy();
  };
  return {
    port,
    cut,
    restore: () => void (open = true),
    close() {
      cut();
      server.close();
    },
  };
}

/** The hub's configuration (JetStream domain "hub", a leafnode port behind the link) and the link. */
export async function hubWithLink(): Promise<{ config: string; link: Link }> {
  const leafPort = await freePort(HOST);
  const link = await startLink(leafPort);
  // Advertise the link, not the port: leafnodes reconnect to what the hub advertises.
  return { config: `jetstream { domain: hub }\nleafnodes { listen: "${HOST}:${leafPort}", advertise: "${HOST}:${link.port}" }\n`, link };
}

/** A cluster's own NATS, linked to the hub as k8s/base/edge-nats/configmap.yaml does it. */
export function startEdge(cluster: string, link: Link): Promise<NatsServer> {
  return startNats({
    extraConfig: `jetstream { domain: ${cluster} }
leafnodes { remotes: [ { url: "nats-leaf://${HOST}:${link.port}", deny_exports: ["ops.clusters.>", "ops.approvals.>", "ops.logs.>"] } ] }
`,
  });
}

/** Waits until the server has `count` leafnode connections. */
export function leafnodes(server: NatsServer, count: number, timeoutMs = 30_000): Promise<void> {
  const current = () => fetch(`http://${HOST}:${server.monitorPort}/leafz`).then((r) => r.json() as Promise<{ leafnodes: number }>).then((l) => l.leafnodes === count, () => false);
  return pollUntil(`${count} leafnode connection(s) on ${server.url}`, current, timeoutMs);
}
