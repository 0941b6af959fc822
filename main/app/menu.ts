import type { MenuItemConstructorOptions } from 'electron';
import type { MenuCommand } from '../../common/api';

export interface MenuActions {
  /** Tells the renderer to run a command (settings, find, export…). */
  send(command: MenuCommand): void;
  /** Shows the open dialog and adds the chosen files (done in main, it owns the dialog). */
  addDocuments(): void;
}

/** The app menu: the platform's usual roles and shortcuts plus Longread's own commands. */
export function menuTemplate(platform: NodeJS.Platform, actions: MenuActions, isDev = false): MenuItemConstructorOptions[] {
  const mac = platform === 'darwin';
  const settings: MenuItemConstructorOptions = { label: mac ? 'Settings…' : 'Settings', accelerator: 'CmdOrCtrl+,', click: () => actions.send('open-settings') };
  const template: MenuItemConstructorOptions[] = [];
  if (mac) {
    template.push({
      label: 'Longread',
      submenu: [{ role: 'about' }, { type: 'separator' }, settings, { type: 'separator' }, { role: 'services' }, { type: 'separator' }, { role: 'hide' }, { role: 'hideOthers' }, { role: 'unhide' }, { type: 'separator' }, { role: 'quit' }],
    });
  }
  template.push(
    {
      label: '&File',
      submenu: [
        { label: 'Add Document…', accelerator: 'CmdOrCtrl+O', click: () => actions.addDocuments() },
        { label: 'Export…', accelerator: 'CmdOrCtrl+E', click: () => actions.send('export') },
        { type: 'separator' },
        ...(mac ? [] : [settings, { type: 'separator' } as MenuItemConstructorOptions]),
        mac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    {
      label: '&Edit',
      submenu: [
        { role: 'undo' },
        { role: 'redo' },
        { type: 'separator' },
        { role: 'cut' },
        { role: 'copy' },
        { role: 'paste' },
        { role: 'selectAll' },
        { type: 'separator' },
        { label: 'Find in Document', accelerator: 'CmdOrCtrl+F', click: () => actions.send('find') },
        { label: 'Ask a Question', accelerator: 'CmdOrCtrl+L', click: () => actions.send('focus-question') },
      ],
    },
    {
      label: '&View',
      submenu: [
        { label: 'Toggle Reader', accelerator: 'CmdOrCtrl+R', click: () => actions.send('toggle-reader') },
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(isDev ? [{ type: 'separator' } as MenuItemConstructorOptions, { role: 'reload' } as MenuItemConstructorOptions, { role: 'toggleDevTools' } as MenuItemConstructorOptions] : []),
      ],
    },
    { label: '&Window', submenu: mac ? [{ role: 'minimize' }, { role: 'zoom' }, { type: 'separator' }, { role: 'front' }] : [{ role: 'minimize' }, { role: 'close' }] },
    { role: 'help', submenu: [{ role: 'about' }] },
  );
  return template;
}
