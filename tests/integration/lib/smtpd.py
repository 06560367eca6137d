#!/usr/bin/python3
"""A real SMTP server for magpie's tests: aiosmtpd (Debian python3-aiosmtpd)
on 127.0.0.1, port chosen by the kernel and written to DIR/port once it
listens (and its pid to DIR/pid).

Every message accepted is stored as DIR/msgs/NNNNNN.eml (the DATA bytes
exactly as received, dot-stuffing undone) with DIR/msgs/NNNNNN.env beside
it ("from ADDR", "rcpt ADDR", "conn N", "auth USER", "tls yes|no"), both
written before the reply is sent and renamed into place, so a reader
never sees half a file. DIR/connections counts the connections (one line
each).

Modes (options) make it misbehave the way real servers do:
  --cert/--key       STARTTLS with this certificate (else none offered)
  --implicit         TLS from the start (smtps) with --cert/--key
  --user/--password  AUTH required (PLAIN, LOGIN; only over TLS)
  --tempfail N       451 for the first N messages (end of DATA)
  --reject ADDR      550 for RCPT TO ADDR
  --drop N           drop the connection after the first N messages'
                     data, without a reply (nothing stored)
  --delay S          store the message, then wait S seconds before 250
  --idle S           close a connection idle for S seconds (421)
"""
import argparse
import asyncio
import logging
import os
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult


class State:
    def __init__(self, opts):
        self.opts = opts
        self.seq = 0
        self.conns = 0
        self.tempfail = opts.tempfail
        self.drop = opts.drop


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


class Handler:
    def __init__(self, st):
        self.st = st

    async def handle_RCPT(self, server, session, envelope, address, options):
        if self.st.opts.reject and address.lower() == self.st.opts.reject.lower():
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        st = self.st
        if st.drop > 0:
            st.drop -= 1
            server.transport.abort()
            return "421 4.3.0 gone"
        if st.tempfail > 0:
            st.tempfail -= 1
            return "451 4.3.0 try again later"
        st.seq += 1
        base = os.path.join(st.opts.dir, "msgs", "%06d" % st.seq)
        env = ["from " + (envelope.mail_from or "")]
        env += ["rcpt " + r for r in envelope.rcpt_tos]
        env.append("conn %d" % session.conn_no)
        login = session.auth_data if session.authenticated else None
        if isinstance(login, bytes):
            login = login.decode("utf-8", "replace")
        env.append("auth " + (login or "-"))
        tls = server.transport.get_extra_info("sslcontext") is not None
        env.append("tls " + ("yes" if tls else "no"))
        write_atomic(base + ".eml", envelope.original_content)
        write_atomic(base + ".env", ("\n".join(env) + "\n").encode())
        if st.opts.delay > 0:
            await asyncio.sleep(st.opts.delay)
        return "250 2.0.0 queued as M%06d" % st.seq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--implicit", action="store_true")
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--tempfail", type=int, default=0)
    ap.add_argument("--reject")
    ap.add_argument("--drop", type=int, default=0)
    ap.add_argument("--delay", type=float, default=0.0)
    ap.add_argument("--idle", type=float, default=30.0)
    opts = ap.parse_args()
    # aiosmtpd itself uses a deprecated attribute and says so.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    # AUTH without TLS is what the plain-SMTP unit tests want.
    warnings.filterwarnings("ignore", message="Requiring AUTH")
    os.makedirs(os.path.join(opts.dir, "msgs"), exist_ok=True)
    st = State(opts)

    ctx = None
    if opts.cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(opts.cert, opts.key)

    def authenticator(server, session, envelope, mechanism, data):
        ok = (opts.user is not None and
              data.login == opts.user.encode() and
              data.password == opts.password.encode())
        # handled=False: aiosmtpd then answers 535 itself.
        return AuthResult(success=ok, handled=False,
                          auth_data=data.login if ok else None)

    def factory():
        st.conns += 1
        with open(os.path.join(opts.dir, "connections"), "a") as f:
            f.write("%d\n" % st.conns)
        kw = dict(hostname="mx.test", ident="magpie test smtpd",
                  timeout=opts.idle, decode_data=False)
        if ctx is not None and not opts.implicit:
            kw.update(tls_context=ctx, require_starttls=True)
        if opts.user:
            kw.update(authenticator=authenticator, auth_required=True,
                      auth_require_tls=ctx is not None and
                      not opts.implicit)
        proto = SMTP(Handler(st), **kw)
        proto.session_conn_no = st.conns
        return proto

    # The session object is made per connection; tag it with its number.
    orig = SMTP._create_session

    def create_session(self):
        s = orig(self)
        s.conn_no = getattr(self, "session_conn_no", 0)
        return s
    SMTP._create_session = create_session

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(
        factory, "127.0.0.1", 0,
        ssl=ctx if opts.implicit else None))
    port = server.sockets[0].getsockname()[1]
    write_atomic(os.path.join(opts.dir, "pid"), b"%d\n" % os.getpid())
    write_atomic(os.path.join(opts.dir, "port"), b"%d\n" % port)
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    sys.exit(main())
