// Option schemas: each option group (training, masking, triple loss, fine-tuning, ...) is one object
// whose keys carry their default, their check and their one-line doc. The command line (a flag per
// key), --options-file and the library functions all resolve options through it, so an option is
// written in one place and every way in checks it the same (nanoGPT's configurator, with checks).

/** Why a value is wrong ("must be ..."), or null when it is fine. */
export type Checker = (v: unknown) => string | null;

export interface OptionSpec<T> {
  default: T;
  check: Checker;
  /** One line for --help. */
  doc: string;
}

export type Schema<P> = { readonly [K in keyof P]: OptionSpec<P[K]> };

export const option = <T>(dflt: T, check: Checker, doc: string): OptionSpec<T> => ({ default: dflt, check, doc });

export const isNumber = (min: number, max = Infinity, integer = false): Checker => (v) =>
  typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))
    ? `must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}]`
    : null;

export const isBool: Checker = (v) => (typeof v === 'boolean' ? null : 'must be true or false');

/** The default of every key. */
export function defaultsOf<P>(s: Schema<P>): P {
  return Object.fromEntries(Object.entries(s).map(([k, spec]) => [k, (spec as OptionSpec<unknown>).default])) as P;
}

/** `s` with other defaults for some keys (a recipe that differs, e.g. pretraining's learning rate). */
export function withDefaults<P>(s: Schema<P>, d: Partial<P>): Schema<P> {
  const out: Record<string, OptionSpec<unknown>> = { ...(s as Record<string, OptionSpec<unknown>>) };
  for (const [k, v] of Object.entries(d)) out[k] = { ...out[k]!, default: v };
  return out as Schema<P>;
}

/** `s` without `keys` (options a command does not take). */
export function omit<P, K extends keyof P>(s: Schema<P>, ...keys: K[]): Schema<Omit<P, K>> {
  return Object.fromEntries(Object.entries(s).filter(([k]) => !keys.includes(k as K))) as Schema<Omit<P, K>>;
}

export interface OptionLayer {
  /** Where the values came from, for errors: a file path, "command line", "params". */
  source: string;
  values: Record<string, unknown>;
  /** How errors name a key (the CLI: its flag). Default: option "key". */
  name?: (key: string) => string;
}

/**
 * Defaults <- each layer in turn, every value checked. An unknown key or a bad value is an error
 * naming the source and the key (or flag).
 */
export function resolveOptions<P>(s: Schema<P>, layers: readonly OptionLayer[]): P {
  const out = defaultsOf(s) as Record<string, unknown>;
  const specs = s as Record<string, OptionSpec<unknown>>;
  for (const { source, values, name = (k: string) => `option "${k}"` } of layers)
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) continue;
      const spec = specs[k];
      if (!spec) throw new Error(`${source}: unknown option "${k}"; known options: ${Object.keys(specs).join(', ')}`);
      const why = spec.check(v);
      if (why) throw new Error(`${source}: ${name(k)} ${why}, got ${JSON.stringify(v)}`);
      out[k] = v;
    }
  return out as P;
}

/** A library call's `params` over the schema's defaults, checked as the command line is. */
export const resolveParams = <P>(s: Schema<P>, params: Partial<P> | undefined): P =>
  resolveOptions(s, params ? [{ source: 'params', values: params as Record<string, unknown> }] : []);
