#!/bin/sh
# make install / uninstall into a DESTDIR: layout, and an existing
# configuration is never overwritten.
set -u
T=$(mktemp -d /tmp/magpie-install-XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
mk() { make -s B="${MAGPIE_B:-build}" DESTDIR="$T" PREFIX=/usr MANDIR=/usr/share/man "$@" >"$T/log" 2>&1 || { cat "$T/log"; fail "make $*"; }; }

mk install
for f in usr/bin/magpie usr/share/man/man1/magpie.1 usr/share/man/man5/magpie.ini.5 \
    usr/share/magpie/example.ini usr/share/magpie/templates/digest.txt \
    usr/share/magpie/cron/magpie.timer etc/magpie/magpie.ini.example; do
	[ -e "$T/$f" ] || fail "not installed: $f"
done
[ -x "$T/usr/bin/magpie" ] || fail "binary not executable"
"$T/usr/bin/magpie" --version >/dev/null || fail "installed binary does not run"

echo "; mine" > "$T/etc/magpie/magpie.ini.example"
echo "; my template" > "$T/etc/magpie/templates/digest.txt"
mk install
grep -q '; mine' "$T/etc/magpie/magpie.ini.example" || fail "install overwrote the config"
grep -q '; my template' "$T/etc/magpie/templates/digest.txt" || fail "install overwrote a template"

mk uninstall
[ ! -e "$T/usr/bin/magpie" ] || fail "uninstall left the binary"
[ ! -e "$T/usr/share/man/man1/magpie.1" ] || fail "uninstall left the man page"
[ -e "$T/etc/magpie/magpie.ini.example" ] || fail "uninstall removed the config"
[ $fails -eq 0 ] || exit 1
