#!/bin/sh
# SMTP delivery against a real server (aiosmtpd on 127.0.0.1): exact
# content over one connection with STARTTLS and AUTH, smtps, plain SMTP
# only with tls = none, a server without STARTTLS, untrusted and
# wrong-host certificates, a wrong password.
. tests/integration/lib/smtp.sh
make_pki
PW='pw-Corr3ct-horse'
BAD='pw-Wr0ng-battery'
printf '%s\n' "$PW" > "$T/pw"
printf '%s\n' "$BAD" > "$T/badpw"
chmod 600 "$T/pw" "$T/badpw"
AUTH="user = sec
password_file = $T/pw
ca_file = $T/pki/ca.pem"

# --- happy path: 3 members, a digest and a reminder each, one connection
reference happy 3
start_server happy --cert "$T/pki/srv.pem" --key "$T/pki/srv.key" \
    --user sec --password "$PW"
write_config "$T/happy.ini" "smtp://127.0.0.1:$PORT" 3 "$AUTH"
"$MAGPIE" -c "$T/happy.ini" --now "$NOW" digest --to m1@example.org \
    --print > "$T/m1.print" 2>"$T/err" || fail "digest --print: $(cat "$T/err")"
run_magpie "$T/happy.ini"
expect_rc 0 $RC "happy path"
check same "$T/happy.ref" "$T/happy" || fail "content received differs"
check print "$T/m1.print" "$T/happy" m1@example.org || fail "digest --print"
expect_eq 6 "$(check count "$T/happy")" "messages received"
expect_eq 1 "$(conns happy)" "connections for 6 emails"
expect_eq bounces@example.org "$(check env "$T/happy" from)" "envelope sender"
expect_eq sec "$(check env "$T/happy" auth)" "AUTH user"
expect_eq yes "$(check env "$T/happy" tls)" "STARTTLS used"
expect_eq 6 "$(check ledger "$T/happy.db" sent)" "ledger sent"
check replies "$T/happy.db" | grep -qv '^250 2.0.0 queued as M0000' &&
    fail "ledger replies: $(check replies "$T/happy.db")"
grep -q "6 sent" "$T/err" || fail "summary: $(cat "$T/err")"
# Each envelope has one recipient.
for f in "$T"/happy/msgs/*.env; do
	[ "$(grep -c '^rcpt ' "$f")" = 1 ] || fail "$f: not one recipient"
done
# Nothing is sent twice; no connection when nothing is due.
run_magpie "$T/happy.ini"
expect_rc 0 $RC "second run"
expect_eq 6 "$(check count "$T/happy")" "messages after a second run"
expect_eq 1 "$(conns happy)" "connections after a second run"

# --- wrong password: clear error, exit 77, one attempt per run
write_config "$T/badpw.ini" "smtp://127.0.0.1:$PORT" 3 "user = sec
password_file = $T/badpw
ca_file = $T/pki/ca.pem"
c0=$(conns happy)
run_magpie "$T/badpw.ini"
expect_rc 77 $RC "wrong password"
grep -q "authentication failed: 535" "$T/err" ||
    fail "wrong password message: $(cat "$T/err")"
grep -q -- "$BAD" "$T/err" && fail "the password is in the error"
expect_eq $((c0 + 1)) "$(conns happy)" "connections with a wrong password"
run_magpie "$T/badpw.ini"
expect_rc 77 $RC "wrong password, second run"
expect_eq $((c0 + 2)) "$(conns happy)" "one connection per run"
expect_eq 0 "$(check ledger "$T/badpw.db" sent)" "sent with a wrong password"
expect_eq 1 "$(check ledger "$T/badpw.db" pending)" "pending, wrong password"
expect_eq 6 "$(check count "$T/happy")" "messages with a wrong password"
# Fixed: everything goes, once.
cp "$T/pw" "$T/badpw"
run_magpie "$T/badpw.ini"
expect_rc 0 $RC "password fixed"
expect_eq 12 "$(check count "$T/happy")" "messages once the password is right"
expect_eq 6 "$(check ledger "$T/badpw.db" sent)" "sent once fixed"
stop_server happy

# --- smtps://, password from a command
start_server smtps --implicit --cert "$T/pki/srv.pem" --key "$T/pki/srv.key" \
    --user sec --password "$PW"
write_config "$T/smtps.ini" "smtps://127.0.0.1:$PORT" 3 "user = sec
password_command = cat '$T/pw'
ca_file = $T/pki/ca.pem"
run_magpie "$T/smtps.ini"
expect_rc 0 $RC "smtps"
check same "$T/happy.ref" "$T/smtps" || fail "smtps content"
expect_eq yes "$(check env "$T/smtps" tls)" "smtps TLS"
expect_eq 1 "$(conns smtps)" "smtps connections"
stop_server smtps

# --- a server without STARTTLS: refused, nothing sent in clear
start_server plain
write_config "$T/plain.ini" "smtp://127.0.0.1:$PORT" 3
run_magpie "$T/plain.ini"
expect_rc 69 $RC "no STARTTLS"
grep -q "does not offer STARTTLS" "$T/err" || fail "no STARTTLS: $(cat "$T/err")"
expect_eq 0 "$(check count "$T/plain")" "messages without STARTTLS"
expect_eq 1 "$(conns plain)" "connections without STARTTLS"
expect_eq 1 "$(check ledger "$T/plain.db" pending)" "pending without STARTTLS"
# ... unless tls = none (allowed for loopback only).
write_config "$T/clear.ini" "smtp://127.0.0.1:$PORT" 3 "tls = none"
run_magpie "$T/clear.ini"
expect_rc 0 $RC "tls = none on loopback"
check same "$T/happy.ref" "$T/plain" || fail "tls = none content"
expect_eq no "$(check env "$T/plain" tls)" "tls = none"
stop_server plain
write_config "$T/far.ini" "smtp://192.0.2.1:587" 3 "tls = none"
"$MAGPIE" -c "$T/far.ini" check >"$T/out" 2>"$T/err"
expect_rc 78 $? "tls = none to another host"
grep -q "only allowed for a loopback" "$T/err" || fail "far: $(cat "$T/err")"

# --- certificates: an unknown CA, a name that does not match
for bad in other wronghost; do
	start_server "$bad" --cert "$T/pki/$bad.pem" --key "$T/pki/$bad.key" \
	    --user sec --password "$PW"
	write_config "$T/$bad.ini" "smtp://127.0.0.1:$PORT" 3 "$AUTH"
	run_magpie "$T/$bad.ini"
	expect_rc 69 $RC "certificate $bad"
	grep -q "TLS" "$T/err" || fail "certificate $bad: $(cat "$T/err")"
	expect_eq 0 "$(check count "$T/$bad")" "messages, certificate $bad"
	expect_eq 0 "$(check ledger "$T/$bad.db" sent)" "sent, certificate $bad"
	stop_server "$bad"
done
# The system store does not know the test CA either.
start_server nocafile --cert "$T/pki/srv.pem" --key "$T/pki/srv.key"
write_config "$T/nocafile.ini" "smtp://127.0.0.1:$PORT" 3
run_magpie "$T/nocafile.ini"
expect_rc 69 $RC "no ca_file"
expect_eq 0 "$(check count "$T/nocafile")" "messages without ca_file"
stop_server nocafile

# --- nothing listening: temporary, exit 75
write_config "$T/down.ini" "smtp://127.0.0.1:$PORT" 3 "$AUTH"
run_magpie "$T/down.ini"
expect_rc 75 $RC "server down"
expect_eq 1 "$(check ledger "$T/down.db" pending)" "pending, server down"
finish
