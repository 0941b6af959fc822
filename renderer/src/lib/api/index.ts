import { ApiError, unwrap, type ApiEvent, type ApiMethod, type ApiRequests, type ApiResponses, type LongreadBridge } from '../../../../common/api';
import { browserTransport } from './browser';
import { electronTransport } from './electron';
import { launchToken } from './launch-token';
import type { Transport } from './transport';

declare global {
  interface Window {
    longread?: LongreadBridge;
  }
}

/** The transport for where the page runs: the preload's bridge, or the token the local server put in the page (kept for reloads). */
export function detectTransport(): Transport {
  if (window.longread) return electronTransport(window.longread);
  let storage: Storage | null = null;
  try {
    storage = window.sessionStorage;
  } catch {
    // storage disabled for this site
  }
  const token = launchToken({ meta: document.querySelector<HTMLMetaElement>('meta[name="longread-token"]')?.content, storage, location, history });
  if (!token) throw new ApiError({ code: 'unauthorized', message: 'This page has no launch token: open the address `longread serve` printed.' });
  return browserTransport(token);
}

/** The API as the components use it: calls that resolve with the value or throw an `ApiError`. */
export class Api {
  constructor(readonly transport: Transport) {}

  get mode(): 'electron' | 'browser' {
    return this.transport.mode;
  }

  async call<M extends ApiMethod>(method: M, payload: ApiRequests[M]): Promise<ApiResponses[M]> {
    return unwrap(await this.transport.invoke(method, payload));
  }

  onEvent(listener: (event: ApiEvent) => void): () => void {
    return this.transport.onEvent(listener);
  }
}

export { ApiError };
export type { Transport };
