// The ceiling: a bare node:http server that answers the benchmark's requests from memory with the same bytes Bulwark
// returned (both packuments of one package, one tarball) and a small JSON 404 for anything else. Run as its own
// process by run.ts:  node bench/ceiling.ts <dir holding full.json, abbreviated.json, tarball.tgz> <package> <file>
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';

const ABBREVIATED = 'application/vnd.npm.install-v1+json';

const [dir, name, file] = process.argv.slice(2);
if (!dir || !name || !file) {
  console.error('usage: node bench/ceiling.ts DIR PACKAGE TARBALL-FILE');
  process.exit(2);
}
const full = readFileSync(path.join(dir, 'full.json'));
const abbreviated = readFileSync(path.join(dir, 'abbreviated.json'));
const tarball = readFileSync(path.join(dir, 'tarball.tgz'));
const notFound = Buffer.from(JSON.stringify({ error: 'Not found' }));
const packumentPath = `/${name}`;
const tarballPath = `/${name}/-/${file}`;

const server = createServer((req, res) => {
  if (req.url === packumentPath) {
    const abbrev = (req.headers.accept ?? '').includes(ABBREVIATED);
    const bytes = abbrev ? abbreviated : full;
    res.writeHead(200, { 'content-type': abbrev ? ABBREVIATED : 'application/json', 'content-length': bytes.length });
    res.end(bytes);
  } else if (req.url === tarballPath) {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': tarball.length });
    res.end(tarball);
  } else if (req.url === '/-/ping') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': 2 });
    res.end('{}');
  } else {
    res.writeHead(404, { 'content-type': 'application/json', 'content-length': notFound.length });
    res.end(notFound);
  }
});

server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  console.log(JSON.stringify({ msg: `ceiling listening on http://127.0.0.1:${port}` }));
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
  });
}
