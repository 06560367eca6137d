#!/bin/sh
# `magpie run` with nothing new to do: the cron job's cost every 15
# minutes, on a store of 10,000 and of 100,000 messages with 50 members
# (10 zones) and the example deadlines. Target: under 200 ms, and not
# growing with the archive.
#
#   sh tests/bench/run.sh [COUNT...]        default: 10000 100000
#
# For each COUNT: an mbox from ../shared/tools/gen-corpus (kept in
# $BENCH_DIR between runs), imported once into a fresh store; a first
# `run --now 2021-06-11T12:00:00Z` sends 50 digests (each covering the
# whole archive) and 50 reminders into a Maildir outbox; then the same
# run again, with nothing to do (the list's source is a Maildir with no
# new mail, every digest and reminder due is in the ledger), timed by
# hyperfine (falls back to /usr/bin/time). No peer tool does this job;
# the 10k/100k pair is the comparison that matters.
# Environment: BENCH_DIR (default /tmp/magpie-runbench), MAGPIE_BIN.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
MAGPIE=${MAGPIE_BIN:-$SRC/magpie}
case $MAGPIE in /*) ;; *) MAGPIE=$SRC/$MAGPIE ;; esac
GEN=$SRC/../shared/tools/gen-corpus
DIR=${BENCH_DIR:-/tmp/magpie-runbench}
NOW=2021-06-11T12:00:00Z
[ -x "$MAGPIE" ] || { echo "build magpie first (make)"; exit 1; }
[ -x "$GEN" ] || { echo "no $GEN"; exit 1; }
[ -x /usr/bin/time ] ||
    { echo "needs /usr/bin/time (Debian package time)"; exit 1; }
[ $# -gt 0 ] || set -- 10000 100000
mkdir -p "$DIR" || exit 1

# timed LABEL CMD...: "LABEL  seconds  peak RSS" with /usr/bin/time -v
timed() {
	label=$1
	shift
	/usr/bin/time -v -o "$DIR/time.log" "$@" >"$DIR/out.log" 2>&1 ||
	    { echo "$label: FAILED"; tail -5 "$DIR/out.log"; exit 1; }
	el=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' \
	    "$DIR/time.log" |
	    awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$DIR/time.log")
	printf '%-44s %8.3f s %7.1f MB peak RSS\n' "$label" "$el" \
	    "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
}

for n in "$@"; do
	mbox=$DIR/c$n.mbox
	if [ ! -s "$mbox" ]; then
		echo "generating $n messages..."
		"$GEN" -q -n "$n" --format mbox -o "$mbox" || exit 1
	fi
	w=$DIR/w$n
	rm -rf "$w"
	mkdir -p "$w/empty/cur" "$w/empty/new" "$w/empty/tmp" || exit 1
	cp -R "$SRC/etc/deadlines.d" "$w/deadlines.d"
	/usr/bin/python3 - "$w/members.ini" <<'PY'
import sys
zones = ["Africa/Johannesburg", "Europe/Warsaw", "Asia/Kolkata",
         "America/New_York", "America/Mexico_City", "Asia/Manila",
         "Asia/Tokyo", "America/Sao_Paulo", "Europe/Zurich",
         "Pacific/Auckland"]
with open(sys.argv[1], "w") as f:
    for i in range(50):
        f.write("[member m%02d]\nname = Member %d\nemail = m%02d@example.org\n"
                "tz = %s\ngroups = mag%s\n" % (i, i, i, zones[i % 10],
                                             ", wg-hybrid" if i % 5 == 0
                                             else ""))
PY
	cat >"$w/magpie.ini" <<EOF
include = members.ini, deadlines.d/*.ini
[store]
path = store.db
[list mag]
name = IGF MAG
source = maildir:empty
[delivery]
transport = maildir:outbox
from = IGF MAG Secretariat <mag-secretariat@example.org>
[digest]
time = 07:00
send_empty = no
template = $SRC/etc/templates/digest
EOF
	echo "== $n messages, 50 members"
	timed "import (once)" "$MAGPIE" -q -c "$w/magpie.ini" import "$mbox"
	timed "first run: 50 digests + 50 reminders" \
	    "$MAGPIE" -q -c "$w/magpie.ini" --now "$NOW" run
	sent=$(ls "$w/outbox/new" | wc -l)
	[ "$sent" -eq 100 ] ||
	    { echo "first run sent $sent emails, wanted 100"; exit 1; }
	timed "run, nothing new to do (/usr/bin/time)" \
	    "$MAGPIE" -q -c "$w/magpie.ini" --now "$NOW" run
	if command -v hyperfine >/dev/null; then
		hyperfine -N -w 3 -r 30 --style basic \
		    --export-json "$DIR/hf$n.json" \
		    -n "run, nothing new to do, $n messages" \
		    "$MAGPIE -q -c $w/magpie.ini --now $NOW run" 2>&1 |
		    sed -n 's/^ *\(Time\|Range\).*/  &/p'
	fi
	[ "$(ls "$w/outbox/new" | wc -l)" -eq 100 ] ||
	    { echo "a no-op run sent something"; exit 1; }
	du -h "$w/store.db" | awk '{ print "  store: " $1 }'
done
