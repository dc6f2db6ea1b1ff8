import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
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

/** Where a process gets its keys: a fixed ring (tests), or the key file, re-read when it changes. */
export interface KeyRingSource {
  current(): KeyRing;
  /** Reads the keys again now, e.g. for a payload that names a key not seen yet. */
  reload(): KeyRing;
}

/**
 * Reads the key ring file, `{ "active": "k2", "keys": { "k1": "<base64>", "k2": "<base64>" } }`.
 * With `create`, a missing file is created with one new random key.
 */
export function loadKeyRing(file: string, { create }: { create: boolean }): KeyRing {
  if (!existsSync(file)) {
    if (!create) throw new Error(`codec key file ${file} does not exist; copy it from the machine that runs the workers (OPS_CODEC_KEYS_FILE)`);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const id = newKeyId({});
    try {
      writeFileSync(file, JSON.stringify({ active: id, keys: { [id]: randomBytes(32).toString('base64') } }, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    } catch (e) {
      // Another process created it first; use theirs.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  const raw = readKeyFile(file);
  const keys = Object.fromEntries(Object.entries(raw.keys).map(([id, k]) => [id, Buffer.from(k, 'base64')]));
  if (!keys[raw.active]) throw new Error(`codec key file ${file}: "active" must name one of its keys`);
  for (const [id, key] of Object.entries(keys)) if (key.length !== 32) throw new Error(`codec key file ${file}: key "${id}" must be 32 bytes of base64`);
  return { active: raw.active, keys };
}

interface KeyFile {
  active: string;
  keys: Record<string, string>;
}

function readKeyFile(file: string): KeyFile {
  let raw: { active?: unknown; keys?: unknown };
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`codec key file ${file}: ${(e as Error).message}`);
  }
  const keys = typeof raw.keys === 'object' && raw.keys !== null ? (raw.keys as Record<string, unknown>) : {};
  if (typeof raw.active !== 'string') throw new Error(`codec key file ${file}: "active" must name one of its keys`);
  return { active: raw.active, keys: Object.fromEntries(Object.entries(keys).map(([id, k]) => [id, String(k)])) };
}

/** Replaces the file in one rename, so a process re-reading it never sees half of it. */
function writeKeyFile(file: string, content: KeyFile): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(content, null, 2) + '\n', { mode: 0o600 });
  renameSync(temp, file);
}

function newKeyId(taken: Record<string, unknown>): string {
  for (let t = Date.now(); ; t += 1) if (!taken[`k${t.toString(36)}`]) return `k${t.toString(36)}`;
}

/**
 * Adds a new random key. With `activate`, new payloads use it at once; without, it is only known
 * (for decoding), so it can reach every machine before `activateKey` makes it the active one.
 * Old keys stay, so runs written with them stay readable.
 */
export function addKey(file: string, { activate }: { activate: boolean }): string {
  const ring = readKeyFile(file);
  const id = newKeyId(ring.keys);
  writeKeyFile(file, { active: activate ? id : ring.active, keys: { ...ring.keys, [id]: randomBytes(32).toString('base64') } });
  return id;
}

export function activateKey(file: string, id: string): void {
  const ring = readKeyFile(file);
  if (!ring.keys[id]) throw new Error(`codec key file ${file} has no key "${id}" (it has ${Object.keys(ring.keys).join(', ')})`);
  writeKeyFile(file, { ...ring, active: id });
}

/** How often a process looks whether the key file changed. */
const RECHECK_MS = 2000;

/** The key file, re-read when it changes, so a rotation reaches running processes without a restart. */
export class KeyRingFile implements KeyRingSource {
  private ring: KeyRing;
  private mtimeMs: number;
  private checkedAt = Date.now();

  constructor(
    private readonly file: string,
    options: { create: boolean },
  ) {
    this.ring = loadKeyRing(file, options);
    this.mtimeMs = statSync(file).mtimeMs;
  }

  current(): KeyRing {
    if (Date.now() - this.checkedAt < RECHECK_MS) return this.ring;
    this.checkedAt = Date.now();
    try {
      if (statSync(this.file).mtimeMs !== this.mtimeMs) this.reload();
    } catch {
      // Unreadable for a moment (being replaced, or a bad edit): keep using the keys we have.
    }
    return this.ring;
  }

  reload(): KeyRing {
    const mtimeMs = statSync(this.file).mtimeMs;
    this.ring = loadKeyRing(this.file, { create: false });
    this.mtimeMs = mtimeMs;
    return this.ring;
  }
}

/** AES-256-GCM over whole payloads, so workflow inputs, results and failures never reach Temporal in clear. */
export class EncryptionCodec implements PayloadCodec {
  private readonly source: KeyRingSource;

  constructor(keys: KeyRing | KeyRingSource) {
    this.source = 'current' in keys ? keys : { current: () => keys, reload: () => keys };
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    const ring = this.source.current();
    const key = ring.keys[ring.active];
    return payloads.map((payload) => {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const plain = temporal.api.common.v1.Payload.encode(payload).finish();
      const data = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      return {
        metadata: {
          [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: Buffer.from(ring.active),
        },
        data,
      };
    });
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => {
      if (Buffer.from(payload.metadata?.[METADATA_ENCODING_KEY] ?? []).toString() !== ENCRYPTED_ENCODING) return payload;
      const id = Buffer.from(payload.metadata?.[KEY_ID_METADATA] ?? []).toString();
      const key = this.source.current().keys[id] ?? this.source.reload().keys[id];
      if (!key) throw new Error(`payload was encrypted with key "${id}", which is not in this process's key ring`);
      const data = Buffer.from(payload.data ?? []);
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return temporal.api.common.v1.Payload.decode(plain);
    });
  }
}
