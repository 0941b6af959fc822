/**
 * Project Gutenberg files wrap the book in a header (title, author, release notes) and a
 * long licence. Both are recognized here and kept out of the text the model reads.
 */
export interface GutenbergParts {
  body: string;
  title: string | null;
  author: string | null;
}

const START = /^[ \t]*\*{3}\s*START OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK[^\n]*$/im;
const END = /^[ \t]*\*{3}\s*END OF (?:THE|THIS) PROJECT GUTENBERG E-?BOOK[^\n]*$/im;
const END_OLD = /^[ \t]*End of (?:the |this )?Project Gutenberg'?s? [^\n]*$/im;

export function splitGutenberg(text: string): GutenbergParts | null {
  const start = START.exec(text);
  if (!start) return null;
  const header = text.slice(0, start.index);
  const afterStart = start.index + start[0].length;
  const rest = text.slice(afterStart);
  const end = END.exec(rest);
  let body = end ? rest.slice(0, end.index) : rest;
  const oldEnd = END_OLD.exec(body);
  if (oldEnd) body = body.slice(0, oldEnd.index);
  return { body, title: headerField(header, 'Title'), author: headerField(header, 'Author') };
}

function headerField(header: string, name: string): string | null {
  const m = new RegExp(`^${name}:[ \\t]*(.*(?:\\n[ \\t]+\\S.*)*)`, 'm').exec(header);
  if (!m) return null;
  const value = m[1]!.replace(/\s+/g, ' ').trim();
  return value.length > 0 ? value : null;
}
