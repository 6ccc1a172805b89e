// /.well-known/security.txt as RFC 9116 defines it (https://www.rfc-editor.org/rfc/rfc9116): Contact (one or more,
// required), Expires (required, at most a year ahead is recommended), Policy and Preferred-Languages; Canonical names
// the URL the file is served at.
export type SecurityTxtOptions = {
  contacts: string[];
  expires: string | null;
  languages: string[];
  policy: string | null;
  publicUrl: string;
  now: number;
};

const DEFAULT_EXPIRY_MS = 180 * 86_400_000;

export function securityTxt(o: SecurityTxtOptions): string {
  const contacts = o.contacts.length ? o.contacts : [`${o.publicUrl}/-/web/security/report`];
  const expires = o.expires ?? new Date(o.now + DEFAULT_EXPIRY_MS).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const lines = [
    ...contacts.map((c) => `Contact: ${c}`),
    `Expires: ${expires}`,
    `Policy: ${o.policy ?? `${o.publicUrl}/-/web/security`}`,
    `Preferred-Languages: ${o.languages.join(', ')}`,
    `Canonical: ${o.publicUrl}/.well-known/security.txt`,
  ];
  return `${lines.join('\n')}\n`;
}
