import type { Catalog } from '../model/catalog';
import type { DefinitionStore } from './store/definitions';

/** Something kept in step with the stored definitions: Temporal schedules, the hub's streams, hook consumers. */
export interface Reconciled {
  name: string;
  reconcile(catalog: Catalog): Promise<void>;
}

/** Besides after every change, in case a pass failed (Temporal or NATS away) or another server changed things. */
const EVERY_MS = 60_000;

/**
 * Runs every part against one snapshot of the definitions, one pass at a time. A change asks for a
 * pass and waits for one that started after it; requests during a pass share the next one.
 */
export class Reconciler {
  private current?: Promise<void>;
  private next?: Promise<void>;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly definitions: DefinitionStore,
    private readonly parts: Reconciled[],
    private readonly log: (message: string) => void,
  ) {}

  start(): Promise<void> {
    this.timer = setInterval(() => void this.request(), EVERY_MS);
    this.timer.unref();
    return this.request();
  }

  stop(): Promise<void> {
    clearInterval(this.timer);
    return (this.next ?? this.current ?? Promise.resolve()).catch(() => undefined);
  }

  /** Resolves once a pass that began after this call has ended; a part that failed is logged, not thrown. */
  request(): Promise<void> {
    if (this.next) return this.next;
    const after = this.current ?? Promise.resolve();
    this.next = after.then(() => {
      this.next = undefined;
      this.current = this.pass().finally(() => (this.current = undefined));
      return this.current;
    });
    return this.next;
  }

  private async pass(): Promise<void> {
    let catalog: Catalog;
    try {
      catalog = await this.definitions.catalog();
    } catch (e) {
      return this.log(`reconcile: reading the definitions failed: ${(e as Error).message}`);
    }
    for (const part of this.parts) {
      await part.reconcile(catalog).catch((e: Error) => this.log(`reconcile ${part.name}: ${e.message}`));
    }
  }
}
