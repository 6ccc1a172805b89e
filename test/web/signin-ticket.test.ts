import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SignInTickets, TICKET_TTL_MS } from '../../src/web/signin-ticket.ts';

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
