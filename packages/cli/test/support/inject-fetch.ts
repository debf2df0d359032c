/**
 * A `fetch` that answers from the real server app through `app.inject`: the CLI's requests go
 * through the real routes, auth, store and error handler, without a port.
 */
import type { TestApp } from '../../../server/test/support/app.js';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
}

export interface InjectFetch {
  fetch: typeof fetch;
  requests: RecordedRequest[];
}

/** `remoteAddress`: the client address the server sees (default: inject's 127.0.0.1). */
export function createInjectFetch(app: TestApp, options: { remoteAddress?: string } = {}): InjectFetch {
  const requests: RecordedRequest[] = [];
  const injectFetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(String(input));
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const body = typeof init.body === 'string' ? init.body : undefined;
    const method = init.method ?? 'GET';
    requests.push({ method, url: url.href, headers, body });
    const response = await app.http.inject({
      method: method as 'GET',
      url: url.pathname + url.search,
      headers,
      ...(options.remoteAddress === undefined ? {} : { remoteAddress: options.remoteAddress }),
      ...(body === undefined ? {} : { payload: body }),
    });
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      if (value === undefined) continue;
      for (const item of Array.isArray(value) ? value : [value]) responseHeaders.append(name, String(item));
    }
    const nullBody = response.statusCode === 204 || response.statusCode === 304;
    return new Response(nullBody ? null : response.rawPayload, { status: response.statusCode, headers: responseHeaders });
  };
  return { fetch: injectFetch as typeof fetch, requests };
}
