#!/bin/sh
# Import benchmark: one command, prints magpie's figures and its peers' from
# the same run on the same data.
#
#   sh tests/bench/import.sh            (from the repository root)
#
# A 100,000-message archive from ../shared/tools/gen-corpus, as mbox and as
# Maildir (same seed: the same messages), kept in $BENCH_DIR between runs.
# Measured with /usr/bin/time -v (wall time, peak RSS):
#   magpie import MBOX        parse + decode + extract + store + thread
#   magpie import MAILDIR     the same from the Maildir
#   magpie threads --json     threads rebuilt from the store (all messages
#                             read back, threaded, printed)
#   mlist MAILDIR | mthread   mblaze threading the Maildir (Debian mblaze)
#   notmuch new               notmuch indexing the Maildir (slow: about
#                             300 s; BENCH_NOTMUCH=0 skips it)
# Environment: BENCH_N (messages, default 100000), BENCH_DIR (default
# /tmp/magpie-bench), MAGPIE_BIN (default ./magpie), MAGPIE_SHARED
# (default ../shared), BENCH_NOTMUCH (default 1).
set -u
N=${BENCH_N:-100000}
DIR=${BENCH_DIR:-/tmp/magpie-bench}
SRC=$(pwd)
MAGPIE=${MAGPIE_BIN:-$SRC/magpie}
SHARED=${MAGPIE_SHARED:-$SRC/../shared}
NOTMUCH=${BENCH_NOTMUCH:-1}
case $MAGPIE in /*) ;; *) MAGPIE=$SRC/$MAGPIE ;; esac
[ -x "$MAGPIE" ] || { echo "no $MAGPIE: run make first"; exit 1; }
[ -x "$SHARED/tools/gen-corpus" ] || { echo "no $SHARED/tools/gen-corpus"; exit 1; }
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package time)"; exit 1; }
mkdir -p "$DIR" || exit 1
cd "$DIR" || exit 1

if [ ! -s "c$N.mbox" ]; then
	echo "generating $N messages (mbox)..."
	"$SHARED/tools/gen-corpus" -q -n "$N" --format mbox -o "c$N.mbox" || exit 1
fi
if [ ! -d "c$N.maildir/cur" ]; then
	echo "generating $N messages (Maildir)..."
	rm -rf "c$N.maildir"
	"$SHARED/tools/gen-corpus" -q -n "$N" --format maildir -o "c$N.maildir" || exit 1
fi

# run NAME CMD...: time one command; prints "NAME  seconds  msgs/s  peak RSS"
run() {
	name=$1
	shift
	/usr/bin/time -v -o time.log "$@" >out.log 2>err.log
	rc=$?
	secs=$(sed -n 's/^.*Elapsed (wall clock) time.*: //p' time.log |
	    awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
	rss=$(sed -n 's/^.*Maximum resident set size (kbytes): //p' time.log)
	rate=$(awk -v n="$N" -v s="$secs" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "-" }')
	printf '%-34s %8.2f s %9s msg/s %8.1f MB peak RSS%s\n' "$name" "$secs" \
	    "$rate" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" \
	    "$([ $rc -eq 0 ] || echo "  (exit $rc: $(tail -n 1 err.log))")"
}

cfg() {
	rm -rf "$1"
	mkdir -p "$1"
	printf '[store]\npath = s.db\n[delivery]\ntransport = maildir:out\nfrom = S <s@example.org>\n' >"$1/m.ini"
}

echo "$N messages; $(nproc) CPUs; $(uname -sr)"
echo "mbox $(du -sh "c$N.mbox" | cut -f1), Maildir $(du -sh "c$N.maildir" | cut -f1)"
cfg st-mbox
run "magpie import (mbox)" "$MAGPIE" -q -c st-mbox/m.ini import "c$N.mbox"
cfg st-maildir
run "magpie import (Maildir)" "$MAGPIE" -q -c st-maildir/m.ini import "c$N.maildir"
run "magpie threads --json (rebuild)" "$MAGPIE" -q -c st-mbox/m.ini threads --json
echo "  $(wc -l <out.log) threads, store $(du -h st-mbox/s.db | cut -f1)"
run "magpie import again (all known)" "$MAGPIE" -q -c st-mbox/m.ini import "c$N.mbox"

if command -v mthread >/dev/null 2>&1 && command -v mlist >/dev/null 2>&1; then
	run "mlist | mthread (mblaze)" sh -c "mlist c$N.maildir | mthread"
	echo "  $(grep -c . out.log) lines"
else
	echo "mblaze not installed (apt-get install mblaze): skipped"
fi
if [ "$NOTMUCH" != 0 ] && command -v notmuch >/dev/null 2>&1; then
	rm -rf "c$N.maildir/.notmuch"
	printf '[database]\npath=%s\n[new]\ntags=\n[maildir]\nsynchronize_flags=false\n' \
	    "$DIR/c$N.maildir" >notmuch.cfg
	run "notmuch new" notmuch --config="$DIR/notmuch.cfg" new
	rm -rf "c$N.maildir/.notmuch"
else
	echo "notmuch skipped (BENCH_NOTMUCH=0 or not installed)"
fi
rm -f out.log err.log time.log
