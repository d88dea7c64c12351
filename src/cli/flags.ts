// Parsers of every numeric and list flag of the `distil` command, in one place: each checks its
// value and names the flag in the error (commander prints it and exits), so no command turns
// `--batch-size 0`, `-3`, `abc` or `2.5` into an internal error later.
import { InvalidArgumentError } from 'commander';

const describe = (v: string): string => JSON.stringify(v);

/** An integer flag in [min, max]. */
export function intFlag(flag: string, min = 1, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`${flag} must be an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? '...' : max}], got ${describe(v)}`);
    return n;
  };
}

/** A seed: an integer in [0, 2^32). */
export const seedFlag = (flag: string) => intFlag(flag, 0, 2 ** 32 - 1);

/** A number flag in (0, 1] (a share). */
export function ratioFlag(flag: string) {
  return (v: string): number => {
    const x = Number(v);
    if (v.trim() === '' || !(x > 0 && x <= 1)) throw new InvalidArgumentError(`${flag} must be a number in (0, 1], got ${describe(v)}`);
    return x;
  };
}

/** A finite number flag (the option schema checks its range, naming the same flag). */
export function numberFlag(flag: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${flag} needs a number, got ${describe(v)}`);
    return n;
  };
}

/** Comma-separated integers, each in [min, max]. */
export function intListFlag(flag: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  const one = intFlag(flag, min, max);
  return (v: string): number[] => {
    const parts = v.split(',').map((s) => s.trim());
    if (parts.some((s) => s === '')) throw new InvalidArgumentError(`${flag} takes comma-separated integers, got ${describe(v)}`);
    return parts.map(one);
  };
}
