#!/usr/bin/env bash
# --exclude and --exclude-from select what rsync -a --exclude selects for the
# same patterns: a table of patterns against one tree, each run through both
# tools and the resulting trees compared name by name.
source "$(dirname "$0")/lib.sh"
command -v rsync >/dev/null || skip "rsync missing (scripts/setup.sh installs it)"

t=$WORK/src/t
mkdir -p "$t"/{a/deep,a/sub,b/cache,build,cache_file_dir,docs/x/y,node_modules/m,sub}
for f in a.log a/b.log a/deep/f.bin a/deep/g.txt a/sub/x.txt a/asub.txt sub/x.txt b/cache/c.dat \
  build/out.o docs/x/y/readme.md docs/top.md node_modules/m/i.js abc.txt a1c.txt keep.txt \
  b/a.tmp b/z.tmp '[x].txt' 'sp ace.txt'; do
  printf '%s\n' "$f" >"$t/$f"
done
printf 'a file named cache\n' >"$t/cache_file_dir/cache"
mkdir -p "$t/a/b" && printf 'x\n' >"$t/a/b/cache"

# Each case: patterns separated by '|'.
cases=(
  '*.log'
  'cache/'
  'cache'
  '/t/build'
  '/build'
  'sub/x.txt'
  'a?c.txt'
  '[ab]*.tmp'
  '[!a]*.tmp'
  '**/deep/*.bin'
  'docs/**'
  'docs/**/*.md'
  '*.o|node_modules/'
  '\[x\].txt'
  'sp ace.txt'
  'deep/'
  't/a'
)
start_recv "$WORK/inbox"
k=0
for c in "${cases[@]}"; do
  k=$((k + 1))
  IFS='|' read -r -a pats <<<"$c"
  ropts=() fopts=()
  for p in "${pats[@]}"; do ropts+=(--exclude "$p"); fopts+=(--exclude "$p"); done
  mkdir -p "$WORK/r$k"
  rsync -a "${ropts[@]}" "$t" "$WORK/r$k/"
  (cd "$WORK/src" && "$SEND" -q "127.0.0.1:$RECV_PORT" t "${fopts[@]}" 2>"$WORK/x.err") ||
    fail "case $k ($c): ferry-send failed: $(cat "$WORK/x.err")"
  want=$(cd "$WORK/r$k" && find t | sort)
  got=$(cd "$WORK/inbox" && find t | sort)
  [ "$want" = "$got" ] || fail "case $k ($c): ferry selected
$(diff <(echo "$want") <(echo "$got"))"
  rm -rf "$WORK/inbox/t"  # the next case starts from an empty inbox
done
pass "${#cases[@]} exclude patterns select what rsync -a --exclude selects"

# --exclude-from: the same rules from a file, comments skipped; and
# --files-from entries are filtered too.
printf '# build products\n*.o\n; and logs\n*.log\n\nnode_modules/\n' >"$WORK/ex.txt"
rsync -a --exclude-from "$WORK/ex.txt" "$t" "$WORK/rf/"
(cd "$WORK/src" && "$SEND" -q "127.0.0.1:$RECV_PORT" t --exclude-from "$WORK/ex.txt") ||
  fail "--exclude-from failed"
[ "$(cd "$WORK/rf" && find t | sort)" = "$(cd "$WORK/inbox" && find t | sort)" ] ||
  fail "--exclude-from selected differently from rsync"
rm -rf "$WORK/inbox/t"
printf '%s\n' t/a.log t/keep.txt t/build/out.o >"$WORK/list.txt"
(cd "$WORK/src" && "$SEND" -q "127.0.0.1:$RECV_PORT" --files-from "$WORK/list.txt" --exclude '*.o' --exclude '*.log') ||
  fail "--files-from with --exclude failed"
[ "$(cd "$WORK/inbox" && find t -type f | sort)" = "t/keep.txt" ] ||
  fail "--files-from entries were not filtered: $(cd "$WORK/inbox" && find t -type f)"
rm -rf "$WORK/inbox/t"
# An unreadable --exclude-from is a local error (7) before anything is sent.
send "$t" --exclude-from "$WORK/missing.txt"
expect_rc 7 "missing --exclude-from"
grep -q -- '--exclude-from .*missing.txt: No such file or directory' "$SEND_ERR" || fail "missing --exclude-from message"
# A directory as the list (it once aborted with an uncaught stream error).
for opt in --exclude-from --files-from; do
  send "$t" "$opt" "$WORK"
  expect_rc 7 "$opt naming a directory"
  grep -q -- "$opt $WORK: Is a directory" "$SEND_ERR" || fail "$opt naming a directory: $(cat "$SEND_ERR")"
done
[ ! -e "$WORK/inbox/t" ] || fail "sent despite an unreadable --exclude-from"
pass "--exclude-from with comments, --files-from filtered, an unreadable pattern file refused"
