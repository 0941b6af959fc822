// A stand-in for the 'electron' module so the bundled main process (dist-app/main.mjs) can run
// under Node in tests: it records what the main process asks of Electron, and lets the test
// play the parts of Electron (ready, frames, navigation, permission requests).
import { EventEmitter } from 'node:events';

export const recorded = {
  schemes: [],
  singleInstanceLock: 0,
  windows: [],
  ipcHandlers: new Map(),
  protocolHandlers: new Map(),
  permissionRequest: null,
  permissionCheck: null,
  beforeRequest: null,
  headersReceived: null,
  menu: null,
  quit: 0,
};

class App extends EventEmitter {
  isPackaged = true;
  #ready;
  #resolveReady;
  constructor() {
    super();
    this.#ready = new Promise((r) => (this.#resolveReady = r));
  }
  requestSingleInstanceLock() {
    recorded.singleInstanceLock++;
    return true;
  }
  whenReady() {
    return this.#ready;
  }
  isReady() {
    return true;
  }
  fireReady() {
    this.#resolveReady();
  }
  getAppPath() {
    return process.env.FAKE_APP_PATH;
  }
  getVersion() {
    return '9.9.9';
  }
  getPath() {
    return process.env.FAKE_APP_PATH;
  }
  quit() {
    recorded.quit++;
  }
  exit(code) {
    recorded.exitCode = code;
  }
}
export const app = new App();

class WebContents extends EventEmitter {
  sent = [];
  windowOpenHandler = null;
  send(channel, payload) {
    this.sent.push({ channel, payload });
  }
  setWindowOpenHandler(handler) {
    this.windowOpenHandler = handler;
  }
}

export class BrowserWindow extends EventEmitter {
  static all = [];
  static getAllWindows() {
    return BrowserWindow.all;
  }
  constructor(options) {
    super();
    this.options = options;
    this.webContents = new WebContents();
    this.loaded = [];
    BrowserWindow.all.push(this);
    recorded.windows.push(this);
    app.emit('web-contents-created', {}, this.webContents);
  }
  loadURL(url) {
    this.loaded.push(url);
    return Promise.resolve();
  }
  isDestroyed() {
    return false;
  }
  isMinimized() {
    return false;
  }
  show() {}
  focus() {}
  restore() {}
}

export const ipcMain = {
  handle(channel, handler) {
    recorded.ipcHandlers.set(channel, handler);
  },
};

export const protocol = {
  registerSchemesAsPrivileged(schemes) {
    recorded.schemes.push(...schemes);
  },
  handle(scheme, handler) {
    recorded.protocolHandlers.set(scheme, handler);
  },
};

export const session = {
  defaultSession: {
    setPermissionRequestHandler(h) {
      recorded.permissionRequest = h;
    },
    setPermissionCheckHandler(h) {
      recorded.permissionCheck = h;
    },
    webRequest: {
      onBeforeRequest(h) {
        recorded.beforeRequest = h;
      },
      onHeadersReceived(h) {
        recorded.headersReceived = h;
      },
    },
  },
};

export const Menu = {
  buildFromTemplate(template) {
    return { template };
  },
  setApplicationMenu(menu) {
    recorded.menu = menu;
  },
};

export const dialog = {
  async showOpenDialog() {
    return { canceled: true, filePaths: [] };
  },
  async showSaveDialog() {
    return { canceled: true };
  },
};

export default { app, BrowserWindow, ipcMain, protocol, session, Menu, dialog };
