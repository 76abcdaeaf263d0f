// A relying party on node openid-client 6.x for the tokengate interop
// tests: it signs a user in at an OpenID Provider through the provider's
// own login and consent pages, with a scripted user agent (a cookie jar,
// following redirects, filling in and posting the forms), then checks what
// openid-client checks (discovery, PKCE, state, nonce, the ID token, the
// RFC 9207 iss parameter), reads userinfo and refreshes. It is started by
// interop/signin_test.go, never by hand in CI, and talks to loopback only.
//
// Environment:
//   RP_ISSUER         the provider's issuer URL (http://127.0.0.1:PORT...)
//   RP_CLIENT_ID      the client id
//   RP_CLIENT_SECRET  its secret; empty for a public client (PKCE only)
//   RP_REDIRECT_URI   the registered redirect URI (never served: the user
//                     agent stops at it)
//   RP_SCOPE          the scope to ask for
//   RP_USERNAME, RP_PASSWORD  the user to sign in as
//
// It prints one JSON object on stdout: the ID token's claims, userinfo, the
// access and refresh tokens before and after the refresh, and the steps
// the user agent took (the paths of the pages it saw, never a query).
import * as client from 'openid-client';

const env = (name, required = true) => {
  const v = process.env[name] ?? '';
  if (required && v === '') {
    throw new Error(`${name} is required`);
  }
  return v;
};

const issuer = new URL(env('RP_ISSUER'));
const clientId = env('RP_CLIENT_ID');
const clientSecret = env('RP_CLIENT_SECRET', false);
const redirectUri = env('RP_REDIRECT_URI');
const scope = env('RP_SCOPE');
const username = env('RP_USERNAME');
const password = env('RP_PASSWORD');

// The scripted user agent -------------------------------------------------

const jar = new Map(); // cookie name -> value; every server here is one host
const steps = [];

const remember = (res) => {
  for (const line of res.headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const expired = attrs.some((a) => /^\s*max-age=(0|-)/i.test(a)) || value === '';
    if (expired) {
      jar.delete(name);
    } else {
      jar.set(name, value);
    }
  }
};

const request = async (url, init = {}) => {
  const headers = { ...(init.headers ?? {}) };
  if (jar.size > 0) {
    headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  const res = await fetch(url, { ...init, headers, redirect: 'manual' });
  remember(res);
  steps.push(`${init.method ?? 'GET'} ${new URL(url).pathname} ${res.status}`);
  return res;
};

const entities = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const unescape = (s) => s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e) => {
  if (e[0] === '#') {
    return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  }
  return entities[e.toLowerCase()] ?? m;
});
const attributes = (tag) => {
  const out = {};
  for (const m of tag.matchAll(/([a-zA-Z_:-]+)(?:\s*=\s*"([^"]*)")?/g)) {
    out[m[1].toLowerCase()] = m[2] === undefined ? '' : unescape(m[2]);
  }
  return out;
};

// submit fills in the page's form the way a person would: the login form
// (it has a password field) with the user's credentials, the consent form
// (its buttons are named decision) by approving.
const submit = async (pageUrl, html) => {
  const form = html.match(/<form\b[^>]*>/i);
  if (!form) {
    throw new Error(`no form on ${new URL(pageUrl).pathname}: ${html.slice(0, 300)}`);
  }
  const action = new URL(attributes(form[0]).action ?? '', pageUrl);
  const body = new URLSearchParams();
  let kind = '';
  for (const m of html.matchAll(/<(input|button)\b[^>]*>/gi)) {
    const a = attributes(m[0]);
    if (a.type === 'hidden') {
      body.set(a.name, a.value ?? '');
    } else if (a.name === 'password') {
      kind = 'login';
    } else if (a.name === 'decision') {
      kind = 'consent';
    }
  }
  if (kind === 'login') {
    body.set('username', username);
    body.set('password', password);
  } else if (kind === 'consent') {
    body.set('decision', 'approve');
  } else {
    throw new Error(`neither a login nor a consent form on ${action.pathname}`);
  }
  return request(action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
};

// signIn follows the authorization request through the provider's pages
// until the provider redirects to redirectUri, and returns that URL.
const signIn = async (authorizationUrl) => {
  let res = await request(authorizationUrl);
  let url = authorizationUrl;
  for (let i = 0; i < 20; i++) {
    if (res.status >= 300 && res.status < 400) {
      const next = new URL(res.headers.get('location'), url);
      if (next.href.startsWith(redirectUri)) {
        return next;
      }
      url = next;
      res = await request(url);
    } else if (res.status === 200) {
      res = await submit(url, await res.text());
    } else {
      throw new Error(`${new URL(url).pathname} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    }
  }
  throw new Error('more than 20 steps without reaching the redirect URI');
};

// The relying party -------------------------------------------------------

const config = await client.discovery(
  issuer,
  clientId,
  clientSecret === '' ? undefined : clientSecret,
  clientSecret === '' ? client.None() : client.ClientSecretBasic(clientSecret),
  { execute: [client.allowInsecureRequests] },
);

const codeVerifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const authorizationUrl = client.buildAuthorizationUrl(config, {
  redirect_uri: redirectUri,
  scope,
  code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
  code_challenge_method: 'S256',
  state,
  nonce,
});

const callback = await signIn(authorizationUrl);
const tokens = await client.authorizationCodeGrant(config, callback, {
  pkceCodeVerifier: codeVerifier,
  expectedState: state,
  expectedNonce: nonce,
  idTokenExpected: true,
});
const claims = tokens.claims();
const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);

process.stdout.write(`${JSON.stringify({
  id_token_claims: claims,
  userinfo,
  scope: tokens.scope,
  access_token: tokens.access_token,
  refresh_token: tokens.refresh_token,
  refreshed_access_token: refreshed.access_token,
  refreshed_refresh_token: refreshed.refresh_token,
  refreshed_id_token_claims: refreshed.claims() ?? null,
  callback_has_iss: callback.searchParams.get('iss') === config.serverMetadata().issuer,
  steps,
})}\n`);
