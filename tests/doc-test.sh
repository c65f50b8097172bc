#!/usr/bin/env bash
# Build the collection tarball, install it into an empty collections path, and render
# the documentation of every module and plugin from the installed copy.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.venv/bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '[defaults]\ncollections_path = %s/collections\n' "$work" > "$work/ansible.cfg"
export ANSIBLE_CONFIG="$work/ansible.cfg" ANSIBLE_COLLECTIONS_PATH="$work/collections"
cd "$root"
"$bin/ansible-galaxy" collection build --force --output-path "$work" >/dev/null
tarball=$(ls "$work"/swarmnet-overlay-*.tar.gz)
echo "built $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB)"
# The tarball `make build` makes is the one the README installs and the changelog releases
# (tests/unit/test_release.py holds those to galaxy.yml's version); fragments are well formed.
version=$(sed -n 's/^version: *//p' galaxy.yml)
[ "$(basename "$tarball")" = "swarmnet-overlay-$version.tar.gz" ] || { echo "tarball is not version $version"; exit 1; }
"$bin/antsibull-changelog" lint
"$bin/ansible-galaxy" collection install -p "$work/collections" "$tarball" >/dev/null
installed="$work/collections/ansible_collections/swarmnet/overlay"
count=0
for dir in modules connection; do
  type=${dir%s}
  for file in "$installed"/plugins/"$dir"/*.py; do
    name=$(basename "$file" .py)
    "$bin/ansible-doc" -t "$type" "swarmnet.overlay.$name" >/dev/null
    echo "ansible-doc -t $type swarmnet.overlay.$name: ok"
    count=$((count + 1))
  done
done
for role in "$installed"/roles/*/; do
  name=$(basename "$role")
  "$bin/ansible-doc" -t role "swarmnet.overlay.$name" >/dev/null
  echo "ansible-doc -t role swarmnet.overlay.$name: ok"
  count=$((count + 1))
done
# Every plugin file must have been documented above.
expected=$(find "$installed/plugins/modules" "$installed/plugins/connection" -name '*.py' | wc -l)
expected=$((expected + $(find "$installed/roles" -mindepth 1 -maxdepth 1 -type d | wc -l)))
[ "$count" -eq "$expected" ] || { echo "documented $count of $expected"; exit 1; }
echo "$count passed, 0 failed"
