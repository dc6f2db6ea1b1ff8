import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { METADATA_ENCODING_KEY } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * The keys payloads are encrypted with: one active key for new payloads, and older keys kept so
 * runs written before a rotation stay readable.
 */
export interface KeyRing {
  active: string;
  keys: Record<string, Buffer>;
}

/**
 * Reads the key ring file, `{ "active": "k2", "keys": { "k1": "<base64>", "k2": "<base64>" } }`.
 * With `create`, a missing file is created with one new random key.
 */
export function loadKeyRing(file: string, { create }: { create: boolean }): KeyRing {
  if (!existsSync(file)) {
    if (!create) throw new Error(`codec key file ${file} does not exist; copy it from the machine that runs the workers (OPS_CODEC_KEYS_FILE)`);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const id = `k${Date.now().toString(36)}`;
    try {
      writeFileSync(file, JSON.stringify({ active: id, keys: { [id]: randomBytes(32).toString('base64') } }, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    } catch (e) {
      // Another process created it first; use theirs.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  let raw: { active?: unknown; keys?: Record<string, unknown> };
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`codec key file ${file}: ${(e as Error).message}`);
  }
  const keys = Object.fromEntries(Object.entries(raw.keys ?? {}).map(([id, k]) => [id, Buffer.from(String(k), 'base64')]));
  if (typeof raw.active !== 'string' || !keys[raw.active]) throw new Error(`codec key file ${file}: "active" must name one of its keys`);
  for (const [id, key] of Object.entries(keys)) if (key.length !== 32) throw new Error(`codec key file ${file}: key "${id}" must be 32 bytes of base64`);
  return { active: raw.active, keys };
}

/** AES-256-GCM over whole payloads, so workflow inputs, results and failures never reach Temporal in clear. */
export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly ring: KeyRing) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const key = this.ring.keys[this.ring.active];
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: Buffer.from(this.ring.active),
        },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (Buffer.from(payload.metadata?.[METADATA_ENCODING_KEY] ?? []).toString() !== ENCRYPTED_ENCODING) return payload;
      const id = Buffer.from(payload.metadata?.[KEY_ID_METADATA] ?? []).toString();
      const key = this.ring.keys[id];
      if (!key) throw new Error(`payload was encrypted with key "${id}", which is not in this process's key ring`);
      const data = Buffer.from(payload.data ?? []);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}
