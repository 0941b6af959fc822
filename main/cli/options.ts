import { InvalidArgumentError } from 'commander';

/** Commander parser for a whole number ≥ min. */
export function intOption(min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`expected a whole number ≥ ${min}, got "${value}"`);
    }
    return n;
  };
}

/** Commander parser for `N` or `N-M` (whole numbers ≥ 1, N ≤ M): an inclusive range. */
export function rangeOption(value: string): { from: number; to: number } {
  const m = /^\s*(\d+)\s*(?:[-–]\s*(\d+))?\s*$/.exec(value);
  const from = m ? Number(m[1]) : NaN;
  const to = m?.[2] !== undefined ? Number(m[2]) : from;
  if (!m || !Number.isSafeInteger(from) || !Number.isSafeInteger(to) || from < 1 || to < from) {
    throw new InvalidArgumentError(`expected N or N-M with 1 ≤ N ≤ M, got "${value}"`);
  }
  return { from, to };
}

/** Commander parser for one of a fixed set of words. */
export function choiceOption<T extends string>(choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${choices.join(', ')}`);
    return value as T;
  };
}

/** Commander parser for a comma-separated id list such as 5,17,42. */
export function idListOption(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (parts.length === 0) throw new InvalidArgumentError('expected comma-separated token ids, e.g. 5,17,42');
  return parts.map((p) => {
    if (!/^\d+$/.test(p)) throw new InvalidArgumentError(`"${p}" is not a token id (a whole number ≥ 0)`);
    return Number(p);
  });
}
