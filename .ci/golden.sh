#!/usr/bin/env bash
# golden.sh REV [--mnist]: runs every command of cmd/train with its default
# study (and, with --mnist, the README's MNIST fit) twice, once built from
# git revision REV and once from the working tree, and checks that the
# outputs are byte-identical: stdout, every JSON/JSONL/CSV file, config.json
# and model.safetensors. Wall-clock fields are removed first
# ("time", "samples_per_sec", "seconds_*" in JSON; "done in 1.2s",
# "(0.03s)" and the thread count of fit's first line in text). Figures
# (PNG/SVG) and checkpoints (they store the elapsed time) are not compared.
#
# It is how a refactoring shows that it changed no result: run it against
# the revision before the change. With REV = --procs it compares the working
# tree with itself at GOMAXPROCS=1 and GOMAXPROCS=2 (results must not depend
# on the number of threads).
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: .ci/golden.sh REV [--mnist]}
mnist=${2:-}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/base-src" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

go build -o "$work/new" ./cmd/train
procsA= procsB=
if [ "$rev" = --procs ]; then
  cp "$work/new" "$work/base"
  procsA=1 procsB=2
else
  git worktree add --detach "$work/base-src" "$rev" >/dev/null 2>&1
  (cd "$work/base-src" && go build -o "$work/base" ./cmd/train)
fi

cmds=(fit ntk landscape flow sde stability meanfield coordcheck sweep batch)
run() { # bin outdir
  local bin=$1 out=$2
  mkdir -p "$out"
  for c in "${cmds[@]}"; do
    "$bin" "$c" -json -out "$out/$c" >"$out/$c.stdout" 2>"$out/$c.stderr" || { echo "$c failed:"; cat "$out/$c.stderr"; return 1; }
  done
  if [ "$mnist" = --mnist ]; then
    local d
    d=$(cd ../shared/datasets/mnist && pwd)
    "$bin" fit -data "mnist:$d" -arch 784-512-512-10 -epochs 6 -batch 128 -json -out "$out/mnist" >"$out/mnist.stdout" 2>"$out/mnist.stderr"
  fi
}
# Both runs write to the same directory (config.json records -out).
GOMAXPROCS=${procsA:-${GOMAXPROCS:-}} run "$work/base" "$work/o" && mv "$work/o" "$work/a"
GOMAXPROCS=${procsB:-${GOMAXPROCS:-}} run "$work/new" "$work/o" && mv "$work/o" "$work/b"

# normalize FILE: wall-clock values replaced by 0.
normalize() {
  sed -E -e 's/"(time|samples_per_sec|seconds[a-z_]*)": ?[-0-9.eE+]+/"\1":0/g' \
    -e 's/done in [0-9.]+s/done in Xs/' -e 's/\([0-9.]+s\)/(Xs)/g' -e 's/, [0-9]+ threads$/, N threads/' "$1"
}
fail=0
while IFS= read -r f; do
  rel=${f#"$work/a/"}
  if [ ! -e "$work/b/$rel" ]; then echo "missing in new: $rel"; fail=1; continue; fi
  case "$f" in
  *.safetensors) cmp -s "$f" "$work/b/$rel" || { echo "differs: $rel"; fail=1; } ;;
  *) diff <(normalize "$f") <(normalize "$work/b/$rel") >/dev/null || { echo "differs: $rel"; diff <(normalize "$f") <(normalize "$work/b/$rel") | head -5 || true; fail=1; } ;;
  esac
done < <(find "$work/a" -type f \( -name '*.stdout' -o -name '*.json' -o -name '*.jsonl' -o -name '*.csv' -o -name '*.safetensors' \) | sort)
n=$(find "$work/a" -type f \( -name '*.stdout' -o -name '*.json' -o -name '*.jsonl' -o -name '*.csv' -o -name '*.safetensors' \) | wc -l)
if [ $fail = 0 ]; then echo "golden: $n outputs byte-identical to $rev"; else echo "golden: outputs differ from $rev"; exit 1; fi
