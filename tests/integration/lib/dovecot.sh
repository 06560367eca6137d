# dovecot.sh - sourced by the IMAP tests and the benchmark: a private
# Dovecot on 127.0.0.1 with a test CA, a passwd-file user and Maildirs.
#
#   dv_init DIR        make DIR (world-traversable), certificates, ports
#   dv_start CERT      start Dovecot serving DIR/certs/CERT.pem; sets DV_PID
#   dv_stop            stop it (waits until gone)
#   dv_fill MBOX...    append the messages of mbox files to the Maildir
#   dv_log_logins      number of login attempts in the Dovecot log
# Ports: DV_IMAP (STARTTLS), DV_IMAPS (implicit TLS). User: mag / DV_PASS.
# DV_MAIL_LOCATION: the user's mail (default maildir:~/Maildir).
# Callers set: trap 'dv_stop; ...' EXIT.

LIBDIR=${LIBDIR:-$(dirname "$0")/lib}
DV_PASS='s3cret pass'
DV_PID=

dv_skip() { echo "skipped: $*"; exit 77; }

free_port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() { # port
	/usr/bin/python3 - "$1" <<'PY'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

dv_init() {
	DV=$1
	mkdir -p "$DV"
	[ -x /usr/sbin/dovecot ] || dv_skip "dovecot not installed (scripts/deps installs dovecot-imapd)"
	command -v certtool >/dev/null || dv_skip "certtool not installed (gnutls-bin)"
	[ -x /usr/bin/python3 ] || dv_skip "python3 not installed"
	chmod 755 "$DV"
	mkdir -p "$DV/certs" "$DV/run" "$DV/mail"
	sh "$LIBDIR/mkca.sh" "$DV/certs" || { echo "mkca failed"; exit 1; }
	DV_IMAP=$(free_port)
	DV_IMAPS=$(free_port)
	if [ "$(id -u)" -eq 0 ]; then
		# Dovecot never serves mail as root.
		DV_USER=nobody DV_GROUP=nogroup
		DV_INTERNAL="default_internal_user = dovecot
default_login_user = dovenull"
	else
		DV_USER=$(id -un) DV_GROUP=$(id -gn)
		DV_INTERNAL="default_internal_user = $DV_USER
default_login_user = $DV_USER"
	fi
	printf 'mag:{PLAIN}%s::::::\n' "$DV_PASS" >"$DV/passwd"
	chmod 644 "$DV/passwd"
	DV_MAILDIR=$DV/mail/mag/Maildir
	mkdir -p "$DV_MAILDIR/cur" "$DV_MAILDIR/new" "$DV_MAILDIR/tmp"
	: >"$DV/dovecot.log"
}

dv_conf() { # cert
	cat >"$DV/dovecot.conf" <<CONF
base_dir = $DV/run
state_dir = $DV/run
log_path = $DV/dovecot.log
protocols = imap
listen = 127.0.0.1
$DV_INTERNAL
ssl = yes
ssl_cert = <$DV/certs/$1.pem
ssl_key = <$DV/certs/$1.key
disable_plaintext_auth = no
auth_mechanisms = plain
auth_failure_delay = 0
auth_verbose = yes
login_trusted_networks =
first_valid_uid = 1
passdb {
  driver = passwd-file
  args = scheme=PLAIN $DV/passwd
}
userdb {
  driver = static
  args = uid=$DV_USER gid=$DV_GROUP home=$DV/mail/%u
}
mail_location = ${DV_MAIL_LOCATION:-maildir:~/Maildir}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $DV_IMAP
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $DV_IMAPS
    ssl = yes
  }
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
}
CONF
}

dv_start() { # cert
	dv_conf "$1"
	chown -R "$DV_USER:$DV_GROUP" "$DV/mail"
	/usr/sbin/dovecot -F -c "$DV/dovecot.conf" >>"$DV/dovecot.log" 2>&1 &
	DV_PID=$!
	wait_port "$DV_IMAPS" && wait_port "$DV_IMAP" || {
		echo "dovecot did not start:"; tail -20 "$DV/dovecot.log"; exit 1
	}
}

dv_stop() {
	[ -n "$DV_PID" ] || return 0
	kill "$DV_PID" 2>/dev/null
	while kill -0 "$DV_PID" 2>/dev/null; do sleep 0.05; done
	DV_PID=
}

dv_fill() { # mbox...
	/usr/bin/python3 - "$DV_MAILDIR" "$@" <<'PY'
import mailbox, sys
md = mailbox.Maildir(sys.argv[1], create=False)
for path in sys.argv[2:]:
    for msg in mailbox.mbox(path, create=False):
        md.add(msg)
PY
	chown -R "$DV_USER:$DV_GROUP" "$DV/mail"
}

dv_log_logins() {
	grep -cE 'user=<mag>|passwd-file\(mag' "$DV/dovecot.log"
}
