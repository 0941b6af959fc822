/**
 * Question generators shared by the training-data script and the evaluation (tests/bench/default-model-eval.ts):
 * inserted facts (a sentence stating a made-up fact, put at a random depth of real text) and cloze entity /
 * number questions built from real sentences. Answers are always spans of the document.
 * `split` keeps roles and values disjoint between training and evaluation.
 */
import { seededRandom } from '../../scripts/make-tiny-t5';

export type Split = 'train' | 'eval';

/** The seeded PRNG of the test checkpoints, with inclusive integer ranges and picks. */
export function rng(seed: number) {
  const { uniform: next } = seededRandom(seed);
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
  };
}
export type Rng = ReturnType<typeof rng>;

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
/** One word in five goes to evaluation, the rest to training. */
function inSplit(s: string, split: Split): boolean {
  return (hash(s) % 5 === 0) === (split === 'eval');
}

const ROLES = `lighthouse keeper,old captain,village baker,young doctor,ship's cook,head gardener,night watchman,royal tailor,
blacksmith,innkeeper,ferryman,schoolmaster,miller,shepherd,librarian,clockmaker,fisherman,harbour master,stable boy,
carpenter,governess,butler,chemist,bishop,magistrate,postman,printer,weaver,potter,jeweller,astronomer,surgeon,
coachman,gamekeeper,parson,merchant,sailor,soldier,painter,sculptor,musician,banker,lawyer,judge,duchess,baron,
countess,mayor,sheriff,hermit,pilot,engineer,botanist,chef,farmer,brewer,locksmith,cobbler,barber,grocer,nurse,
professor,student,poet,singer,dancer,hunter,trapper,guard,porter,clerk,steward,housekeeper,bookseller,glassblower,
beekeeper,ropemaker,shipwright,cartographer,falconer,gardener's daughter,mason,tanner,chandler,vintner`
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);

const PETS = ['dog', 'cat', 'horse', 'parrot', 'goat', 'pony', 'canary', 'tortoise', 'donkey', 'owl', 'raven', 'ferret', 'hound', 'mule'];
const THINGS = ['barrels', 'books', 'lanterns', 'coins', 'keys', 'candles', 'bottles', 'maps', 'letters', 'clocks', 'ropes', 'boxes', 'chairs', 'sacks'];
const OBJECTS = ['silver key', 'old map', 'gold ring', 'letter', 'diary', 'brass compass', 'small box', 'red scarf', 'pocket watch', 'iron coin'];
const PLACES = `cellar,attic,garden,chapel,stable,barn,library,kitchen,boathouse,tower,orchard,mill,harbour,cottage,forge,bakery,
vestry,greenhouse,warehouse,lighthouse,granary,pantry,wine cellar,old well,hollow oak,east wing`
  .split(',')
  .map((s) => s.trim());
const CITIES = `Paris,London,Vienna,Lisbon,Madrid,Rome,Naples,Dublin,Edinburgh,Boston,Quebec,Cairo,Lima,Oslo,Prague,Warsaw,Geneva,
Antwerp,Bristol,Hamburg,Marseille,Seville,Venice,Bombay,Canton,Calcutta,Sydney,Halifax,Bergen,Riga,Tunis,Algiers,
Smyrna,Odessa,Kiev,Moscow,Florence,Milan,Turin,Zurich,Lyon,Bordeaux,Porto,Cadiz,Malta,Corfu,Athens,Valparaiso`
  .split(',')
  .map((s) => s.trim());
const NAMES = `Adelaide,Albert,Amelia,Arthur,Beatrice,Bertram,Cecily,Clement,Cordelia,Cyril,Dorothea,Edmund,Eleanor,Ernest,
Florence,Frederick,Georgiana,Gilbert,Harriet,Horace,Isadora,Jasper,Josephine,Lavinia,Leopold,Lucinda,Matilda,
Montague,Nathaniel,Octavia,Percival,Philippa,Rosalind,Rupert,Seraphina,Silas,Theodora,Tobias,Ursula,Vivian,Wilfred,
Winifred,Ambrose,Augusta,Barnaby,Clementine,Cornelius,Delphine,Eustace,Felicity,Gideon,Hester,Ignatius,Imogen,
Jemima,Lysander,Marigold,Mortimer,Ophelia,Peregrine,Prudence,Quentin,Rowena,Septimus,Tabitha,Thaddeus,Wilhelmina,
Zachary,Agatha,Basil,Constance,Digby,Edwina,Fitzroy,Griselda,Hubert,Isolde,Jethro,Kezia,Lionel,Mabel,Neville,
Orville,Pandora,Reginald,Sybil,Tristram,Una,Valentine,Wendell,Xavier,Yolanda,Zebedee`
  .split(',')
  .map((s) => s.trim());
const COLORS = ['crimson', 'scarlet', 'indigo', 'violet', 'amber', 'emerald', 'turquoise', 'ochre', 'lilac', 'maroon', 'saffron', 'cobalt', 'ivory', 'olive', 'teal'];

export interface Fact {
  statement: string;
  question: string;
  answer: string;
  /** Kind of fact, to report per kind. */
  kind: string;
}

/**
 * A made-up fact. `kindIndex` (0..FACT_KINDS-1) picks the template, random when omitted. `words` is a pool
 * of lowercase words to draw passwords from (filtered by split here). Roles and values are disjoint between
 * the splits.
 */
export const FACT_KINDS = 9;

/** Nouns for made-up roles: `${word} ${noun}`, e.g. "harbour keeper" (see makeFact's wordRoles). */
const ROLE_NOUNS = ['keeper', 'maker', 'seller', 'guard', 'master', 'warden', 'collector', 'mender'];

/**
 * wordRoles: chance (training only) that the role is made from a random word of `words` and a noun
 * instead of the fixed role list, so the model cannot learn roles by heart and has to match the
 * question's words against the document's. openValues: the same for the answers (see below).
 */
export function makeFact(r: Rng, split: Split, words: readonly string[], usedRoles: Set<string> = new Set(), kindIndex?: number, wordRoles = 0, openValues = 0): Fact {
  let role: string;
  if (wordRoles > 0 && split === 'train' && r.next() < wordRoles) {
    do role = `${r.pick(words).toLowerCase()} ${r.pick(ROLE_NOUNS)}`;
    while (usedRoles.has(role));
  } else {
    const roles = ROLES.filter((x) => inSplit(x, split) && !usedRoles.has(x));
    role = r.pick(roles.length ? roles : ROLES);
  }
  usedRoles.add(role);
  const cap = (w: string) => w[0]!.toUpperCase() + w.slice(1);
  const pool = (xs: readonly string[]) => {
    const f = xs.filter((x) => inSplit(x, split));
    return f.length ? f : xs;
  };
  const kind = kindIndex ?? r.int(0, FACT_KINDS - 1);
  // openValues: chance (training only) that a name, place, city or colour is a random word instead of one
  // from its list, so the answer can only be copied from the document, never recalled.
  const open = openValues > 0 && split === 'train' && r.next() < openValues;
  const word = () => r.pick(pool(words)).toLowerCase();
  switch (kind) {
    case 0: {
      const v = cap(r.pick(pool(words)));
      return { kind: 'password', statement: `The secret password of the ${role} is ${v}.`, question: `What is the secret password of the ${role}?`, answer: v };
    }
    case 1: {
      const n = String(r.int(1000, 1999));
      return { kind: 'year', statement: `The ${role} was born in the year ${n}.`, question: `In what year was the ${role} born?`, answer: n };
    }
    case 2: {
      const pet = r.pick(PETS);
      const v = open ? cap(word()) : r.pick(pool(NAMES));
      return { kind: 'name', statement: `The ${role} had a ${pet} named ${v}.`, question: `What was the name of the ${role}'s ${pet}?`, answer: v };
    }
    case 3: {
      const t = r.pick(THINGS);
      const n = String(r.int(2, 999));
      return { kind: 'number', statement: `The ${role} kept ${n} ${t} in the storeroom.`, question: `How many ${t} did the ${role} keep in the storeroom?`, answer: n };
    }
    case 4: {
      const o = r.pick(OBJECTS);
      const p = open ? word() : r.pick(pool(PLACES));
      return { kind: 'place', statement: `The ${role} hid the ${o} in the ${p}.`, question: `Where did the ${role} hide the ${o}?`, answer: `the ${p}` };
    }
    case 5: {
      const c = open ? cap(word()) : r.pick(pool(CITIES));
      return { kind: 'city', statement: `The ${role} was born in the city of ${c}.`, question: `In which city was the ${role} born?`, answer: c };
    }
    case 6: {
      const v = open ? cap(word()) : r.pick(pool(NAMES));
      return { kind: 'name', statement: `The real name of the ${role} was ${v}.`, question: `What was the real name of the ${role}?`, answer: v };
    }
    case 7: {
      const c = open ? word() : r.pick(pool(COLORS));
      return { kind: 'color', statement: `The favourite colour of the ${role} was ${c}.`, question: `What was the favourite colour of the ${role}?`, answer: c };
    }
    default: {
      const n = String(r.int(10, 9999));
      return { kind: 'number', statement: `The magic number of the ${role} is ${n}.`, question: `What is the magic number of the ${role}?`, answer: n };
    }
  }
}

const NUMBER_WORDS = new Set('two three four five six seven eight nine ten eleven twelve fifteen twenty thirty forty fifty hundred thousand'.split(' '));
const NOT_NAMES = new Set(
  `I I'm I've I'll I'd O Oh Ah The A An And But Or If So Yes No Not Nor Yet For In On At Of To By My Your His Her Our Their
He She It We They You What Why How When Where Who Which Then There This That These Those Sir Madam Heaven Heavens God Lord`.split(/\s+/),
);
const PREPOSITIONS = new Set('in at to from into near towards toward through across for of upon on'.split(' '));

export interface Cloze {
  question: string;
  answer: string;
  kind: 'entity' | 'number';
}

const strip = (w: string) => w.replace(/^["'“‘(\[_]+/, '').replace(/[.,;:!?"'”’)\]_]+$/, '');

/**
 * A cloze question from a real sentence: a capitalized name (not sentence-initial) or a number is the
 * answer; the question is the sentence with that span replaced by a wh-word. Null when the sentence
 * has no usable span or is too short / long.
 */
export function makeCloze(sentence: string, r: Rng, maxWords = 28): Cloze | null {
  const words = sentence.split(' ');
  if (words.length < 6 || words.length > maxWords) return null;
  type Span = { i: number; j: number; kind: 'entity' | 'number' };
  const spans: Span[] = [];
  for (let i = 1; i < words.length; i++) {
    const w = strip(words[i]!);
    const prevEnds = /[.!?:;"“”]$/.test(words[i - 1]!);
    if (/^\d[\d,]*$/.test(w) || NUMBER_WORDS.has(w.toLowerCase()) && w === w.toLowerCase()) {
      if (words[i] === w || /^[^\d\w]*\d[\d,]*[.,;:!?]?$/.test(words[i]!) || NUMBER_WORDS.has(w)) spans.push({ i, j: i + 1, kind: 'number' });
      continue;
    }
    if (!prevEnds && /^[A-Z][a-z]+$/.test(w) && !NOT_NAMES.has(w)) {
      // extend over following capitalized words (no punctuation between)
      let j = i + 1;
      while (j < words.length && j - i < 3 && words[j - 1] === strip(words[j - 1]!) && /^[A-Z][a-z]+$/.test(strip(words[j]!)) && !NOT_NAMES.has(strip(words[j]!))) j++;
      // include a preceding title
      const s = i >= 2 && /^(Mr|Mrs|Miss|Dr|Captain|Lady|Sir|Colonel|Lord)\.?$/.test(words[i - 1]!) ? i - 1 : i;
      if (s === 0) continue;
      spans.push({ i: s, j, kind: 'entity' });
      i = j - 1;
    }
  }
  if (spans.length === 0) return null;
  const sp = r.pick(spans);
  const answerWords = words.slice(sp.i, sp.j);
  const last = answerWords.length - 1;
  const lead = answerWords[0]!.match(/^["'“‘(\[_]+/)?.[0] ?? '';
  const trail = answerWords[last]!.match(/[.,;:!?"'”’)\]_]+$/)?.[0] ?? '';
  answerWords[0] = answerWords[0]!.slice(lead.length);
  answerWords[last] = answerWords[last]!.slice(0, answerWords[last]!.length - trail.length);
  const answer = answerWords.join(' ');
  if (!answer) return null;
  const prev = strip(words[sp.i - 1] ?? '').toLowerCase();
  const wh = sp.kind === 'number' ? 'how many' : PREPOSITIONS.has(prev) ? 'where' : 'who';
  const q = [...words.slice(0, sp.i), lead + wh + trail, ...words.slice(sp.j)].join(' ');
  const question = q.replace(/[.!;:,]+(["'”’)]*)$/, '$1').replace(/\?*$/, '') + '?';
  return { question, answer, kind: sp.kind };
}

// ---------- scoring (SQuAD-style normalization) ----------

export function normalizeAnswer(s: string): string {
  return s
    .toLowerCase()
    .replace(/[’‘]/g, "'")
    .replace(/[^\p{L}\p{N}\s]/gu, ' ')
    .replace(/\b(a|an|the)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function exactMatch(pred: string, gold: string): number {
  return normalizeAnswer(pred) === normalizeAnswer(gold) ? 1 : 0;
}

export function f1Score(pred: string, gold: string): number {
  const p = normalizeAnswer(pred).split(' ').filter(Boolean);
  const g = normalizeAnswer(gold).split(' ').filter(Boolean);
  if (p.length === 0 || g.length === 0) return p.length === g.length ? 1 : 0;
  const counts = new Map<string, number>();
  for (const t of g) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of p) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      same++;
      counts.set(t, c - 1);
    }
  }
  if (same === 0) return 0;
  const prec = same / p.length;
  const rec = same / g.length;
  return (2 * prec * rec) / (prec + rec);
}
