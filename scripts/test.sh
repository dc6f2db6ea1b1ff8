#!/bin/sh
# README's test command (`npm test`): installs what the tests need, builds, runs every test.
set -eu
cd "$(dirname "$0")/.."
sh scripts/provision.sh test
sh scripts/deps.sh
exec npx jest "$@"
