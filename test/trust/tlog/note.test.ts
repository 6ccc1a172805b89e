import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  NoteError,
  ed25519Signer,
  ed25519Verifier,
  encodeSignerKey,
  encodeVerifierKey,
  formatCheckpoint,
  keyId,
  openCheckpoint,
  openNote,
  parseCheckpoint,
  parseSignerKey,
  parseVerifierKey,
  signNote,
} from '../../../src/trust/tlog/note.ts';

const dir = path.join(import.meta.dirname, '..', '..', 'fixtures', 'vectors', 'note');
const go = JSON.parse(readFileSync(path.join(dir, 'go-sumdb-note.json'), 'utf8'));
const c2sp = JSON.parse(readFileSync(path.join(dir, 'c2sp-signed-note.json'), 'utf8'));

describe('signed notes: Go sumdb/note vectors', () => {
  it('parses the verifier key and refuses every mangling of it', () => {
    const v = parseVerifierKey(go.peterVkey);
    assert.equal(v.name, 'PeterNeumann');
    assert.equal(v.id, 0xc74f20a3);
    assert.equal(encodeVerifierKey(v), go.peterVkey);
    const bad: string[] = [...go.badVkeys];
    const b = Buffer.from(go.peterVkey);
    for (let i = 0; i <= b.length; i++)
      for (let j = i + 1; j <= b.length; j++) if (i !== 0 || j !== b.length) bad.push(b.subarray(i, j).toString());
    for (let i = 0; i < b.length; i++) {
      const m = Buffer.from(b);
      m[i]!++;
      bad.push(m.toString());
    }
    const accepted = bad.filter((k) => {
      try {
        parseVerifierKey(k);
        return true;
      } catch (err) {
        assert.ok(err instanceof NoteError, `${k}: ${String(err)}`);
        return false;
      }
    });
    assert.deepEqual(accepted, []);
  });

  it('parses the signer key, refuses its manglings, and signs exactly as Go does', () => {
    const s = parseSignerKey(go.peterSkey);
    assert.equal(s.id, 0xc74f20a3);
    assert.equal(encodeVerifierKey(s), go.peterVkey);
    assert.equal(signNote(go.text, [s]), go.signedByPeter);
    // An old signature by the same key is replaced, not kept beside the new one.
    assert.equal(
      signNote(go.text, [s], [{ name: 'PeterNeumann', id: 0xc74f20a3, base64: 'BADSIGN=' }]),
      go.signedByPeter,
    );
    assert.throws(() => signNote('abc', [s]), NoteError);
    const b = Buffer.from(go.peterSkey);
    for (let i = 0; i < b.length; i++) {
      const m = Buffer.from(b);
      m[i]!++;
      assert.throws(() => parseSignerKey(m.toString()), NoteError, m.toString());
    }
    assert.throws(() => parseSignerKey(go.peterSkey.slice(0, -1)), NoteError);
  });

  it('opens notes as Go does: known keys verify, unknown are ignored, a bad known signature rejects', () => {
    const peter = parseVerifierKey(go.peterVkey);
    const enoch = parseVerifierKey(go.enochVkey);
    const both = `${go.text}\n${go.peterSig}${go.enochSig}`;
    const one = openNote(both, [peter]);
    assert.equal(one.text, go.text);
    assert.deepEqual(
      one.verified.map((s) => s.name),
      ['PeterNeumann'],
    );
    assert.deepEqual(
      one.unverified.map((s) => [s.name, s.id]),
      [['EnochRoot', 0xaf0cfe78]],
    );
    assert.equal(openNote(both, [peter, enoch]).verified.length, 2);
    assert.throws(() => openNote(both, []), /not signed by a known key/);
    assert.throws(
      () => openNote(`${go.text}\n${go.enochSig}`, [enoch, peter, enoch]),
      /ambiguous key EnochRoot\+af0cfe78/,
    );
    openNote(`${go.text}\n${go.peterSig}`, [enoch, peter, enoch]);
    assert.throws(() => openNote(`${go.text}\n${go.peterSig.repeat(101)}`, [peter]), NoteError);
    const tampered = `${go.text}\n${go.peterSig.slice(0, 60)}ABCD${go.peterSig.slice(60)}`;
    assert.throws(() => openNote(tampered, [peter]), /invalid signature by PeterNeumann\+c74f20a3/);
    const dup = openNote(`${go.text}\n${go.peterSig}${go.peterSig}${go.enochSig}${go.enochSig}`, [peter]);
    assert.equal(dup.verified.length, 1);
    assert.equal(dup.unverified.length, 1);
    // Go's "invalid encoded message syntax" list.
    for (const msg of [
      go.text,
      `${go.text}\n`,
      `${go.text}\n${go.peterSig.slice(0, -1)}`,
      `\x01${go.text}\n${go.peterSig}`,
      `${go.text}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`,
      `${go.text}\n${go.peterSig}Unexpected line.\n`,
    ]) {
      assert.throws(() => openNote(msg, [peter]), /malformed note/, JSON.stringify(msg));
    }
    assert.throws(
      () => openNote(Buffer.concat([Buffer.from([0xff]), Buffer.from(`${go.text}\n${go.peterSig}`)]), [peter]),
      /malformed note/,
    );
    // A key with the right ID under another name is a different key.
    assert.throws(
      () => openNote(`${go.text}\n${go.peterSig.replace('PeterNeumann', 'CarmenSandiego')}`, [peter]),
      /not signed by a known key/,
    );
  });
});

describe('signed notes: C2SP example and our own keys', () => {
  it('verifies the signed-note spec example with its verifier key', () => {
    const v = parseVerifierKey(c2sp.vkey);
    assert.equal(openNote(c2sp.note, [v]).text, 'This is an example message.\n');
  });

  it('computes the key ID as SHA-256(name || 0x0A || 0x01 || key)[:4] and round-trips key encodings', () => {
    const seed = Buffer.alloc(32, 7);
    const s = ed25519Signer('registry.example/log', seed);
    // Computed here from the exact byte string the spec names, not through keyId().
    const expected = createHash('sha256')
      .update(Buffer.concat([Buffer.from('registry.example/log'), Buffer.from([0x0a, 0x01]), s.publicKey]))
      .digest()
      .readUInt32BE(0);
    assert.equal(s.id, expected);
    assert.equal(keyId('registry.example/log', s.publicKey), expected);
    assert.equal(parseSignerKey(encodeSignerKey(s.name, seed)).id, s.id);
    assert.equal(parseVerifierKey(encodeVerifierKey(s)).id, s.id);
    assert.throws(() => ed25519Signer('has space', seed), NoteError);
    assert.throws(() => ed25519Signer('has+plus', seed), NoteError);
  });

  it('formats, signs and opens a tlog checkpoint, and refuses a wrong origin, key or body', () => {
    const s = ed25519Signer('registry.example', Buffer.alloc(32, 1));
    const v = ed25519Verifier(s.name, s.publicKey);
    const other = ed25519Verifier('registry.example', ed25519Signer('registry.example', Buffer.alloc(32, 2)).publicKey);
    const root = Buffer.alloc(32, 0xab);
    const text = formatCheckpoint({ origin: 'registry.example', size: 20852163, root });
    assert.equal(text, `registry.example\n20852163\n${root.toString('base64')}\n`);
    const note = signNote(text, [s]);
    const cp = openCheckpoint(note, 'registry.example', v);
    assert.equal(cp.size, 20852163);
    assert.ok(cp.root.equals(root));
    assert.throws(() => openCheckpoint(note, 'other.example', v), /not "other.example"/);
    assert.throws(() => openCheckpoint(note, 'registry.example', other), /not signed by a known key/);
    assert.throws(
      () => openCheckpoint(note.replace('20852163', '20852164'), 'registry.example', v),
      /invalid signature/,
    );
    assert.equal(parseCheckpoint('o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n').size, 0);
    for (const bad of [
      'o\n01\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n',
      'o\n1\nAAAA\n',
      'o\n1\n',
      'o\n-1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n',
    ]) {
      assert.throws(() => parseCheckpoint(bad), NoteError, JSON.stringify(bad));
    }
  });
});
