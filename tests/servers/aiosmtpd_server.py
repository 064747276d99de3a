#!/usr/bin/env python3
"""A small real SMTP server (aiosmtpd) for smtpsh's interop tests.

It stores what it receives so that a test can read it back:

* ``DIR/msg-NNNN.eml``  -- the exact DATA bytes of each accepted message
  (CRLF kept, dot-stuffing undone, the final ``.`` line not included), as
  aiosmtpd hands them over in ``envelope.original_content``.
* ``DIR/msg-NNNN.json`` -- the envelope: ``{"mail_from", "rcpt_tos",
  "rcpt_options", "mail_options", "session", "tls", "auth_login", "size"}``.
  It is written (atomically, after the .eml) last, so a reader that sees the
  .json can read the .eml.
* ``DIR/events.jsonl``  -- one flat JSON object per line, per connection
  (``session`` is the connection serial, from 1):
    {"session": N, "event": "connect", "peer": "127.0.0.1:PORT"}
    {"session": N, "event": "command", "verb": "MAIL", "arg": "FROM:<a@b>"}
    {"session": N, "event": "reply", "line": "250 OK"}
    {"session": N, "event": "tls"}                  (STARTTLS handshake done)
    {"session": N, "event": "message", "id": "msg-0001"}
    {"session": N, "event": "close"}
  Every recognised command is logged as ``command`` before it is handled
  (so a DATA refused with 503 still shows up, followed by its ``reply``);
  unrecognised ones only show as their 500 ``reply``. AUTH arguments are
  logged as the mechanism name only.

It prints ``READY <port>`` on stdout once listening and runs until SIGTERM or
SIGINT (or, with ``--exit-on-stdin-eof``, until its standard input closes, so
it never outlives a test process that died without cleaning up).

The listening socket is bound by ``loop.create_server`` itself (port 0 = the
kernel picks a free port), so there is no pick-then-bind race.
"""

import argparse
import asyncio
import json
import os
import signal
import ssl
import sys
import threading

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Store:
    """Writes messages and events; all calls come from the event loop."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.msg_serial = 0
        self.conn_serial = 0
        self.events_fd = os.open(
            os.path.join(directory, "events.jsonl"),
            os.O_WRONLY | os.O_CREAT | os.O_APPEND,
            0o644,
        )

    def next_connection(self):
        self.conn_serial += 1
        return self.conn_serial

    def event(self, session, event, **fields):
        record = {"session": session, "event": event}
        record.update(fields)
        line = json.dumps(record, ensure_ascii=True) + "\n"
        # One write(2) on an O_APPEND descriptor: a line is never interleaved.
        os.write(self.events_fd, line.encode("ascii"))

    def _atomic_write(self, name, data):
        path = os.path.join(self.dir, name)
        tmp = os.path.join(self.dir, "." + name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
        os.replace(tmp, path)

    def store_message(self, session, envelope, meta):
        self.msg_serial += 1
        base = "msg-%04d" % self.msg_serial
        data = envelope.original_content or b""
        self._atomic_write(base + ".eml", data)
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "rcpt_options": list(envelope.rcpt_options),
            "mail_options": list(envelope.mail_options),
            "smtp_utf8": bool(envelope.smtp_utf8),
            "session": session,
            "size": len(data),
        }
        record.update(meta)
        self._atomic_write(
            base + ".json",
            (json.dumps(record, ensure_ascii=True, indent=1) + "\n").encode("ascii"),
        )
        self.event(session, "message", id=base)
        return base


class Handler:
    def __init__(self, store, reject_rcpt, offer_auth):
        self.store = store
        self.reject_rcpt = reject_rcpt
        self.offer_auth = offer_auth

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # The 5-argument hook replaces aiosmtpd's own bookkeeping.
        session.host_name = hostname
        if not self.offer_auth:
            # Without --auth there is nobody to log in: do not offer AUTH.
            responses = [r for r in responses if not r.startswith("250-AUTH")]
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        for needle in self.reject_rcpt:
            if needle in address:
                return "550 5.1.1 <%s>: Recipient address rejected" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        meta = {
            "tls": server.tls_active,
            "auth_login": server.auth_login,
        }
        msg_id = self.store.store_message(server.serial, envelope, meta)
        return "250 2.0.0 OK: queued as %s" % msg_id


class RecordingSMTP(SMTP):
    """An aiosmtpd SMTP protocol that logs commands, replies and connection
    life to the store. One instance per connection."""

    def __init__(self, handler, store, **kwargs):
        super().__init__(handler, **kwargs)
        self.store = store
        self.serial = 0
        self.tls_active = False
        self.auth_login = None
        self._closed_logged = False
        for verb, method in list(self._smtp_methods.items()):
            self._smtp_methods[verb] = self._wrap(verb, method)

    def _wrap(self, verb, method):
        async def logged(arg):
            shown = arg
            if verb == "AUTH" and arg:
                shown = arg.split()[0]  # never log credentials
            self.store.event(self.serial, "command", verb=verb, arg=shown)
            return await method(arg)

        return logged

    async def push(self, status):
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else status
        self.store.event(self.serial, "reply", line=text)
        await super().push(status)

    def connection_made(self, transport):
        first = self.serial == 0
        if first:
            self.serial = self.store.next_connection()
            peer = transport.get_extra_info("peername")
            peer_text = "%s:%s" % (peer[0], peer[1]) if peer else ""
            self.store.event(self.serial, "connect", peer=peer_text)
        super().connection_made(transport)
        if not first:
            # connection_made runs again on the TLS transport after STARTTLS.
            self.tls_active = True
            self.store.event(self.serial, "tls")

    def connection_lost(self, error):
        if not self._closed_logged:
            self._closed_logged = True
            self.store.event(
                self.serial, "close", error=(repr(error) if error else None)
            )
        super().connection_lost(error)


def make_authenticator(users):
    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        password = auth_data.password.decode("utf-8", "replace")
        if users.get(login) == password:
            server.auth_login = login
            return AuthResult(success=True, auth_data=login)
        return AuthResult(success=False, handled=False)

    return authenticator


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dir", required=True, help="where to store messages/events")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    p.add_argument(
        "--reject-rcpt",
        action="append",
        default=[],
        metavar="SUBSTRING",
        help="RCPT TO containing SUBSTRING gets 550 (repeatable)",
    )
    p.add_argument("--data-size-limit", type=int, default=256 * 1024 * 1024)
    p.add_argument("--hostname", default="aiosmtpd.test", help="name in 220/EHLO")
    p.add_argument("--tls-cert", help="PEM certificate (chain): enables STARTTLS")
    p.add_argument("--tls-key", help="PEM private key for --tls-cert")
    p.add_argument(
        "--require-starttls",
        action="store_true",
        help="refuse commands other than EHLO/STARTTLS/NOOP/QUIT before TLS",
    )
    p.add_argument(
        "--implicit-tls",
        action="store_true",
        help="TLS from the first byte (SMTPS) instead of STARTTLS",
    )
    p.add_argument(
        "--auth",
        action="append",
        default=[],
        metavar="USER:PASS",
        help="accept AUTH PLAIN/LOGIN for USER:PASS (repeatable)",
    )
    p.add_argument(
        "--auth-required", action="store_true", help="require AUTH before MAIL"
    )
    p.add_argument(
        "--auth-require-tls",
        choices=["yes", "no", "auto"],
        default="auto",
        help="offer AUTH only over TLS (auto: yes iff --tls-cert given)",
    )
    p.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="stop when standard input reaches end of file",
    )
    args = p.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if (args.require_starttls or args.implicit_tls) and not args.tls_cert:
        p.error("--require-starttls/--implicit-tls need --tls-cert/--tls-key")
    for spec in args.auth:
        if ":" not in spec:
            p.error("--auth takes USER:PASS")
    return args


async def serve(args):
    loop = asyncio.get_running_loop()
    store = Store(args.dir)
    
    tls_context = None
    if args.tls_cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)
        tls_context.check_hostname = False
        tls_context.verify_mode = ssl.CERT_NONE

    users = dict(spec.split(":", 1) for spec in args.auth)
    handler = Handler(store, args.reject_rcpt, offer_auth=bool(users))
    if args.auth_require_tls == "auto":
        auth_require_tls = tls_context is not None
    else:
        auth_require_tls = args.auth_require_tls == "yes"

    smtp_kwargs = dict(
        data_size_limit=args.data_size_limit,
        enable_SMTPUTF8=True,
        hostname=args.hostname,
        auth_require_tls=auth_require_tls,
        auth_required=args.auth_required,
        loop=loop,
    )
    if users:
        smtp_kwargs["authenticator"] = make_authenticator(users)
    if tls_context is not None and not args.implicit_tls:
        smtp_kwargs["tls_context"] = tls_context
        smtp_kwargs["require_starttls"] = args.require_starttls

    def factory():
        proto = RecordingSMTP(handler, store, **smtp_kwargs)
        if args.implicit_tls:
            proto.tls_active = True
        return proto

    server = await loop.create_server(
        factory,
        host=args.host,
        port=args.port,
        ssl=tls_context if args.implicit_tls else None,
    )
    port = server.sockets[0].getsockname()[1]

    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if args.exit_on_stdin_eof:

        def watch_stdin():
            try:
                while sys.stdin.buffer.read(65536):
                    pass
            except Exception:
                pass
            loop.call_soon_threadsafe(stop.set)

        threading.Thread(target=watch_stdin, daemon=True).start()

    sys.stdout.write("READY %d\n" % port)
    sys.stdout.flush()

    await stop.wait()
    server.close()


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
