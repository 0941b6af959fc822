/**
 * The English piece inventory of the tiny test tokenizer, in priority order: what is listed first
 * survives when the vocabulary budget is small. Single characters come first so any text in the
 * covered alphabet tokenizes without <unk>.
 */

export const META = '\u2581';

const ASCII = Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i));
const TYPOGRAPHIC = [...'’‘“”—–…éèàçñüöäïâêôîûæœŒÉÀ«»°£§¡¿×·•™©®'];

const WORDS = `the of and to a in that was he it his is with as for had you I not be her on at by which have or from
this him but all she they were my are me one their so an said them we who would been will no when there if more out
up into do any your what has man could other than our some very time upon about may its only now like little then can
should made did us such a great before must two these see know over much down after first Mr good men own never most
old shall day where those came come himself way work life without go make well through being long say might how am
too even def under while last think again place many Captain whale ship sea Elizabeth Darcy Bennet monster father
thought eyes hand upon though nothing still every found away here mind heart night head house life moment something`
  .split(/\s+/)
  .filter(Boolean);

const CAPITALIZED = ['The', 'I', 'He', 'She', 'It', 'But', 'And', 'In', 'A', 'This', 'They', 'We', 'You', 'What', 'There', 'When'];

const SUBWORDS = `ing ed er es ly tion ment ness ous ful able est al ic ity ive less en s th he in an re on at nd ou ea st
or ar ll ve se ha le it ng hi is ti te ro me ri ne de co ch sh ow wh ght ter ver per`
  .split(/\s+/)
  .filter(Boolean);

/** Pieces in priority order (without special tokens), duplicates removed. */
export function englishPieces(): string[] {
  const ordered = [
    META,
    ...ASCII,
    ...ASCII.filter((c) => /[A-Za-z0-9]/.test(c)).map((c) => META + c),
    ...TYPOGRAPHIC,
    ...[...'"\'(-[“‘*_'].map((c) => META + c),
    ...CAPITALIZED.map((w) => META + w),
    ...WORDS.map((w) => META + w),
    ...SUBWORDS,
    ...TYPOGRAPHIC.map((c) => META + c),
    ...ASCII.filter((c) => !/[A-Za-z0-9]/.test(c)).map((c) => META + c),
  ];
  return [...new Set(ordered)];
}

/** Unigram log-probabilities: longer, more frequent pieces score higher so words beat spelling out. */
export function pieceScore(piece: string, rank: number): number {
  const body = piece.startsWith(META) ? piece.slice(1) : piece;
  if (body.length <= 1) return piece.startsWith(META) ? -11 : -12;
  return -4 - 3 / body.length - rank * 0.001;
}
