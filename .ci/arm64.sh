#!/usr/bin/env bash
# Checks the arm64 build of internal/simd from any host: go vet (including
# asmdecl on the NEON assembly) and the package tests, for the NEON tier and
# for the purego build. On a non-arm64 host the test binaries run under
# qemu-aarch64 user emulation, installed here when missing; -short keeps the
# emulated run to small sizes.
set -euo pipefail

cd "$(dirname "$0")/.."

# A static binary is what qemu user emulation can run without an aarch64
# sysroot, and the project has no cgo anyway.
export CGO_ENABLED=0 GOARCH=arm64

exec_flag=()
case "$(uname -m)" in
aarch64 | arm64) ;; # native: run the tests directly
*)
	if ! command -v qemu-aarch64 >/dev/null 2>&1; then
		sudo=()
		if [ "$(id -u)" -ne 0 ]; then
			sudo=(sudo)
		fi
		echo "arm64.sh: installing qemu-user"
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
		"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user >/dev/null
	fi
	export GOOS=linux # qemu-aarch64 runs Linux binaries
	exec_flag=(-exec qemu-aarch64)
	;;
esac

start=$SECONDS
for build in neon purego; do
	# The NEON tier is the default of the !purego build; purego is generic only.
	flags=()
	if [ "$build" = purego ]; then
		flags=(-tags purego)
	fi
	echo "arm64.sh: $build: go vet, go test -short (GOARCH=arm64)"
	go vet "${flags[@]}" ./internal/simd/
	go test "${exec_flag[@]}" "${flags[@]}" -short -count=1 ./internal/simd/
done
echo "arm64.sh: done in $((SECONDS - start))s"
