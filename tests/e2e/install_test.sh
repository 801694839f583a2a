#!/usr/bin/env bash
# ferry installs like a Debian tool: `cmake --install` puts the binaries, man
# pages, bash completion and systemd unit in their places; the man pages
# pass a linter and name every option --help lists; the completion
# completes; the unit verifies; `cpack -G DEB` makes a package with the
# same files and the runtime libraries as dependencies.
source "$(dirname "$0")/lib.sh"
build=$(cd "$FERRY_BIN/.." && pwd)
src=$(cd "$(dirname "$0")/../.." && pwd)
[ -f "$build/CPackConfig.cmake" ] || skip "not a CMake build folder: $build"
command -v help2man >/dev/null || skip "help2man missing (scripts/setup.sh installs it)"
cmake --build "$build" --target man >/dev/null

# Installed into a staging root, as a package build does.
DESTDIR="$WORK/root" cmake --install "$build" --prefix /usr >"$WORK/install.log" ||
  fail "cmake --install: $(cat "$WORK/install.log")"
files=(usr/bin/ferry-send usr/bin/ferry-recv usr/share/man/man1/ferry-send.1
  usr/share/man/man1/ferry-recv.1 usr/lib/systemd/system/ferry-recv.service)
for f in "${files[@]}"; do [ -f "$WORK/root/$f" ] || fail "cmake --install did not install $f"; done
completion=$(find "$WORK/root/usr/share" -path '*bash-completion/completions/ferry-send' | head -n 1)
[ -n "$completion" ] || fail "no bash completion installed"
pass "cmake --install: binaries, man pages, bash completion, systemd unit"

# Man pages: no warning from groff's checks, every --help option named,
# and the sections --help does not have.
for p in ferry-send ferry-recv; do
  page=$WORK/root/usr/share/man/man1/$p.1
  groff -ww -z -man "$page" 2>"$WORK/lint.err" || fail "$p.1: groff failed"
  [ ! -s "$WORK/lint.err" ] || fail "$p.1 has warnings: $(cat "$WORK/lint.err")"
  text=$(groff -man -Tascii -P-cbou "$page" 2>/dev/null)
  n=0
  for opt in $("$FERRY_BIN/$p" --help | grep -oE '^ +(-[A-Za-z0-9], )?--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+'); do
    grep -qF -- "$opt" <<<"$text" || fail "$p.1 does not name $opt"
    n=$((n + 1))
  done
  [ "$n" -ge 20 ] || fail "$p --help listed only $n options"
  for section in SYNOPSIS DESCRIPTION ENVIRONMENT FILES "EXIT STATUS" EXAMPLES "SEE ALSO"; do
    grep -q "^$section" <<<"$text" || fail "$p.1 has no $section section"
  done
done
pass "man pages: lint-clean, every --help option in them, environment, files, exit status, examples"

# Completion: options from --help, option values, files.
mkdir -p "$WORK/cwd" && touch "$WORK/cwd/report.txt"
complete_words() {  # complete_words PROGRAM WORD...: prints the candidates
  (cd "$WORK/cwd" && PATH="$FERRY_BIN:$PATH" bash -c '
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1))
    _ferry "$1"; printf "%s\n" "${COMPREPLY[@]}"' _ "$completion" "$@")
}
[ "$(complete_words ferry-recv --overwrite ne | tr '\n' ' ')" = "never newer " ] || fail "--overwrite values"
complete_words ferry-send --exc | grep -qx -- --exclude-from || fail "--exc did not offer --exclude-from"
complete_words ferry-recv --once --js | grep -qx -- --json || fail "ferry-recv --js"
complete_words ferry-send host rep | grep -qx report.txt || fail "paths for ferry-send"
pass "bash completion: options, --overwrite values, paths"

# The systemd unit: hardened, and valid for systemd-analyze (its ExecStart
# pointed at the built binary: the installed one is not on this machine).
unit=$WORK/root/usr/lib/systemd/system/ferry-recv.service
for d in DynamicUser=yes StateDirectory=ferry ProtectSystem=strict NoNewPrivileges=yes \
  'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' ProtectHome=yes; do
  grep -qx "$d" "$unit" || fail "the unit lacks $d"
done
if command -v systemd-analyze >/dev/null; then
  sed "s|/usr/bin/ferry-recv|$FERRY_BIN/ferry-recv|" "$unit" >"$WORK/ferry-recv.service"
  systemd-analyze verify --man=no "$WORK/ferry-recv.service" 2>"$WORK/verify.err" ||
    fail "systemd-analyze verify: $(cat "$WORK/verify.err")"
  pass "systemd unit: hardened, systemd-analyze verify clean"
else
  pass "systemd unit: hardened (systemd-analyze not here to verify it)"
fi

# The Debian package.
command -v dpkg-deb >/dev/null || skip "dpkg-deb missing"
(cd "$WORK" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$WORK/pkg" >"$WORK/cpack.log" 2>&1) ||
  fail "cpack: $(tail -n 20 "$WORK/cpack.log")"
deb=$(find "$WORK/pkg" -maxdepth 1 -name 'ferry_*.deb' | head -n 1)
[ -n "$deb" ] || fail "cpack made no .deb"
info=$(dpkg-deb -I "$deb")
grep -q '^ Package: ferry$' <<<"$info" || fail "package name: $info"
grep -qE '^ Version: [0-9]+\.[0-9]+\.[0-9]+' <<<"$info" || fail "package version"
grep -q '^ Section: net$' <<<"$info" || fail "section"
for lib in libssl3 libsodium23 libxxhash0 libzstd1 libstdc++6; do
  grep -E '^ Depends:' <<<"$info" | grep -q "$lib" || fail "Depends lacks $lib: $(grep Depends <<<"$info")"
done
dpkg-deb -x "$deb" "$WORK/deb"
for f in "${files[@]}"; do [ -f "$WORK/deb/$f" ] || fail "the .deb lacks $f"; done
[ -n "$(find "$WORK/deb/usr/share" -path '*bash-completion/completions/ferry-recv')" ] || fail "the .deb lacks the completion"
"$WORK/deb/usr/bin/ferry-send" --version | grep -q '(protocol 3)' || fail "the packaged ferry-send does not run"
pass "cpack -G DEB: $(basename "$deb"), Depends on $(grep -E '^ Depends:' <<<"$info" | cut -c11-)"
