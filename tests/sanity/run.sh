#!/usr/bin/env bash
# ansible-test sanity on a copy of the collection at an ansible_collections/ path
# (ansible-test requires that layout), in virtualenvs it makes for each test.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dest="$root/build/sanity/ansible_collections/swarmnet/overlay"
mkdir -p "$dest"
rsync -a --delete --exclude .venv --exclude build --exclude .git --exclude '.pytest_cache' \
  --exclude '.hypothesis' --exclude '__pycache__' --exclude tests/output --exclude '*.tar.gz' \
  "$root/" "$dest/"
# ansible-test bootstraps pip in each test venv with a script from a host these
# machines cannot reach; put a stand-in where it caches that script.
pip_version=$(sed -n "s/^ *pip='\([0-9.]*\)',.*/\1/p" \
  "$root"/.venv/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | head -n 1)
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
stand_in="$cache/get_pip_${pip_version//./_}.py"
[ -f "$stand_in" ] || cp "$root/tests/sanity/get_pip_standin.py" "$stand_in"
cd "$dest"
# ansible-test lists the collection's files with git: give the copy an index of its own.
[ -d .git ] || git init -q
git add -A
exec "$root/.venv/bin/ansible-test" sanity --python 3.11 --requirements --color no "$@"
