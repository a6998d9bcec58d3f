#!/usr/bin/env bash
# Writes the locks with hashes: the project's (dev and local extras, for Python 3.11+) and the
# dependency layer's (arm64, CPython 3.14, at the dev lock's versions). Run by `make lock`.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-.venv/bin/uv}
common=(--generate-hashes --universal --python-version 3.11 --quiet --custom-compile-command "make lock")
"$UV" pip compile pyproject.toml --extra dev "${common[@]}" -o requirements/dev.txt
"$UV" pip compile pyproject.toml --extra local "${common[@]}" -o requirements/local.txt
pins=$(mktemp)
trap 'rm -f "$pins"' EXIT
for name in $(grep -Ev '^\s*(#|$)' infra/layer/requirements.in); do
  grep -E "^${name}==" requirements/dev.txt | sed 's/ \\$//' >>"$pins"
done
"$UV" pip compile infra/layer/requirements.in --constraint "$pins" --generate-hashes --quiet \
  --no-annotate --custom-compile-command "make lock" --python-platform aarch64-manylinux2014 --python-version 3.14 \
  -o infra/layer/requirements.txt
