import type { Request, RequestHandler, Response } from 'express';
import type { Principal, Role, TokenStore } from './store/tokens';
import { roleAllows } from '../model/roles';
import { sendError } from './errors';

/** Bearer tokens with roles (model/roles.ts); each route says the least role it needs. */

export function principalOf(res: Response): Principal | undefined {
  return res.locals.principal as Principal | undefined;
}

/** Where a browser keeps its token for the codec endpoint (see api/codec.ts); HttpOnly, so page scripts never see it. */
export const SESSION_COOKIE = 'ops_session';

/**
 * Finds the caller's token: the Authorization header, or with `cookie` the session cookie a browser
 * got from /codec/login. Whether it is enough is each route's `requireRole`.
 */
export function authenticate(tokens: TokenStore, options: { cookie?: boolean } = {}): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization');
    const cookie = options.cookie ? cookieValue(req.get('cookie'), SESSION_COOKIE) : undefined;
    if (!header && !cookie) {
      res.locals.authProblem = options.cookie
        ? 'not signed in: sign in at /codec/login (a browser) or send "Authorization: Bearer <token>"'
        : 'missing bearer token: send "Authorization: Bearer <token>" (ops server init or ops token create gives one)';
      return next();
    }
    const m = header ? /^Bearer\s+(\S+)$/i.exec(header) : undefined;
    const token = header ? m?.[1] : cookie;
    const principal = token ? await tokens.verify(token) : undefined;
    if (principal) res.locals.principal = principal;
    else res.locals.authProblem = token ? 'invalid or revoked token' : 'the Authorization header must be "Bearer <token>"';
    next();
  };
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export function requireRole(needed: Role): RequestHandler {
  return (_req: Request, res: Response, next) => {
    const principal = principalOf(res);
    if (!principal) {
      res.set('WWW-Authenticate', 'Bearer realm="ops"');
      return sendError(res, 401, String(res.locals.authProblem ?? 'authentication required'));
    }
    if (!roleAllows(principal.role, needed)) {
      return sendError(res, 403, `token "${principal.name}" has role ${principal.role}; this needs ${needed} or above`);
    }
    next();
  };
}
