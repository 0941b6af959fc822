import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { app, dialog, type BrowserWindow } from 'electron';
import type { DesktopHost } from '../api/types';
import { DOCUMENT_EXTENSIONS } from '../api/document-paths';

/** The system dialogs behind `library.pick`, `models.pick` and `export.save`. */
export function desktopHost(window: () => BrowserWindow | null): DesktopHost {
  const parent = () => window() ?? undefined;
  return {
    async pickDocuments() {
      const options: Electron.OpenDialogOptions = {
        title: 'Add documents',
        properties: ['openFile', 'multiSelections'],
        filters: [
          { name: 'Documents', extensions: DOCUMENT_EXTENSIONS.map((e) => e.slice(1)) },
          { name: 'All files', extensions: ['*'] },
        ],
      };
      const w = parent();
      const result = w ? await dialog.showOpenDialog(w, options) : await dialog.showOpenDialog(options);
      return result.canceled ? [] : result.filePaths;
    },
    async pickModelFolder() {
      const options: Electron.OpenDialogOptions = { title: 'Import a model folder (Hugging Face T5)', properties: ['openDirectory'] };
      const w = parent();
      const result = w ? await dialog.showOpenDialog(w, options) : await dialog.showOpenDialog(options);
      return result.canceled ? null : (result.filePaths[0] ?? null);
    },
    async saveFile(fileName, content) {
      const options: Electron.SaveDialogOptions = {
        title: 'Export',
        defaultPath: path.join(app.getPath('documents'), fileName),
        filters: [{ name: 'Markdown', extensions: ['md'] }],
      };
      const w = parent();
      const result = w ? await dialog.showSaveDialog(w, options) : await dialog.showSaveDialog(options);
      if (result.canceled || !result.filePath) return null;
      await writeFile(result.filePath, content, 'utf8');
      return result.filePath;
    },
  };
}
