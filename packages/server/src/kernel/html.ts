/**
 * HTML escaping for every place the server writes HTML: the sign-in pages (http/pages.ts) and
 * the notification emails. Every interpolated value is escaped unless it is already SafeHtml.
 */
const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]!);
}

/** Marks text as already-safe HTML for `html\`\``. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString() {
    return this.value;
  }
}

/** A template tag that escapes every interpolation unless it is SafeHtml (or a list of it). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((value, index) => {
    const parts = Array.isArray(value) ? value : [value];
    out += parts.map((part) => (part instanceof SafeHtml ? part.value : escapeHtml(String(part ?? '')))).join('');
    out += strings[index + 1]!;
  });
  return new SafeHtml(out);
}
