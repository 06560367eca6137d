#!/bin/sh
# IMAP sync against a real Dovecot started here on 127.0.0.1 (free high
# ports, private config, test CA): full sync over imaps:// with ca_file,
# STARTTLS, incremental sync, resume after the connection is cut mid-FETCH,
# UIDVALIDITY change, messages over max_size, certificate refusals (no
# login reaches the server), STARTTLS not offered, LOGIN and AUTHENTICATE
# PLAIN, wrong password, server down.
set -u
MAGPIE=${MAGPIE_BIN:-./magpie}
case $MAGPIE in /*) ;; *) MAGPIE=$(pwd)/$MAGPIE ;; esac
SRC=$(pwd)
LIBDIR=$SRC/tests/integration/lib
. "$LIBDIR/dovecot.sh"
T=$(mktemp -d /tmp/magpie-imap-XXXXXX)
chmod 755 "$T"     # Dovecot's users reach the passwd file and Maildir
PROXY_PID=
stop_proxy() {
	[ -n "$PROXY_PID" ] || return 0
	kill "$PROXY_PID" 2>/dev/null
	wait "$PROXY_PID" 2>/dev/null
	PROXY_PID=
}
trap 'stop_proxy; dv_stop; rm -rf "$T"' EXIT
trap 'exit 1' HUP INT PIPE TERM
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect_rc() { [ "$1" = "$2" ] || fail "$3: exit $2, wanted $1; output: $(cat "$T/err" 2>/dev/null)"; }
has() { grep -qF -- "$2" "$1" || fail "no '$2' in: $(cat "$1")"; }

dv_init "$T/dv"
dv_fill "$SRC/etc/sample/mag-2021-06.mbox"
dv_start good
N0=$(grep -c '^From ' "$SRC/etc/sample/mag-2021-06.mbox")

sql() { # db query
	/usr/bin/python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$@"
}
msgs() { sql "$1" 'select count(*) from msg'; }

start_proxy() { # mode upstream-port
	PX=$(free_port)
	: >"$T/proxy.log"
	/usr/bin/python3 "$LIBDIR/proxy.py" "$PX" "$2" "$1" "$T/proxy.log" \
	    >"$T/proxy.out" 2>&1 &
	PROXY_PID=$!
	wait_port "$PX" || { fail "proxy did not start"; exit 1; }
}

printf '%s\n' "$DV_PASS" >"$T/imap.pass"
chmod 600 "$T/imap.pass"
cp "$T/dv/certs/ca.pem" "$T/ca.pem"

# ini NAME SOURCE [extra lines]: a config with one list and its own store
ini() {
	cat >"$T/$1.ini" <<INI
[store]
path = $1.db
[list mag]
source = $2
password_file = imap.pass
ca_file = ca.pem
${3:-}
[delivery]
transport = maildir:out
from = Secretariat <sec@example.org>
INI
}
run() { # name args...: magpie -c T/name.ini args, stderr in T/err
	n=$1
	shift
	(cd "$T" && "$MAGPIE" -c "$n.ini" "$@") >"$T/out" 2>"$T/err"
}

# --- full sync over imaps:// with ca_file; -q prints nothing
ini a "imaps://mag@127.0.0.1:$DV_IMAPS/INBOX"
run a -q fetch; expect_rc 0 $? "full sync"
[ -s "$T/err" ] && fail "-q fetch printed: $(cat "$T/err")"
[ "$(msgs "$T/a.db")" = "$N0" ] || fail "full sync stored $(msgs "$T/a.db"), wanted $N0"
[ "$(sql "$T/a.db" "select last_uid from source_state")" = "$N0" ] ||
	fail "high-water mark is not $N0"
grep -q 'Login: user=<mag>, method=PLAIN' "$T/dv/dovecot.log" ||
	fail "no PLAIN login in the Dovecot log"
# never marks mail as read: every message still in new/ or without S flag
ls "$DV_MAILDIR/cur" | grep -q ':2,.*S' && fail "a message was marked seen"

# --- no-op re-sync: nothing new, no FETCH, -v says so
run a -v fetch; expect_rc 0 $? "no-op sync"
has "$T/err" "list mag: 127.0.0.1:$DV_IMAPS/INBOX: 0 new, 0 fetched"

# --- incremental: three new messages (and a corpus file when present)
cat >"$T/new.mbox" <<'MBOX'
From sec@example.org Mon Jun 21 09:00:00 2021
From: IGF Secretariat <sec@example.org>
To: mag@lists.example.org
Subject: [MAG] Agenda for the MAG meeting on 23 June
Date: Mon, 21 Jun 2021 09:00:00 +0000
Message-ID: <new-1@example.org>
List-Id: IGF MAG <mag.intgovforum.org>

Please send agenda items by 22 June 2021 12:00 UTC.

From chair@example.org Mon Jun 21 10:00:00 2021
From: Chair <chair@example.org>
To: mag@lists.example.org
Subject: Re: [MAG] Agenda for the MAG meeting on 23 June
Date: Mon, 21 Jun 2021 10:00:00 +0000
Message-ID: <new-2@example.org>
In-Reply-To: <new-1@example.org>
List-Id: IGF MAG <mag.intgovforum.org>

Thanks.

From other@example.org Mon Jun 21 11:00:00 2021
From: Other <other@example.org>
To: other@lists.example.org
Subject: Another list
Date: Mon, 21 Jun 2021 11:00:00 +0000
Message-ID: <new-3@example.org>
List-Id: Other <other.example.org>

Not for the MAG.
MBOX
dv_fill "$T/new.mbox"
NEW=3
RLUG=$SRC/../shared/testdata/threads/james-mime4j-rlug/mbox.rlug-1
if [ -f "$RLUG" ]; then
	dv_fill "$RLUG"
	NEW=$((NEW + $(grep -c '^From ' "$RLUG")))
fi
run a -v fetch; expect_rc 0 $? "incremental sync"
has "$T/err" "$NEW new, $NEW fetched"
[ "$(sql "$T/a.db" "select count(*) from msg where message_id like 'new-%'")" = 3 ] ||
	fail "incremental sync did not store the new messages"
TOTAL=$((N0 + NEW))

# --- list_id keeps only that list's messages (a folder holding several)
ini l "imaps://mag@127.0.0.1:$DV_IMAPS/" "list_id = other.example.org"
run l -q fetch; expect_rc 0 $? "list_id filter"
[ "$(msgs "$T/l.db")" = 1 ] || fail "list_id kept $(msgs "$T/l.db") messages, wanted 1"

# --- STARTTLS on imap://, password from a command, user from 'user ='
ini s "imap://127.0.0.1:$DV_IMAP/INBOX" "user = mag"
sed -i 's|^password_file = .*|password_command = cat imap.pass|' "$T/s.ini"
run s -v fetch; expect_rc 0 $? "STARTTLS sync"
[ "$(msgs "$T/s.db")" = "$TOTAL" ] || fail "STARTTLS sync stored $(msgs "$T/s.db")"

# --- resume: the proxy cuts the connection in the middle of a FETCH
ini r "imaps://mag@127.0.0.1:PORT/INBOX" "batch = 10"
start_proxy cut-after:55000 "$DV_IMAPS"
sed -i "s/:PORT/:$PX/" "$T/r.ini"
run r fetch; rc=$?
expect_rc 75 $rc "fetch cut mid-FETCH"
has "$T/err" "connection lost during FETCH"
got=$(msgs "$T/r.db")
last=$(sql "$T/r.db" "select last_uid from source_state")
[ "$got" -gt 0 ] && [ "$got" -lt "$TOTAL" ] || fail "cut fetch stored $got"
[ $((last % 10)) = 0 ] && [ "$last" -gt 0 ] || fail "high-water mark $last is not a batch end"
stop_proxy
# the same source (the state is per list and URL), now relayed whole
/usr/bin/python3 "$LIBDIR/proxy.py" "$PX" "$DV_IMAPS" relay "$T/proxy.log" \
    >"$T/proxy.out" 2>&1 &
PROXY_PID=$!
wait_port "$PX" || fail "proxy did not restart"
run r -v fetch; expect_rc 0 $? "resumed fetch"
has "$T/err" "$((TOTAL - last)) new, $((TOTAL - last)) fetched"
[ "$(msgs "$T/r.db")" = "$TOTAL" ] || fail "resume left $(msgs "$T/r.db") of $TOTAL"
has "$T/err" "$((TOTAL - last)) stored, 0 duplicate"
stop_proxy

# --- UIDVALIDITY change: the mailbox is recreated; re-sync, no duplicates
old=$(sql "$T/a.db" "select uidvalidity from source_state")
sleep 1        # Dovecot's UIDVALIDITY is a time stamp
rm -rf "$DV_MAILDIR"
mkdir -p "$DV_MAILDIR/cur" "$DV_MAILDIR/new" "$DV_MAILDIR/tmp"
dv_fill "$SRC/etc/sample/mag-2021-06.mbox" "$T/new.mbox"
run a -v fetch; expect_rc 0 $? "sync after UIDVALIDITY change"
has "$T/err" "UIDVALIDITY changed ($old -> "
[ "$(msgs "$T/a.db")" = "$TOTAL" ] || fail "UIDVALIDITY re-sync gave $(msgs "$T/a.db") messages, wanted $TOTAL"
has "$T/err" "$((N0 + 3)) duplicate"

# --- over max_size: recorded in skipped, not fetched
ini m "imaps://mag@127.0.0.1:$DV_IMAPS/INBOX" "max_size = 2k"
run m fetch; expect_rc 0 $? "max_size"
sk=$(sql "$T/m.db" "select count(*) from skipped")
[ "$sk" -gt 0 ] && [ $(($(msgs "$T/m.db") + sk)) = $((N0 + 3)) ] ||
	fail "max_size: $sk skipped, $(msgs "$T/m.db") stored"
has "$T/err" "over max_size; skipped"

# --- wrong password: exit 77 at once, as for SMTP, one attempt only
before=$(dv_log_logins)
printf 'wrong\n' >"$T/bad.pass"
chmod 600 "$T/bad.pass"
ini w "imaps://mag@127.0.0.1:$DV_IMAPS/INBOX"
sed -i 's|^password_file = .*|password_file = bad.pass|' "$T/w.ini"
run w fetch; expect_rc 77 $? "wrong password"
has "$T/err" "login as mag refused"
grep -q wrong "$T/err" && fail "the password appears in the message"
[ $(($(dv_log_logins) - before)) -le 2 ] || fail "more than one login attempt"
[ "$(msgs "$T/w.db")" = 0 ] || fail "wrong password stored messages"

# --- LOGIN when AUTH=PLAIN is not offered; AUTHENTICATE PLAIN when it is
ini p "imap://mag@127.0.0.1:PORT/INBOX" "tls = none"
start_proxy strip-authplain "$DV_IMAP"
sed -i "s/:PORT/:$PX/" "$T/p.ini"
run p fetch; expect_rc 0 $? "LOGIN"
has "$T/proxy.log" " LOGIN mag ***"
grep -q AUTHENTICATE "$T/proxy.log" && fail "AUTHENTICATE used without AUTH=PLAIN"
grep -q "$DV_PASS" "$T/proxy.log" && fail "proxy log holds the password"
stop_proxy
start_proxy relay "$DV_IMAP"
sed -i "s/127.0.0.1:[0-9]*/127.0.0.1:$PX/" "$T/p.ini"
run p fetch; expect_rc 0 $? "AUTHENTICATE PLAIN"
has "$T/proxy.log" " AUTHENTICATE PLAIN ***"
has "$T/proxy.log" " EXAMINE "
grep -q ' SELECT ' "$T/proxy.log" && fail "SELECT used (must be read-only EXAMINE)"
grep -q 'BODY\[\]' "$T/proxy.log" && fail "BODY[] used (must be BODY.PEEK[])"
has "$T/proxy.log" "BODY.PEEK[]"
stop_proxy

# --- STARTTLS not offered: refuse before any login
start_proxy strip-starttls "$DV_IMAP"
ini n "imap://mag@127.0.0.1:$PX/INBOX"
before=$(dv_log_logins)
run n fetch; rc=$?
[ "$rc" = 69 ] || fail "no STARTTLS: exit $rc, wanted 69"
has "$T/err" "127.0.0.1:$PX: the server does not offer STARTTLS"
grep -qE 'LOGIN|AUTHENTICATE' "$T/proxy.log" && fail "credentials sent without STARTTLS"
[ "$(dv_log_logins)" = "$before" ] || fail "a login reached Dovecot without STARTTLS"
stop_proxy

# --- certificate refusals: untrusted CA, expired, wrong host name
refuse() { # cert url want
	dv_stop
	dv_start "$1"
	ini c "$2"
	before=$(dv_log_logins)
	run c fetch; rc=$?
	[ "$rc" = 69 ] || fail "$1 certificate: exit $rc, wanted 69"
	has "$T/err" "$3"
	has "$T/err" "127.0.0.1"
	[ "$(dv_log_logins)" = "$before" ] || fail "$1 certificate: a login reached Dovecot"
	[ "$(msgs "$T/c.db")" = 0 ] || fail "$1 certificate: messages stored"
}
refuse rogue "imaps://mag@127.0.0.1:$DV_IMAPS/INBOX" "server certificate is not trusted"
refuse expired "imaps://mag@127.0.0.1:$DV_IMAPS/INBOX" "server certificate has expired"
refuse wronghost "imaps://mag@127.0.0.1:$DV_IMAPS/INBOX" "server certificate is for another host name"
refuse wronghost "imap://mag@127.0.0.1:$DV_IMAP/INBOX" "server certificate is for another host name"
# without ca_file the system store does not know the test CA
dv_stop
dv_start good
ini c "imaps://mag@localhost:$DV_IMAPS/INBOX"
sed -i '/^ca_file/d' "$T/c.ini"
run c fetch; rc=$?
[ "$rc" = 69 ] || fail "system trust store: exit $rc, wanted 69"
has "$T/err" "the system trust store"

# --- server down: exit 75, store untouched
dv_stop
sum=$(md5sum <"$T/a.db")
run a fetch; expect_rc 75 $? "server down"
has "$T/err" "cannot connect to 127.0.0.1 port $DV_IMAPS"
[ "$(md5sum <"$T/a.db")" = "$sum" ] || fail "server down changed the store"

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "imap: all passed"
