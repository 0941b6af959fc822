// The Electron main process: one window, the app API over IPC, files from the OS into the
// library. Bundled by build.mjs into dist-app/main.mjs; everything that touches the engine
// runs in the assistant's worker thread, so this thread only routes messages.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, ipcMain, Menu, protocol, session } from 'electron';
import { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL, type ApiEvent } from '../../common/api';
import { AppApi } from '../api/api';
import { openAssistant } from '../api/open-assistant';
import { desktopThreads } from '../../engine/runtime/cpu-cores';
import { desktopHost } from './desktop-host';
import { handleInvoke } from './ipc';
import { menuTemplate } from './menu';
import { documentArgs } from './open-files';
import { appFileResponse } from './protocol';
import { APP_CSP, APP_INDEX_URL, APP_SCHEME, permissionAllowed, requestAllowed, windowOptions } from './security';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Files the app reads from disk (renderer, models) sit outside asar when packed with asarUnpack. */
const appRoot = app.getAppPath();
const unpackedRoot = appRoot.replace(/app\.asar$/, 'app.asar.unpacked');
const rendererDir = path.join(appRoot, 'renderer', 'dist');
const bundledModelDir = path.join(unpackedRoot, 'models', 'default');

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } }]);

let window: BrowserWindow | null = null;
let api: AppApi | null = null;
let rendererReady = false;
const pendingFiles: string[] = documentArgs(process.argv, process.cwd(), Boolean(process.defaultApp));
const pendingEvents: ApiEvent[] = [];

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  start();
}

function start(): void {
  // macOS hands files over with open-file, possibly before the app is ready
  app.on('open-file', (event, file) => {
    event.preventDefault();
    openFiles([file]);
  });
  app.on('second-instance', (_event, argv, cwd) => {
    openFiles(documentArgs(argv, cwd, Boolean(process.defaultApp)));
    if (window) {
      if (window.isMinimized()) window.restore();
      window.focus();
    }
  });
  app.on('web-contents-created', (_event, contents) => {
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    // the page never navigates (navigateOnDragDrop is off: dropped files reach the page's own drop handler)
    contents.on('will-navigate', (event) => event.preventDefault());
    contents.on('will-redirect', (event) => event.preventDefault());
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  app.on('activate', () => {
    if (app.isReady() && BrowserWindow.getAllWindows().length === 0) createWindow();
  });
  app.on('will-quit', () => {
    void api?.close();
  });
  app.whenReady().then(ready, (e) => {
    console.error('longread: the app could not start:', e);
    app.exit(1);
  });
}

async function ready(): Promise<void> {
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_contents, permission, callback) => callback(permissionAllowed(permission)));
  ses.setPermissionCheckHandler((_contents, permission) => permissionAllowed(permission));
  ses.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !requestAllowed(details.url) }));
  ses.webRequest.onHeadersReceived((details, callback) => callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [APP_CSP] } }));
  protocol.handle(APP_SCHEME, async (request) => {
    const r = await appFileResponse(rendererDir, request.url, request.method);
    return new Response(typeof r.body === 'string' ? r.body : Buffer.from(r.body), { status: r.status, headers: r.headers });
  });

  api = AppApi.open({
    mode: 'electron',
    version: app.getVersion(),
    // Settings' threads 0 (the default): leave a core for the UI.
    openAssistant: (o) => openAssistant({ ...o, threads: o.threads ?? desktopThreads() }),
    modelDir: existsSync(path.join(bundledModelDir, 'config.json')) ? bundledModelDir : undefined,
    desktop: desktopHost(() => window),
  });
  api.onEvent(sendEvent);
  ipcMain.handle(IPC_INVOKE_CHANNEL, (event, message) => handleInvoke(api!, event, message));

  const isDev = !app.isPackaged;
  Menu.setApplicationMenu(
    Menu.buildFromTemplate(
      menuTemplate(
        process.platform,
        {
          send: (command) => sendEvent({ type: 'menu', command }),
          addDocuments: () => void api!.call('library.pick', {}),
        },
        isDev,
      ),
    ),
  );
  createWindow();
}

function createWindow(): void {
  rendererReady = false;
  window = new BrowserWindow(windowOptions(path.join(here, 'preload.cjs'), !app.isPackaged));
  window.once('ready-to-show', () => window?.show());
  window.webContents.on('did-finish-load', () => {
    rendererReady = true;
    for (const event of pendingEvents.splice(0)) sendEvent(event);
    if (pendingFiles.length) openFiles(pendingFiles.splice(0));
  });
  window.on('closed', () => {
    window = null;
    rendererReady = false;
  });
  void window.loadURL(APP_INDEX_URL);
}

function sendEvent(event: ApiEvent): void {
  if (window && !window.isDestroyed() && rendererReady) window.webContents.send(IPC_EVENT_CHANNEL, event);
  else if (event.type === 'open-document' || event.type === 'add-failed') pendingEvents.push(event);
}

/** Files from the OS: queued until the API and the window are up, then added to the library. */
function openFiles(files: string[]): void {
  if (files.length === 0) return;
  if (!api || !rendererReady) {
    pendingFiles.push(...files);
    return;
  }
  void api.openFiles(files);
}
