// A stand-in for registry.npmjs.org, for the upstream-proxy tests: a small HTTP server that serves full packuments in
// npmjs.com's shape (generated from real tarballs' package.json, with `time` entries, ETag and Last-Modified, and
// registry signatures made with its own ECDSA P-256 key, published at /-/npm/v1/keys as npmjs.com publishes its own)
// and the tarballs themselves, and records every request it gets. It can answer slowly, hang, be stopped, publish no
// keys, or sign a version wrongly, as a real upstream does on a bad day.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import semver from 'semver';
import { inspectTarball } from '../../src/tarball/inspect.ts';
import {
  generateSigningKey,
  keyId,
  keysDocument,
  publicKeyBase64,
  signVersion,
  type SigningKeyPair,
} from '../../src/trust/registry-signatures.ts';
import type { FixtureClosure } from './fixtures.ts';

export type FakeVersion = {
  version: string;
  tarball: Buffer;
  /** when the version was published (ms). */
  publishedAt: number;
  /** overrides dist.integrity (to serve a tarball that does not match its packument). */
  integrity?: string;
  /**
   * How its registry signature is made: by the upstream's current key (the default); by its retired key, which expired
   * RETIRED_KEY_EXPIRES ago; by a key the upstream does not publish; `bad`: by the current key over other bytes; or none.
   */
  signedBy?: 'current' | 'retired' | 'unknown' | 'bad' | 'none';
};
export type FakePackage = { name: string; versions: FakeVersion[] };

export type UpstreamRequest = { method: string; path: string; headers: Record<string, string | string[] | undefined> };

export type FakeUpstream = {
  url: string;
  requests: UpstreamRequest[];
  /** requests whose path is exactly this (a packument: "/express"; a tarball: "/express/-/express-4.22.3.tgz"). */
  requestsFor(path: string): UpstreamRequest[];
  /**
   * up: answers; hang: accepts requests and never answers; delayMs: answers that late; keys: false answers 404 at
   * /-/npm/v1/keys, as a registry without signatures (Verdaccio) does.
   */
  behaviour: { hang: boolean; delayMs: number; keys: boolean };
  /** the key ids of the upstream's current and retired signing keys. */
  keyids: { current: string; retired: string };
  add(pkg: FakePackage): void;
  stop(): Promise<void>;
};

const DAY = 86_400_000;
/** How long ago the upstream's retired signing key expired: versions it signed before then still verify. */
export const RETIRED_KEY_EXPIRES = 100 * DAY;

type UpstreamKeys = { current: SigningKeyPair; retired: SigningKeyPair; unknown: SigningKeyPair; retiredAt: number };

function signatureFor(keys: UpstreamKeys, name: string, v: FakeVersion, integrity: string) {
  const by = v.signedBy ?? 'current';
  if (by === 'none') return undefined;
  const pair = by === 'retired' ? keys.retired : by === 'unknown' ? keys.unknown : keys.current;
  const message = by === 'bad' ? integrityOf(Buffer.from('other bytes')) : integrity;
  return [signVersion(pair.privateKey, keyId(pair.publicKey), name, v.version, message)];
}
export const integrityOf = (b: Buffer) => `sha512-${createHash('sha512').update(b).digest('base64')}`;

/** Every package of the express closure, each version published long ago (a year and more before now). */
export function closurePackages(closure: FixtureClosure, now = Date.now()): FakePackage[] {
  const byName = new Map<string, FakeVersion[]>();
  closure.packages.forEach((p, i) => {
    const list = byName.get(p.name) ?? [];
    list.push({ version: p.version, tarball: readFileSync(p.path), publishedAt: now - 400 * DAY + i * DAY });
    byName.set(p.name, list);
  });
  return [...byName].map(([name, versions]) => ({ name, versions }));
}

function packument(pkg: FakePackage, base: string, keys: UpstreamKeys): { body: string; modified: number } {
  const sorted = [...pkg.versions].sort((a, b) => a.publishedAt - b.publishedAt);
  const versions: Record<string, unknown> = {};
  const time: Record<string, string> = {
    created: new Date(sorted[0]!.publishedAt).toISOString(),
    modified: new Date(sorted.at(-1)!.publishedAt).toISOString(),
  };
  for (const v of sorted) {
    const { manifest } = inspectTarball(v.tarball);
    const file = `${pkg.name.slice(pkg.name.lastIndexOf('/') + 1)}-${v.version}.tgz`;
    const integrity = v.integrity ?? integrityOf(v.tarball);
    const signatures = signatureFor(keys, pkg.name, v, integrity);
    versions[v.version] = {
      ...manifest,
      _id: `${pkg.name}@${v.version}`,
      _npmVersion: '10.8.2',
      dist: {
        integrity,
        shasum: createHash('sha1').update(v.tarball).digest('hex'),
        tarball: `${base}/${pkg.name}/-/${file}`,
        fileCount: 3,
        unpackedSize: v.tarball.length * 3,
        // The upstream's signature, made with its key: Bulwark checks it, and must not pass it on as if it could
        // vouch for it (its own /-/npm/v1/keys does not list the upstream's keys).
        ...(signatures ? { signatures } : {}),
      },
    };
    time[v.version] = new Date(v.publishedAt).toISOString();
  }
  const releases = sorted.map((v) => v.version).filter((v) => !semver.prerelease(v));
  const latest = semver.maxSatisfying(releases, '*') ?? sorted.at(-1)!.version;
  const top = inspectTarball(sorted.at(-1)!.tarball).manifest;
  const doc = {
    _id: pkg.name,
    _rev: '12-0123456789abcdef',
    name: pkg.name,
    description: top.description,
    'dist-tags': { latest },
    versions,
    time,
    maintainers: [{ name: 'someone', email: 'someone@example.com' }],
    readme: `# ${pkg.name}`,
    readmeFilename: 'README.md',
    users: { fan: true },
  };
  return { body: JSON.stringify(doc), modified: sorted.at(-1)!.publishedAt };
}

export async function startFakeUpstream(packages: FakePackage[]): Promise<FakeUpstream> {
  const byName = new Map(packages.map((p) => [p.name, p]));
  const requests: UpstreamRequest[] = [];
  const behaviour = { hang: false, delayMs: 0, keys: true };
  const keys: UpstreamKeys = {
    current: generateSigningKey(),
    retired: generateSigningKey(),
    unknown: generateSigningKey(),
    retiredAt: Date.now() - RETIRED_KEY_EXPIRES,
  };
  const keysBody = JSON.stringify(
    keysDocument([
      {
        keyid: keyId(keys.retired.publicKey),
        publicKey: publicKeyBase64(keys.retired.publicKey),
        expiresAt: keys.retiredAt,
      },
      { keyid: keyId(keys.current.publicKey), publicKey: publicKeyBase64(keys.current.publicKey), expiresAt: null },
    ]),
  );
  const sockets = new Set<Socket>();
  let base = '';
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '';
    requests.push({ method: req.method ?? '', path, headers: req.headers });
    if (behaviour.hang) return;
    const answer = () => {
      if (path === '/-/npm/v1/keys') {
        if (!behaviour.keys) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{}');
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(keysBody);
      }
      const decoded = decodeURIComponent(path.slice(1));
      const dash = decoded.indexOf('/-/');
      const name = dash < 0 ? decoded : decoded.slice(0, dash);
      const pkg = byName.get(name);
      if (!pkg) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not found"}');
      if (dash < 0) {
        const { body, modified } = packument(pkg, base, keys);
        const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
        const headers = { etag, 'last-modified': new Date(modified).toUTCString(), 'content-type': 'application/json' };
        if (req.headers['if-none-match'] === etag) return void res.writeHead(304, headers).end();
        return void res.writeHead(200, headers).end(body);
      }
      const file = decoded.slice(dash + 3);
      const v = pkg.versions.find((x) => `${name.slice(name.lastIndexOf('/') + 1)}-${x.version}.tgz` === file);
      if (!v) return void res.writeHead(404).end('{"error":"Not found"}');
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(v.tarball);
    };
    if (behaviour.delayMs) setTimeout(answer, behaviour.delayMs);
    else answer();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  base = `http://127.0.0.1:${port}`;
  return {
    url: base,
    requests,
    requestsFor: (p) => requests.filter((r) => r.path === p),
    behaviour,
    keyids: { current: keyId(keys.current.publicKey), retired: keyId(keys.retired.publicKey) },
    add: (pkg) => void byName.set(pkg.name, pkg),
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
