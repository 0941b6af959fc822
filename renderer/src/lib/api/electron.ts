import { ApiError, type LongreadBridge } from '../../../../common/api';
import type { PdfSource, Transport } from './transport';

/** The desktop app: everything goes through the preload's `window.longread`. */
export function electronTransport(bridge: LongreadBridge): Transport {
  return {
    mode: 'electron',
    invoke: (method, payload) => bridge.invoke(method, payload),
    onEvent: (listener) => bridge.onEvent(listener),
    eventsReady: () => Promise.resolve(),
    async addFiles(files, password) {
      const out = [];
      for (const file of files) {
        const path = bridge.pathForFile(file);
        if (!path) {
          out.push({ file: file.name, result: { ok: false as const, error: { code: 'unsupported', message: `${file.name}: the app cannot tell where this file is on disk.` } } });
          continue;
        }
        out.push({ file: file.name, result: await bridge.invoke('library.add', password !== undefined ? { paths: [path], password } : { paths: [path] }) });
      }
      return out;
    },
    async pdfSource(documentId): Promise<PdfSource> {
      const r = await bridge.invoke('document.file', { id: documentId });
      if (!r.ok) throw new ApiError(r.error);
      return { data: r.value.bytes };
    },
    async saveMarkdown(md) {
      const r = await bridge.invoke('export.save', { fileName: md.fileName, content: md.markdown });
      if (!r.ok) throw new ApiError(r.error);
      return r.value.path;
    },
  };
}
