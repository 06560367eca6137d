#!/bin/sh
# IMAP sync benchmark: magpie against mbsync (Debian isync), the same
# folder from the same local Dovecot (imaps:// on 127.0.0.1, test CA).
#
#   sh tests/bench/imap.sh [COUNT...]        default: 10000 100000
#
# For each COUNT: a Maildir of COUNT messages from ../shared/tools/gen-corpus
# (plus 100 held back), then, each timed with /usr/bin/time -v:
#   full sync into an empty store (magpie: fetch + parse + store + extract;
#   mbsync: fetch + write files into an empty Maildir), a no-op re-sync,
#   and the sync of 100 new messages (delivered by Dovecot's LDA). Then
#   100 more are delivered and fetched first by a bare Python client
#   (log in, EXAMINE, fetch the 100): on a Maildir folder Dovecot re-reads
#   its uidlist and rescans the folder after deliveries, at a cost that
#   grows with the folder and that each client pays, whoever it is; the
#   bare client shows that floor. Then magpie and mbsync sync the same 100.
#   Not part of `make check`.
# BENCH_MBSYNC=0 leaves mbsync out (its full sync of 100,000 takes minutes).
# BENCH_BATCH=N sets magpie's [list] batch (messages per FETCH and commit).
# BENCH_SERVER=mdbox serves the folder from Dovecot's mdbox format (loaded
# with doveadm import) instead of Maildir.
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
MAGPIE=${MAGPIE_BIN:-$SRC/magpie}
LIBDIR=$SRC/tests/integration/lib
. "$LIBDIR/dovecot.sh"
GEN=$SRC/../shared/tools/gen-corpus
[ -x "$MAGPIE" ] || { echo "build magpie first (make)"; exit 1; }
[ -f "$GEN" ] || dv_skip "no $GEN"
MBSYNC=${BENCH_MBSYNC:-1}
command -v mbsync >/dev/null || { MBSYNC=0; echo "mbsync not installed (apt-get install isync): magpie only"; }
[ $# -gt 0 ] || set -- 10000 100000

T=$(mktemp -d /tmp/magpie-bench-imap-XXXXXX)
chmod 755 "$T"
trap 'dv_stop; rm -rf "$T"' EXIT
trap 'exit 1' HUP INT PIPE TERM

# timed LABEL CMD...: one line "LABEL  elapsed s  max RSS MB"
timed() {
	label=$1
	shift
	/usr/bin/time -v -o "$T/time" "$@" >"$T/cmd.out" 2>&1 ||
		{ echo "$label: FAILED"; tail -5 "$T/cmd.out"; }
	el=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$T/time" |
	    awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s }')
	rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$T/time")
	printf '%-34s %9.3f s %8.1f MB\n' "$label" "$el" "$((rss / 1024)).$((rss % 1024 * 10 / 1024))"
}

# deliver DIR: each file of DIR by Dovecot's LDA, as on a live server (a
# file copied behind Dovecot's back would be indexed by the next client to
# open the folder, at its expense)
deliver() {
	for f in "$1"/*; do
		[ -f "$f" ] || continue
		/usr/lib/dovecot/dovecot-lda -c "$T/dv/dovecot.conf" -d mag \
		    -f bench@example.org <"$f" || echo "dovecot-lda failed"
	done
	sleep 1
}

for n in "$@"; do
	echo "== $n messages =="
	rm -rf "$T/dv" "$T/hold" "$T/m" "$T/mb"
	mkdir -p "$T/dv" "$T/m" "$T/mb"
	dv_init "$T/dv"
	rm -rf "$DV_MAILDIR"
	/usr/bin/python3 "$GEN" -q -n "$n" -f maildir -o "$DV_MAILDIR" \
	    --hold-back 200 --hold-back-out "$T/hold" || exit 1
	# two groups of 100 later messages
	mkdir -p "$T/new1" "$T/new2"
	k=0
	for f in "$T/hold/new/"* "$T/hold/cur/"*; do
		[ -f "$f" ] || continue
		k=$((k + 1))
		if [ $k -le 100 ]; then mv "$f" "$T/new1/"; else mv "$f" "$T/new2/"; fi
	done
	CORPUS=$DV_MAILDIR
	if [ "${BENCH_SERVER:-maildir}" = mdbox ]; then
		CORPUS=$T/corpus
		mv "$DV_MAILDIR" "$CORPUS"
		mkdir -p "$DV_MAILDIR"
		DV_MAIL_LOCATION='mdbox:~/mdbox'
	fi
	dv_start good
	if [ "$CORPUS" != "$DV_MAILDIR" ]; then
		chown -R "$DV_USER:$DV_GROUP" "$CORPUS"
		doveadm -c "$T/dv/dovecot.conf" import -u mag "maildir:$CORPUS" \
		    "" all || { echo "doveadm import failed"; exit 1; }
	fi
	# Let Dovecot build its index once, as on a live server.
	printf '%s\n' "$DV_PASS" >"$T/pass"
	chmod 600 "$T/pass"
	cat >"$T/m/magpie.ini" <<INI
[store]
path = magpie.db
[list mag]
source = imaps://mag@127.0.0.1:$DV_IMAPS/INBOX
password_file = $T/pass
ca_file = $T/dv/certs/ca.pem
$([ -n "${BENCH_BATCH:-}" ] && echo "batch = $BENCH_BATCH")
[delivery]
transport = maildir:out
from = Secretariat <sec@example.org>
INI
	cat >"$T/mbsyncrc" <<RC
IMAPAccount dv
Host localhost
Port $DV_IMAPS
User mag
PassCmd "cat $T/pass"
SSLType IMAPS
CertificateFile $T/dv/certs/ca.pem

IMAPStore remote
Account dv

MaildirStore local
Path $T/mb/
Inbox $T/mb/INBOX

Channel c
Far :remote:INBOX
Near :local:INBOX
Sync Pull
Create Near
SyncState *
RC
	# warm Dovecot's index and the page cache, untimed
	"$MAGPIE" -q -c "$T/m/magpie.ini" check >/dev/null 2>&1
	/usr/bin/python3 - "$DV_IMAPS" "$T/dv/certs/ca.pem" "$DV_PASS" <<'PY'
import imaplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
m = imaplib.IMAP4_SSL("127.0.0.1", int(sys.argv[1]), ssl_context=ctx)
m.login("mag", sys.argv[3]); m.select("INBOX", readonly=True)
m.uid("FETCH", "1:*", "(UID RFC822.SIZE)"); m.logout()
PY
	timed "magpie full sync" "$MAGPIE" -q -c "$T/m/magpie.ini" fetch
	# the same messages from the Maildir itself: parse + store alone
	(cd "$T/m" && timed "(magpie import of the Maildir)" "$MAGPIE" -q \
	    -c magpie.ini import "$CORPUS") | sed 's/^/  /'
	rm -f "$T/m/magpie.db" "$T/m/magpie.db-"*
	(cd "$T/m" && timed "magpie full sync (2nd run)" "$MAGPIE" -q -c magpie.ini fetch)
	[ "$MBSYNC" = 1 ] &&
		timed "mbsync full sync" mbsync -q -c "$T/mbsyncrc" c
	timed "magpie no-op sync" "$MAGPIE" -q -c "$T/m/magpie.ini" fetch
	[ "$MBSYNC" = 1 ] &&
		timed "mbsync no-op sync" mbsync -q -c "$T/mbsyncrc" c
	deliver "$T/new1"
	timed "magpie 100 new" "$MAGPIE" -q -c "$T/m/magpie.ini" fetch
	[ "$MBSYNC" = 1 ] &&
		timed "mbsync 100 new" mbsync -q -c "$T/mbsyncrc" c
	deliver "$T/new2"
	# the least any client does: connect, log in, EXAMINE, fetch the
	# last 100 whole (timed from the connect, without Python's start)
	/usr/bin/python3 - "$DV_IMAPS" "$T/dv/certs/ca.pem" "$DV_PASS" <<'PY'
import imaplib, ssl, sys, time
t0 = time.monotonic()
ctx = ssl.create_default_context(cafile=sys.argv[2])
m = imaplib.IMAP4_SSL("127.0.0.1", int(sys.argv[1]), ssl_context=ctx)
m.login("mag", sys.argv[3])
t1 = time.monotonic()
n = int(m.select("INBOX", readonly=True)[1][0])
t2 = time.monotonic()
m.fetch("%d:%d" % (n - 99, n), "(UID BODY.PEEK[])")
t3 = time.monotonic()
m.logout()
print("%-34s %9.3f s  (EXAMINE %.3f s)" % ("(bare client: 100 new)",
    t3 - t0, t2 - t1))
PY
	timed "magpie 100 new, same server work" "$MAGPIE" -q -c "$T/m/magpie.ini" fetch
	[ "$MBSYNC" = 1 ] &&
		timed "mbsync 100 new, same server work" mbsync -q -c "$T/mbsyncrc" c
	echo "stored: $(/usr/bin/python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("select count(*) from msg").fetchone()[0])' "$T/m/magpie.db") messages (magpie), $(find "$T/mb" -type f -path '*/cur/*' -o -type f -path '*/new/*' | wc -l) files (mbsync)"
	if command -v hyperfine >/dev/null; then
		if [ "$MBSYNC" = 1 ]; then
			set -- "$(command -v mbsync) -q -c $T/mbsyncrc c"
		else
			set --
		fi
		hyperfine -N -w 2 -r 10 --export-markdown "$T/hf.md" \
		    "$MAGPIE -q -c $T/m/magpie.ini fetch" "$@" >/dev/null 2>&1 &&
			sed 's|/tmp/magpie-bench-imap-[^ ]*/||g' "$T/hf.md"
	fi
	dv_stop
done
