/**
 * The notification emails, as plain text and HTML from one set of sentences. Every value that
 * comes from a person (the token's name and note) is escaped in the HTML; the secret is never
 * an input (only its last four characters, shown masked as everywhere else).
 */
import { maskToken } from '@latchkey/contract/token-format';
import { html } from '../kernel/html.js';
import type { EmailDecision, TokenFacts } from './notification.js';

export interface EmailLinks {
  /** The console page of the token, where it is regenerated (or replaced, once revoked). */
  tokenPage: string;
  /** The console's Notifications page. */
  preferences: string;
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

const THRESHOLD_WORDS: Record<string, string> = { '30d': 'in 30 days', '7d': 'in 7 days', '1d': 'tomorrow' };

/** `2026-12-07 14:00 UTC`: unambiguous in any mail client's locale. */
export function formatUtc(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

interface Content {
  subject: string;
  /** What happened, one sentence or two. */
  summary: string;
  /** What to do about it. */
  advice: string;
  /** The link's wording. */
  action: string;
}

function contentFor(decision: EmailDecision, token: TokenFacts): Content {
  const name = `"${token.name}"`;
  const at = formatUtc(decision.occurredAt);
  switch (decision.kind) {
    case 'expiry': {
      const expired = token.expiresAt <= decision.occurredAt;
      const when = THRESHOLD_WORDS[decision.threshold ?? ''];
      return {
        subject: expired ? `Your token ${name} has expired` : `Your token ${name} expires ${when ?? 'today'}`,
        summary: expired
          ? `Your token ${name} expired on ${formatUtc(token.expiresAt)}; requests with it are refused.`
          : `Your token ${name} expires on ${formatUtc(token.expiresAt)}. After that, requests with it are refused.`,
        advice: expired
          ? 'Create a replacement and put it where the old one was used.'
          : 'Regenerate it before then: the new token keeps its name, scopes and note, and you choose how long the old secret keeps working.',
        action: expired ? 'Replace it' : 'Regenerate it',
      };
    }
    case 'revoked_by_admin':
      return {
        subject: `Your token ${name} was revoked by an administrator`,
        summary: `An administrator revoked your token ${name} on ${at}; requests with it are refused.`,
        advice: 'If it is still needed, create a replacement and put it where the old one was used, or ask your administrator why.',
        action: 'Replace it',
      };
    case 'revoked_leaked':
      return {
        subject: `Your token ${name} was revoked: its secret was reported leaked`,
        summary: `Your token ${name} was found where it should not be (reported to Latchkey, for example by a secret scanner) and was revoked on ${at}. Anyone who saw it can no longer use it.`,
        advice: 'Create a replacement, put it where the old one was used, and remove the leaked secret from where it was found.',
        action: 'Replace it',
      };
    case 'ip_refused':
      return {
        subject: `Your token ${name} was refused from an address outside its allowlist`,
        summary: `A request with your token ${name} came from ${decision.ip ?? 'an unknown address'} on ${at}, which is not in the token's IP allowlist, and was refused. You are told once per address.`,
        advice: 'If that was you, add the address to a new token\u2019s allowlist. If it was not, the secret may have leaked: regenerate the token.',
        action: 'Regenerate it',
      };
    case 'new_address':
      return {
        subject: `Your token ${name} was used from a new address`,
        summary: `Your token ${name} was used from ${decision.ip ?? 'an unknown address'} on ${at}, an address it had not been used from before.`,
        advice: 'If you do not recognise the address, the secret may have leaked: regenerate the token.',
        action: 'Regenerate it',
      };
  }
}

/** The email for `decision` about `token`. */
export function renderEmail(decision: EmailDecision, token: TokenFacts, links: EmailLinks): RenderedEmail {
  const content = contentFor(decision, token);
  const owner = token.serviceAccount ? `service account ${token.serviceAccountName ?? token.accountId}` : null;
  const masked = maskToken(token.last4);
  const noteLine = token.note ?? 'no note yet (add one on the token\u2019s page, so the next email can say)';
  const facts: Array<[string, string]> = [
    ['Token', `${token.name} (${masked})`],
    ...(owner ? ([['Belongs to', owner]] as Array<[string, string]>) : []),
    ['Where is this token used?', noteLine],
    ['Expires', formatUtc(token.expiresAt)],
  ];
  const footer = token.serviceAccount
    ? 'You receive this because you created the service account this token belongs to.'
    : 'You receive this because the token is yours.';
  const text = [
    content.summary,
    '',
    // A question needs no colon after it.
    ...facts.map(([label, value]) => (label.endsWith('?') ? `${label} ${value}` : `${label}: ${value}`)),
    '',
    content.advice,
    '',
    `${content.action}: ${links.tokenPage}`,
    '',
    '-- ',
    `${footer} Choose which emails you get: ${links.preferences}`,
    '',
  ].join('\n');
  const body = html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${content.subject}</title></head>
<body style="font: 15px/1.5 system-ui, sans-serif; color: #1b1f24; max-width: 36rem;">
<p>${content.summary}</p>
<table style="border-collapse: collapse; margin: 1rem 0;">
${facts.map(([label, value]) => html`<tr><th style="text-align: left; padding: .2rem 1rem .2rem 0; vertical-align: top;">${label}</th><td style="padding: .2rem 0;">${value}</td></tr>
`)}</table>
<p>${content.advice}</p>
<p><a href="${links.tokenPage}" style="display: inline-block; padding: .5rem 1rem; background: #1f6feb; color: #fff; border-radius: 6px; text-decoration: none;">${content.action}</a></p>
<p style="color: #57606a; font-size: 13px;">${footer} <a href="${links.preferences}">Choose which emails you get</a>.</p>
</body>
</html>
`;
  return { subject: content.subject, text, html: body.toString() };
}
