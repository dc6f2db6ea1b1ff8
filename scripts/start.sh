#!/bin/sh
# README's first command (`npm start`): the embedded stack on this machine.
set -eu
cd "$(dirname "$0")/.."
sh scripts/provision.sh stack
sh scripts/deps.sh
exec node dist/cli/main.js up "$@"
