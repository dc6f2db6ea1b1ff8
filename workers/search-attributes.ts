import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { OPS_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';

/** Registers Ops' search attributes on the namespace when they are missing (idempotent). */
export async function ensureSearchAttributes(connection: Pick<Connection, 'operatorService'>, namespace: string): Promise<void> {
  const existing = await connection.operatorService.listSearchAttributes({ namespace });
  const known = new Set(Object.keys(existing.customAttributes ?? {}));
  const missing = OPS_SEARCH_ATTRIBUTES.filter((k) => !known.has(k.name));
  if (missing.length === 0) return;
  const searchAttributes: Record<string, temporal.api.enums.v1.IndexedValueType> = {};
  for (const key of missing) searchAttributes[key.name] = temporal.api.enums.v1.IndexedValueType[`INDEXED_VALUE_TYPE_${key.type}`];
  try {
    await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
  } catch (e) {
    // Another process registered them at the same moment.
    if (!/already exists/i.test((e as Error).message)) throw e;
  }
}
