import { clip } from './format';
import type { Citation } from '../../../common/api';

function isCitation(c: unknown): c is Citation {
  if (typeof c !== 'object' || c === null) return false;
  const x = c as Record<string, unknown>;
  return typeof x.documentId === 'string' && typeof x.start === 'number' && typeof x.end === 'number' && typeof x.quote === 'string';
}

/** The citations a stored assistant message carries in its `meta` (whatever else is there is ignored). */
export function citationsOf(meta: unknown): Citation[] {
  if (typeof meta !== 'object' || meta === null) return [];
  const list = (meta as { citations?: unknown }).citations;
  return Array.isArray(list) ? list.filter(isCitation) : [];
}

/** Where a stored assistant message's answer was read from (`meta.answeredFrom`), when it says. */
export function answeredFromOf(meta: unknown): 'passages' | 'whole' | undefined {
  const v = typeof meta === 'object' && meta !== null ? (meta as { answeredFrom?: unknown }).answeredFrom : undefined;
  return v === 'passages' || v === 'whole' ? v : undefined;
}

/** Whether a stored answer was confident (`meta.confident`); messages stored before it was kept count as confident. */
export function confidentOf(meta: unknown): boolean {
  const v = typeof meta === 'object' && meta !== null ? (meta as { confident?: unknown }).confident : undefined;
  return v !== false;
}

/** Where a citation is: its page, else its chapter; an answer about a collection's citations name their document first. */
export function citationLabel(c: Citation): string {
  const where = c.page !== undefined ? `p. ${c.page}` : c.section ? c.section.title : 'passage';
  return c.documentTitle !== undefined ? `${clip(c.documentTitle, 28)}, ${where}` : where;
}
