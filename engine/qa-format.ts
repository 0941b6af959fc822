import type { T5Tokenizer } from './tokenizer';

/**
 * How a question and a document become the encoder's input, shared by the assistant, the
 * default model's training data and its evaluation (they must agree token for token).
 * The question comes first and is the VIP part; the document follows and ends with </s>.
 * Flan-T5 reads this "question: … context: …" form well too.
 */
export function qaQueryText(question: string, previous?: PreviousTurn | null): string {
  const flat = (t: string) => t.trim().replace(/\s+/g, ' ');
  if (!previous || flat(previous.question) === '') return `question: ${flat(question)} context:`;
  const answer = flat(previous.answer);
  return `previous question: ${flat(previous.question)}${answer ? ` previous answer: ${answer}` : ''} question: ${flat(question)} context:`;
}

/** The turn before a follow-up question in a chat: its question and the answer shown ('' when none was). */
export interface PreviousTurn {
  question: string;
  answer: string;
}

export function qaQueryIds(tokenizer: T5Tokenizer, question: string): number[] {
  return tokenizer.encode(qaQueryText(question), { addEos: false });
}

/**
 * A follow-up question's query: the previous turn first, then the question, within `maxTokens`
 * (the VIP budget, so the question itself is never pushed out of the VIP tokens). What does not
 * fit is cut from the end of the previous answer, then from the start of the previous question;
 * when even the question alone is over the budget, the previous turn is left out.
 */
export function qaFollowUpQuery(tokenizer: T5Tokenizer, question: string, previous: PreviousTurn | null | undefined, maxTokens: number): { text: string; ids: number[] } {
  const encode = (text: string) => ({ text, ids: tokenizer.encode(text, { addEos: false }) });
  const alone = encode(qaQueryText(question));
  if (!previous || previous.question.trim() === '' || alone.ids.length >= maxTokens) return alone;
  const answerWords = previous.answer.trim().split(/\s+/).filter(Boolean);
  const questionWords = previous.question.trim().split(/\s+/).filter(Boolean);
  const attempt = (a: number, q: number) => encode(qaQueryText(question, { question: questionWords.slice(questionWords.length - q).join(' '), answer: answerWords.slice(0, a).join(' ') }));
  const fits = (a: number, q: number) => attempt(a, q).ids.length <= maxTokens;
  const whole = attempt(answerWords.length, questionWords.length);
  if (whole.ids.length <= maxTokens) return whole;
  // the longest prefix of the answer that fits beside the whole previous question
  if (fits(0, questionWords.length)) return attempt(largest(answerWords.length, (a) => fits(a, questionWords.length)), questionWords.length);
  return attempt(0, largest(questionWords.length, (q) => fits(0, q)));
}

/** The largest n in [0, max] with ok(n), given ok(0) and that ok holds up to some n and not beyond. */
function largest(max: number, ok: (n: number) => boolean): number {
  let lo = 0;
  let hi = max;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Instruction used for summaries by abstractive (imported) models. */
export function summaryQueryText(length: 'short' | 'detailed'): string {
  return length === 'short' ? 'summarize briefly:' : 'summarize in detail:';
}
