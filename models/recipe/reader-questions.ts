/**
 * Questions about a book's own sentences, worded the way readers ask them ("Who is the chief mate?",
 * "Where does Queequeg come from?", "Whom did Elizabeth marry?"), for the training data (make-data.ts).
 *
 * A cloze question (qa-gen.ts makeCloze) repeats its sentence word for word; a reader's question shares
 * only a few of its words, often in another tense and order. Here a sentence is matched against a few
 * patterns that readers' questions come from (a name in apposition with a role, "X was the Y", "a native
 * of", "named", "lived at", "went to", a name doing something to a name), and each hit gives several
 * wordings, with the role's adjectives or its "of ..." sometimes dropped. The answer is always the span
 * of the sentence, so it can be copied. Which words are names is learned from the book itself
 * (`bookNames`): capitalized words that are seldom sentence-initial-only and seldom written lowercase.
 */
import type { Rng } from './qa-gen';

export interface ReaderQuestion {
  question: string;
  answer: string;
  /** Pattern that made it, to report per kind. */
  kind: string;
  /** Content words of the question, to pick distractor sentences that share them. */
  keywords: string[];
}

const TITLES = new Set(['Mr.', 'Mrs.', 'Miss', 'Dr.', 'Captain', 'Lady', 'Sir', 'Colonel', 'Lord', 'Professor', 'Monsieur', 'Madame', 'Aunt', 'Uncle', 'Father', 'Mother', 'King', 'Queen', 'Duchess']);
const NOT_NAMES = new Set(
  `I O Oh Ah The A An And But Or If So Yes No Not Nor Yet For In On At Of To By My Your His Her Our Their He She It We They You
What Why How When Where Who Which Then There This That These Those Sir Madam Heaven Heavens God Lord Chapter Project Gutenberg
Mr Mrs Miss Dr Well Now Here Do Did Does Is Was Were Are Be Let May Might Must Shall Should Will Would Can Could One Two All
Some Any Every Each Such Very Pray Alas Indeed Perhaps Upon After Before When While Though Although Still Even Only Good Dear`.split(/\s+/),
);
const STOP = new Set(
  `a an the of to in on at by for with from and or but is was were are be been being has have had do does did who whom whose what which
where when why how that this these those his her its their our my your he she it they we you i me him them us not no as so than then
there here into upon about after before over under very much more most some any all one two`.split(/\s+/),
);

/** Capitalized words that the book writes as names: mostly not sentence-initial, seldom lowercase. */
export function bookNames(sents: readonly string[]): Set<string> {
  const inner = new Map<string, number>();
  const lower = new Map<string, number>();
  for (const s of sents) {
    const words = s.split(' ');
    words.forEach((raw, i) => {
      const w = raw.replace(/^["'“‘(\[_]+/, '').replace(/[.,;:!?"'”’)\]_]+$/, '').replace(/['’]s$/, '');
      if (/^[a-z]+$/.test(w)) lower.set(w, (lower.get(w) ?? 0) + 1);
      else if (i > 0 && /^[A-Z][a-z]+$/.test(w) && !/[.!?:"“”]$/.test(words[i - 1]!)) inner.set(w, (inner.get(w) ?? 0) + 1);
    });
  }
  const out = new Set<string>();
  for (const [w, c] of inner) if (c >= 3 && !NOT_NAMES.has(w) && (lower.get(w.toLowerCase()) ?? 0) * 4 < c) out.add(w);
  return out;
}

// A name: an optional title and one to three capitalized words (each a book name, or any after a title).
const NAME = String.raw`((?:(?:Mr\.|Mrs\.|Miss|Dr\.|Captain|Lady|Sir|Colonel|Lord|Professor|Monsieur|Madame|Aunt|Uncle|Father|King|Queen) )?[A-Z][a-z]+(?:[ -][A-Z][a-z]+){0,2})`;
// A place: one to three capitalized words.
const PLACE = String.raw`([A-Z][a-z]+(?: [A-Z][a-z]+){0,2})`;
// A role: a determiner, up to three modifiers and a noun, optionally "of [the] Name".
const ROLE = String.raw`((?:[Tt]he|[Aa]n?|his|her|my|our|their) (?:[a-z][a-z-]* ){0,3}?[a-z][a-z-]{2,}(?: of (?:the )?[A-Z][a-z]+(?: [A-Z][a-z]+)?)?)`;
const END = String.raw`(?=[,.;:!?”"’)]| and | who | whom | which |$)`;

const IRREGULAR: Record<string, string> = {
  saw: 'see', told: 'tell', gave: 'give', took: 'take', met: 'meet', found: 'find', left: 'leave', made: 'make', knew: 'know',
  thought: 'think', brought: 'bring', sent: 'send', heard: 'hear', held: 'hold', kept: 'keep', led: 'lead', bought: 'buy',
  caught: 'catch', taught: 'teach', sought: 'seek', struck: 'strike', wrote: 'write', spoke: 'speak', forgot: 'forget',
  forgave: 'forgive', chose: 'choose', became: 'become', followed: 'follow', married: 'marry', loved: 'love', hated: 'hate',
  killed: 'kill', visited: 'visit', asked: 'ask', called: 'call', answered: 'answer', thanked: 'thank', admired: 'admire',
  liked: 'like', joined: 'join', helped: 'help', invited: 'invite', watched: 'watch', kissed: 'kiss', embraced: 'embrace',
  accompanied: 'accompany', introduced: 'introduce', received: 'receive', addressed: 'address', observed: 'observe',
  hit: 'hit', shot: 'shoot', beat: 'beat', fed: 'feed', felt: 'feel', lost: 'lose', won: 'win', went: 'go', came: 'come',
};

/** Verbs other than a past tense after which a name is the subject. */
const SUBJECT_VERBS = new Set('was had could would said cried replied answered looked turned seemed began felt knew thought'.split(' '));

/** The base form of a past-tense verb, or null when the word does not look like one. */
function verbBase(w: string, vocab: ReadonlySet<string>): string | null {
  if (IRREGULAR[w]) return IRREGULAR[w]!;
  if (!/^[a-z]{4,}ed$/.test(w)) return null;
  if (w.endsWith('ied')) return w.slice(0, -3) + 'y';
  const stem = w.slice(0, -2);
  if (/([bdgklmnprt])\1$/.test(stem) && !/ll$/.test(stem)) return stem.slice(0, -1);
  if (vocab.has(stem + 'e') && !vocab.has(stem)) return stem + 'e';
  return stem;
}

/** The role as a question names it: "the" for any determiner, modifiers and "of ..." sometimes dropped. */
function roleWording(role: string, r: Rng): string {
  let words = role.split(' ');
  words[0] = 'the';
  const of = words.indexOf('of');
  if (of > 0 && r.next() < 0.35) words = words.slice(0, of);
  const head = of > 0 && words.includes('of') ? of - 1 : words.length - 1;
  const mods = words.slice(1, head);
  if (mods.length > 0 && r.next() < 0.3) {
    const keep = mods.filter(() => r.next() < 0.5);
    words = ['the', ...keep, ...words.slice(head)];
  }
  return words.join(' ');
}

const NOT_ROLES = /(?:tion|ment|ness|ity|ing|ful|ous|ive|able|ible|less|ish|ly)$/;

function roleQuestion(role: string, r: Rng): string | null {
  const head = role.replace(/ of .*$/, '').split(' ').pop()!;
  if (NOT_ROLES.test(head) || STOP.has(head)) return null;
  const the = roleWording(role, r);
  const bare = the.slice(4);
  const forms = [
    `Who is ${the}?`,
    `Who was ${the}?`,
    `What is the name of ${the}?`,
    `What was ${the} called?`,
    `Who is ${the} in the story?`,
    `Which character is ${the}?`,
    `Name ${the}.`,
  ];
  if (!bare.includes(' of ')) forms.push(`What is ${the}'s name?`, `Who is the ${bare} called?`);
  return r.pick(forms);
}

function valid(name: string, names: ReadonlySet<string>): boolean {
  const parts = name.split(/[ -]/);
  const hasTitle = TITLES.has(parts[0]!);
  return parts.every((p, i) => (i === 0 && hasTitle) || names.has(p) || (hasTitle && /^[A-Z][a-z]+$/.test(p))) && !NOT_NAMES.has(parts[parts.length - 1]!);
}

/** Words cut from a longer phrase, without a dangling function word at the end; null when too little is left. */
function phrase(words: string[]): string | null {
  let n = words.length;
  while (n > 0 && STOP.has(words[n - 1]!.toLowerCase().replace(/[^a-z']/g, ''))) n--;
  return n >= 2 ? words.slice(0, n).join(' ') : null;
}

function keywordsOf(q: string): string[] {
  return [...new Set(q.toLowerCase().replace(/[^a-z' -]/g, ' ').split(/\s+/).filter((w) => w.length > 2 && !STOP.has(w)))];
}

/**
 * Every reader question the sentence gives (several wordings of one pattern count once; one is drawn).
 * `vocab` is the book's lowercase words (to tell "loved" from "lov-ed").
 */
export function readerQuestions(sentence: string, names: ReadonlySet<string>, vocab: ReadonlySet<string>, r: Rng): ReaderQuestion[] {
  const s = sentence;
  if (s.length < 12 || s.length > 400) return [];
  const out: ReaderQuestion[] = [];
  const add = (kind: string, question: string | null, answer: string) => {
    if (!question || !s.includes(answer) || question.includes(answer)) return;
    out.push({ kind, question, answer, keywords: keywordsOf(question) });
  };
  const each = (re: string, f: (m: RegExpExecArray) => void) => {
    const rx = new RegExp(re, 'g');
    for (let m = rx.exec(s); m; m = rx.exec(s)) f(m);
  };
  // "Perth, the old blacksmith," / "Stubb was the second mate" -> Who is the (old) blacksmith?
  each(`${NAME}, ${ROLE}${END}`, (m) => valid(m[1]!, names) && add('role', roleQuestion(m[2]!, r), m[1]!));
  each(`${NAME} (?:was|is) ${ROLE}${END}`, (m) => valid(m[1]!, names) && add('role', roleQuestion(m[2]!, r), m[1]!));
  // "the chief mate, Starbuck," / "The third mate was Flask"
  each(`(?:^|, )${ROLE}, ${NAME}${END}`, (m) => valid(m[2]!, names) && !/^(?:his|her|my|our|their) /.test(m[1]!) && add('role', roleQuestion(m[1]!, r), m[2]!));
  each(`(?:^|, )${ROLE} (?:was|is) ${NAME}${END}`, (m) => valid(m[2]!, names) && add('role', roleQuestion(m[1]!, r), m[2]!));
  // "Queequeg was a native of Rokovoko" -> Where does Queequeg come from?
  each(`${NAME},? (?:was |is )?(?:a|an) (?:[a-z]+ )?native of (?:the )?${PLACE}`, (m) => {
    if (!valid(m[1]!, names)) return;
    add('origin', r.pick([`Where is ${m[1]} from?`, `Where does ${m[1]} come from?`, `Where did ${m[1]} come from?`, `What is ${m[1]}'s home?`, `Where was ${m[1]} born?`]), m[2]!);
  });
  each(`${NAME} was born (?:in|at) (?:the )?${PLACE}`, (m) => valid(m[1]!, names) && add('origin', r.pick([`Where was ${m[1]} born?`, `Where is ${m[1]} from?`, `In which place was ${m[1]} born?`]), m[2]!));
  // "a ship called the Rachel" -> What is the name of the ship?
  each(`(?:a|an|the|his|her) ((?:[a-z]+ )?[a-z]{3,}),? (?:named|called|nicknamed|christened) (?:the )?${NAME}`, (m) => {
    if (!valid(m[2]!, names) && !/^[A-Z][a-z]+$/.test(m[2]!)) return;
    const thing = m[1]!;
    add('named', r.pick([`What is the name of the ${thing}?`, `What was the ${thing} called?`, `What is the ${thing}'s name?`, `What is the ${thing} called?`]), m[2]!);
  });
  // "Mr. Collins lived at Hunsford" / "Elizabeth went to Pemberley"
  const PLACE_VERBS: Record<string, string> = { lived: 'live', dwelt: 'live', resided: 'live', stayed: 'stay', went: 'go', came: 'come', returned: 'return', travelled: 'travel', traveled: 'travel', arrived: 'arrive', sailed: 'sail', removed: 'move', hastened: 'go', walked: 'walk', fled: 'flee', settled: 'settle' };
  each(`${NAME} (${Object.keys(PLACE_VERBS).join('|')}) (?:back )?(?:to|at|in|into|for) (?:the )?${PLACE}`, (m) => {
    if (!valid(m[1]!, names)) return;
    const base = PLACE_VERBS[m[2]!]!;
    add('place', r.pick([`Where did ${m[1]} ${base}?`, `Where does ${m[1]} ${base}?`, `To what place did ${m[1]} ${base}?`, `Where had ${m[1]} ${m[2]}?`]), m[3]!);
  });
  // "Elizabeth refused Mr. Collins" -> Whom did Elizabeth refuse? / Who refused Mr. Collins?
  each(`${NAME} ([a-z]{3,}) ${NAME}${END}`, (m) => {
    const base = verbBase(m[2]!, vocab);
    if (!base || !valid(m[1]!, names) || !valid(m[3]!, names)) return;
    add('object', r.pick([`Whom did ${m[1]} ${base}?`, `Who did ${m[1]} ${base}?`, `Who does ${m[1]} ${base}?`]), m[3]!);
    add('subject', r.pick([`Who ${m[2]} ${m[3]}?`, `Which character ${m[2]} ${m[3]}?`]), m[1]!);
  });
  // "Gatsby bought the house across the bay" -> Who bought the house across the bay? / What did Gatsby buy?
  each(`(?:^|[,;] |, and |but |when |while |that |until |as |then |[“"‘])${NAME} ([a-z]{3,}) ((?:[a-z'’-]+ ?){1,8})`, (m) => {
    const verb = m[2]!;
    const base = verbBase(verb, vocab);
    if (!valid(m[1]!, names) || !(base || SUBJECT_VERBS.has(verb))) return;
    const rest = m[3]!.trim().split(' ');
    if (verb !== 'was' && STOP.has(rest[0]!) && !/^(the|a|an|his|her|their|to|into|at|in|up|out|down|away|back)$/.test(rest[0]!)) return;
    const n = Math.min(rest.length, r.int(2, 6));
    const said = phrase(rest.slice(0, n));
    if (said) add('subject', `${r.pick(['Who', 'Who', 'Which character', 'Which person'])} ${verb} ${said}?`, m[1]!);
    const obj = /^((?:the|a|an|his|her|their) (?:[a-z-]+ ){0,2}[a-z-]{3,})$/.exec(rest.slice(0, Math.min(rest.length, 4)).join(' '));
    if (base && obj && !STOP.has(obj[1]!.split(' ').pop()!)) add('thing', r.pick([`What did ${m[1]} ${base}?`, `What does ${m[1]} ${base}?`]), obj[1]!);
  });
  // "“I shall go,” said Elizabeth" -> Who said "I shall go"?
  each(`[“"]([^”"]{8,120}?)[,!?]?[”"],? (said|cried|replied|answered|exclaimed|returned|observed|added|continued|whispered|shouted) ${NAME}`, (m) => {
    if (!valid(m[3]!, names)) return;
    const words = m[1]!.replace(/[,;:!?.]+$/, '').split(' ');
    const quote = phrase(words.slice(0, Math.min(words.length, r.int(3, 8))));
    if (quote) add('speaker', `${r.pick(['Who said', 'Who says', 'Which character said'])} “${quote}”?`, m[3]!);
  });
  // "Elizabeth stayed at Netherfield for three days" -> Where did Elizabeth stay?
  each(`${NAME} ([a-z]{3,})(?: [a-z]+){0,3}? (?:to|at|in|into|from|near) (?:the )?${PLACE}${END}`, (m) => {
    const base = verbBase(m[2]!, vocab) ?? (m[2] === 'was' ? 'be' : null);
    if (!base || !valid(m[1]!, names) || !names.has(m[3]!.split(' ')[0]!)) return;
    add('place', base === 'be' ? `Where was ${m[1]}?` : r.pick([`Where did ${m[1]} ${base}?`, `Where does ${m[1]} ${base}?`, `To what place did ${m[1]} ${base}?`]), m[3]!);
  });
  return out;
}
