// Debian packages as corpus sources: whether one is installed (dpkg-query), its version, and
// installing the missing ones with apt-get (`distil corpus --install`). The documentation packages
// are hundreds of MB, so nothing installs them unless the corpus is asked for.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { walkFiles, type CorpusDocument, type CorpusSource } from './source.js';

function dpkgQuery(pkg: string, format: string): string | null {
  const r = spawnSync('dpkg-query', ['-W', `-f=${format}`, pkg], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : null;
}

/** True when Debian package `pkg` is installed (false, too, where there is no dpkg at all). */
export function aptInstalled(pkg: string): boolean {
  return dpkgQuery(pkg, '${Status}') === 'install ok installed';
}

/** The installed version of `pkg` ("3.11.2-6+deb12u9"). */
export function aptVersion(pkg: string): string {
  return dpkgQuery(pkg, '${Version}') ?? 'not installed';
}

/** The command that installs `pkgs`, as a person would type it. */
export function aptInstallCommand(pkgs: readonly string[]): string {
  return `apt-get install -y ${pkgs.join(' ')}`;
}

/** Install `pkgs` with apt-get: directly as root, else through sudo; output goes to stderr. */
export function aptInstall(pkgs: readonly string[]): void {
  const root = process.getuid?.() === 0;
  if (!root && spawnSync('sudo', ['-n', 'true']).status !== 0) {
    throw new Error(`installing ${pkgs.join(', ')} needs root: run \`sudo ${aptInstallCommand(pkgs)}\`, then distil corpus again without --install`);
  }
  const run = (args: string[]): void => {
    const [cmd, ...rest] = root ? args : ['sudo', '-n', ...args];
    const r = spawnSync(cmd!, rest, { stdio: ['ignore', process.stderr, process.stderr], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) throw new Error(`\`${args.join(' ')}\` failed (exit ${r.status ?? r.signal}); install by hand with \`${aptInstallCommand(pkgs)}\``);
  };
  // A fresh machine's package lists may be empty or stale; `scripts/setup.sh` updates first too.
  run(['apt-get', 'update', '-qq']);
  run(['apt-get', 'install', '-y', '-qq', ...pkgs]);
}

/** A source made of the files under `root` (ending in one of `suffixes`) of Debian package `pkg`. */
export function aptSource(o: {
  name: string;
  description: string;
  package: string;
  license: string;
  /** Directory the package installs its text under, or a function finding it (a versioned path). */
  root: string | (() => string);
  suffixes: readonly string[];
  /** Files or directories (relative to root) left out, such as translations. */
  exclude?: readonly string[];
  /** Documents of one file; `id` is its path relative to root. */
  read: (file: string, id: string) => Iterable<CorpusDocument>;
}): CorpusSource {
  const rootDir = (): string => (typeof o.root === 'string' ? o.root : o.root());
  return {
    name: o.name,
    description: o.description,
    origin: { kind: 'apt', package: o.package },
    license: o.license,
    files() {
      if (!aptInstalled(o.package)) throw new Error(`source ${o.name} needs the Debian package ${o.package}: ${aptInstallCommand([o.package])}`);
      const root = rootDir();
      const skip = (o.exclude ?? []).map((d) => path.join(root, d));
      return walkFiles(root, o.suffixes).filter((f) => !skip.some((s) => f === s || f.startsWith(s + path.sep)));
    },
    read: (file) => o.read(file, path.relative(rootDir(), file)),
  };
}
