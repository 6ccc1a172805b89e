// More archives built to make two readings differ (issue 15 security review): odd pax records, GNU long-name chains,
// a global header mid-archive, base-256 numbers, a directory with a body, data that looks like a header, Unicode
// look-alikes, Windows-only names, gzip framing tricks. For each, the reader must either refuse it (name a problem that
// is not merely `unusual`) or report exactly the files npm writes to disk for the same bytes (node-tar, strip 1, links
// dropped, as pacote configures it).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { readTarball } from '../../src/tarball/read.ts';
import { npmInstalls, paxBody, tarEntry, tarHeader, tarStream, tgz } from '../helpers/tar.ts';

/** A header with its checksum recomputed after the caller edited it. */
function resum(h: Buffer): Buffer {
  h.write('        ', 148);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}
const block = (s: string) => Buffer.from(s.padEnd(512, '\0'));
const manifest = { path: 'package/package.json', data: JSON.stringify({ name: 'demo', version: '1.0.0' }) };
const evilManifest = JSON.stringify({ name: 'demo', version: '1.0.0', scripts: { postinstall: 'node evil.js' } });

const CORPUS: Record<string, Buffer> = {
  'a pax path with a trailing slash on a file that has a body': tgz([
    manifest,
    { path: 'package/x', data: 'a'.repeat(600), pax: { path: 'package/y/' } },
  ]),
  'an old-style file entry with a trailing slash and a body': tgz([
    manifest,
    Buffer.concat([
      tarHeader({ path: 'package/d/', type: '\0', size: 512 }),
      tarHeader({ path: 'package/package.json', size: 10 }),
    ]),
  ]),
  'a directory entry with a body holding a header': tgz([
    manifest,
    Buffer.concat([
      tarHeader({ path: 'package/d/', type: '5', size: 1024 }),
      tarEntry({ path: 'package/in-dir-body.js', data: 'x' }),
    ]),
    { path: 'package/z.js', data: 'z' },
  ]),
  'two pax headers in a row': tgz([
    manifest,
    tarEntry({ path: 'P', type: 'x', data: paxBody({ path: 'package/a.js' }) }),
    { path: 'package/b.js', data: 'b', pax: { path: 'package/c.js' } },
  ]),
  'a global pax header mid-archive (comment, mtime)': tgz([
    manifest,
    tarEntry({ path: 'G', type: 'g', data: paxBody({ comment: 'x', mtime: '1' }) }),
    { path: 'package/a.js', data: 'a' },
  ]),
  'a global pax header setting a path': tgz([
    manifest,
    tarEntry({ path: 'G', type: 'g', data: paxBody({ path: 'package/package.json' }) }),
    { path: 'package/a.js', data: evilManifest },
  ]),
  'a global pax header setting a size': tgz([
    manifest,
    tarEntry({ path: 'G', type: 'g', data: paxBody({ size: '0' }) }),
    { path: 'package/a.js', data: tarEntry({ path: 'package/package.json', data: evilManifest }) },
  ]),
  'a chain of GNU long names': tgz([
    manifest,
    { path: '././@LongLink', type: 'L', data: 'package/long1.js\0' },
    { path: '././@LongLink', type: 'L', data: 'package/long2.js\0' },
    { path: 'package/short.js', data: 's' },
  ]),
  'a GNU long link name before a file': tgz([
    manifest,
    { path: '././@LongLink', type: 'K', data: 'package/target\0' },
    { path: 'package/k.js', data: 'k' },
  ]),
  'a GNU long name naming package.json again': tgz([
    manifest,
    { path: '././@LongLink', type: 'L', data: 'package/package.json\0' },
    { path: 'package/other.js', data: evilManifest },
  ]),
  'a pax size with leading zeros': tgz([manifest, { path: 'package/a.js', data: 'abc', pax: { size: '0003' } }]),
  'a pax size with a plus sign': tgz([manifest, { path: 'package/a.js', data: 'abc', pax: { size: '+3' } }]),
  'a negative pax size': tgz([manifest, { path: 'package/a.js', data: 'abc', pax: { size: '-1' } }]),
  'a pax size that disagrees with the header': tgz([
    manifest,
    {
      path: 'package/a.bin',
      size: 1024,
      data: tarEntry({ path: 'package/package.json', data: evilManifest }),
      pax: { size: '0' },
    },
  ]),
  'a pax linkpath on a file': tgz([
    manifest,
    { path: 'package/a.js', data: 'abc', pax: { linkpath: 'package/package.json' } },
  ]),
  'a pax path with a ustar prefix': tgz([
    manifest,
    { path: 'x.js', prefix: 'package', data: evilManifest, pax: { path: 'package.json' } },
  ]),
  'names equal after NFC normalisation': tgz([
    manifest,
    { path: 'package/caf\u00e9.js', data: '1' },
    { path: 'package/cafe\u0301.js', data: '2' },
  ]),
  'names equal but for case': tgz([manifest, { path: 'package/PACKAGE.JSON', data: evilManifest }]),
  'a fullwidth solidus in a name': tgz([manifest, { path: 'package/a\uff0fpackage.json', data: evilManifest }]),
  'a zero-width space in package.json': tgz([manifest, { path: 'package/package\u200b.json', data: evilManifest }]),
  'a right-to-left override in a name': tgz([manifest, { path: 'package/\u202enosj.egakcap', data: evilManifest }]),
  'package.json with a trailing dot': tgz([manifest, { path: 'package/package.json.', data: evilManifest }]),
  'package.json with a trailing space': tgz([manifest, { path: 'package/package.json ', data: evilManifest }]),
  'file data that is a tar header': tgz([
    manifest,
    { path: 'package/a.bin', data: tarEntry({ path: 'package/package.json', data: evilManifest }) },
  ]),
  'two gzip members': Buffer.concat([
    gzipSync(tarStream([manifest], Buffer.alloc(0))),
    gzipSync(tarStream([{ path: 'package/b.js', data: 'b' }])),
  ]),
  'a gzip header with FEXTRA and FNAME': (() => {
    const z = tgz([manifest]);
    return Buffer.concat([
      Buffer.from([0x1f, 0x8b, 8, 0x0c, 0, 0, 0, 0, 0, 3, 4, 0, 0x41, 0x42, 0x43, 0x44]),
      Buffer.from('name.tar\0'),
      z.subarray(10),
    ]);
  })(),
  'garbage after the gzip stream': Buffer.concat([tgz([manifest]), Buffer.from('garbage')]),
  'a zero byte then another gzip member after the end': Buffer.concat([
    tgz([manifest]),
    Buffer.from([0]),
    gzipSync(tarStream([{ path: 'package/late.js', data: 'late' }])),
  ]),
  'a zstd stream': Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), tarStream([manifest])]),
  'a ustar prefix without pax': tgz([manifest, { path: 'x.js', prefix: 'package/sub', data: 'p' }]),
  'a prefix field filled to its last byte': tgz([
    manifest,
    Buffer.concat([resum(Object.assign(tarHeader({ path: 'package/q.js', size: 1 }), { 475: 0x41 })), block('q')]),
  ]),
  'a base-256 mode': tgz([
    manifest,
    Buffer.concat([
      resum(
        tarHeader({ path: 'package/m.js', size: 1 })
          .fill(0, 100, 108)
          .fill(0x80, 100, 101)
          .fill(0o644 >> 8, 106, 107)
          .fill(0o644 & 0xff, 107, 108),
      ),
      block('m'),
    ]),
  ]),
  'a header checksum summed over signed bytes': tgz([
    manifest,
    (() => {
      const h = tarHeader({ path: 'package/\u00ff\u00ff.js', size: 1 });
      h.write('        ', 148);
      let sum = 0;
      for (const b of h) sum += b > 127 ? b - 256 : b;
      h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
      return Buffer.concat([h, block('x')]);
    })(),
  ]),
  'an empty name completed by a pax path': tgz([
    manifest,
    tarEntry({ path: 'P', type: 'x', data: paxBody({ path: 'package/e.js' }) }),
    Buffer.concat([resum(tarHeader({ path: '', size: 1 })), block('e')]),
  ]),
  'a "." segment': tgz([manifest, { path: 'package/a/./b.js', data: 'x' }]),
  'a contiguous file': tgz([manifest, { path: 'package/c.js', data: 'x', type: '7' }]),
  'a sparse file': tgz([manifest, { path: 'package/s.js', data: 'x', type: 'S' }]),
  'a hard link to package.json': tgz([manifest, { path: 'package/l', type: '1', linkpath: 'package/package.json' }]),
  'an unknown type flag': tgz([manifest, { path: 'package/z.js', data: evilManifest, type: 'Z' }]),
  'a setuid bit': tgz([manifest, { path: 'package/s.js', data: 'x', mode: 0o4755 }]),
};

describe('hostile archives: refused, or read exactly as npm installs them', () => {
  for (const [name, bytes] of Object.entries(CORPUS)) {
    it(name, () => {
      const contents = readTarball(bytes);
      if (contents.problems.some((p) => !p.unusual)) return;
      const seen = new Map(contents.files.map((f) => [f.path, f.data?.toString('latin1') ?? '']));
      assert.deepEqual(seen, npmInstalls(bytes));
    });
  }
});
