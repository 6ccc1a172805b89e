// Starts the SMTP server process and collects what it receives.
import { spawn } from 'node:child_process';
import path from 'node:path';

export type Mail = { from: string | null; to: string[]; raw: string; subject: string; text: string };

export type Smtp = {
  url: string;
  mails: Mail[];
  waitFor(pred: (m: Mail) => boolean, timeoutMs?: number): Promise<Mail>;
  stop(): Promise<void>;
};

/** Undoes quoted-printable soft line breaks and escapes, enough to read links and text in tests. */
function decodeQuotedPrintable(s: string): string {
  return s.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

function parse(m: { from: string | null; to: string[]; raw: string }): Mail {
  const [head = '', ...rest] = m.raw.split(/\r?\n\r?\n/);
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const subject = /^Subject: (.*)$/im.exec(unfolded)?.[1] ?? '';
  // RFC 2047: whitespace between adjacent encoded words is not part of the text; the bytes are UTF-8.
  const decodedSubject = subject
    .replace(/\?=\s+=\?utf-8\?Q\?/gi, '')
    .replace(/=\?utf-8\?Q\?(.*?)\?=/gi, (_, q: string) =>
      Buffer.from(decodeQuotedPrintable(q.replace(/_/g, ' ')), 'latin1').toString('utf8'),
    );
  const body = rest.join('\n\n');
  const text = /quoted-printable/i.test(unfolded) ? decodeQuotedPrintable(body) : body;
  return { ...m, subject: decodedSubject, text };
}

export async function startSmtp(): Promise<Smtp> {
  const child = spawn(process.execPath, [path.join(import.meta.dirname, 'smtp-process.ts')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const mails: Mail[] = [];
  const waiters: Array<() => void> = [];
  let buffered = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`smtp server exited ${code}`)));
    child.stdout.on('data', (d: Buffer) => {
      buffered += d;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const msg = JSON.parse(line) as { port?: number; from: string | null; to: string[]; raw: string };
        if (msg.port !== undefined) resolve(msg.port);
        else {
          mails.push(parse(msg));
          waiters.splice(0).forEach((w) => w());
        }
      }
    });
  });
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    async waitFor(pred, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = mails.find(pred);
        if (found) return found;
        if (Date.now() > deadline)
          throw new Error(
            `no matching email within ${timeoutMs} ms; received: ${mails.map((m) => `${m.to.join(',')}: ${m.subject}`).join(' | ') || 'nothing'}`,
          );
        await new Promise<void>((res) => {
          waiters.push(res);
          setTimeout(res, 200);
        });
      }
    },
    stop: () =>
      new Promise((res) => {
        child.once('exit', () => res());
        child.kill('SIGTERM');
      }),
  };
}
