import type { BrowserWindowConstructorOptions, WebPreferences } from 'electron';
import { contentSecurityPolicy } from '../server/csp';

/** The renderer is served from this privileged custom scheme, never from file:// or the network. */
export const APP_SCHEME = 'app';
export const APP_HOST = 'longread';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_INDEX_URL = `${APP_ORIGIN}/index.html`;

/** The app's CSP: the same policy as browser mode, with no WebSocket (events come over IPC). */
export const APP_CSP = contentSecurityPolicy();

/**
 * Web preferences of the one window: isolated, sandboxed, no Node, web security on, nothing
 * extra; the developer tools only in a development run (`devTools`: `!app.isPackaged`).
 */
export function webPreferences(preload: string, devTools = false): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
    navigateOnDragDrop: false,
    safeDialogs: true,
    spellcheck: false,
    devTools,
  };
}

export function windowOptions(preload: string, devTools = false): BrowserWindowConstructorOptions {
  return {
    width: 1280,
    height: 860,
    minWidth: 720,
    minHeight: 480,
    title: 'Longread',
    show: false,
    backgroundColor: '#1e1e1e',
    webPreferences: webPreferences(preload, devTools),
  };
}

/** Whether a URL is one of the app's own pages (the custom scheme and host, nothing else). */
export function isAppUrl(url: string | undefined | null): boolean {
  if (!url) return false;
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === APP_HOST && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

/** What IPC checks of a message's sender: the frame it came from. */
export interface SenderInfo {
  senderFrame: { url: string; parent: unknown } | null;
}

/**
 * IPC is accepted only from the app's own top-level frame: not from a subframe (a PDF viewer
 * or anything embedded), not after a navigation away, not from a destroyed frame.
 */
export function senderAllowed(event: SenderInfo): boolean {
  const frame = event.senderFrame;
  return frame !== null && frame.parent === null && isAppUrl(frame.url);
}

/**
 * No remote content: the window may load only the app's own files, in-memory data and the
 * developer tools; http(s), file:, ws: and everything else is cancelled.
 */
export function requestAllowed(url: string): boolean {
  if (isAppUrl(url)) return true;
  return /^(data|blob|devtools):/i.test(url);
}

/** Every permission (camera, notifications, geolocation, clipboard-read, …) is refused. */
export function permissionAllowed(_permission: string): boolean {
  return false;
}

/** Response headers for the app's files. */
export function appResponseHeaders(contentType: string): Record<string, string> {
  return {
    'Content-Type': contentType,
    'Content-Security-Policy': APP_CSP,
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cache-Control': 'no-cache',
  };
}
