import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { ValidationError, type Issue } from './errors';
import type { LoadedResource } from './load';

type Reply = { loaded: LoadedResource[] } | { issues: Issue[] } | { error: string };

/**
 * loadResources on a second thread. `ops run -f` parses and validates its definitions there
 * (a few hundred ms for a few hundred hosts, most of it YAML) while it loads the Temporal client
 * and connects, which takes about as long.
 */
export function loadResourcesOnThread(paths: string[]): Promise<LoadedResource[]> {
  const worker = new Worker(__filename, { workerData: paths });
  return new Promise((resolve, reject) => {
    worker.once('message', (reply: Reply) => {
      if ('loaded' in reply) resolve(reply.loaded);
      else if ('issues' in reply) reject(new ValidationError(reply.issues));
      else reject(new Error(reply.error));
    });
    worker.once('error', reject);
  });
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  // Loaded only on this thread: the main one does not parse YAML at all.
  import('./load')
    .then(({ loadResources }) => port.postMessage({ loaded: loadResources(workerData as string[]) } satisfies Reply))
    .catch((e: unknown) => port.postMessage((e instanceof ValidationError ? { issues: e.issues } : { error: (e as Error).message }) satisfies Reply));
}
