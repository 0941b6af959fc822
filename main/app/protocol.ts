import { contentTypeOf, readStatic, resolveStatic } from '../server/static-files';
import { APP_HOST, APP_SCHEME, appResponseHeaders } from './security';

export interface AppFileResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array | string;
}

/** Answers a request for `app://longread/…` from the built renderer, with the app's CSP on every answer. */
export async function appFileResponse(rendererDir: string, requestUrl: string, method = 'GET'): Promise<AppFileResponse> {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return notFound();
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST || method !== 'GET') return notFound();
  const file = await resolveStatic(rendererDir, url.pathname);
  if (!file) {
    if (url.pathname === '/' || url.pathname === '/index.html') {
      return { status: 503, headers: appResponseHeaders('text/html; charset=utf-8'), body: '<!doctype html><title>Longread</title><p>The interface is not built: run <code>npm run build:renderer</code>.</p>' };
    }
    return notFound();
  }
  return { status: 200, headers: appResponseHeaders(contentTypeOf(file)), body: await readStatic(file) };
}

function notFound(): AppFileResponse {
  return { status: 404, headers: appResponseHeaders('text/plain; charset=utf-8'), body: 'Not found' };
}
