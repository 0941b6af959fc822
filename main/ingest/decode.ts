import chardet from 'chardet';
import iconv from 'iconv-lite';

/**
 * Decodes a text file of unknown encoding: a byte-order mark wins, then strict UTF-8, then
 * the encoding chardet finds most likely (old Project Gutenberg files are Windows-1252).
 */
export function decodeText(bytes: Uint8Array): { text: string; encoding: string } {
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return { text: utf8(bytes.subarray(3)), encoding: 'utf-8' };
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { text: iconv.decode(Buffer.from(bytes.subarray(2)), 'utf-16le'), encoding: 'utf-16le' };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { text: iconv.decode(Buffer.from(bytes.subarray(2)), 'utf-16be'), encoding: 'utf-16be' };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'utf-8' };
  } catch {
    // not UTF-8: fall through to detection
  }
  const guess = chardet.detect(detectionSample(bytes));
  const encoding = guess && iconv.encodingExists(guess) ? guess : 'windows-1252';
  return { text: iconv.decode(Buffer.from(bytes), encoding), encoding: encoding.toLowerCase() };
}

/** chardet reads every byte it is given (about 1 MB/s); slices spread over the file tell as much. */
function detectionSample(bytes: Uint8Array, slices = 8, sliceBytes = 16 * 1024): Uint8Array {
  if (bytes.length <= slices * sliceBytes) return bytes;
  const out = new Uint8Array(slices * sliceBytes);
  const step = Math.floor((bytes.length - sliceBytes) / (slices - 1));
  for (let i = 0; i < slices; i++) out.set(bytes.subarray(i * step, i * step + sliceBytes), i * sliceBytes);
  return out;
}

function utf8(bytes: Uint8Array): string {
  return new TextDecoder('utf-8').decode(bytes);
}

/** True when the bytes look like a binary file rather than text (NUL bytes in the first 8 KiB). */
export function looksBinary(bytes: Uint8Array): boolean {
  const n = Math.min(bytes.length, 8192);
  // UTF-16 text has NULs too, but it starts with a byte-order mark.
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) return false;
  for (let i = 0; i < n; i++) if (bytes[i] === 0) return true;
  return false;
}

/** Normalizes line ends (CRLF, CR, NEL, LS, PS) to \n and drops other control characters. */
export function normalizeNewlines(text: string): string {
  return text
    .replace(/\r\n?|\u0085|\u2028|\u2029/g, '\n')
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '');
}
