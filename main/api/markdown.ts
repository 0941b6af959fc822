import { z } from 'zod';
import type { ChatInfo, ChatMessage, Citation, Markdown, SummaryResult } from '../../common/api';

const citationSchema = z.object({
  start: z.number(),
  end: z.number(),
  quote: z.string(),
  page: z.number().optional(),
  section: z.object({ index: z.number(), title: z.string() }).optional(),
  documentTitle: z.string().optional(),
});
const metaSchema = z.object({ citations: z.array(citationSchema).optional(), model: z.string().optional() }).loose();

/** A chat as Markdown: each question and answer, with the answer's citations as quotes. */
export function chatMarkdown(chat: ChatInfo, messages: ChatMessage[], documentTitle: string | null, now = new Date(), collectionName: string | null = null): Markdown {
  const lines = [`# ${inline(chat.title || 'Chat')}`, ''];
  const about = documentTitle ? `About “${inline(documentTitle)}”. ` : collectionName ? `About the collection “${inline(collectionName)}”. ` : '';
  lines.push(`_${about}Exported from Longread on ${now.toISOString().slice(0, 10)}._`, '');
  for (const m of messages) {
    if (m.role === 'system') continue;
    lines.push(`**${m.role === 'user' ? 'You' : 'Longread'}:** ${m.content.trim()}`, '');
    const meta = metaSchema.safeParse(m.meta);
    const citations = meta.success ? (meta.data.citations ?? []) : [];
    for (const c of citations) lines.push(...quoteLines(c), '');
  }
  return { fileName: fileNameFor(documentTitle ?? collectionName ?? chat.title, 'chat'), markdown: lines.join('\n').trimEnd() + '\n' };
}

/** A summary as Markdown: the summary, its per-section summaries, then its sources. */
export function summaryMarkdown(summary: SummaryResult, documentTitle: string, sectionTitle: string | null): Markdown {
  const heading = sectionTitle ? `${documentTitle} — ${sectionTitle}` : documentTitle;
  const lines = [`# Summary: ${inline(heading)}`, '', `_${summary.kind === 'extractive' ? 'Extractive' : 'Abstractive'} summary by ${inline(summary.model)}._`, '', summary.summary.trim(), ''];
  for (const s of summary.sections) lines.push(`## ${inline(s.title || `Section ${s.index + 1}`)}`, '', s.summary.trim(), '');
  if (summary.citations.length > 0) {
    lines.push('## Sources', '');
    for (const c of summary.citations) lines.push(...quoteLines(c), '');
  }
  return { fileName: fileNameFor(heading, 'summary'), markdown: lines.join('\n').trimEnd() + '\n' };
}

function quoteLines(c: Pick<Citation, 'start' | 'end' | 'quote' | 'page' | 'section' | 'documentTitle'>): string[] {
  const where = [c.documentTitle !== undefined ? `“${inline(c.documentTitle)}”` : null, c.page !== undefined ? `p. ${c.page}` : null, c.section ? inline(c.section.title) : null, `characters ${c.start}–${c.end}`].filter(Boolean).join(', ');
  const quote = c.quote.trim().split(/\r?\n/).map((l) => `> ${l}`);
  return [...quote, `> — ${where}`];
}

/** One line, no Markdown heading/emphasis surprises from titles. */
function inline(text: string): string {
  return text.replace(/\s+/g, ' ').trim().replace(/([*_`#[\]\\])/g, '\\$1');
}

/** A portable file name: no characters Windows, macOS or Linux refuse, at most 100 characters. */
export function fileNameFor(title: string, kind: 'chat' | 'summary'): string {
  const base = title.replace(/[\u0000-\u001f<>:"/\\|?*]+/g, ' ').replace(/\s+/g, ' ').trim().replace(/^\.+|\.+$/g, '').slice(0, 100).trim() || 'Longread';
  return `${base} - ${kind}.md`;
}
