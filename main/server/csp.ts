/**
 * The Content-Security-Policy of the app's pages, the same in the desktop app and in browser
 * mode: only the app's own files, no inline or remote scripts, no eval (WebAssembly compile is
 * allowed for pdf.js's image decoders), no plugins, no framing, no forms. Inline styles are
 * allowed because Svelte and pdf.js set style attributes.
 * `connectExtra`: the WebSocket origin in browser mode (older engines don't count ws: as 'self').
 */
export function contentSecurityPolicy(connectExtra: string[] = []): string {
  const directives: Array<[string, string[]]> = [
    ['default-src', ["'self'"]],
    ['script-src', ["'self'", "'wasm-unsafe-eval'"]],
    ['style-src', ["'self'", "'unsafe-inline'"]],
    ['img-src', ["'self'", 'data:', 'blob:']],
    ['font-src', ["'self'", 'data:']],
    ['worker-src', ["'self'", 'blob:']],
    ['connect-src', ["'self'", ...connectExtra]],
    ['media-src', ["'none'"]],
    ['object-src', ["'none'"]],
    ['frame-src', ["'none'"]],
    ['child-src', ["'none'"]],
    ['base-uri', ["'none'"]],
    ['form-action', ["'none'"]],
    ['frame-ancestors', ["'none'"]],
  ];
  return directives.map(([name, values]) => `${name} ${values.join(' ')}`).join('; ');
}

/** For a document's own file served to the reader: nothing in it may run or load anything. */
export const DOCUMENT_FILE_CSP = "sandbox; default-src 'none'";

/** Headers every response of the app's pages carries besides the CSP. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=(), hid=(), bluetooth=()',
};
