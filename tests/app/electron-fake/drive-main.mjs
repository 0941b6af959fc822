// Runs the bundled main process against the stand-in Electron and prints what it did as JSON.
// argv: <dist-app/main.mjs> <a document to pass as if opened from the OS>
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { app, recorded } from 'electron';

const [mainFile, document] = process.argv.slice(2);
// argv from the OS also carries what is no path at all: the app must start regardless
process.argv = ['/opt/Longread/longread', 'file://[bad/x.pdf', 'file:///tmp/%E0%A4%A.pdf', 'file://host/share/x.pdf', document];
const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

await import(pathToFileURL(mainFile).href);
const report = { schemes: recorded.schemes, singleInstanceLock: recorded.singleInstanceLock };
app.fireReady();
await tick();

const win = recorded.windows[0];
report.windowCount = recorded.windows.length;
report.webPreferences = { ...win.options.webPreferences, preload: path.basename(win.options.webPreferences.preload) };
report.loaded = win.loaded;

const contents = win.webContents;
report.windowOpen = contents.windowOpenHandler({ url: 'https://example.com/' });
const navigation = (url) => {
  let prevented = false;
  contents.emit('will-navigate', { preventDefault: () => (prevented = true) }, url);
  return prevented;
};
report.navigationPrevented = navigation('https://example.com/');
let attachPrevented = false;
contents.emit('will-attach-webview', { preventDefault: () => (attachPrevented = true) });
report.webviewPrevented = attachPrevented;

report.permission = await new Promise((r) => recorded.permissionRequest(contents, 'media', r));
report.permissionCheck = recorded.permissionCheck(contents, 'geolocation');
const cancel = (url) => new Promise((r) => recorded.beforeRequest({ url }, (res) => r(res.cancel)));
report.cancelRemote = await cancel('https://cdn.example.com/x.js');
report.cancelApp = await cancel('app://longread/index.html');
report.headersCsp = await new Promise((r) => recorded.headersReceived({ responseHeaders: {} }, (res) => r(res.responseHeaders['Content-Security-Policy'])));
const response = await recorded.protocolHandlers.get('app')(new Request('app://longread/index.html'));
report.protocol = { status: response.status, csp: response.headers.get('content-security-policy') };

const invoke = recorded.ipcHandlers.get('longread:invoke');
report.ipcChannels = [...recorded.ipcHandlers.keys()];
report.ipcFromApp = await invoke({ senderFrame: { url: 'app://longread/index.html', parent: null } }, { method: 'app.info', payload: {} });
report.ipcFromElsewhere = await invoke({ senderFrame: { url: 'https://evil.example/', parent: null } }, { method: 'app.info', payload: {} });
report.ipcMalformed = await invoke({ senderFrame: { url: 'app://longread/index.html', parent: null } }, { method: 'document.get', payload: { id: 1 } });

// the page finishes loading: files from the command line go to the library and are shown
contents.emit('did-finish-load');
for (let i = 0; i < 200 && !contents.sent.some((s) => s.payload.type === 'open-document'); i++) await tick(10);
// a navigation to a file is refused like any other (drops never navigate: navigateOnDragDrop is off)
const notDropped = path.join(path.dirname(document), 'navigated.txt');
writeFileSync(notDropped, 'CHAPTER 1. Navigated\n\nA file the window was asked to navigate to, with a little text in it.\n');
report.fileNavigationPrevented = navigation(pathToFileURL(notDropped).href);
// a second launch forwards its argv, bad arguments included: the good file is added and shown
const second = path.join(path.dirname(document), 'second.txt');
writeFileSync(second, 'CHAPTER 1. Second\n\nA file opened by a second launch of the app, with a little text in it.\n');
let secondError = null;
try {
  app.emit('second-instance', {}, ['/opt/Longread/longread', 'file://[bad/y.pdf', 'file:///tmp/%E0%A4%A.pdf', second], path.dirname(document));
} catch (e) {
  secondError = String(e);
}
report.secondInstanceError = secondError;
for (let i = 0; i < 200 && contents.sent.filter((s) => s.payload.type === 'open-document').length < 2; i++) await tick(10);
report.sent = contents.sent.map((s) => ({ channel: s.channel, type: s.payload.type }));
report.menuLabels = recorded.menu.template.map((m) => m.label ?? m.role);
const list = await invoke({ senderFrame: { url: 'app://longread/index.html', parent: null } }, { method: 'library.list', payload: {} });
report.library = list.value.documents.map((d) => path.basename(d.files[0].path));

process.stdout.write(JSON.stringify(report) + '\n');
process.exit(0);
