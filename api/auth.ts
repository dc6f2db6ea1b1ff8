import type { Request, RequestHandler, Response } from 'express';
import { ROLES, type Principal, type Role, type TokenStore } from './store/tokens';
import { sendError } from './errors';

/**
 * Bearer tokens with roles, each including the ones before it: a viewer reads; an operator also
 * starts, cancels and reruns runs; an approver also decides approval stages; an admin also changes
 * definitions and tokens and reads the audit log.
 */
export function roleAllows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

export function principalOf(res: Response): Principal | undefined {
  return res.locals.principal as Principal | undefined;
}

/** Finds the caller's token; whether it is enough is each route's `requireRole`. */
export function authenticate(tokens: TokenStore): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization');
    if (!header) {
      res.locals.authProblem = 'missing bearer token: send "Authorization: Bearer <token>" (ops server init or ops token create gives one)';
      return next();
    }
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const principal = m ? await tokens.verify(m[1]) : undefined;
    if (principal) res.locals.principal = principal;
    else res.locals.authProblem = m ? 'invalid or revoked token' : 'the Authorization header must be "Bearer <token>"';
    next();
  };
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
