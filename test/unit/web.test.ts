// The web UI's pure rules: escaping templates, README sanitizing, redirect targets, cookies, sign-in tickets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCookies, setCookieLine } from '../../src/web/cookies.ts';
import { escapeHtml, html, raw } from '../../src/web/html.ts';
import { ago, time } from '../../src/web/layout.ts';
import { renderReadme } from '../../src/web/markdown.ts';
import { safeNext } from '../../src/web/next-url.ts';
import { describeUserAgent } from '../../src/accounts/user-agent.ts';
import { packageHref } from '../../src/web/pages/browse.ts';
import { repositoryUrl, webUrl } from '../../src/web/pages/package.ts';
import { SignInTickets, TICKET_TTL_MS } from '../../src/web/signin-ticket.ts';

describe('html templates', () => {
  it('escape every interpolated value unless it is explicitly raw', () => {
    const evil = `"><script>alert('x')</script>&\``;
    assert.equal(escapeHtml(evil), '&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&#96;');
    assert.equal(html`<a title="${evil}">${evil}</a>`.value, `<a title="${escapeHtml(evil)}">${escapeHtml(evil)}</a>`);
    assert.equal(html`<p>${raw('<b>ok</b>')}</p>`.value, '<p><b>ok</b></p>');
    assert.equal(html`<ul>${['<a>', html`<li>${'<b>'}</li>`]}</ul>`.value, '<ul>&lt;a&gt;<li>&lt;b&gt;</li></ul>');
    assert.equal(html`${null}${undefined}${false}${0}${'x'}`.value, '0x');
  });
});

describe('README rendering', () => {
  const render = (md: string) => renderReadme(md).value;

  it('keeps ordinary Markdown', () => {
    const out = render(
      '# Title\n\nSome **bold** and `code`, a [link](https://example.com).\n\n| a | b |\n|---|---|\n| 1 | 2 |\n',
    );
    assert.match(out, /<h1>Title<\/h1>/);
    assert.match(out, /<strong>bold<\/strong>/);
    assert.match(out, /<a href="https:\/\/example.com" rel="nofollow noopener noreferrer">link<\/a>/);
    assert.match(out, /<table>/);
  });

  const hostile: Array<[string, RegExp]> = [
    ['<script>alert(1)</script>', /script|alert/i],
    ['<img src=x onerror="alert(1)">', /onerror/i],
    ['<img src="data:image/svg+xml,<svg onload=alert(1)>">', /svg|onload/i],
    ['[x](javascript:alert(1))', /javascript/i],
    ['[x](JaVaScRiPt:alert(1))', /javascript/i],
    ['<a href="jav&#x09;ascript:alert(1)">x</a>', /href/i],
    ['<a href="  javascript:alert(1)">x</a>', /href/i],
    ['[x](data:text/html,<script>alert(1)</script>)', /data:|script/i],
    ['[x](vbscript:msgbox(1))', /vbscript/i],
    ['<a href="//evil.example/">x</a>', /evil/],
    ['<div style="background:url(javascript:alert(1))">x</div>', /style|javascript/i],
    ['<p onclick="alert(1)">x</p>', /onclick/i],
    ['<iframe src="https://evil.example"></iframe>', /iframe/i],
    ['<object data="x"></object><embed src="x">', /object|embed/i],
    ['<form action="https://evil.example"><input name=p></form>', /form|input/i],
    ['<svg><script>alert(1)</script></svg>', /svg|script/i],
    ['<math><mtext><style><img src=x onerror=alert(1)></style></mtext></math>', /onerror|math|style/i],
    ['<base href="https://evil.example/">', /base/i],
    ['<meta http-equiv="refresh" content="0;url=https://evil.example">', /meta|refresh/i],
    ['<link rel=stylesheet href="https://evil.example/x.css">', /link|stylesheet/i],
    ['<style>body{display:none}</style>', /style|display/i],
    ['<a href="x" id="__proto__" class="c" name="n">x</a>', /id=|class=|name=/],
  ];
  for (const [input, forbidden] of hostile) {
    it(`neutralises ${input}`, () => assert.doesNotMatch(render(input), forbidden));
  }

  it('keeps raster data: images and turns other images into links (the CSP allows no remote images)', () => {
    const png = 'data:image/png;base64,iVBORw0KGgo=';
    assert.match(render(`![dot](${png})`), new RegExp(`<img src="${png.replace(/[+/]/g, '\\$&')}" alt="dot"`));
    assert.equal(
      render('![build status](https://ci.example/badge.svg)').trim(),
      '<p><a href="https://ci.example/badge.svg" rel="nofollow noopener noreferrer">build status</a></p>',
    );
  });
});

describe('redirect targets after sign-in', () => {
  it('accepts paths on this site', () => {
    assert.equal(safeNext('/-/web/account'), '/-/web/account');
    assert.equal(safeNext('/-/web/search?q=a%20b#x'), '/-/web/search?q=a%20b#x');
    assert.equal(safeNext('/-/web/package/@scope/name'), '/-/web/package/@scope/name');
  });
  it('refuses other origins, schemes and tricks', () => {
    for (const bad of [
      '',
      'https://evil.example/',
      '//evil.example',
      '///evil.example',
      '/\\evil.example',
      '\\\\evil.example',
      'javascript:alert(1)',
      '/\t/evil.example',
      '/\n/evil',
      'evil',
      ' /x',
      '/.//evil.example',
      '/..//evil.example',
      '/%2e//evil.example',
      '/a/..//evil.example',
      '/a/../..//evil.example',
      '/./\\evil.example',
      '/%2e%2e//evil.example',
      '/x'.padEnd(3000, 'x'),
      42,
      null,
      undefined,
    ]) {
      assert.equal(safeNext(bad), null, JSON.stringify(bad));
    }
  });
});

describe('cookies', () => {
  it('parses a Cookie header, first value winning, malformed values skipped', () => {
    const c = parseCookies('a=1; bulwark_session=abc; a=2; bad=%E0%A4%A; q="quoted"; noequals');
    assert.equal(c.get('a'), '1');
    assert.equal(c.get('bulwark_session'), 'abc');
    assert.equal(c.has('bad'), false);
    assert.equal(c.get('q'), 'quoted');
    assert.equal(parseCookies(undefined).size, 0);
  });
  it('always sets HttpOnly, SameSite=Lax and Path=/, and Secure only when asked', () => {
    assert.equal(
      setCookieLine('n', 'v', { maxAgeSeconds: 60, secure: false }),
      'n=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax',
    );
    assert.equal(
      setCookieLine('n', 'v', { maxAgeSeconds: 0, secure: true }),
      'n=v; Path=/; Max-Age=0; HttpOnly; SameSite=Lax; Secure',
    );
  });
});

describe('sign-in tickets', () => {
  const tickets = new SignInTickets(Buffer.alloc(32, 1));
  const now = 1_800_000_000_000;
  it('vouch for the user they were issued to, in the browser they were issued to, for five minutes', () => {
    const t = tickets.issue(42, 'csrf-a', now);
    assert.equal(tickets.verify(t, 'csrf-a', now + TICKET_TTL_MS - 1), 42);
    assert.equal(tickets.verify(t, 'csrf-a', now + TICKET_TTL_MS), null, 'expired');
    assert.equal(tickets.verify(t, 'csrf-b', now), null, 'another browser');
    assert.equal(new SignInTickets(Buffer.alloc(32, 2)).verify(t, 'csrf-a', now), null, 'another instance key');
    const [, expires, mac] = t.split('.');
    assert.equal(tickets.verify(`43.${expires}.${mac}`, 'csrf-a', now), null, 'another user');
    assert.equal(tickets.verify(`42.${Number(expires) + 60_000}.${mac}`, 'csrf-a', now), null, 'extended');
    assert.equal(tickets.verify('garbage', 'csrf-a', now), null);
  });
});

describe('page helpers', () => {
  it('describe browsers, links and times readably', () => {
    assert.equal(
      describeUserAgent(
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36',
      ),
      'Chrome on Linux',
    );
    assert.equal(
      describeUserAgent('Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Gecko/20100101 Firefox/130.0'),
      'Firefox on macOS',
    );
    assert.equal(describeUserAgent(''), 'Unknown browser');
    assert.equal(repositoryUrl({ type: 'git', url: 'git+https://github.com/a/b.git' }), 'https://github.com/a/b');
    assert.equal(repositoryUrl('git@github.com:a/b.git'), 'https://github.com/a/b');
    assert.equal(repositoryUrl('gitlab:a/b'), 'https://gitlab.com/a/b');
    assert.equal(repositoryUrl('a/b'), 'https://github.com/a/b');
    assert.equal(repositoryUrl({ url: 'javascript:alert(1)' }), null);
    assert.equal(webUrl('javascript:alert(1)'), null);
    assert.equal(webUrl('file:///etc/passwd'), null);
    assert.equal(webUrl('https://example.com/x'), 'https://example.com/x');
    assert.equal(packageHref('@scope/name'), '/-/web/package/@scope/name');
    assert.equal(packageHref('plain'), '/-/web/package/plain');
    const now = Date.UTC(2026, 0, 10);
    assert.equal(ago(now - 10_000, now), 'just now');
    assert.equal(ago(now - 3 * 60_000, now), '3 minutes ago');
    assert.equal(ago(now - 86_400_000, now), '1 day ago');
    assert.equal(ago(now - 400 * 86_400_000, now), '1 year ago');
    // Times to come (issue 19: a token expiring in 30 days read "just now").
    assert.equal(ago(now + 30 * 86_400_000, now), 'in 1 month');
    assert.equal(ago(now + 29 * 86_400_000 + 60_000, now), 'in 29 days');
    assert.equal(ago(now + 2 * 3_600_000, now), 'in 2 hours');
    assert.equal(ago(now + 10_000, now), 'in under a minute');
    assert.match(
      String(time(now + 7 * 86_400_000, now)),
      new RegExp(`>in 7 days \\(${new Date(now + 7 * 86_400_000).toISOString().slice(0, 10)}\\)</time>`),
    );
  });
});
