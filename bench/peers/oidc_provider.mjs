// The peer of bench/tokens_peer.py: oidc-provider (a certified OpenID Provider), one
// Node process, configured for what the benchmark asks of Keyhook:
//
// - client credentials (a confidential client, client_secret_basic) with ES256 JWT
//   access tokens for the resource urn:keyhook:bench;
// - refresh-token grants for a public PKCE client (token_endpoint_auth_method none):
//   scope "openid profile email offline_access api", an ES256 JWT access token, an ES256
//   ID token with the profile and email claims, and rotation (rotateRefreshToken: the
//   old refresh token is consumed; presenting it again revokes the grant);
// - introspection (client_secret_basic) of opaque client-credentials access tokens for
//   the resource urn:keyhook:bench:opaque: oidc-provider refuses to introspect
//   structured (JWT) tokens, so that is the only kind it can be asked about.
//
// The refresh tokens the benchmark starts from come from a bench-only route,
// POST /bench/refresh-token, that mints a Grant and a RefreshToken with the model
// API, as the authorization code exchange would after a sign-in (no browser, no
// interaction). Nothing else is added to the provider.
//
// Usage: node oidc_provider.mjs PORT CLIENT_ID CLIENT_SECRET PUBLIC_CLIENT_ID
// Its storage is oidc-provider's own in-memory adapter: nothing is written durably
// (Keyhook commits every grant); JWT access tokens are not stored at all. The adapter's
// store is the package's LRU with room for a million entries instead of its default
// 1,000: with that default the refresh chains not used for a few thousand rotations
// (the 8-client rounds leave 24 of 32 idle) are dropped and answer invalid_grant.
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

const [port, clientId, clientSecret, publicClientId] = process.argv.slice(2);
const RESOURCE = 'urn:keyhook:bench';
const OPAQUE_RESOURCE = 'urn:keyhook:bench:opaque';
const REDIRECT_URI = 'http://127.0.0.1:9/callback'; // as bench/tokens.py's; never opened
const REFRESH_SCOPE = 'openid profile email offline_access api';
const ACCOUNT = {
  sub: 'bench-user',
  name: 'Bench Mark',
  given_name: 'Bench',
  family_name: 'Mark',
  preferred_username: 'bench@example.com',
  updated_at: Math.floor(Date.now() / 1000),
  email: 'bench@example.com',
  email_verified: true,
};
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const key = { ...privateKey.export({ format: 'jwk' }), kid: 'bench', alg: 'ES256', use: 'sig' };
const HOUR = 60 * 60;
const store = new LRU({ maxSize: 1_000_000 });

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'ES256',
    },
    {
      client_id: publicClientId,
      application_type: 'web',
      grant_types: ['authorization_code', 'refresh_token'],
      redirect_uris: [REDIRECT_URI],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'ES256',
    },
  ],
  adapter: (model) => new MemoryAdapter(model, store),
  jwks: { keys: [key] },
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'preferred_username', 'updated_at'],
    email: ['email', 'email_verified'],
  },
  findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ ...ACCOUNT, sub }) }),
  pkce: { required: () => true },
  rotateRefreshToken: true,
  ttl: {
    AccessToken: HOUR,
    ClientCredentials: HOUR,
    IdToken: HOUR,
    Grant: 30 * 24 * HOUR,
    RefreshToken: 30 * 24 * HOUR,
  },
  features: {
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // A client may introspect the tokens issued to it (the default policy, without
      // the warning that it should be changed).
      allowedPolicy: (ctx, client, token) => token.clientId === client.clientId,
    },
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => ({
        scope: 'api',
        audience: resource,
        accessTokenFormat: resource === OPAQUE_RESOURCE ? 'opaque' : 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      }),
    },
  },
});

// Bench-only: what a sign-in and the code exchange would leave behind, a grant of
// REFRESH_SCOPE to the public client and a refresh token for it.
provider.use(async (ctx, next) => {
  if (ctx.method !== 'POST' || ctx.path !== '/bench/refresh-token') {
    await next();
    return;
  }
  const client = await provider.Client.find(publicClientId);
  const grant = new provider.Grant({ accountId: ACCOUNT.sub, clientId: publicClientId });
  grant.addOIDCScope('openid profile email offline_access');
  grant.addResourceScope(RESOURCE, 'api');
  const grantId = await grant.save();
  const refreshToken = new provider.RefreshToken({
    accountId: ACCOUNT.sub,
    authTime: Math.floor(Date.now() / 1000),
    client,
    grantId,
    gty: 'authorization_code',
    resource: RESOURCE,
    rotations: 0,
    scope: REFRESH_SCOPE,
  });
  ctx.body = { refresh_token: await refreshToken.save() };
});

provider.listen(Number(port), '127.0.0.1', () => console.log(`peer listening on ${port}`));
