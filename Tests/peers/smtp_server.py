"""A real SMTP server (aiosmtpd, from PyPI) for the notification tests.

    smtp_server.py --port P [--tls CERT KEY] [--user U --password P] [--mechanisms PLAIN,LOGIN] [--reject ADDRESS]

Prints {"ready": true, "port": P} when it listens, then one {"mail": {...}} line per message it accepted,
with the text part decoded, so a test can read the code a message carries. --tls offers STARTTLS (and then
requires it before AUTH); --user makes AUTH mandatory; --reject refuses one recipient with 550.
"""
import argparse
import asyncio
import email
import json
import signal
import ssl
import sys
import threading
import warnings
from email import policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Handler:
    def __init__(self, reject):
        self.reject = reject

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        text = message.get_body(("plain",))
        html = message.get_body(("html",))
        print(json.dumps({"mail": {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "subject": str(message["subject"]),
            "messageId": str(message["message-id"]),
            "text": text.get_content() if text else None,
            "html": html.get_content() if html else None,
            "tls": session.ssl is not None,
            "authenticated": bool(session.authenticated),
        }}), flush=True)
        return "250 2.0.0 Ok: queued"


def main():
    warnings.simplefilter("ignore")
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--mechanisms", default="PLAIN,LOGIN")
    parser.add_argument("--reject", action="append", default=[])
    args = parser.parse_args()

    kwargs = {}
    if args.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls[0], args.tls[1])
        kwargs["tls_context"] = context
    if args.user:
        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == args.user \
                and auth_data.password.decode() == args.password
            if ok:
                print(json.dumps({"auth": {"mechanism": mechanism, "user": args.user}}), flush=True)
            return AuthResult(success=ok)
        offered = set(args.mechanisms.split(","))
        kwargs.update(
            authenticator=authenticator, auth_required=True, auth_require_tls=bool(args.tls),
            auth_exclude_mechanism=[m for m in ("PLAIN", "LOGIN") if m not in offered])
    controller = Controller(Handler(set(args.reject)), hostname="127.0.0.1", port=args.port, **kwargs)
    controller.start()
    # The tests stop the peer with SIGTERM: the default action ends it at once, whatever its threads do. The
    # test process may have started us with SIGTERM blocked (its threads block signals), so unblock it.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
    print(json.dumps({"ready": True, "port": args.port}), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
