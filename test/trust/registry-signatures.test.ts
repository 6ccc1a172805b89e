// Registry signatures against npm's real ones: npmjs.com's published key, its key id, and a signature it made.
import assert from 'node:assert/strict';
import { createPublicKey, createVerify } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  generateSigningKey,
  keyId,
  keysDocument,
  keyValidFor,
  publicKeyBase64,
  publicKeyFromBase64,
  signVersion,
  signedMessage,
  verifyVersion,
} from '../../src/trust/registry-signatures.ts';

// registry.npmjs.org/-/npm/v1/keys as npm served it before the 2025 rotation, and a signature it made with that key
// (venv@0.1.0's dist.signatures[0]).
const NPM_KEYS = [
  {
    keyid: 'SHA256:jl3bwswu80PjjokCgh0o2w5c2U4LhQAE57gj9cz1kzA',
    key: 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1Olb3zMAFFxXKHiIkQO5cJ3Yhl5i6UPp+IhuteBJbuHcA5UogKo0EWtlWwW6KSaKoTNEYL7JlCQiVnkhBktUgg==',
  },
  {
    keyid: 'SHA256:DhQ8wR5APBvFHLF/+Tc+AYvPOdTpcIDqOhxsBHRwC7U',
    key: 'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEY6Ya7W++7aUPzvMTrezH6Ycx3c+HOKYCcNGybJZSCJq/fd7Qa8uuAKtdIkUQtQiEKERhAmE5lMMJhP8OkDOa2g==',
  },
];
const VENV = {
  integrity: 'sha512-RMdeiD0OJC+S2w4931iqdi5MB9xe2T/lXZbRrHxbsmQrSA+FwhPk2bIqIwbNDCmThPgNw841Q272O6EFSYhBjQ==',
  sig: 'MEUCICKQJCEvvV3HdhCSj3TwH9qqIWLwc0GR1m/NED/s1bPIAiEAvkTmhIDIrD4MZoI2g27+HsuxoFJhC/evORT6T2UUwSc=',
};

describe('registry signatures', () => {
  it("forms key ids exactly as npmjs.com's published keys have them", () => {
    for (const k of NPM_KEYS) assert.equal(keyId(publicKeyFromBase64(k.key)), k.keyid);
  });

  it("verifies a signature npm's registry made, and only for its own name@version:integrity", () => {
    const key = publicKeyFromBase64(NPM_KEYS[0]!.key);
    assert.equal(verifyVersion(key, VENV.sig, 'venv', '0.1.0', VENV.integrity), true);
    assert.equal(verifyVersion(key, VENV.sig, 'venv', '0.1.1', VENV.integrity), false);
    assert.equal(verifyVersion(key, VENV.sig, 'venv2', '0.1.0', VENV.integrity), false);
    assert.equal(
      verifyVersion(publicKeyFromBase64(NPM_KEYS[1]!.key), VENV.sig, 'venv', '0.1.0', VENV.integrity),
      false,
    );
  });

  it('signs what pacote verifies: crypto.createVerify(SHA256) over `${_id}:${_integrity}` with the PEM-wrapped key', () => {
    const { privateKey, publicKey } = generateSigningKey();
    const id = keyId(publicKey);
    const s = signVersion(privateKey, id, '@scope/pkg', '1.2.3', VENV.integrity);
    assert.equal(s.keyid, id);
    assert.equal(signedMessage('@scope/pkg', '1.2.3', VENV.integrity), `@scope/pkg@1.2.3:${VENV.integrity}`);
    // pacote lib/registry.js, verbatim in what it does with the served key and signature.
    const pemkey = `-----BEGIN PUBLIC KEY-----\n${publicKeyBase64(publicKey)}\n-----END PUBLIC KEY-----`;
    const verifier = createVerify('SHA256');
    verifier.write(`@scope/pkg@1.2.3:${VENV.integrity}`);
    verifier.end();
    assert.equal(verifier.verify(pemkey, s.sig, 'base64'), true);
    assert.equal(createPublicKey(pemkey).asymmetricKeyDetails?.namedCurve, 'prime256v1');
  });

  it('publishes keys in the shape of registry.npmjs.org/-/npm/v1/keys', () => {
    const doc = keysDocument([
      { keyid: NPM_KEYS[0]!.keyid, publicKey: NPM_KEYS[0]!.key, expiresAt: Date.parse('2025-01-29T00:00:00.000Z') },
      { keyid: NPM_KEYS[1]!.keyid, publicKey: NPM_KEYS[1]!.key, expiresAt: null },
    ]);
    assert.deepEqual(JSON.parse(JSON.stringify(doc)), {
      keys: [
        {
          expires: '2025-01-29T00:00:00.000Z',
          keyid: NPM_KEYS[0]!.keyid,
          keytype: 'ecdsa-sha2-nistp256',
          scheme: 'ecdsa-sha2-nistp256',
          key: NPM_KEYS[0]!.key,
        },
        {
          expires: null,
          keyid: NPM_KEYS[1]!.keyid,
          keytype: 'ecdsa-sha2-nistp256',
          scheme: 'ecdsa-sha2-nistp256',
          key: NPM_KEYS[1]!.key,
        },
      ],
    });
  });

  it("judges expiry by the version's publish time, as pacote does", () => {
    const expires = Date.parse('2025-01-29T00:00:00.000Z');
    assert.equal(keyValidFor(null, Date.now()), true);
    assert.equal(keyValidFor(expires, expires - 1), true);
    assert.equal(keyValidFor(expires, expires), false);
    assert.equal(keyValidFor(expires, expires + 1), false);
  });
});
