# lib/smtp.sh - sourced by tests/integration/smtp*.sh (run from the
# repository root): a test CA and certificates, the aiosmtpd test server
# (lib/smtpd.py) started and always stopped, magpie configs, checks.
# Skips (77) when /usr/bin/python3 has no aiosmtpd or openssl is missing:
# the python3 on PATH may be one without Debian's packages.
set -u
MAGPIE=${MAGPIE_BIN:-$(pwd)/magpie}
SRC=$(pwd)
PY=/usr/bin/python3
LIB=$SRC/tests/integration/lib
NOW=2021-06-15T07:00:00Z        # the digest slot and the 3-day reminder
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect_rc() { # want got what
	[ "$1" = "$2" ] || fail "$3: exit $2, wanted $1"
}
expect_eq() { # want got what
	[ "$1" = "$2" ] || fail "$3: got '$2', wanted '$1'"
}
check() { "$PY" "$LIB/smtpcheck.py" "$@"; }

if ! [ -x "$PY" ] || ! "$PY" -c 'import aiosmtpd' 2>/dev/null; then
	echo "python3-aiosmtpd is not installed"
	exit 77
fi
command -v openssl >/dev/null 2>&1 || { echo "openssl is not installed"; exit 77; }

T=$(mktemp -d /tmp/magpie-smtp-XXXXXX)
SERVERS=""
cleanup() {
	for p in $SERVERS; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# $T/pki: ca.pem (trusted by the configs), srv.pem for 127.0.0.1 and
# localhost signed by it, other.pem for the same names from an unknown
# CA, wronghost.pem signed by the trusted CA for another name.
make_pki() {
	P=$T/pki
	mkdir -p "$P"
	(
		cd "$P" || exit 1
		ca() {
			openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
			    -keyout "$1.key" -out "$1.pem" -subj "/CN=$2"
		}
		leaf() { # name ca san
			openssl req -newkey rsa:2048 -nodes -keyout "$1.key" \
			    -out "$1.csr" -subj "/CN=$1" &&
			printf 'subjectAltName=%s\n' "$3" > "$1.ext" &&
			openssl x509 -req -in "$1.csr" -CA "$2.pem" \
			    -CAkey "$2.key" -CAcreateserial -days 2 \
			    -extfile "$1.ext" -out "$1.pem"
		}
		ca ca "magpie test CA" && ca evil "unknown CA" &&
		leaf srv ca "IP:127.0.0.1,DNS:localhost" &&
		leaf other evil "IP:127.0.0.1,DNS:localhost" &&
		leaf wronghost ca "DNS:mail.example.net"
	) >"$T/pki.log" 2>&1 || { cat "$T/pki.log"; echo "cannot make certificates"; exit 1; }
}

# start_server NAME ARGS...: the server in $T/NAME; sets PORT.
start_server() {
	d=$T/$1
	shift
	mkdir -p "$d"
	"$PY" "$LIB/smtpd.py" --dir "$d" "$@" >"$d/log" 2>&1 &
	SERVERS="$SERVERS $!"
	i=0
	while ! [ -s "$d/port" ]; do
		i=$((i + 1))
		if [ $i -gt 200 ]; then
			cat "$d/log"
			echo "test SMTP server did not start"
			exit 1
		fi
		sleep 0.05
	done
	PORT=$(cat "$d/port")
}

stop_server() {
	p=$(cat "$T/$1/pid")
	kill "$p" 2>/dev/null
	while kill -0 "$p" 2>/dev/null; do sleep 0.05; done
}

conns() { [ -f "$T/$1/connections" ] && wc -l < "$T/$1/connections" | tr -d ' ' || echo 0; }

# write_config FILE TRANSPORT MEMBERS [DELIVERY LINES]: members m1..mN
# (m1@example.org ...), each due a digest and the deadline's 3-day
# reminder at $NOW: 2*N emails.
write_config() {
	f=$1 tr=$2 n=$3 extra=${4:-}
	{
		printf '[store]\npath = %s.db\n' "${f%.ini}"
		printf '[delivery]\ntransport = %s\n' "$tr"
		printf 'from = Secretariat <sec@example.org>\n'
		printf 'bounce = bounces@example.org\n%s\n' "$extra"
		printf '[digest]\ntemplate = %s/etc/templates/digest\n' "$SRC"
		printf 'send_empty = yes\n'
		i=1
		while [ $i -le "$n" ]; do
			printf '[member m%d]\nname = Member %d\n' $i $i
			printf 'email = m%d@example.org\ngroups = all\n' $i
			i=$((i + 1))
		done
		printf '[deadline evals]\ntitle = Workshop evaluations\n'
		printf 'due = 2021-06-17 23:59 UTC\nremind = 3d, 1d\n'
		printf 'to = group:all\n'
	} > "$f"
}

# reference NAME MEMBERS: the same emails through the maildir transport
# (a store of its own) in $T/NAME.ref/.
reference() {
	write_config "$T/$1.ref.ini" "maildir:$T/$1.ref" "$2"
	"$MAGPIE" -q -c "$T/$1.ref.ini" --now "$NOW" run >"$T/$1.ref.log" 2>&1 ||
	    { cat "$T/$1.ref.log"; fail "reference run $1"; }
}

# run_magpie CONFIG: stderr in $T/err, exit status in RC.
run_magpie() {
	"$MAGPIE" -c "$1" --now "$NOW" run >"$T/out" 2>"$T/err"
	RC=$?
}

finish() {
	[ $fails -eq 0 ] || exit 1
	exit 0
}
