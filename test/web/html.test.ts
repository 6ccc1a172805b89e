import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeHtml, html, raw } from '../../src/web/html.ts';
import { ago, time } from '../../src/web/layout.ts';
import { describeUserAgent } from '../../src/accounts/user-agent.ts';
import { packageHref } from '../../src/web/pages/browse.ts';
import { repositoryUrl, webUrl } from '../../src/web/pages/package.ts';

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
