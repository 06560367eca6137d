#!/bin/sh
# mkca.sh DIR: a test CA and server certificates made with certtool
# (gnutls-bin), for 127.0.0.1 and localhost:
#   ca.pem                 the test CA (what ca_file names)
#   good.pem good.key      valid, for localhost and 127.0.0.1
#   expired.pem expired.key   same names, expired in 2020
#   wronghost.pem wronghost.key   valid, but for imap.example.org only
#   rogue.pem rogue.key    valid names, signed by another CA (rogue-ca.pem)
set -eu
d=$1
cd "$d"
gen() { certtool --generate-privkey --key-type=ecdsa --outfile "$1" >/dev/null 2>&1; }
gen ca.key
printf 'cn = "magpie test CA"\nca\ncert_signing_key\nexpiration_days = 30\n' >ca.tmpl
certtool --generate-self-signed --load-privkey ca.key --template ca.tmpl \
	--outfile ca.pem >/dev/null 2>&1
gen rogue-ca.key
printf 'cn = "rogue CA"\nca\ncert_signing_key\nexpiration_days = 30\n' >rogue-ca.tmpl
certtool --generate-self-signed --load-privkey rogue-ca.key \
	--template rogue-ca.tmpl --outfile rogue-ca.pem >/dev/null 2>&1
srv() { # name ca names dates
	gen "$1.key"
	{
		printf 'cn = "%s"\ntls_www_server\nsigning_key\nencryption_key\n' "${3%% *}"
		printf '%s\n' "$4"
		for n in $3; do
			case $n in
			[0-9]*) printf 'ip_address = "%s"\n' "$n" ;;
			*) printf 'dns_name = "%s"\n' "$n" ;;
			esac
		done
	} >"$1.tmpl"
	certtool --generate-certificate --load-privkey "$1.key" \
		--load-ca-certificate "$2.pem" --load-ca-privkey "$2.key" \
		--template "$1.tmpl" --outfile "$1.pem" >/dev/null 2>&1
}
srv good ca "localhost 127.0.0.1" "expiration_days = 30"
srv expired ca "localhost 127.0.0.1" 'activation_date = "2019-01-01 00:00:00 UTC"
expiration_date = "2020-01-01 00:00:00 UTC"'
srv wronghost ca "imap.example.org" "expiration_days = 30"
srv rogue rogue-ca "localhost 127.0.0.1" "expiration_days = 30"
