// The preload of the one window. Sandboxed: it is bundled into a single CommonJS file and may
// use only contextBridge, ipcRenderer and webUtils. It exposes exactly `window.longread`.
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { ApiEvent, LongreadBridge } from '../../common/api';
import { IPC_EVENT_CHANNEL, IPC_INVOKE_CHANNEL } from '../../common/ipc-channels';

const bridge: LongreadBridge = {
  invoke: (method, payload) => ipcRenderer.invoke(IPC_INVOKE_CHANNEL, { method, payload }),
  onEvent: (listener) => {
    // the IPC event object (with its sender) never reaches the page
    const wrapped = (_event: IpcRendererEvent, apiEvent: ApiEvent) => listener(apiEvent);
    ipcRenderer.on(IPC_EVENT_CHANNEL, wrapped);
    return () => {
      ipcRenderer.removeListener(IPC_EVENT_CHANNEL, wrapped);
    };
  },
  pathForFile: (file) => {
    try {
      return webUtils.getPathForFile(file);
    } catch {
      return '';
    }
  },
  platform: process.platform,
};

contextBridge.exposeInMainWorld('longread', bridge);
