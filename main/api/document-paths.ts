import path from 'node:path';
import { LongreadError } from '../../common/errors';

/** Extensions of the documents Longread reads (the open dialog's filter, files from the OS, paths given to the API). */
export const DOCUMENT_EXTENSIONS = ['.pdf', '.epub', '.docx', '.txt', '.text', '.md', '.markdown', '.mdown', '.mkd', '.html', '.htm', '.xhtml'];

/**
 * A path that reaches `library.add` through the API (a page, or whoever holds the server's
 * token) must look like a document: a document extension and no hidden folder or file on the
 * way. Otherwise anyone who can call the API could read `~/.ssh/id_rsa` or `~/.aws/credentials`
 * into the library and back out with `document.get`. The command line is not limited.
 */
export function checkApiDocumentPath(file: string): void {
  const parts = file.split(/[\\/]+/).filter((p) => p !== '');
  if (parts.some((p) => p.startsWith('.'))) {
    throw new LongreadError('path-refused', `${file}: files in hidden folders (names starting with a dot) are not added through the app; use \`longread library add\` if you mean it.`, { file });
  }
  const ext = path.extname(file).toLowerCase();
  if (!DOCUMENT_EXTENSIONS.includes(ext)) {
    throw new LongreadError(
      'path-refused',
      `${file}: ${ext ? `${ext} files are` : 'a file without an extension is'} not added through the app; Longread reads ${DOCUMENT_EXTENSIONS.join(' ')} (the command line \`longread library add\` also takes plain text without one).`,
      { file },
    );
  }
}
