#!/bin/sh
# SMTP failures against a real server (aiosmtpd on 127.0.0.1, STARTTLS
# and AUTH): 451 then success on a later run, the retry limit, 550 for one
# recipient, a connection dropped after DATA, a server too slow to answer,
# and kill -9 of magpie in the middle of a batch. Each time: nothing lost,
# nothing sent twice except the one email in flight at the kill.
. tests/integration/lib/smtp.sh
make_pki
PW='pw-Corr3ct-horse'
printf '%s\n' "$PW" > "$T/pw"
chmod 600 "$T/pw"
AUTH="user = sec
password_file = $T/pw
ca_file = $T/pki/ca.pem"
srv() { # NAME ARGS...: a STARTTLS + AUTH server
	n=$1
	shift
	start_server "$n" --cert "$T/pki/srv.pem" --key "$T/pki/srv.key" \
	    --user sec --password "$PW" "$@"
}
reference ref3 3
reference ref4 4

# --- 451 for the first two emails: the rest goes, exit 75; the next run
# sends those two, once.
srv tempfail --tempfail 2
write_config "$T/tempfail.ini" "smtp://127.0.0.1:$PORT" 3 "$AUTH"
run_magpie "$T/tempfail.ini"
expect_rc 75 $RC "451, first run"
grep -q "451 4.3.0 try again later (will retry)" "$T/err" ||
    fail "451 message: $(cat "$T/err")"
grep -q "4 sent, 0 skipped, 2 to retry, 0 failed" "$T/err" ||
    fail "451 summary: $(cat "$T/err")"
expect_eq 4 "$(check count "$T/tempfail")" "received after 451s"
expect_eq 2 "$(check ledger "$T/tempfail.db" pending)" "pending after 451s"
run_magpie "$T/tempfail.ini"
expect_rc 0 $RC "451, second run"
check same "$T/ref3.ref" "$T/tempfail" || fail "451: not each email once"
expect_eq 6 "$(check ledger "$T/tempfail.db" sent)" "sent after the retry"
run_magpie "$T/tempfail.ini"
expect_rc 0 $RC "451, third run"
expect_eq 6 "$(check count "$T/tempfail")" "nothing more on a third run"
stop_server tempfail

# --- 451 for ever: given up after max_attempts (2), exit 65, then quiet
srv always --tempfail 1000
write_config "$T/always.ini" "smtp://127.0.0.1:$PORT" 3 "$AUTH
max_attempts = 2"
run_magpie "$T/always.ini"
expect_rc 75 $RC "451 always, first run"
run_magpie "$T/always.ini"
expect_rc 65 $RC "451 always, second run"
grep -q "giving up after 2 attempts" "$T/err" || fail "give up: $(cat "$T/err")"
expect_eq 6 "$(check ledger "$T/always.db" failed)" "failed after max_attempts"
c0=$(conns always)
run_magpie "$T/always.ini"
expect_rc 0 $RC "451 always, third run"
expect_eq "$c0" "$(conns always)" "no retry after giving up"
expect_eq 0 "$(check count "$T/always")" "received from a 451 server"
stop_server always

# --- 550 for one recipient: only that one fails; the others arrive
srv reject --reject m2@example.org
write_config "$T/reject.ini" "smtp://127.0.0.1:$PORT" 3 "$AUTH"
run_magpie "$T/reject.ini"
expect_rc 65 $RC "550 for one recipient"
[ "$(grep -c "to m2@example.org failed: .*recipient <m2@example.org> refused: 550 5.1.1" "$T/err")" = 2 ] ||
    fail "550 message: $(cat "$T/err")"
grep -q "4 sent, 0 skipped, 0 to retry, 2 failed" "$T/err" ||
    fail "550 summary: $(cat "$T/err")"
expect_eq 4 "$(check count "$T/reject")" "received with one 550"
check env "$T/reject" rcpt | grep -q m2@ && fail "m2 received"
expect_eq 2 "$(check ledger "$T/reject.db" failed)" "failed with one 550"
expect_eq 4 "$(check ledger "$T/reject.db" sent)" "sent with one 550"
run_magpie "$T/reject.ini"
expect_rc 0 $RC "550, second run"
expect_eq 4 "$(check count "$T/reject")" "nothing more after a 550"
stop_server reject

# --- the connection dropped after DATA: that email stays pending, the
# rest goes over a new connection; the next run sends it
srv drop --drop 1
write_config "$T/drop.ini" "smtp://127.0.0.1:$PORT" 3 "$AUTH"
run_magpie "$T/drop.ini"
expect_rc 75 $RC "dropped after DATA"
grep -q "5 sent, 0 skipped, 1 to retry" "$T/err" || fail "drop summary: $(cat "$T/err")"
expect_eq 2 "$(conns drop)" "connections after a drop"
expect_eq 1 "$(check ledger "$T/drop.db" pending)" "pending after a drop"
run_magpie "$T/drop.ini"
expect_rc 0 $RC "after a drop, second run"
check same "$T/ref3.ref" "$T/drop" || fail "drop: not each email once"
stop_server drop

# --- a server that does not answer within delivery.timeout: temporary
srv slow --delay 3
write_config "$T/slow.ini" "smtp://127.0.0.1:$PORT" 1 "$AUTH
timeout = 1"
run_magpie "$T/slow.ini"
expect_rc 75 $RC "no answer within the timeout"
grep -q "2 to retry" "$T/err" || fail "timeout summary: $(cat "$T/err")"
expect_eq 2 "$(check ledger "$T/slow.db" pending)" "pending after timeouts"
stop_server slow

# --- kill -9 in the middle of a batch of 8. The server stores each email
# and answers 250 a second later; magpie dies while it waits for the 250
# of the third. The next run sends the third again (the one in flight)
# and everything not yet sent; nothing else twice, nothing lost.
srv kill1 --delay 1
write_config "$T/kill.ini" "smtp://127.0.0.1:$PORT" 4 "$AUTH"
"$MAGPIE" -q -c "$T/kill.ini" --now "$NOW" run >"$T/kill.out" 2>&1 &
mp=$!
i=0
while [ "$(check count "$T/kill1")" -lt 3 ] && [ $i -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
kill -9 $mp
{ wait $mp; } 2>/dev/null    # (the shell says "Killed")
expect_rc 137 $? "magpie killed"
expect_eq 3 "$(check count "$T/kill1")" "received before the kill"
expect_eq 2 "$(check ledger "$T/kill.db" sent)" "sent before the kill"
expect_eq 1 "$(check ledger "$T/kill.db" pending)" "in flight at the kill"
inflight=$(check last "$T/kill1")
stop_server kill1
srv kill2
sed -i "s|^transport = .*|transport = smtp://127.0.0.1:$PORT|" "$T/kill.ini"
run_magpie "$T/kill.ini"
expect_rc 0 $RC "run after the kill"
expect_eq 8 "$(check ledger "$T/kill.db" sent)" "sent after the kill"
expect_eq 6 "$(check count "$T/kill2")" "received by the next run"
expect_eq "$inflight" "$(check dupes "$T/kill1" "$T/kill2")" "the only duplicate"
# Apart from that one, each email exactly once and as composed.
check same --dup "$inflight" "$T/ref4.ref" "$T/kill1" "$T/kill2" ||
    fail "after the kill: lost or repeated emails"
finish
