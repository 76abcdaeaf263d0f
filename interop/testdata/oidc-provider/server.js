// A node oidc-provider 9.x authorization server for the tokengate interop
// tests. It is started by interop/internal/interoptest (StartOIDCProvider), never by
// hand in CI, and listens on loopback only.
//
// Environment:
//   OP_PORT      port to listen on (127.0.0.1)
//   OP_CLIENTS   JSON array of client metadata (RFC 7591 names)
//   OP_RESOURCE  the resource indicator given to client_credentials tokens
//                that ask for none (their "aud")
//   OP_SCOPES    the scopes that resource accepts, space separated
//   OP_JWT_RESOURCE  optional: a second resource indicator, with the same
//                scopes, whose access tokens are RFC 9068 JWTs (typ at+jwt,
//                ES256) rather than opaque
//   OP_USERS     optional, a JSON array of {sub, username, password, name,
//                email}: people who sign in through the minimal login and
//                consent pages below (/interaction/UID), which post the
//                same fields as tokengate's built-in pages (username,
//                password; decision=approve|deny), so that one scripted user
//                agent drives both providers. Passwords are compared as
//                given, without hashing: the pages exist for the sign-in
//                benchmarks and tests, never for people.
//   OP_FETCH_ALLOW  optional, space separated origins (http://127.0.0.1:PORT)
//                that the provider may fetch from although they are
//                loopback: a client's jwks_uri served by the test. Unset,
//                oidc-provider's SSRF protection refuses every loopback,
//                private or otherwise special-use address, as in production.
//
// To run it by hand (after scripts/setup-peers.sh), e.g. for a wrk load:
//
//   OP_PORT=9100 OP_CLIENTS='[
//     {"client_id":"api","client_secret":"api-secret","scope":"orders:read orders:write",
//      "grant_types":["client_credentials"],"response_types":[],"redirect_uris":[]},
//     {"client_id":"rs","client_secret":"rs-secret",
//      "grant_types":[],"response_types":[],"redirect_uris":[]}]' node server.js
//   curl -s -u api:api-secret -d grant_type=client_credentials -d scope=orders:read \
//     http://127.0.0.1:9100/token
//   curl -s -u rs:rs-secret -d token=... http://127.0.0.1:9100/token/introspection
import * as crypto from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number.parseInt(process.env.OP_PORT ?? '', 10);
if (!Number.isInteger(port) || port <= 0) {
  throw new Error('OP_PORT must be a TCP port');
}
const clients = JSON.parse(process.env.OP_CLIENTS ?? '[]');
const resource = process.env.OP_RESOURCE || 'urn:tokengate:orders';
const resourceScopes = process.env.OP_SCOPES || 'orders:read orders:write';
const jwtResource = process.env.OP_JWT_RESOURCE || '';
const users = JSON.parse(process.env.OP_USERS || '[]') ?? [];
const usersBySub = new Map(users.map((u) => [u.sub, u]));
const usersByName = new Map(users.map((u) => [u.username, u]));
const fetchAllow = new Set((process.env.OP_FETCH_ALLOW ?? '').split(/\s+/).filter(Boolean).map((origin) => {
  const { hostname, origin: normalized } = new URL(origin);
  if (!['127.0.0.1', '[::1]'].includes(hostname)) {
    throw new Error(`OP_FETCH_ALLOW: ${origin} is not a loopback origin`);
  }
  return normalized;
}));

// oidc-provider (lib/helpers/fetch_request.js) hands every outgoing request
// (a client's jwks_uri, sector_identifier_uri, ...) to the configuration's
// fetch with options.dispatcher set to an undici Agent that destroys the
// socket once it is connected to a special-use address (127/8, ::1, 10/8,
// 192.168/16, ...): "hostname resolves to a special-use IP address". For the
// origins in OP_FETCH_ALLOW only, drop that dispatcher so that Node's default
// one connects; every other URL keeps the protection.
const fetchHook = (url, options) => {
  if (fetchAllow.has(new URL(url).origin)) {
    const { dispatcher, ...rest } = options;
    return globalThis.fetch(url, rest);
  }
  return globalThis.fetch(url, options);
};

// Fresh signing keys on every start: nothing persists between test binaries.
const signingKey = (type, options, alg) => {
  const { privateKey } = crypto.generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg, kid: `${alg}-${crypto.randomUUID()}` };
};
const jwks = {
  keys: [
    signingKey('rsa', { modulusLength: 2048 }, 'RS256'),
    signingKey('ec', { namedCurve: 'P-256' }, 'ES256'),
    signingKey('ed25519', {}, 'EdDSA'),
  ],
};

const issuer = `http://127.0.0.1:${port}`;

// A client that signs users in (authorization_code) gets access tokens for
// userinfo, with refresh tokens that rotate on every use (as tokengate's);
// client_credentials tokens go to the orders resource.
const signsUsersIn = (client) => client.grantTypes.includes('authorization_code');

const provider = new Provider(issuer, {
  clients,
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (ctx, sub) => {
    const user = usersBySub.get(sub);
    if (!user) {
      return undefined;
    }
    return {
      accountId: sub,
      claims: async () => ({ sub, name: user.name, email: user.email, preferred_username: user.username }),
    };
  },
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email'] },
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,
  pkce: { required: () => true },
  jwks,
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  fetch: fetchHook,
  // Static scopes: without a resource indicator, oidc-provider drops every
  // scope that is not listed here.
  scopes: ['openid', 'offline_access', 'profile', 'email', ...resourceScopes.split(' ')],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // Any authenticated confidential client may introspect any token: the
      // registered resource-server clients are exactly those.
      allowedPolicy: async (ctx, client) => client.clientAuthMethod !== 'none',
    },
    revocation: { enabled: true },
    jwtIntrospection: { enabled: true },
    encryption: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client) => (signsUsersIn(client) ? undefined : resource),
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, indicator) => {
        if (jwtResource && indicator === jwtResource) {
          return {
            scope: resourceScopes,
            audience: jwtResource,
            accessTokenFormat: 'jwt',
            accessTokenTTL: 600,
            jwt: { sign: { alg: 'ES256' } },
          };
        }
        if (indicator !== resource) {
          throw new Provider.errors.InvalidTarget();
        }
        return {
          scope: resourceScopes,
          audience: resource,
          accessTokenFormat: 'opaque',
          accessTokenTTL: 600,
        };
      },
    },
  },
  enabledJWA: {
    introspectionSigningAlgValues: ['RS256', 'PS256', 'ES256', 'EdDSA'],
    introspectionEncryptionAlgValues: ['RSA-OAEP', 'RSA-OAEP-256', 'ECDH-ES', 'ECDH-ES+A128KW', 'ECDH-ES+A256KW'],
    introspectionEncryptionEncValues: ['A128CBC-HS256', 'A256CBC-HS512', 'A128GCM', 'A256GCM'],
  },
});

// The login and consent pages of OP_USERS ----------------------------------

const escapeHTML = (v) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (ctx, status, title, body) => {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('cache-control', 'no-store');
  ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHTML(title)}</title></head><body>${body}</body></html>`;
};
const hidden = (uid) => `<input type="hidden" name="interaction" value="${escapeHTML(uid)}">`;
const loginForm = (uid, error) => `<h1>Sign in</h1>${error ? `<p role="alert">${escapeHTML(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHTML(uid)}">${hidden(uid)}
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>`;
const consentForm = (uid, scopes) => `<h1>Allow access?</h1><p>${escapeHTML(scopes.join(' '))}</p>
<form method="post" action="/interaction/${escapeHTML(uid)}">${hidden(uid)}
<button type="submit" name="decision" value="approve">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button></form>`;

const readForm = async (req) => {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 16384) {
      throw new Error('form too large');
    }
  }
  return new URLSearchParams(body);
};

const samePassword = (given, want) => {
  const a = crypto.createHash('sha256').update(given).digest();
  const b = crypto.createHash('sha256').update(want).digest();
  return crypto.timingSafeEqual(a, b);
};

provider.use(async (ctx, next) => {
  const m = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (!m || (ctx.method !== 'GET' && ctx.method !== 'POST')) {
    return next();
  }
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { uid, prompt, params, session } = details;
  if (ctx.method === 'GET') {
    if (prompt.name === 'login') {
      return page(ctx, 200, 'Sign in', loginForm(uid));
    }
    return page(ctx, 200, 'Allow access?', consentForm(uid, String(params.scope ?? '').split(' ')));
  }
  const form = await readForm(ctx.req);
  if (prompt.name === 'login') {
    const user = usersByName.get(form.get('username') ?? '');
    if (!user || !samePassword(form.get('password') ?? '', user.password)) {
      return page(ctx, 403, 'Sign in', loginForm(uid, 'Wrong username or password.'));
    }
    return provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
  }
  if (form.get('decision') !== 'approve') {
    return provider.interactionFinished(ctx.req, ctx.res, { error: 'access_denied', error_description: 'the user denied access' }, { mergeWithLastSubmission: false });
  }
  const { details: missing } = prompt;
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  if (missing.missingOIDCScope) {
    grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  }
  if (missing.missingOIDCClaims) {
    grant.addOIDCClaims(missing.missingOIDCClaims);
  }
  if (missing.missingResourceScopes) {
    for (const [indicator, scope] of Object.entries(missing.missingResourceScopes)) {
      grant.addResourceScope(indicator, scope.join(' '));
    }
  }
  return provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
});

// Keep the output small: errors the tests provoke on purpose (bad client
// credentials) are expected, and the test log shows stderr on failure only.
provider.on('server_error', (ctx, err) => {
  console.error('server_error', err);
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider ${issuer} ready`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
