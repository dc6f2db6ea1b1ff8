import { openDatabase, type Database, type StoreLocation } from './database';
import { migrate } from './migrations';
import { DefinitionStore } from './definitions';
import { TokenStore } from './tokens';
import { AuditLog } from './audit';
import { IdempotencyKeys } from './idempotency';
import { ParkedEvents } from './parked-events';
import { SchedulePauses } from './schedule-pauses';

/** Everything the control plane keeps in PostgreSQL (or PGlite), behind one handle. */
export interface Store {
  db: Database;
  definitions: DefinitionStore;
  tokens: TokenStore;
  audit: AuditLog;
  idempotency: IdempotencyKeys;
  parkedEvents: ParkedEvents;
  schedulePauses: SchedulePauses;
  close(): Promise<void>;
}

/** Opens the store and brings its schema up to date. */
export async function openStore(location: StoreLocation, log: (message: string) => void = console.error): Promise<Store> {
  const db = await openDatabase(location);
  try {
    const applied = await migrate(db);
    if (applied.length) log(`store: applied migration(s) ${applied.join(', ')}`);
  } catch (e) {
    await db.close();
    throw e;
  }
  const audit = new AuditLog(db, (e) => log(`audit: could not record an entry: ${e.message}`));
  return {
    db,
    definitions: new DefinitionStore(db),
    tokens: new TokenStore(db),
    audit,
    idempotency: new IdempotencyKeys(db),
    parkedEvents: new ParkedEvents(db),
    schedulePauses: new SchedulePauses(db),
    async close() {
      await audit.flush();
      await db.close();
    },
  };
}
