#!/bin/sh
# README's benchmark command (`npm run bench -- fanout --hosts 200`): installs what the benchmarks
# need (sshd, pssh, nats-server, the Temporal dev server, node_modules), builds, runs one.
# `npm run build` compiles bench/ into dist/bench/ with the product (tsconfig.build.json includes
# bench/; the one harness module it imports, test/harness/fleet.ts, is compiled along with it).
set -eu
cd "$(dirname "$0")/.."
sh scripts/provision.sh test
sh scripts/deps.sh
exec node dist/bench/main.js "$@"
