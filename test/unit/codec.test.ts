import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, METADATA_ENCODING_KEY, type Payload } from '@temporalio/common';
import { activateKey, addKey, EncryptionCodec, ENCRYPTED_ENCODING, KEY_ID_METADATA, KeyRingFile, loadKeyRing, type KeyRing } from '../../workers/codec';

const key = () => randomBytes(32);
const payloadOf = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const valueOf = (payload: Payload): unknown => defaultPayloadConverter.fromPayload(payload);
const meta = (p: Payload, name: string) => Buffer.from(p.metadata?.[name] ?? []).toString();

describe('EncryptionCodec', () => {
  const ring: KeyRing = { active: 'k1', keys: { k1: key() } };
  const input = { variables: { db_password: 'S3cr3t-Pa55w0rd' }, hosts: ['web-1', 'web-2'] };

  it('round-trips payloads, metadata included', async () => {
    const codec = new EncryptionCodec(ring);
    const payloads = [payloadOf(input), payloadOf('text'), payloadOf(null), payloadOf(42)];
    const decoded = await codec.decode(await codec.encode(payloads));
    expect(decoded.map(valueOf)).toEqual([input, 'text', null, 42]);
    expect(meta(decoded[0], METADATA_ENCODING_KEY)).toBe('json/plain');
  });

  it('encrypts: the data does not contain the plaintext, and the encoding and key id are in metadata', async () => {
    const [encoded] = await new EncryptionCodec(ring).encode([payloadOf(input)]);
    const data = Buffer.from(encoded.data!);
    expect(data.includes(Buffer.from('S3cr3t-Pa55w0rd'))).toBe(false);
    expect(data.includes(Buffer.from('web-1'))).toBe(false);
    expect(meta(encoded, METADATA_ENCODING_KEY)).toBe(ENCRYPTED_ENCODING);
    expect(meta(encoded, KEY_ID_METADATA)).toBe('k1');
    expect(Object.keys(encoded.metadata!).sort()).toEqual([KEY_ID_METADATA, METADATA_ENCODING_KEY].sort());
  });

  it('uses a fresh IV: the same payload encrypts differently each time', async () => {
    const codec = new EncryptionCodec(ring);
    const [a] = await codec.encode([payloadOf(input)]);
    const [b] = await codec.encode([payloadOf(input)]);
    expect(Buffer.from(a.data!).equals(Buffer.from(b.data!))).toBe(false);
  });

  it('leaves payloads that are not encrypted alone when decoding', async () => {
    const plain = payloadOf({ a: 1 });
    const [decoded] = await new EncryptionCodec(ring).decode([plain]);
    expect(decoded).toBe(plain);
  });

  it('decodes old payloads after a rotation (old key kept, new one active) and encodes with the new key', async () => {
    const k1 = key();
    const before = new EncryptionCodec({ active: 'k1', keys: { k1 } });
    const [old] = await before.encode([payloadOf(input)]);
    const after = new EncryptionCodec({ active: 'k2', keys: { k1, k2: key() } });
    const [fresh] = await after.encode([payloadOf('new')]);
    expect(meta(fresh, KEY_ID_METADATA)).toBe('k2');
    expect((await after.decode([old, fresh])).map(valueOf)).toEqual([input, 'new']);
  });

  it('says clearly which key is missing', async () => {
    const [old] = await new EncryptionCodec({ active: 'k1', keys: { k1: key() } }).encode([payloadOf(input)]);
    const other = new EncryptionCodec({ active: 'k2', keys: { k2: key() } });
    await expect(other.decode([old])).rejects.toThrow('payload was encrypted with key "k1", which is not in this process\'s key ring');
  });

  it('refuses a payload encrypted with a different key under the same id, or tampered with', async () => {
    const [encoded] = await new EncryptionCodec({ active: 'k1', keys: { k1: key() } }).encode([payloadOf(input)]);
    await expect(new EncryptionCodec({ active: 'k1', keys: { k1: key() } }).decode([encoded])).rejects.toThrow();
    const tampered = Buffer.from(encoded.data!);
    tampered[20] ^= 1;
    await expect(new EncryptionCodec(ring).decode([{ ...encoded, data: tampered }])).rejects.toThrow();
  });
});

describe('loadKeyRing', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ops-codec-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a missing file (and its directory) with one 32-byte key, private to the user', () => {
    const file = join(dir, 'data', 'codec-keys.json');
    const ring = loadKeyRing(file, { create: true });
    expect(Object.keys(ring.keys)).toEqual([ring.active]);
    expect(ring.keys[ring.active]).toHaveLength(32);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'data')).mode & 0o777).toBe(0o700);
    const again = loadKeyRing(file, { create: true });
    expect(again.active).toBe(ring.active);
    expect(again.keys[ring.active].equals(ring.keys[ring.active])).toBe(true);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ active: ring.active, keys: { [ring.active]: ring.keys[ring.active].toString('base64') } });
  });

  it('a created ring encrypts and decrypts', async () => {
    const ring = loadKeyRing(join(dir, 'k.json'), { create: true });
    const codec = new EncryptionCodec(ring);
    expect(valueOf((await codec.decode(await codec.encode([payloadOf('x')])))[0])).toBe('x');
  });

  it('refuses a missing file without create, saying where to get it', () => {
    const file = join(dir, 'none.json');
    expect(() => loadKeyRing(file, { create: false })).toThrow(`codec key file ${file} does not exist; copy it from the machine that runs the workers (OPS_CODEC_KEYS_FILE)`);
  });

  it('reads a rotated ring', () => {
    const file = join(dir, 'k.json');
    const [a, b] = [key(), key()];
    writeFileSync(file, JSON.stringify({ active: 'k2', keys: { k1: a.toString('base64'), k2: b.toString('base64') } }));
    const ring = loadKeyRing(file, { create: false });
    expect(ring.active).toBe('k2');
    expect(ring.keys.k1.equals(a)).toBe(true);
    expect(ring.keys.k2.equals(b)).toBe(true);
  });

  it.each([
    ['not JSON', '{ active: k1', /^codec key file .*k\.json: .*JSON/],
    ['an active key that is not in the ring', JSON.stringify({ active: 'k9', keys: { k1: randomBytes(32).toString('base64') } }), /"active" must name one of its keys/],
    ['no active key', JSON.stringify({ keys: { k1: randomBytes(32).toString('base64') } }), /"active" must name one of its keys/],
    ['no keys', JSON.stringify({ active: 'k1' }), /"active" must name one of its keys/],
    ['a short key', JSON.stringify({ active: 'k1', keys: { k1: randomBytes(16).toString('base64') } }), /key "k1" must be 32 bytes of base64/],
    ['a short old key', JSON.stringify({ active: 'k2', keys: { k1: 'c2hvcnQ=', k2: randomBytes(32).toString('base64') } }), /key "k1" must be 32 bytes of base64/],
  ])('refuses %s, naming the file', (_what, text, message) => {
    const file = join(dir, 'k.json');
    writeFileSync(file, text);
    expect(() => loadKeyRing(file, { create: true })).toThrow(message);
    expect(() => loadKeyRing(file, { create: true })).toThrow(file);
    expect(readFileSync(file, 'utf8')).toBe(text); // never overwritten
  });
});

describe('key rotation', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ops-codec-'));
    file = join(dir, 'codec-keys.json');
    loadKeyRing(file, { create: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('adds a key, active at once or later, keeping the old ones and the file private', () => {
    const first = loadKeyRing(file, { create: false }).active;
    const staged = addKey(file, { activate: false });
    expect(loadKeyRing(file, { create: false }).active).toBe(first);
    const active = addKey(file, { activate: true });
    const ring = loadKeyRing(file, { create: false });
    expect(ring.active).toBe(active);
    expect(Object.keys(ring.keys)).toEqual([first, staged, active]);
    expect(new Set([first, staged, active]).size).toBe(3);
    activateKey(file, staged);
    expect(loadKeyRing(file, { create: false }).active).toBe(staged);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(() => activateKey(file, 'k-nope')).toThrow(`codec key file ${file} has no key "k-nope" (it has ${first}, ${staged}, ${active})`);
  });

  it('a running codec decodes payloads of a key added after it started, and old payloads after the rotation', async () => {
    const before = new EncryptionCodec(new KeyRingFile(file, { create: false }));
    const [old] = await before.encode([payloadOf('old')]);
    const other = new EncryptionCodec(new KeyRingFile(file, { create: false }));
    const id = addKey(file, { activate: true });
    const [fresh] = await new EncryptionCodec(new KeyRingFile(file, { create: false })).encode([payloadOf('new')]);
    expect(meta(fresh, KEY_ID_METADATA)).toBe(id);
    expect((await other.decode([old, fresh])).map(valueOf)).toEqual(['old', 'new']);
  });
});
