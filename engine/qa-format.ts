import type { T5Tokenizer } from './tokenizer';

/**
 * How a question and a document become the encoder's input, shared by the assistant, the
 * default model's training data and its evaluation (they must agree token for token).
 * The question comes first and is the VIP part; the document follows and ends with </s>.
 * Flan-T5 reads this "question: … context: …" form well too.
 */
export function qaQueryText(question: string): string {
  return `question: ${question.trim().replace(/\s+/g, ' ')} context:`;
}

export function qaQueryIds(tokenizer: T5Tokenizer, question: string): number[] {
  return tokenizer.encode(qaQueryText(question), { addEos: false });
}

/** Instruction used for summaries by abstractive (imported) models. */
export function summaryQueryText(length: 'short' | 'detailed'): string {
  return length === 'short' ? 'summarize briefly:' : 'summarize in detail:';
}
