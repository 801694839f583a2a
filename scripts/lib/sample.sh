# shellcheck shell=bash
# make_sample DIR [BIG_MIB]: the built-in sample tree used by the demo and the
# tests: nested directories, an empty directory, an empty file, a multi-MiB
# random file, names with spaces and non-ASCII, several modes and mtimes.
make_sample() {
  local d=$1 big_mib=${2:-8}
  mkdir -p "$d/docs/nested/deeper" "$d/empty dir" "$d/name with spaces" "$d/non-ascii/日本語" "$d/big"
  printf 'ferry sample tree\n' >"$d/README.txt"
  printf '# notes\nline two\n' >"$d/docs/nested/deeper/notes.md"
  printf 'top secret\n' >"$d/docs/private.key"
  chmod 0600 "$d/docs/private.key"
  printf '#!/bin/sh\necho hi\n' >"$d/docs/run.sh"
  chmod 0755 "$d/docs/run.sh"
  : >"$d/empty-file.txt"
  printf 'spaces\n' >"$d/name with spaces/file with spaces.txt"
  printf 'café\n' >"$d/non-ascii/café ü ñ.txt"
  printf 'nihongo\n' >"$d/non-ascii/日本語/ファイル.txt"
  head -c "$((big_mib * 1024 * 1024))" /dev/urandom >"$d/big/random.bin"
  touch -d '2021-03-04 05:06:07.123456789' "$d/README.txt" "$d/docs/nested/deeper/notes.md"
  touch -d '2019-12-31 23:59:59' "$d/docs/nested/deeper" "$d/empty dir"
}

# tree_manifest DIR: one line per entry (type, mode, size for files, mtime,
# path), sorted; two trees with equal manifests and equal bytes are the same.
tree_manifest() {
  (cd "$1" && find . -mindepth 1 \( -type d -printf 'd %m - %T@ %P\n' \) -o \
    \( -type f -printf 'f %m %s %T@ %P\n' \) -o -printf '? %m - - %P\n' | LC_ALL=C sort -k5)
}

# same_tree SRC DST: exits non-zero, saying why, unless the trees match in
# content, names, modes and mtimes.
same_tree() {
  if ! diff <(tree_manifest "$1") <(tree_manifest "$2") >&2; then
    echo "trees differ in names, modes or mtimes: $1 vs $2" >&2
    return 1
  fi
  diff -r "$1" "$2" >&2 || { echo "trees differ in content: $1 vs $2" >&2; return 1; }
}
