#!/usr/bin/python3
"""The June 2021 simulation (tests/integration/simulation.sh) and the fault
tests (tests/integration/faults.sh): `magpie run` every 15 minutes of
simulated time against a real Dovecot and a real SMTP server (smtpd.py),
with the list's messages appended to the IMAP folder as the clock passes
their Date, and an oracle written from the INI files alone (it never asks
magpie) that says which emails must arrive, when, and under which ledger
key.

  simdriver.py sim    --magpie BIN --src REPO --work DIR --dv DIR ...
  simdriver.py faults --magpie BIN --src REPO --work DIR --dv DIR ...

The oracle models the documented behaviour: digests at [digest] time in
each member's zone (catch-up: the latest slot at once), not sent when
empty (send_empty = no: no new mail and nothing ahead in days_ahead);
reminders at due - offset, latest offset only, `pending` after the first
offset, nothing at or after the due time, none whose time was already
past when the item last changed; one "changed" notice per recipient
reminded of the old time; the chair's reminders from `at` for a day.

An email's identity is its ledger key (kind, item, offset, recipient,
due); magpie's Message-ID is the first 32 hex digits of the SHA-256 of
"kind/item/offset/recipient/due" at the sender's domain, so the oracle
predicts every Message-ID and a duplicate key shows as a repeated ID.
"""
import argparse
import email
import email.policy
import email.utils
import glob
import hashlib
import grp
import mailbox
import os
import pwd
import random
import re
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
STEP = 900
SMTP_USER = "sec"
SMTP_PASS = "pw-Sim-June-2021"


def ts(s):
    """2021-06-08T00:00:00Z -> epoch seconds."""
    return int(datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
               .replace(tzinfo=UTC).timestamp())


def iso(t):
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---- the INI files, read independently of magpie ----

def read_ini(path):
    """[(section, {key: value})] of one file, and its include list."""
    out, cur, inc = [], None, []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in ";#":
                continue
            line = re.sub(r"\s+;.*$", "", line)
            if line.startswith("["):
                cur = (line[1:line.index("]")].strip(), {})
                out.append(cur)
                continue
            k, v = [x.strip() for x in line.split("=", 1)]
            if cur is None:
                if k == "include":
                    inc += [x.strip() for x in v.split(",")]
                continue
            cur[1][k] = v
    return out, inc


def read_config(path):
    secs, inc = read_ini(path)
    base = os.path.dirname(path)
    for pat in inc:
        for p in sorted(glob.glob(os.path.join(base, pat))):
            secs += read_ini(p)[0]
    return secs


def parse_time(s):
    """'2021-06-17 23:59 UTC' or with an IANA zone -> epoch seconds."""
    d, hm, zone = s.split()
    dt = datetime.strptime(d + " " + hm, "%Y-%m-%d %H:%M")
    tz = UTC if zone == "UTC" else ZoneInfo(zone)
    return int(dt.replace(tzinfo=tz).timestamp())


def parse_span(s):
    n, u = int(s[:-1]), s[-1]
    return n * {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}[u]


class Member:
    def __init__(self, mid, kv):
        self.id = mid
        self.name = kv.get("name", mid)
        self.email = kv["email"]
        self.tz = kv.get("tz", "UTC")
        self.digest = kv.get("digest", "daily")
        self.groups = [g.strip() for g in kv.get("groups", "").split(",")
                       if g.strip()]


class Item:
    def __init__(self, kind, iid, kv):
        self.kind = kind
        self.id = iid
        self.title = kv.get("title", iid)
        if kind == "deadline":
            self.due, self.ends = parse_time(kv["due"]), 0
        elif kind == "event":
            self.due = parse_time(kv["starts"])
            self.ends = parse_time(kv["ends"]) if "ends" in kv else 0
        else:
            self.due, self.ends = parse_time(kv["at"]), 0
            if "repeat" in kv:
                raise SystemExit("oracle: repeating reminders not modelled")
        self.remind = sorted((parse_span(x.strip()) for x in
                              kv.get("remind", "").split(",") if x.strip()),
                             reverse=True)
        self.overdue = parse_span(kv["overdue"]) if "overdue" in kv else 0
        self.to = [x.strip() for x in kv.get("to", "").split(",")
                   if x.strip()]
        self.pending = [x.strip() for x in kv.get("pending", "").split(",")
                        if x.strip()]


class Config:
    def __init__(self, path):
        self.members, self.items = [], []
        self.digest_min, self.send_empty, self.days_ahead = 420, False, 14
        self.from_addr = None
        for name, kv in read_config(path):
            kind, _, sid = name.partition(" ")
            if kind == "member":
                self.members.append(Member(sid, kv))
            elif kind in ("deadline", "event", "reminder"):
                self.items.append(Item(kind, sid, kv))
            elif kind == "digest":
                h, m = kv.get("time", "07:00").split(":")
                self.digest_min = int(h) * 60 + int(m)
                self.send_empty = kv.get("send_empty", "no") == "yes"
                self.days_ahead = int(kv.get("days_ahead", "14"))
                if kv.get("weekday"):
                    raise SystemExit("oracle: weekly digests not modelled")
            elif kind == "delivery":
                self.from_addr = re.search(r"<([^>]+)>", kv["from"]).group(1)
            elif kind == "calendar":
                raise SystemExit("oracle: [calendar] not modelled")
        for m in self.members:
            if m.digest not in ("daily", "off"):
                raise SystemExit("oracle: digest = %s not modelled" %
                                 m.digest)

    def selects(self, entry, m):
        if entry.startswith("group:"):
            return entry[6:] in m.groups
        if "@" in entry:
            return entry.lower() == m.email.lower()
        return entry == m.id

    def recipients(self, it):
        out = [m for m in self.members
               if any(self.selects(e, m) for e in it.to)]
        for e in it.to:
            if "@" in e and not any(m.email.lower() == e.lower()
                                    for m in out):
                out.append(Member(e, {"email": e}))
        return out

    def pending(self, it, m):
        return not it.pending or any(self.selects(p, m) for p in it.pending)

    def member(self, addr):
        for m in self.members:
            if m.email.lower() == addr.lower():
                return m
        return None


def digest_slot(m, minute, now):
    """The latest daily slot at or before now in m's zone."""
    tz = ZoneInfo(m.tz)
    d = datetime.fromtimestamp(now, tz).date()
    for back in (0, 1, 2):
        day = d - timedelta(days=back)
        slot = int(datetime(day.year, day.month, day.day, minute // 60,
                            minute % 60, tzinfo=tz).timestamp())
        if slot <= now:
            return slot
    raise AssertionError("no slot")


def msgid(kind, item, off, rcpt, due, domain):
    key = "%s/%s/%d/%s/%d" % (kind, item, off, rcpt, due)
    return "<%s@%s>" % (hashlib.sha256(key.encode()).hexdigest()[:32],
                        domain)


# ---- the oracle ----

class Oracle:
    """Replays the runs on the model. Each tick is (t, imap_up, smtp_up)
    and the config in force at that tick. Emails are dicts with t (the
    run that sends it), kind, item, off, rcpt, due, n (digest: messages
    covered)."""

    def __init__(self, msgs):
        self.msg_dates = sorted(msgs)     # Date of every list message
        self.stored = 0                   # how many are in the store
        self.sent = {}                    # key -> email
        self.state = {}                   # item -> [due, ends, seq, upd]
        self.last_seq = {}                # member email -> stored count
        self.out = []
        self.first = None                 # the first run's time
        self.tick = -1                    # index of the current run

    def send(self, cfg, t, kind, item, off, rcpt, due, **kw):
        key = (kind, item, off, rcpt.lower(), due)
        if key in self.sent:
            return
        e = dict(t=t, run=self.tick, kind=kind, item=item, off=off,
                 rcpt=rcpt, due=due,
                 id=msgid(kind, item, off, rcpt, due,
                          cfg.from_addr.split("@")[1]), **kw)
        self.sent[key] = e
        self.out.append(e)

    def run(self, cfg, t, imap_up=True, smtp_up=True):
        if self.first is None:
            self.first = t
        self.tick += 1
        if imap_up:
            self.stored = sum(1 for d in self.msg_dates if d <= t)
        if not smtp_up:
            # Nothing leaves; nothing is recorded but the item state
            # when no notice is owed (none is in the fault runs).
            for it in cfg.items:
                if it.kind != "reminder" and it.id not in self.state:
                    self.state[it.id] = [it.due, it.ends, 0, t]
            return
        self.changes(cfg, t)
        self.reminders(cfg, t)
        self.digests(cfg, t)

    def changes(self, cfg, t):
        for it in cfg.items:
            if it.kind == "reminder":
                continue
            st = self.state.get(it.id)
            if st is None:
                self.state[it.id] = [it.due, it.ends, 0, t]
                continue
            if st[0] == it.due and st[1] == it.ends:
                continue
            told = sorted({e["rcpt"] for e in self.sent.values()
                           if e["item"] == it.id and e["due"] == st[0] and
                           e["kind"] in ("reminder", "changed")})
            for r in told:
                self.send(cfg, t, "changed", it.id, 0, r, it.due,
                          old_due=st[0], seq=st[2] + 1)
            self.state[it.id] = [it.due, it.ends, st[2] + 1, t]

    def reminders(self, cfg, t):
        for it in cfg.items:
            if it.kind == "reminder":
                if it.due <= t < it.due + 86400:
                    for m in cfg.recipients(it):
                        self.send(cfg, t, "reminder", it.id, 0, m.email,
                                  it.due)
                continue
            st = self.state.get(it.id)
            not_before = st[3] if st and st[2] > 0 else 0
            for m in cfg.recipients(it):
                if t < it.due:
                    due_k = [k for k, off in enumerate(it.remind)
                             if it.due - off <= t]
                    if not due_k:
                        continue
                    k = due_k[-1]
                    if it.due - it.remind[k] < not_before:
                        continue
                    if k > 0 and not cfg.pending(it, m):
                        continue
                    self.send(cfg, t, "reminder", it.id, it.remind[k],
                              m.email, it.due, first=it.remind[0])
                elif (it.overdue and it.kind == "deadline" and
                      it.due + it.overdue <= t <
                      it.due + it.overdue + 86400 and cfg.pending(it, m)):
                    self.send(cfg, t, "notice", it.id, -it.overdue,
                              m.email, it.due)

    def ahead(self, cfg, m, t):
        for it in cfg.items:
            if it.kind == "reminder" or m not in cfg.recipients(it):
                continue
            end = it.ends if it.kind == "event" and it.ends > it.due \
                else it.due
            if end >= t and it.due < t + cfg.days_ahead * 86400:
                return True
        return False

    def digests(self, cfg, t):
        for m in cfg.members:
            if m.digest == "off":
                continue
            slot = digest_slot(m, cfg.digest_min, t)
            if ("digest", "", 0, m.email.lower(), slot) in self.sent:
                continue
            n = self.stored - self.last_seq.get(m.email, 0)
            if n == 0 and not cfg.send_empty and not self.ahead(cfg, m, t):
                continue
            # the first run serves the latest slot at once (catch-up)
            self.send(cfg, t, "digest", "", 0, m.email, slot, n=n,
                      catchup=t == self.first)
            self.last_seq[m.email] = self.stored


# ---- servers ----

def wait_port(port, what):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("%s did not start on port %d" % (what, port))


class Dovecot:
    def __init__(self, a):
        self.conf, self.port, self.dir = a.dv_conf, a.dv_imaps, a.dv
        self.proc = None

    def start(self):
        log = open(os.path.join(self.dir, "dovecot.log"), "a")
        self.proc = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c",
                                      self.conf], stdout=log, stderr=log)
        log.close()
        pidfile(self.proc)
        wait_port(self.port, "dovecot")

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait()
            pidfile(gone=self.proc)
            self.proc = None


class Smtpd:
    """One smtpd.py instance per mode; each stores in its own folder."""

    def __init__(self, a):
        self.a = a
        self.n = 0
        self.proc = None
        self.port = None
        self.dirs = []

    def start(self, *mode):
        self.n += 1
        d = os.path.join(self.a.work, "smtp-%02d" % self.n)
        os.makedirs(d)
        log = open(os.path.join(d, "log"), "w")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(self.a.lib, "smtpd.py"),
             "--dir", d, "--cert", self.a.cert, "--key", self.a.key,
             "--user", SMTP_USER, "--password", SMTP_PASS] + list(mode),
            stdout=log, stderr=log)
        log.close()
        pidfile(self.proc)
        for _ in range(400):
            if os.path.exists(os.path.join(d, "port")):
                break
            if self.proc.poll() is not None:
                raise SystemExit("smtpd.py died: " +
                                 open(os.path.join(d, "log")).read())
            time.sleep(0.05)
        self.port = int(open(os.path.join(d, "port")).read())
        self.dirs.append(d)
        return self.port

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait()
            pidfile(gone=self.proc)
            self.proc = None

    def connections(self):
        p = os.path.join(self.dirs[-1], "connections")
        return sum(1 for _ in open(p)) if os.path.exists(p) else 0


LIVE = set()


def pidfile(proc=None, gone=None):
    """Keep WORK/pids listing the servers running now, for the shell's
    trap should this script die without stopping them."""
    if proc is not None:
        LIVE.add(proc)
    LIVE.discard(gone)
    with open(os.path.join(ARGS.work, "pids"), "w") as f:
        f.write("".join("%d\n" % p.pid for p in LIVE))


# ---- the simulated world ----

class World:
    def __init__(self, a):
        self.a = a
        self.etc = os.path.join(a.work, "etc")
        shutil.copytree(os.path.join(a.src, "etc"), self.etc,
                        ignore=shutil.ignore_patterns("sample"))
        self.conf = os.path.join(self.etc, "magpie.ini")
        self.deadlines = os.path.join(self.etc, "deadlines.d",
                                      "igf2021.ini")
        for name, v in (("imap.pass", a.dv_pass), ("smtp.pass", SMTP_PASS)):
            p = os.path.join(self.etc, name)
            with open(p, "w") as f:
                f.write(v + "\n")
            os.chmod(p, 0o600)
        mb = mailbox.mbox(os.path.join(a.src, "etc", "sample",
                                       "mag-2021-06.mbox"), create=False)
        self.msgs = []
        for k in mb.keys():
            raw = mb.get_bytes(k)
            m = email.message_from_bytes(raw)
            d = email.utils.parsedate_to_datetime(m["Date"])
            self.msgs.append((int(d.timestamp()), raw))
        self.msgs.sort(key=lambda x: x[0])
        self.delivered = 0
        self.uid = pwd.getpwnam(a.dv_user).pw_uid
        self.gid = grp.getgrnam(a.dv_group).gr_gid
        for root, dirs, files in os.walk(os.path.join(a.dv, "mail")):
            for n in dirs + files:
                os.chown(os.path.join(root, n), self.uid, self.gid)
        self.dovecot = Dovecot(a)
        self.smtpd = Smtpd(a)
        self.seen = {}              # smtpd .eml path -> run index
        self.runs = []              # (t, rc, stderr, killed, [paths])

    def write_config(self):
        """etc/example.ini with the list read over IMAPS and delivery
        over SMTP (STARTTLS, AUTH) to the test servers."""
        src = open(os.path.join(self.a.src, "etc", "example.ini")).read()
        out, sec = [], None
        for line in src.splitlines():
            m = re.match(r"\[(\w+)", line)
            if m:
                sec = m.group(1)
            if line.startswith("path =") and sec == "store":
                line = "path = %s" % os.path.join(self.a.work, "var",
                                                  "magpie.db")
            elif line.startswith("source =") and sec == "list":
                line = ("source = imaps://mag@127.0.0.1:%d/INBOX\n"
                        "password_file = imap.pass\nca_file = %s" %
                        (self.a.dv_imaps, self.a.ca))
            elif line.startswith("transport =") and sec == "delivery":
                line = ("transport = smtp://127.0.0.1:%d\nuser = %s\n"
                        "password_file = smtp.pass\nca_file = %s" %
                        (self.smtpd.port, SMTP_USER, self.a.ca))
            out.append(line)
        text = "\n".join(out) + "\n"
        assert "imaps://" in text and "smtp://" in text
        with open(self.conf + ".tmp", "w") as f:
            f.write(text)
        os.rename(self.conf + ".tmp", self.conf)

    def move_deadline(self, item, old, new):
        text = open(self.deadlines).read()
        sec = text.index("[deadline %s]" % item)
        i = text.index("due = " + old, sec)
        text = text[:i] + "due = " + new + text[i + len("due = " + old):]
        with open(self.deadlines, "w") as f:
            f.write(text)

    def deliver(self, t):
        """Append to the Maildir every message whose Date has come."""
        md = os.path.join(self.a.dv, "mail", "mag", "Maildir")
        while self.delivered < len(self.msgs) and \
                self.msgs[self.delivered][0] <= t:
            raw = self.msgs[self.delivered][1]
            name = "%d.sim%04d.magpie" % (self.msgs[self.delivered][0],
                                          self.delivered)
            tmp = os.path.join(md, "tmp", name)
            with open(tmp, "wb") as f:
                f.write(raw)
            os.chown(tmp, self.uid, self.gid)
            os.rename(tmp, os.path.join(md, "new", name))
            self.delivered += 1

    def received(self):
        out = []
        for d in self.smtpd.dirs:
            out += sorted(glob.glob(os.path.join(d, "msgs", "*.eml")))
        return out

    def start_run(self, t):
        return subprocess.Popen([self.a.magpie, "-q", "-c", self.conf,
                                 "--now", iso(t), "run"],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)

    def run(self, t, kill_after=None, when=None):
        """kill_after: seconds after the start, or, with when (a
        function), after when() said yes (polled every millisecond)."""
        self.deliver(t)
        c0 = self.smtpd.connections()
        n0 = len(self.received())
        p = self.start_run(t)
        killed = False
        if kill_after is not None:
            if when is not None:
                while p.poll() is None and not when(c0, n0):
                    time.sleep(0.001)
            try:
                p.wait(kill_after)
            except subprocess.TimeoutExpired:
                p.kill()
                killed = True
        out, err = p.communicate(timeout=120)
        return self.finish_run(t, p.returncode, out + err, killed)

    def finish_run(self, t, rc, err, killed=False):
        new = [p for p in self.received() if p not in self.seen]
        for p in new:
            self.seen[p] = len(self.runs)
        self.runs.append((t, rc, err.decode("utf-8", "replace"), killed,
                          new))
        return rc, err.decode("utf-8", "replace"), new


# ---- what the SMTP server received ----

class Got:
    def __init__(self, path, run, t):
        raw = open(path, "rb").read()
        env = open(path[:-4] + ".env").read().split("\n")
        self.path, self.run, self.t = path, run, t
        self.rcpt = [x[5:] for x in env if x.startswith("rcpt ")]
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        self.msg = msg
        self.kind = msg["X-Magpie-Kind"]
        self.item = msg["X-Magpie-Item"] or ""
        self.id = msg["Message-ID"]
        self.to = email.utils.parseaddr(str(msg["To"]))[1]
        self.date = email.utils.parsedate_to_datetime(msg["Date"])
        self.subject = str(msg["Subject"])
        self.refs = msg["References"]
        self.ics = None
        for part in msg.walk():
            if part.get_content_type() == "text/calendar":
                self.ics = part.get_content()
                if isinstance(self.ics, bytes):
                    self.ics = self.ics.decode()
        body = msg.get_body(("plain",))
        self.text = body.get_content() if body is not None else ""

    def ics_time(self, prop):
        m = re.search(r"^%s[^:\r\n]*:(\d{8}T\d{6}Z)" % prop,
                      self.ics or "", re.M)
        if not m:
            return None
        return int(datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ")
                   .replace(tzinfo=UTC).timestamp())

    def ics_seq(self):
        m = re.search(r"^SEQUENCE:(\d+)", self.ics or "", re.M)
        return int(m.group(1)) if m else None


def load_got(w):
    return [Got(p, r, w.runs[r][0]) for p, r in
            sorted(w.seen.items(), key=lambda x: (x[1], x[0]))]


class Checker:
    def __init__(self):
        self.fails = 0

    def fail(self, msg):
        self.fails += 1
        if self.fails <= 60:
            print("FAIL: " + msg)

    def eq(self, want, got, what):
        if want != got:
            self.fail("%s: got %r, wanted %r" % (what, got, want))


def describe(e):
    return "%s %s %s to %s (off %s, due %s)" % (
        iso(e["t"]), e["kind"], e["item"] or "-", e["rcpt"], e["off"],
        iso(e["due"]))


def check_email(ck, cfg, e, g, exact_time=True):
    """One received email against its oracle entry."""
    what = "%s (%s)" % (describe(e), os.path.basename(g.path))
    ck.eq(e["kind"], g.kind, what + ": X-Magpie-Kind")
    if e["kind"] == "digest":
        if g.msg["X-Magpie-Item"] is not None:
            ck.fail(what + ": a digest has X-Magpie-Item")
    else:
        ck.eq(e["item"], g.item, what + ": X-Magpie-Item")
    ck.eq([e["rcpt"]], g.rcpt, what + ": envelope recipients")
    ck.eq(e["rcpt"].lower(), g.to.lower(), what + ": To")
    if exact_time:
        ck.eq(iso(e["t"]), iso(g.t), what + ": sent by the run at")
    ck.eq(g.t, int(g.date.timestamp()), what + ": Date is the run's time")
    m = cfg.member(e["rcpt"])
    tz = ZoneInfo(m.tz if m else "UTC")
    want_off = datetime.fromtimestamp(g.t, tz).utcoffset()
    ck.eq(want_off, g.date.utcoffset(), what + ": Date in the member's zone")
    if e["kind"] == "digest":
        day = datetime.fromtimestamp(g.t, tz).strftime("%a %d %b %Y")
        if g.t == e["t"]:
            n = e["n"]
            tail = ("no new messages" if n == 0 else "%d message%s in " %
                    (n, "" if n == 1 else "s"))
            want = "[IGF MAG] Digest %s: %s" % (day, tail)
            if not g.subject.startswith(want):
                ck.fail("%s: subject %r, wanted %r..." % (what, g.subject,
                                                          want))
        slot = digest_slot(m, cfg.digest_min, g.t)
        ck.eq(iso(e["due"]), iso(slot), what + ": digest slot")
        local = datetime.fromtimestamp(slot, tz)
        ck.eq("%02d:%02d" % (cfg.digest_min // 60, cfg.digest_min % 60),
              local.strftime("%H:%M"), what + ": local digest time")
        if exact_time and not e["catchup"] and not 0 <= g.t - slot < STEP:
            ck.fail(what + ": digest not within 15 minutes of its slot")
    elif e["kind"] in ("reminder", "changed"):
        it = [i for i in cfg.items if i.id == e["item"]][0]
        if it.kind != "reminder":
            prop = "DTEND" if it.kind == "deadline" else "DTSTART"
            ck.eq(iso(e["due"]), iso(g.ics_time(prop) or 0),
                  what + ": .ics " + prop)
        if g.t >= e["due"] and it.kind != "reminder":
            ck.fail(what + ": sent at or after the due time")
        if e["kind"] == "reminder" and it.kind != "reminder" and \
                g.t < e["due"] - e["off"]:
            ck.fail(what + ": sent before its time")
        if e["kind"] == "changed":
            ck.eq(e["seq"], g.ics_seq(), what + ": SEQUENCE")
            old = datetime.fromtimestamp(e["old_due"], UTC).strftime(
                "%a %d %b %H:%M UTC")
            if old not in g.text:
                ck.fail(what + ": the old time %s is not in the text" % old)
            ref = msgid("reminder", e["item"], it.remind[0], e["rcpt"],
                        e["old_due"], cfg.from_addr.split("@")[1])
            ck.eq(ref, g.refs, what + ": References (the old reminders)")
        elif it.kind != "reminder" and e["off"] != it.remind[0]:
            ref = msgid("reminder", e["item"], it.remind[0], e["rcpt"],
                        e["due"], cfg.from_addr.split("@")[1])
            ck.eq(ref, g.refs, what + ": References (the first reminder)")


def compare(ck, cfg, want, got, exact_time=True, allow_dup=()):
    """Every oracle email received once (Message-ID predicted from its
    key), nothing else; duplicates only for the IDs in allow_dup."""
    by_id = {}
    for g in got:
        by_id.setdefault(g.id, []).append(g)
    seen = set()
    for e in want:
        gs = by_id.get(e["id"], [])
        if e["id"] in seen:
            ck.fail("oracle made a key twice: " + describe(e))
        seen.add(e["id"])
        if not gs:
            ck.fail("missing: " + describe(e))
            continue
        if len(gs) > 1 and e["id"] not in allow_dup:
            ck.fail("received %d times: %s" % (len(gs), describe(e)))
        check_email(ck, cfg, e, gs[0], exact_time)
    for mid, gs in by_id.items():
        if mid not in seen:
            for g in gs:
                ck.fail("unexpected: %s %s to %s at %s: %s" % (
                    g.kind, g.item, g.to, iso(g.t), g.subject))


def summary(want):
    kinds = {}
    for e in want:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
    return ", ".join("%d %s" % (n, k) for k, n in sorted(kinds.items()))


# ---- the June simulation ----

def simulation(a):
    w = World(a)
    ck = Checker()
    start, end = ts(a.start), ts(a.end)
    change_at = ts(a.change_at)
    w.dovecot.start()
    w.smtpd.start()
    w.write_config()
    cfg0 = Config(w.conf)
    ticks = list(range(start, end + 1, STEP))
    oracle = Oracle([d for d, _ in w.msgs])
    t0 = time.time()
    cfg = cfg0
    for t in ticks:
        if t == change_at:
            w.move_deadline("workshop-evaluations", "2021-06-17 23:59 UTC",
                            "2021-06-18 23:59 UTC")
            cfg = Config(w.conf)
        oracle.run(cfg, t)
        rc, err, _ = w.run(t)
        if rc != 0 or err:
            ck.fail("run --now %s: exit %d: %s" % (iso(t), rc, err.strip()))
    took = time.time() - t0
    want = oracle.out
    got = load_got(w)
    print("simulation: %d runs in %.1f s (%.0f ms a run); %d emails "
          "received, %d expected (%s)" % (len(ticks), took,
                                          1000 * took / len(ticks),
                                          len(got), len(want),
                                          summary(want)))
    compare(ck, cfg, want, got)
    # The plan the brief spells out, independently of the oracle loop.
    changed = [e for e in want if e["kind"] == "changed"]
    reminded = {e["rcpt"] for e in want if e["kind"] == "reminder" and
                e["item"] == "workshop-evaluations" and
                e["due"] == parse_time("2021-06-17 23:59 UTC")}
    ck.eq(sorted(reminded), sorted(e["rcpt"] for e in changed),
          "changed notices go to those reminded of the old time")
    if start <= ts("2021-06-11T00:00:00Z") < change_at <= end:
        # the 7-day reminder of the old time went to all 12 members
        ck.eq(12, len(changed), "changed notices")
        ck.eq({iso(change_at)}, {iso(e["t"]) for e in changed},
              "changed notices sent at")
    # The replay: the same clock values again; nothing new may leave.
    n0 = len(w.received())
    t0 = time.time()
    for t in ticks:
        rc, err, new = w.run(t)
        if rc != 0 or err:
            ck.fail("replay --now %s: exit %d: %s" % (iso(t), rc,
                                                      err.strip()))
        for p in new:
            g = Got(p, len(w.runs) - 1, t)
            ck.fail("replay --now %s sent %s %s to %s: %s" % (
                iso(t), g.kind, g.item, g.to, g.subject))
    print("replay: %d runs in %.1f s; %d new emails" % (
        len(ticks), time.time() - t0, len(w.received()) - n0))
    return ck


# ---- faults ----

def faults(a):
    """2021-06-14 to 2021-06-19 with failures injected (times UTC):
    IMAP down 14 06:00 - 15 06:00; 451 for three emails at 15 05:00;
    SMTP down 17 10:00 - 16:00; the connection dropped after DATA (no
    reply) twice at 17 18:00; an overlapping second run at 18 05:00;
    the clock back an hour after 18 13:00; kill -9 of six runs at seeded
    random moments (of the run, or after it connected to SMTP) and of
    one while the server holds its 250 for an email it has stored."""
    w = World(a)
    ck = Checker()
    rnd = random.Random(a.seed)
    print("faults: seed %d (MAGPIE_FAULT_SEED)" % a.seed)
    start, end = ts("2021-06-14T00:00:00Z"), ts("2021-06-19T00:00:00Z")
    imap_down = (ts("2021-06-14T06:00:00Z"), ts("2021-06-15T06:00:00Z"))
    smtp_down = (ts("2021-06-17T10:00:00Z"), ts("2021-06-17T16:00:00Z"))
    tempfail_at = ts("2021-06-15T05:00:00Z")
    drop_at = ts("2021-06-17T18:00:00Z")
    overlap_at = ts("2021-06-18T05:00:00Z")
    back_after = ts("2021-06-18T13:00:00Z")
    kills = [ts(x) for x in ("2021-06-14T05:00:00Z", "2021-06-15T00:00:00Z",
                             "2021-06-17T00:00:00Z", "2021-06-17T05:00:00Z",
                             "2021-06-18T19:00:00Z",
                             "2021-06-18T23:00:00Z")]
    # and one kill certain to fall after the server took an email and
    # before magpie could record it: the server holds its 250 a second
    held_kill = ts("2021-06-16T05:00:00Z")
    ticks = list(range(start, back_after + 1, STEP)) + \
        list(range(back_after - 3600 + STEP, end + 1, STEP))
    w.dovecot.start()
    w.smtpd.start()
    w.write_config()
    cfg = Config(w.conf)
    oracle = Oracle([d for d, _ in w.msgs])
    # the runs whose emails a fault may hold back, and by how many runs
    held = {}
    burst = {tempfail_at: (["--tempfail", "3"], 1),
             drop_at: (["--drop", "2"], 1)}
    killed_runs = []
    dup_certain = None
    t0 = time.time()
    for i, t in enumerate(ticks):
        imap_up = not imap_down[0] <= t < imap_down[1]
        smtp_up = not smtp_down[0] <= t < smtp_down[1]
        if t == imap_down[0] and w.dovecot.proc:
            w.dovecot.stop()
        if t == imap_down[1]:
            w.dovecot.start()
        if t == smtp_down[0]:
            w.smtpd.stop()
        if t == smtp_down[1]:
            w.smtpd.start()
            w.write_config()
        if t in burst or t in (overlap_at, held_kill):
            w.smtpd.stop()
            w.smtpd.start(*(burst[t][0] if t in burst else
                            ["--delay", "0.4" if t == overlap_at else "1"]))
            w.write_config()
        oracle.run(cfg, t, imap_up, smtp_up)
        if t in burst:
            held[i] = burst[t][1]
        if t in kills or t == held_kill:
            held[i] = 1
        if t in kills:
            # at a random moment of the run, or of its sending
            if rnd.random() < 0.5:
                how = "%.0f ms after the start" % (1000 * rnd.uniform(0, 0.1))
                rc, err, new = w.run(t, kill_after=float(how.split()[0]) /
                                     1000)
            else:
                d = rnd.uniform(0, 0.08)
                how = "%.1f ms after it connected to SMTP" % (1000 * d)
                rc, err, new = w.run(t, kill_after=d, when=lambda c0, n0:
                                     w.smtpd.connections() > c0)
            killed_runs.append((t, how, w.runs[-1][3], len(new)))
        elif t == held_kill:
            rc, err, new = w.run(t, kill_after=0, when=lambda c0, n0:
                                 len(w.received()) > n0)
            killed_runs.append((t, "while the server held its 250",
                                w.runs[-1][3], len(new)))
            if not w.runs[-1][3] or len(new) != 1:
                ck.fail("the kill while the server held its 250 missed")
            dup_certain = Got(new[0], len(w.runs) - 1, t).id
            w.smtpd.stop()
            w.smtpd.start()
            w.write_config()
        elif t == overlap_at:
            w.deliver(t)
            c0 = w.smtpd.connections()
            p1 = w.start_run(t)
            for _ in range(400):
                if w.smtpd.connections() > c0 or p1.poll() is not None:
                    break
                time.sleep(0.01)
            if p1.poll() is not None:
                ck.fail("the first run ended before it connected")
            t1 = time.time()
            p2 = subprocess.run([a.magpie, "-q", "-c", w.conf, "--now",
                                 iso(t), "run"], capture_output=True)
            took = time.time() - t1
            if p2.returncode != 0 or p2.stdout or p2.stderr:
                ck.fail("second overlapping run: exit %d: %s" % (
                    p2.returncode, p2.stderr.decode()))
            if took > 1.0:
                ck.fail("second overlapping run took %.2f s" % took)
            if p1.poll() is not None:
                ck.fail("the first run was no longer running when the "
                        "second one ended")
            out, err = p1.communicate(timeout=120)
            rc, err, new = w.finish_run(t, p1.returncode, out + err)
            print("overlap: second run exit %d in %.0f ms while the first "
                  "was sending; first run exit %d, %d sent" % (
                      p2.returncode, 1000 * took, rc, len(new)))
            w.smtpd.stop()
            w.smtpd.start()
            w.write_config()
        else:
            rc, err, new = w.run(t)
        want_rc = 0 if imap_up and smtp_up else 75
        burst_left = any(0 <= i - k < n for k, n in held.items()
                         if ticks[k] in burst)
        if w.runs[-1][3]:
            pass                        # killed
        elif burst_left:
            if rc != 75:
                ck.fail("run --now %s (SMTP burst): exit %d, wanted 75" %
                        (iso(t), rc))
        elif rc != want_rc:
            ck.fail("run --now %s: exit %d, wanted %d: %s" % (
                iso(t), rc, want_rc, err.strip()))
    took = time.time() - t0
    got = load_got(w)
    want = oracle.out
    print("faults: %d runs in %.1f s; %d emails received, %d expected (%s)"
          % (len(ticks), took, len(got), len(want), summary(want)))
    # Duplicates: only the last email a killed run got through, again
    # in a later run (the kill fell between the 250 and the ledger).
    allowed, dups = set(), []
    by_id = {}
    for g in got:
        by_id.setdefault(g.id, []).append(g)
    for r, (t, rc, err, killed, new) in enumerate(w.runs):
        if killed and new:
            last = Got(new[-1], r, t)
            allowed.add(last.id)
    for mid, gs in by_id.items():
        if len(gs) > 1:
            dups.append(gs)
            if mid not in allowed or len(gs) > 2:
                ck.fail("duplicate not explained by a kill: %s %s to %s "
                        "x%d" % (gs[0].kind, gs[0].item, gs[0].to, len(gs)))
    for t, how, killed, n in killed_runs:
        print("kill -9 of run --now %s %s: %s, %d email(s) had arrived" % (
            iso(t), how, "killed" if killed else "had already ended", n))
    if len(by_id.get(dup_certain, [])) != 2:
        ck.fail("the email taken before the kill was not sent again once")
    print("duplicates (kill between the 250 and the ledger write): %d" %
          len(dups))
    for gs in dups:
        print("  %s %s to %s, runs --now %s" % (
            gs[0].kind, gs[0].item or "-", gs[0].to,
            " and ".join(iso(g.t) for g in gs)))
    # Every planned email arrives, once (but for the above), with the
    # planned key; late only where a fault held it back.
    compare(ck, cfg, want, got, exact_time=False, allow_dup=allowed)
    want_by = {e["id"]: e for e in want}
    for g in got:
        e = want_by.get(g.id)
        if e is None or by_id[g.id][0] is not g or g.run == e["run"]:
            continue
        if g.run < e["run"]:
            ck.fail("early: %s arrived at %s" % (describe(e), iso(g.t)))
        elif e["run"] not in held or g.run - e["run"] > held[e["run"]]:
            ck.fail("late: %s arrived at %s" % (describe(e), iso(g.t)))
    # No stale burst: at its sending time, a reminder's offset is the
    # latest one due for its item.
    for g in got:
        e = want_by.get(g.id)
        if e is None or e["kind"] != "reminder" or not e["off"]:
            continue
        it = [i for i in cfg.items if i.id == e["item"]][0]
        later = [o for o in it.remind if o < e["off"] and
                 it.due - o <= g.t]
        if later:
            ck.fail("stale: %s sent at %s when the %ds one was due" % (
                describe(e), iso(g.t), later[0]))
    # The fault-free plan and this one agree on what arrives.
    return ck


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("sim", "faults"))
    ap.add_argument("--magpie", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--dv", required=True)
    ap.add_argument("--dv-conf", required=True)
    ap.add_argument("--dv-imaps", type=int, required=True)
    ap.add_argument("--dv-user", required=True)
    ap.add_argument("--dv-group", required=True)
    ap.add_argument("--dv-pass", required=True)
    ap.add_argument("--start", default="2021-06-08T00:00:00Z")
    ap.add_argument("--end", default="2021-07-01T00:00:00Z")
    ap.add_argument("--change-at", default="2021-06-14T12:00:00Z")
    ap.add_argument("--seed", type=int, default=20210614)
    a = ap.parse_args()
    a.lib = os.path.dirname(os.path.abspath(__file__))
    a.ca = os.path.join(a.dv, "certs", "ca.pem")
    a.cert = os.path.join(a.dv, "certs", "good.pem")
    a.key = os.path.join(a.dv, "certs", "good.key")
    ARGS = a
    try:
        ck = simulation(a) if a.mode == "sim" else faults(a)
    finally:
        for p in list(LIVE):
            p.terminate()
            p.wait()
            pidfile(gone=p)
    if ck.fails:
        print("%d failure(s)" % ck.fails)
        return 1
    print("%s: all passed" % a.mode)
    return 0


ARGS = None

if __name__ == "__main__":
    sys.exit(main())
