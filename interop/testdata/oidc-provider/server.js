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

const provider = new Provider(issuer, {
  clients,
  jwks,
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  fetch: fetchHook,
  // Static scopes: without a resource indicator, oidc-provider drops every
  // scope that is not listed here.
  scopes: ['openid', 'offline_access', ...resourceScopes.split(' ')],
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
      defaultResource: async () => resource,
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
