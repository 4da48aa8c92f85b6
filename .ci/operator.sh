#!/usr/bin/env bash
# operator.sh: replays the operator-side failures of issue 22 against a freshly
# built binary and asserts the behaviour that replaced them: exit codes,
# one-line messages naming the flag or file, nothing written on usage errors,
# diverged runs resumable from their last finite state, no run directory
# clobbered, concurrent runs refused, stale locks and temporary files of killed
# runs cleaned up, and -json stdout made of JSON lines only. It needs only Go
# and runs in well under two minutes once the build cache is warm.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mktemp -d)
bg=
trap '[ -n "$bg" ] && kill -9 "$bg" 2>/dev/null; rm -rf "$work"' EXIT
start=$SECONDS

go build -o "$work/train" ./cmd/train
# jsonl FILE: fails unless every line of FILE is a JSON value (and there is one).
mkdir "$work/jsonl"
cat >"$work/jsonl/main.go" <<'EOF'
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

func main() {
	f, err := os.Open(os.Args[1])
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<26)
	n := 0
	for sc.Scan() {
		n++
		if !json.Valid(sc.Bytes()) {
			fmt.Printf("line %d is not JSON: %.80q\n", n, sc.Text())
			os.Exit(1)
		}
	}
	if n == 0 {
		fmt.Println("no lines")
		os.Exit(1)
	}
}
EOF
(cd "$work/jsonl" && go build -o ../jsonl-check main.go)
T=$work/train
cd "$work"

fails=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }
# run ARGS...: runs the binary; sets code, and out.txt / err.txt hold stdout and stderr.
run() { set +e; "$T" "$@" >out.txt 2>err.txt; code=$?; set -e; }
last() { tail -n 1 err.txt; }
goish() { grep -Eq 'Config\.|Evals\[|EvalBatch|LogEvery|ClipNorm|train: train:' err.txt; }

# usage WANT ARGS...: exit 2, exactly one stderr line containing WANT, no Go
# field names, nothing on stdout and no -out directory written.
usage() {
  local want=$1
  shift
  rm -rf u
  run "$@" -out u
  if [ "$code" = 2 ] && [ "$(wc -l <err.txt)" = 1 ] && grep -qF -- "$want" err.txt && ! goish && [ ! -s out.txt ] && [ ! -e u ]; then
    ok "usage: $* -> 2: $(cat err.txt)"
  else
    bad "usage: $* -> exit $code, stdout $(wc -c <out.txt) bytes, -out written: $([ -e u ] && echo yes || echo no), stderr: $(cat err.txt)"
  fi
}

echo "== flags validated at parse time, by name; nothing written"
printf 'a,b,y\n1,2,0\n3,4,0\n5,6,1\n7,8,1\n' >small.csv
awk 'BEGIN { print "x1,x2,target"; for (i = 0; i < 40; i++) printf "%d,%d,%.3f\n", i % 7, i % 5, i * 0.37 }' >continuous.csv
usage "-steps -3" fit -steps -3
usage "-lr 0" fit -lr 0
usage "-epochs 0 -steps 0" fit -epochs 0 -steps 0
usage "-log-every -1" fit -log-every -1
usage "-ckpt-every -1" fit -ckpt-every -1
usage "-clip -1" fit -clip -1
usage "-warmup -2" fit -warmup -2
usage "-test-frac 0" fit -test-frac 0
usage "-max-loss-ratio -1" fit -max-loss-ratio -1
usage "-beta1 2" fit -opt adam -beta1 2
usage "small.csv: the held-out split is empty" fit -data csv:small.csv
usage "regression" fit -data csv:continuous.csv
usage "no run to continue" fit -resume nowhere
usage "-test-frac 0" ntk -test-frac 0
usage "-lr 0" landscape -lr 0
usage "-steps 0" meanfield -steps 0
usage "-seeds 0" coordcheck -seeds 0

echo "== divergence keeps the last finite state and says what to change"
run fit -lr 1e6 -ckpt-every 10 -out div -no-figures
if [ "$code" = 1 ] && last | grep -q "diverged at step" && last | grep -qF "div/checkpoint.last-finite.ckpt and model.last-finite.safetensors" &&
  last | grep -qF "train fit -resume div -lr" && [ -s div/checkpoint.last-finite.ckpt ] && [ -s div/model.last-finite.safetensors ] && ! goish; then
  ok "fit -lr 1e6 -> 1: $(last)"
else
  bad "fit -lr 1e6 -> exit $code: $(last); files: $(ls div | tr '\n' ' ')"
fi
run fit -lr 1e6 -max-loss-ratio 0 -out nan -no-figures
if [ "$code" = 1 ] && last | grep -q "loss is NaN" && [ -s nan/checkpoint.last-finite.ckpt ]; then ok "fit -lr 1e6 -max-loss-ratio 0 -> 1: $(last)"; else bad "NaN run -> exit $code: $(last)"; fi
run fit -resume div
if [ "$code" = 2 ] && grep -q "would diverge again" err.txt && grep -qF -- "-lr" err.txt; then ok "fit -resume of a diverged run, unchanged -> 2: $(last)"; else bad "plain resume of a diverged run -> exit $code: $(last)"; fi
run fit -opt adam -lr 1e6 -out adam -no-figures
if [ "$code" = 1 ] && last | grep -qF -- "-max-loss-ratio"; then ok "fit -opt adam -lr 1e6 -> 1: $(last)"; else bad "adam -lr 1e6 -> exit $code: $(last)"; fi
run fit -lr 1.5 -max-loss-ratio 10 -epochs 3 -out retry -no-figures
if [ "$code" = 1 ] && last | grep -q "diverged at step"; then ok "fit -lr 1.5 -max-loss-ratio 10 -> 1"; else bad "fit -lr 1.5 -> exit $code: $(last)"; fi
run fit -resume retry -lr 0.01
acc=$(grep -o 'test  accuracy [0-9.]*' out.txt | awk '{print $3}')
if [ "$code" = 0 ] && [ -n "$acc" ] && awk "BEGIN { exit !($acc > 85) }" && [ ! -e retry/checkpoint.last-finite.ckpt ] &&
  [ ! -e retry/model.last-finite.safetensors ] && [ -s retry/model.safetensors ] && grep -q '"lr": 0.01' retry/config.json; then
  ok "fit -resume retry -lr 0.01 -> 0 from the last finite state, test accuracy $acc%"
else
  bad "resume of the diverged run with -lr 0.01 -> exit $code, accuracy '$acc': $(last)"
fi
run fit -resume retry -lr 0.1
if [ "$code" = 2 ] && grep -q "did not diverge" err.txt; then ok "-lr on resuming a run that did not diverge -> 2"; else bad "-lr on an ordinary resume -> exit $code: $(last)"; fi

echo "== no run directory clobbered"
run -epochs 2 -no-figures
run -epochs 2 -no-figures
before=$(cksum <out/fit/model.safetensors)
if [ "$code" = 2 ] && grep -qF "out/fit already holds a run" err.txt && grep -qF -- "-resume out/fit" err.txt && grep -qF -- "-overwrite" err.txt &&
  [ "$(cksum <out/fit/model.safetensors)" = "$before" ]; then
  ok "train twice (default -out out/fit) -> 2: $(last)"
else
  bad "second default run -> exit $code: $(last)"
fi
run fit -epochs 1 -seed 7 -overwrite -no-figures
if [ "$code" = 0 ] && [ "$(cksum <out/fit/model.safetensors)" != "$before" ]; then ok "fit -overwrite -> 0, replaced"; else bad "fit -overwrite -> exit $code: $(last)"; fi
for c in ntk landscape meanfield coordcheck; do
  run "$c" -out out/fit
  if [ "$code" = 2 ] && grep -q "already holds a run" err.txt; then ok "$c -out <a fit run> -> 2"; else bad "$c into a run directory -> exit $code: $(last)"; fi
done

echo "== concurrent runs refused; a killed run's lock and temporary files cleaned up"
"$T" fit -epochs 2000 -ckpt-every 20 -out busy -no-figures >/dev/null 2>&1 &
bg=$!
for _ in $(seq 200); do [ -e busy/checkpoint.ckpt ] && break; sleep 0.05; done
run fit -out busy
if [ "$code" = 2 ] && grep -qF "in use by another run (pid $bg" err.txt; then ok "second fit into a busy directory -> 2: $(last)"; else bad "concurrent fit -> exit $code: $(last)"; fi
run fit -resume busy
if [ "$code" = 2 ] && grep -qF "pid $bg" err.txt; then ok "resume of a busy directory -> 2"; else bad "resume of a busy directory -> exit $code: $(last)"; fi
kill -9 "$bg"
wait "$bg" 2>/dev/null || true
bg=
echo "half a checkpoint" >busy/.checkpoint.ckpt.tmp123456
if [ -e busy/.lock ]; then ok "kill -9 left busy/.lock"; else bad "no lock file after kill -9"; fi
run fit -resume busy -epochs 3
if [ "$code" = 0 ] && [ ! -e busy/.lock ] && [ ! -e busy/.checkpoint.ckpt.tmp123456 ] && [ -s busy/model.safetensors ]; then
  ok "fit -resume after kill -9 -> 0: stale lock taken over, temporary file removed"
else
  bad "resume after kill -9 -> exit $code: $(last); files: $(ls -a busy | tr '\n' ' ')"
fi

echo "== -json: stdout is JSON lines only"
for args in "fit -epochs 2" "ntk -n 32 -n-test 16" "landscape -steps 50 -every 25" "meanfield -widths 16,32 -steps 10" \
  "coordcheck -widths 16,32 -seeds 1" "sweep" "info"; do
  set -- $args
  if [ "$1" = info ]; then run info -json; else run "$@" -json -no-figures -out "json-$1"; fi
  if [ "$code" = 0 ] && check=$("$work/jsonl-check" out.txt); then ok "$args -json: $(wc -l <out.txt) JSON lines"; else bad "$args -json -> exit $code: $check $(last)"; fi
done
run fit -epochs 1 -json -no-figures -out json-fit2
if grep -q "^gradflow fit:" err.txt && grep -q "^test  accuracy" err.txt; then ok "fit -json: header and summary on stderr"; else bad "fit -json: no header or summary on stderr"; fi

echo "== sweep analyze: missing runs are an error unless -partial; progress of slow work on stderr"
run sweep -shard 0/2 -out shard0 -no-figures
run sweep analyze shard0
if [ "$code" = 1 ] && [ ! -s out.txt ] && grep -q "missing" err.txt && grep -qF -- "-partial" err.txt; then ok "sweep analyze of one shard of two -> 1: $(last)"; else bad "sweep analyze of a partial sweep -> exit $code: $(last)"; fi
run sweep analyze -partial shard0
if [ "$code" = 0 ] && grep -q "missing runs" out.txt; then ok "sweep analyze -partial -> 0"; else bad "sweep analyze -partial -> exit $code: $(last)"; fi
run ntk -n 800 -n-test 100 -no-figures -out slow-ntk
if [ "$code" = 0 ] && grep -q "^ntk: computing the kernels" err.txt; then ok "ntk -n 800 shows progress on stderr: $(grep -m1 '^ntk: computing' err.txt)"; else bad "ntk -n 800: exit $code, no progress line"; fi

echo
echo "operator.sh: $fails failure(s) in $((SECONDS - start))s"
[ "$fails" = 0 ]
