#!/bin/sh
# Benchmark: 1,000 personalised emails (a digest and a reminder for each
# of 500 members) submitted to the local test SMTP server (aiosmtpd on
# 127.0.0.1, STARTTLS + AUTH, certificate verified) by magpie over one
# connection, versus msmtp (Debian msmtp) invoked once per message with
# the same messages, same server setup, same run. Prints messages/s.
#   sh tests/bench/smtp.sh          (from the repository root, after make)
# MEMBERS=n changes the size (2 emails per member).
# Needs python3-aiosmtpd, openssl, msmtp (apt-get install msmtp).
. tests/integration/lib/smtp.sh
command -v msmtp >/dev/null 2>&1 || { echo "msmtp is not installed (apt-get install msmtp)"; exit 77; }
N=${MEMBERS:-500}
make_pki
PW='bench-pw'
printf '%s\n' "$PW" > "$T/pw"
chmod 600 "$T/pw"
now() { date +%s.%N; }
rate() { echo "$1 $2 $3" | awk '{ printf "%.1f", $1 / ($3 - $2) }'; }

# The messages msmtp will send: magpie's own, through the maildir
# transport (not timed), with each recipient taken from To:.
reference bench "$N"
for f in "$T"/bench.ref/new/*; do
	printf '%s %s\n' "$f" "$(sed -n 's/^To:.*<\(.*\)>$/\1/p' "$f" | head -1)"
done > "$T/list"
total=$(wc -l < "$T/list" | tr -d ' ')

# magpie: the whole run (plan, render, compose, ledger, submit).
start_server magpie --cert "$T/pki/srv.pem" --key "$T/pki/srv.key" \
    --user sec --password "$PW"
write_config "$T/m.ini" "smtp://127.0.0.1:$PORT" "$N" "user = sec
password_file = $T/pw
ca_file = $T/pki/ca.pem"
t0=$(now)
"$MAGPIE" -q -c "$T/m.ini" --now "$NOW" run || { echo "magpie run failed"; exit 1; }
t1=$(now)
got_m=$(check count "$T/magpie")
conns_m=$(conns magpie)
stop_server magpie

# msmtp: one process (and one connection, TLS handshake, AUTH) per email.
start_server msmtp --cert "$T/pki/srv.pem" --key "$T/pki/srv.key" \
    --user sec --password "$PW"
cat > "$T/msmtprc" <<RC
account bench
host 127.0.0.1
port $PORT
tls on
tls_starttls on
tls_trust_file $T/pki/ca.pem
auth on
user sec
passwordeval cat $T/pw
from bounces@example.org
account default : bench
RC
chmod 600 "$T/msmtprc"
t2=$(now)
while read -r f rcpt; do
	msmtp -C "$T/msmtprc" -f bounces@example.org -- "$rcpt" < "$f" ||
	    { echo "msmtp failed for $rcpt"; exit 1; }
done < "$T/list"
t3=$(now)
got_s=$(check count "$T/msmtp")
conns_s=$(conns msmtp)
stop_server msmtp

[ "$got_m" = "$total" ] && [ "$got_s" = "$total" ] ||
    { echo "received: magpie $got_m, msmtp $got_s, of $total"; exit 1; }
rm=$(rate "$total" "$t0" "$t1")
rs=$(rate "$total" "$t2" "$t3")
printf '%d emails, STARTTLS + AUTH, aiosmtpd on 127.0.0.1\n' "$total"
printf 'magpie run (1 process): %6.2f s  %8s msg/s  (%s connection(s))\n' \
    "$(echo "$t0 $t1" | awk '{ print $2 - $1 }')" "$rm" "$conns_m"
printf 'msmtp (1 per message):  %6.2f s  %8s msg/s  (%s connections)\n' \
    "$(echo "$t2 $t3" | awk '{ print $2 - $1 }')" "$rs" "$conns_s"
echo "$rm $rs" | awk '{ printf "magpie / msmtp: %.1fx\n", $1 / $2 }'
