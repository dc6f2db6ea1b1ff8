import express, { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { defaultPayloadConverter, METADATA_ENCODING_KEY } from '@temporalio/common';
import type { TokenStore } from './store/tokens';
import type { AuditLog } from './store/audit';
import { authenticate, requireRole, SESSION_COOKIE } from './auth';
import { auditAs, auditTrail } from './audit';
import { HttpError, parseRequest } from './errors';
import { maskDecodedSecrets } from './decoded-secrets';

/**
 * The remote codec Temporal Web (and `temporal … --codec-endpoint`) decodes payloads with:
 * POST /codec/decode and /codec/encode, `{ payloads: [{ metadata: {k: base64}, data: base64 }] }`.
 *
 * Callers authenticate with `Authorization: Bearer <token>` (the temporal CLI's --codec-auth), or,
 * from a browser, with the HttpOnly cookie /codec/login sets. Temporal Web sends that cookie when its
 * codec setting "Include cross-origin credentials" is on; CORS admits only Temporal Web's origin.
 * Decoding needs a role that may see runs (viewer); encoding, which Temporal Web uses to send data
 * into runs, needs operator. Secret variable values stay masked in what decode returns.
 */
export interface CodecDeps {
  codec: PayloadCodec;
  tokens: TokenStore;
  audit: AuditLog;
  namespace: string;
  /** Browser origins allowed to call, e.g. http://localhost:8233 (Temporal Web). */
  origins: string[];
}

const SESSION_HOURS = 8;

const wirePayloads = z.strictObject({
  payloads: z.array(z.object({ metadata: z.record(z.string(), z.string()).default({}), data: z.string().default('') })),
});

export function codecRoutes(deps: CodecDeps): Router {
  const router = Router();
  router.use(['/decode', '/encode'], cors(deps.origins));
  router.use(authenticate(deps.tokens, { cookie: true }));
  router.post('/decode', requireRole('viewer'), onlyNamespace(deps.namespace), express.json({ limit: '16mb' }), async (req, res) => {
    const payloads = await transform(() => deps.codec.decode(fromWire(req.body)), 'decode');
    res.json(toWire(payloads.map(maskSecrets)));
  });
  router.post('/encode', requireRole('operator'), onlyNamespace(deps.namespace), express.json({ limit: '16mb' }), async (req, res) => {
    res.json(toWire(await transform(() => deps.codec.encode(fromWire(req.body)), 'encode')));
  });
  router.get('/login', (_req, res) => {
    res.type('html').send(page('Sign in to decode Ops runs', LOGIN_FORM));
  });
  router.post('/login', auditTrail(deps.audit), express.urlencoded({ extended: false, limit: '4kb' }), async (req, res) => {
    auditAs(res, 'sign in to the codec endpoint');
    const token = typeof req.body?.token === 'string' ? req.body.token.trim() : '';
    const principal = await deps.tokens.verify(token);
    if (!principal) {
      res.locals.errorMessage = 'invalid or revoked token';
      return res.status(401).type('html').send(page('Not signed in', `<p>That token is not valid (or was revoked).</p>${LOGIN_FORM}`));
    }
    res.locals.principal = principal;
    res.cookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'strict', secure: req.secure, path: '/codec', maxAge: SESSION_HOURS * 3600_000 });
    res.type('html').send(page('Signed in', `<p>Signed in as <b>${escapeHtml(principal.name)}</b> (${principal.role}) for ${SESSION_HOURS} hours. Temporal Web now decodes run payloads through this endpoint.</p>`));
  });
  router.post('/logout', (_req, res) => {
    res.clearCookie(SESSION_COOKIE, { path: '/codec' });
    res.type('html').send(page('Signed out', '<p>Signed out.</p>'));
  });
  return router;
}

/** The origins Temporal Web is served from: OPS_CODEC_ORIGINS, else OPS_TEMPORAL_WEB's (localhost and 127.0.0.1 alike). */
export function codecOrigins(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.OPS_CODEC_ORIGINS) return env.OPS_CODEC_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean);
  const web = new URL(env.OPS_TEMPORAL_WEB ?? 'http://localhost:8233');
  const twin = web.hostname === 'localhost' ? '127.0.0.1' : web.hostname === '127.0.0.1' ? 'localhost' : undefined;
  return [web.origin, ...(twin ? [`${web.protocol}//${twin}${web.port ? `:${web.port}` : ''}`] : [])];
}

/** Answers preflights itself (they carry no credentials) and admits only the listed origins, with credentials. */
function cors(origins: string[]): RequestHandler {
  return (req, res, next) => {
    const origin = req.get('origin');
    const allowed = origin !== undefined && origins.includes(origin);
    res.vary('Origin');
    if (allowed) res.set({ 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true' });
    if (req.method !== 'OPTIONS') return next();
    if (allowed) {
      res.set({ 'Access-Control-Allow-Methods': 'POST, OPTIONS', 'Access-Control-Allow-Headers': 'Content-Type, X-Namespace, Authorization, Authorization-Extras', 'Access-Control-Max-Age': '600' });
    }
    res.status(204).end();
  };
}

/** The key ring belongs to one namespace; payloads of another were not written with it. */
function onlyNamespace(namespace: string): RequestHandler {
  return (req, _res, next) => {
    const asked = req.get('x-namespace');
    if (asked && asked !== namespace) throw new HttpError(400, `X-Namespace: this codec endpoint serves namespace "${namespace}", not "${asked}"`);
    next();
  };
}

function fromWire(body: unknown): Payload[] {
  return parseRequest(wirePayloads, body, 'body').payloads.map((p) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data, 'base64'),
  }));
}

function toWire(payloads: Payload[]): { payloads: Array<{ metadata: Record<string, string>; data: string }> } {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      data: Buffer.from(p.data ?? []).toString('base64'),
    })),
  };
}

async function transform(work: () => Promise<Payload[]>, what: string): Promise<Payload[]> {
  try {
    return await work();
  } catch (e) {
    throw new HttpError(422, `cannot ${what} these payloads: ${(e as Error).message}`);
  }
}

/** JSON payloads are masked (model values); any other encoding passes as it is. */
function maskSecrets(payload: Payload): Payload {
  if (Buffer.from(payload.metadata?.[METADATA_ENCODING_KEY] ?? []).toString() !== 'json/plain') return payload;
  const value = defaultPayloadConverter.fromPayload(payload);
  const masked = maskDecodedSecrets(value);
  return masked === value ? payload : defaultPayloadConverter.toPayload(masked);
}

const LOGIN_FORM = `<form method="post" action="login"><p><label>Ops API token <input type="password" name="token" size="70" autocomplete="off" autofocus></label></p><p><button type="submit">Sign in</button></p></form>
<p>The browser keeps the token in an HttpOnly cookie for this endpoint only. In Temporal Web, open the codec settings and turn on "Include cross-origin credentials" so it sends the cookie (see the Ops README).</p>`;

function page(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Ops: ${title}</title></head><body style="font-family: sans-serif; max-width: 46em; margin: 3em auto"><h1>${title}</h1>${body}</body></html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
