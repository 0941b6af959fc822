import type { ApiEvent, ApiResult, ErrorBody } from '../../../../common/api';
import type { Transport } from './transport';

/**
 * Browser mode (`longread serve`): calls are `POST /api/<method>` with the launch token, events
 * come over one WebSocket that reconnects when it drops.
 */
export function browserTransport(token: string, origin = location.origin): Transport {
  const listeners = new Set<(event: ApiEvent) => void>();
  let socket: WebSocket | null = null;
  let open: Promise<void> | null = null;
  let retry = 250;

  function connect(): Promise<void> {
    if (open) return open;
    open = new Promise<void>((resolve) => {
      const url = new URL('/api/events', origin);
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      url.searchParams.set('token', token);
      const ws = new WebSocket(url);
      socket = ws;
      ws.onopen = () => {
        retry = 250;
        resolve();
      };
      ws.onmessage = (m) => {
        let event: ApiEvent;
        try {
          event = JSON.parse(String(m.data)) as ApiEvent;
        } catch {
          return;
        }
        for (const l of listeners) l(event);
      };
      ws.onclose = () => {
        if (socket !== ws) return;
        socket = null;
        open = null;
        resolve(); // callers go on; the next call reconnects
        setTimeout(() => void connect(), retry);
        retry = Math.min(retry * 2, 5000);
      };
    });
    return open;
  }

  const headers = { Authorization: `Bearer ${token}` };

  async function envelope<T>(response: Response): Promise<T> {
    try {
      return (await response.json()) as T;
    } catch {
      const error: ErrorBody = { code: 'internal', message: `The server answered ${response.status} without a readable body.` };
      return { ok: false, error } as T;
    }
  }

  async function post(path: string, init: RequestInit): Promise<Response | ErrorBody> {
    try {
      return await fetch(new URL(path, origin), { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } });
    } catch (e) {
      return { code: 'offline', message: `Longread's server is not reachable (${e instanceof Error ? e.message : String(e)}). Is \`longread serve\` still running?` };
    }
  }

  void connect();

  return {
    mode: 'browser',
    async invoke(method, payload) {
      const r = await post(`/api/${method}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(payload ?? {}) });
      if (!(r instanceof Response)) return { ok: false, error: r };
      return envelope(r);
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    eventsReady: () => connect(),
    async addFiles(files, password) {
      const out = [];
      for (const file of files) {
        const r = await post('/api/library.upload', {
          method: 'POST',
          headers: {
            'Content-Type': 'application/octet-stream',
            'X-Longread-Filename': encodeURIComponent(file.name),
            ...(password !== undefined ? { 'X-Longread-Password': encodeURIComponent(password) } : {}),
          },
          body: file,
        });
        const result: ApiResult<'library.upload'> = r instanceof Response ? await envelope(r) : { ok: false, error: r };
        out.push({ file: file.name, result });
      }
      return out;
    },
    async pdfSource(documentId) {
      const url = new URL('/api/document.file', origin);
      url.searchParams.set('id', documentId);
      return { url: url.href, headers };
    },
    async saveMarkdown(md) {
      const blob = new Blob([md.markdown], { type: 'text/markdown;charset=utf-8' });
      const href = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = href;
      a.download = md.fileName;
      a.rel = 'noopener';
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(href), 10_000);
      return md.fileName;
    },
  };
}
