#!/bin/sh
# Builds the host helper (activities/ssh/helper/ops-step.c) into dist/host-helper/ops-step: a static
# program the worker installs on the SSH hosts it runs steps on (activities/ssh/step-helper.ts).
# musl (Debian's musl-tools, which scripts/provision.sh installs) makes it ~55 KB, glibc ~700 KB.
# Without a C compiler it is left out and steps run under the shell wrapper alone.
set -eu
cd "$(dirname "$0")/.."
src=activities/ssh/helper/ops-step.c
out=dist/host-helper/ops-step
if command -v musl-gcc >/dev/null 2>&1; then cc=musl-gcc
elif command -v cc >/dev/null 2>&1; then cc=cc
else
  echo "build-helper: no C compiler (apt-get install musl-tools): SSH steps will run under the shell wrapper only" >&2
  rm -f "$out"
  exit 0
fi
[ -f "$out" ] && [ "$out" -nt "$src" ] && exit 0
mkdir -p "$(dirname "$out")"
$cc -Os -static -s -Wall -Wextra -Werror -o "$out.tmp" "$src"
mv -f "$out.tmp" "$out"
