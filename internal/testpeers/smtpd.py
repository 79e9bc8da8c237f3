#!/usr/bin/python3
"""A real SMTP server for the mail tests: Debian's aiosmtpd, as its own process.

It listens on 127.0.0.1 (port 0 picks a free one), offers STARTTLS (or
speaks TLS from the first byte with --implicit-tls), checks AUTH PLAIN and
LOGIN against one username and password, and writes every mail it accepts
to --dir as <n>.eml, with <n>.json beside it saying how it arrived (the
envelope, whether TLS was used and which, which AUTH mechanism). Each file
appears whole (written aside, then renamed).

Recipients whose local part starts with "reject" get a permanent 550 and
those starting with "tempfail" a temporary 451, so the tests can see how
the sender takes each.

When it listens it prints "READY <port>" on standard output; it stops on
SIGTERM or SIGINT.
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import ssl
import sys
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Handler:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local.startswith("reject"):
            return "550 5.1.1 mailbox unavailable"
        if local.startswith("tempfail"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        name = "%06d-%d" % (self.count, os.getpid())
        ssl_object = server.transport.get_extra_info("ssl_object")
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls_version": ssl_object.version() if ssl_object else "",
            "auth_mechanism": getattr(session, "ssogate_mechanism", ""),
            "auth_login": getattr(session, "ssogate_login", ""),
        }
        for ext, data in ((".eml", envelope.original_content), (".json", json.dumps(meta).encode())):
            path = os.path.join(self.directory, name + ext)
            with open(path + ".tmp", "wb") as f:
                f.write(data)
            os.rename(path + ".tmp", path)
        return "250 2.0.0 queued as " + name


def authenticator(username, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == username
              and auth_data.password.decode() == password)
        if ok:
            session.ssogate_mechanism = mechanism
            session.ssogate_login = username
        return AuthResult(success=ok, handled=False)
    return check


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--dir", required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--implicit-tls", action="store_true")
    p.add_argument("--no-starttls", action="store_true")
    p.add_argument("--require-starttls", action="store_true")
    p.add_argument("--username", default="")
    p.add_argument("--password-file", default="")
    p.add_argument("--mechanisms", default="PLAIN,LOGIN",
                   help="AUTH mechanisms offered, of PLAIN and LOGIN")
    p.add_argument("--auth-without-tls", action="store_true")
    a = p.parse_args()
    # Refused handshakes and sign-ins are what some tests are about: keep
    # aiosmtpd's tracebacks and deprecation notes out of the test output.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    warnings.simplefilter("ignore")

    tls = None
    if a.cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(a.cert, a.key)

    kwargs = {"hostname": "smtp.test", "ident": "ssogate test peer"}
    if tls is not None and not a.implicit_tls and not a.no_starttls:
        kwargs["tls_context"] = tls
        kwargs["require_starttls"] = a.require_starttls
    if a.username:
        with open(a.password_file) as f:
            password = f.read().rstrip("\n")
        kwargs["authenticator"] = authenticator(a.username, password)
        # aiosmtpd sees TLS only when it ran STARTTLS itself; an implicit
        # TLS connection is encrypted from the first byte.
        kwargs["auth_require_tls"] = not (a.auth_without_tls or a.implicit_tls)
        offered = {m.strip().upper() for m in a.mechanisms.split(",") if m.strip()}
        kwargs["auth_exclude_mechanism"] = [m for m in ("PLAIN", "LOGIN") if m not in offered]

    handler = Handler(a.dir)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, **kwargs), host="127.0.0.1", port=a.port,
        ssl=tls if a.implicit_tls else None))
    port = server.sockets[0].getsockname()[1]
    print("READY %d" % port, flush=True)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    loop.run_forever()
    server.close()
    loop.run_until_complete(server.wait_closed())


if __name__ == "__main__":
    sys.exit(main())
