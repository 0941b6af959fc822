// Preloaded (--import) into a forked Node child by fake-utility-process.ts: gives it the
// `process.parentPort` of an Electron utility process (messages arrive as { data }), over Node's IPC.
process.parentPort = {
  on(event, fn) {
    if (event === 'message') process.on('message', (data) => fn({ data }));
  },
  postMessage(message) {
    process.send(message);
  },
};
