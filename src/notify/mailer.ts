// Outgoing email over SMTP (nodemailer). Without an SMTP URL nothing is sent: the caller logs that instead, and an
// operator can verify accounts with `bulwark admin user verify-email`.
import type { Transporter } from 'nodemailer';

export type Message = { to: string; subject: string; text: string };
export type Mailer = { send(message: Message): Promise<void>; readonly enabled: boolean };

export function createMailer(smtpUrl: string | null, from: string): Mailer {
  if (!smtpUrl) return { enabled: false, send: async () => {} };
  // Short timeouts: an unreachable mail server must not hold the mail consumer's transaction for minutes.
  const url = new URL(smtpUrl);
  for (const [k, v] of Object.entries({ connectionTimeout: '10000', greetingTimeout: '10000', socketTimeout: '15000' }))
    if (!url.searchParams.has(k)) url.searchParams.set(k, v);
  // nodemailer is loaded with the first email, so a node that sends none does not hold it in memory.
  let transport: Promise<Transporter> | undefined;
  return {
    enabled: true,
    async send(message) {
      transport ??= import('nodemailer').then((m) => m.default.createTransport(url.href));
      await (await transport).sendMail({ from, to: message.to, subject: message.subject, text: message.text });
    },
  };
}
