// Starts a real Bulwark server in the test process (real HTTP, real database and blob store) and offers a small
// client for the protocol tests. Tests that drive the `bulwark` binary itself spawn it instead.
import path from 'node:path';
import pino from 'pino';
import { createUser } from '../../src/accounts/users.ts';
import { loadSettings, type Settings } from '../../src/config.ts';
import { startApp, type Registry as App } from '../../src/app.ts';
import { FsBlobStore } from '../../src/store/blobs.ts';
import { openStore, type Store } from '../../src/store/db.ts';
import { createToken } from '../../src/tokens/service.ts';
import { TEST_PASSWORD_HASH } from './bulwark-process.ts';
import { testDatabase, type DbKind } from './db.ts';

export const TEST_SECRET_KEY = Buffer.alloc(32, 7);

export type Response = { status: number; headers: Headers; text: string; json: () => any; bytes: Buffer };
export type RequestOptions = {
  token?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
  raw?: Buffer | string;
};

export type TestRegistry = {
  url: string;
  store: Store;
  app: App;
  dataDir: string;
  adminToken: string;
  /** Creates a user (email verified unless said otherwise) and a publish token for them. */
  user(name: string, opts?: { verified?: boolean; admin?: boolean }): Promise<{ id: number; token: string }>;
  request(method: string, urlPath: string, opts?: RequestOptions): Promise<Response>;
  stop(): Promise<void>;
};

/** clock: the registry's time (second-factor codes, expiries); the real time unless a test moves it. */
export async function startRegistry(
  kind: DbKind,
  flags: Record<string, string> = {},
  opts: { clock?: () => number } = {},
): Promise<TestRegistry> {
  const t = await testDatabase(kind);
  const settings: Settings = loadSettings({
    flags: {
      port: '0',
      'data-dir': t.dataDir,
      'password-hash': TEST_PASSWORD_HASH,
      // No test reaches the public registry: a test that proxies names its own upstream.
      upstream: 'none',
      ...(t.database ? { database: t.database } : {}),
      ...flags,
    },
    env: {},
  });
  const store = await openStore({ dataDir: settings.dataDir, database: settings.database, poolSize: 4 });
  const logger = pino({ level: process.env.BULWARK_TEST_LOG ?? 'silent' });
  const app = await startApp({
    settings,
    store,
    blobs: new FsBlobStore(path.join(t.dataDir, 'blobs')),
    logger,
    secretKey: TEST_SECRET_KEY,
    ...(opts.clock ? { clock: opts.clock } : {}),
  });

  async function user(name: string, opts: { verified?: boolean; admin?: boolean } = {}) {
    const row = await createUser(store.db, {
      name,
      email: `${name}@example.com`,
      password: 'correct-horse-battery',
      emailVerified: opts.verified ?? true,
      isAdmin: opts.admin ?? false,
    });
    const { token } = await createToken(store.db, { userId: row.id, userName: name, name: 'test', kind: 'publish' });
    return { id: row.id, token };
  }
  let admin;
  try {
    admin = await user('admin', { admin: true });
  } catch (err) {
    await app.close();
    await store.close();
    throw err;
  }

  async function request(method: string, urlPath: string, opts: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { ...opts.headers };
    const token = opts.token === undefined ? null : opts.token;
    if (token) headers.authorization = `Bearer ${token}`;
    let body: string | Uint8Array<ArrayBuffer> | undefined;
    if (opts.raw !== undefined) body = typeof opts.raw === 'string' ? opts.raw : new Uint8Array(opts.raw);
    else if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(app.url + urlPath, { method, headers, body });
    const bytes = Buffer.from(await res.arrayBuffer());
    const text = bytes.toString('utf8');
    return { status: res.status, headers: res.headers, text, bytes, json: () => JSON.parse(text) };
  }

  return {
    url: app.url,
    store,
    app,
    dataDir: t.dataDir,
    adminToken: admin.token,
    user,
    request,
    async stop() {
      await app.close();
      await store.close();
      await t.cleanup();
    },
  };
}
