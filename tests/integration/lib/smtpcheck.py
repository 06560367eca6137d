#!/usr/bin/python3
"""Checks for tests/integration/smtp*.sh on what the test SMTP server
(smtpd.py) stored and on magpie's ledger. Each command prints what it
finds and exits 1 when a check fails.

  same [--dup ID] REF SRVDIR...
                      every message of the Maildir REF (magpie's maildir:
                      transport, LF line ends) was received exactly once
                      (twice for Message-ID ID) over SMTP, byte for byte
                      in CRLF form, and nothing else was received
  count SRVDIR...     number of messages received
  dupes SRVDIR...     Message-IDs received more than once, one a line
  env SRVDIR KEY      the distinct values of KEY in the .env files
  last SRVDIR         Message-ID of the last message received
  ledger DB STATE     number of ledger rows in STATE (pending|sent|failed)
  replies DB          the distinct replies recorded, one a line
  print FILE SRVDIR RCPT  FILE (magpie digest --print: one email and a
                      CRLF) is byte for byte the digest received for RCPT
"""
import glob
import os
import re
import sqlite3
import sys

STATES = {"pending": 1, "sent": 2, "failed": 3}


def msgs(dirs):
    out = []
    for d in dirs:
        for p in sorted(glob.glob(os.path.join(d, "msgs", "*.eml"))):
            with open(p, "rb") as f:
                data = f.read()
            with open(p[:-4] + ".env") as f:
                env = [l.rstrip("\n").split(" ", 1) for l in f]
            out.append((p, data, env))
    return out


def msgid(data):
    m = re.search(rb"^Message-ID:\s*(<[^>\r\n]*>)", data,
                  re.MULTILINE | re.IGNORECASE)
    return m.group(1).decode() if m else None


def cmd_same(ref, dirs, dup=None):
    want = {}
    for p in glob.glob(os.path.join(ref, "new", "*")):
        with open(p, "rb") as f:
            lf = f.read()
        if b"\r\n" in lf:
            print("reference %s already has CRLF" % p)
            return 1
        data = lf.replace(b"\n", b"\r\n")
        want[msgid(data)] = data
    got = {}
    bad = 0
    for p, data, env in msgs(dirs):
        got.setdefault(msgid(data), []).append((p, data))
    for mid, data in sorted(want.items()):
        g = got.get(mid, [])
        if len(g) != (2 if mid == dup else 1):
            print("%s received %d times" % (mid, len(g)))
            bad = 1
        for p, d in g:
            if d != data:
                print("%s differs from the reference (%s)" % (mid, p))
                bad = 1
    for mid in got:
        if mid not in want:
            print("%s was not expected" % mid)
            bad = 1
    if not want:
        print("empty reference")
        bad = 1
    return bad


def main(argv):
    cmd = argv[1]
    if cmd == "same" and argv[2] == "--dup":
        return cmd_same(argv[4], argv[5:], argv[3])
    if cmd == "same":
        return cmd_same(argv[2], argv[3:])
    if cmd == "count":
        print(len(msgs(argv[2:])))
        return 0
    if cmd == "dupes":
        seen = {}
        for p, data, env in msgs(argv[2:]):
            seen[msgid(data)] = seen.get(msgid(data), 0) + 1
        for mid, n in sorted(seen.items()):
            if n > 1:
                print(mid)
        return 0
    if cmd == "env":
        vals = set()
        for p, data, env in msgs([argv[2]]):
            for kv in env:
                if kv[0] == argv[3]:
                    vals.add(kv[1] if len(kv) > 1 else "")
        for v in sorted(vals):
            print(v)
        return 0
    if cmd == "last":
        m = msgs([argv[2]])
        print(msgid(m[-1][1]) if m else "")
        return 0
    if cmd == "ledger":
        db = sqlite3.connect(argv[2])
        n = db.execute("SELECT count(*) FROM ledger WHERE state = ?",
                       (STATES[argv[3]],)).fetchone()[0]
        print(n)
        return 0
    if cmd == "replies":
        db = sqlite3.connect(argv[2])
        for (r,) in db.execute("SELECT DISTINCT reply FROM ledger "
                               "ORDER BY reply"):
            print(r)
        return 0
    if cmd == "print":
        with open(argv[2], "rb") as f:
            printed = f.read()
        if not printed.endswith(b"\r\n"):
            print("no CRLF after the printed email")
            return 1
        for p, data, env in msgs([argv[3]]):
            if ["rcpt", argv[4]] in env and \
                    re.search(rb"^Subject:.*Digest", data, re.MULTILINE):
                if data == printed[:-2]:
                    return 0
                print("digest for %s differs from --print (%s)" %
                      (argv[4], p))
                return 1
        print("no digest received for %s" % argv[4])
        return 1
    print("unknown command " + cmd)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
