#!/usr/bin/python3
"""A small TCP relay for the IMAP tests, on 127.0.0.1 only.

proxy.py LISTEN_PORT UPSTREAM_PORT MODE LOG

MODE is one of
  relay            pass everything through
  strip-starttls   remove STARTTLS from the server's capability lists
  strip-authplain  remove AUTH=PLAIN from the server's capability lists
  cut-after:N      close both sides once N bytes came from the server
                   (N counted over the whole connection, so a large N
                   lands in the middle of a FETCH)
Every line the client sends is appended to LOG with the password parts
of LOGIN and AUTHENTICATE blanked (plain connections only make sense to
log). The proxy prints "ready" once it listens and serves one connection
at a time until killed.
"""
import re
import socket
import sys
import threading

listen_port, up_port, mode, log = (int(sys.argv[1]), int(sys.argv[2]),
                                   sys.argv[3], sys.argv[4])
cut = int(mode.split(':', 1)[1]) if mode.startswith('cut-after:') else 0


def filter_line(line):
    if b'CAPABILITY' not in line.upper():
        return line
    if mode == 'strip-starttls':
        return re.sub(rb' STARTTLS(?=[ \]\r])', b'', line, flags=re.I)
    if mode == 'strip-authplain':
        return re.sub(rb' AUTH=PLAIN(?=[ \]\r])', b'', line, flags=re.I)
    return line


def client_to_server(c, u, logf):
    buf = b''
    try:
        while True:
            data = c.recv(65536)
            if not data:
                break
            u.sendall(data)
            buf += data
            while b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
                words = line.split(b' ')
                if len(words) > 2 and words[1].upper() == b'LOGIN':
                    line = b' '.join(words[:3]) + b' ***'
                elif len(words) > 2 and words[1].upper() == b'AUTHENTICATE':
                    line = b' '.join(words[:3]) + (b' ***' if len(words) > 3 else b'')
                elif not re.match(rb'^[A-Za-z0-9]+ [A-Z]', line):
                    line = b'***'
                logf.write(line.decode('latin-1').rstrip('\r') + '\n')
                logf.flush()
    except OSError:
        pass
    try:
        u.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def serve(c):
    u = socket.create_connection(('127.0.0.1', up_port))
    with open(log, 'a') as logf:
        t = threading.Thread(target=client_to_server, args=(c, u, logf))
        t.daemon = True
        t.start()
        total = 0
        pending = b''
        try:
            while True:
                data = u.recv(65536)
                if not data:
                    break
                if cut:
                    if total + len(data) >= cut:
                        c.sendall(data[:cut - total])
                        break
                    total += len(data)
                    c.sendall(data)
                elif mode in ('strip-starttls', 'strip-authplain'):
                    pending += data
                    while b'\n' in pending:
                        line, pending = pending.split(b'\n', 1)
                        c.sendall(filter_line(line + b'\n'))
                else:
                    c.sendall(data)
        except OSError:
            pass
    for s in (c, u):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()


srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(('127.0.0.1', listen_port))
srv.listen(8)
print('ready', flush=True)
while True:
    conn, _ = srv.accept()
    serve(conn)
