"""A stand-in Web Push service (the part of FCM or Mozilla's autopush that an application server talks to).

Speaks RFC 8030 (push message delivery), RFC 8292 (VAPID) and RFC 8291 (aes128gcm message encryption) on
127.0.0.1, with one subscription it makes up at start, as a browser's push service would on subscribe.

Usage: python push_service.py [--fail-first N] [--gone] [--vapid-key K]
  --fail-first N  answer the first N POSTs with 503 (a push service that is briefly unavailable)
  --gone          answer every POST with 410 (the subscription has expired or was unsubscribed)
  --vapid-key K   a restricted subscription: only this application server key (base64url) may push (403 else)

Prints one JSON line once listening:
  {"ready": true, "endpoint": "http://127.0.0.1:PORT/push/sub1", "p256dh": B64URL, "auth": B64URL}
then one line per request:
  {"push": {"status": 201, "payload": "<decrypted UTF-8>", "ttl": "60", "urgency": "high", "topic": null}}
(failures carry "payload": null and a "reason"). Runs until killed.

A POST to the endpoint needs `Content-Encoding: aes128gcm`, a `TTL` header and `Authorization: vapid t=JWT,
k=KEY`: the JWT is ES256 under KEY with aud = "http://127.0.0.1:PORT", exp in the future and at most 24 hours
ahead, sub a mailto: or https: URL (401 otherwise). The body must decrypt with the subscription's keys (400
otherwise). Accepted messages get 201 with a Location header.
"""
import argparse
import base64
import http.server
import itertools
import json
import os
import sys
import threading
import time

import http_ece
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

MAX_BODY = 4096  # RFC 8291 §4: what every push service must accept
URGENCIES = {"very-low", "low", "normal", "high"}  # RFC 8030 §5.3
BASE64URL = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Subscription:
    def __init__(self):
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.public_key = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.auth_secret = os.urandom(16)


class Rejection(Exception):
    def __init__(self, status, reason):
        super().__init__(reason)
        self.status, self.reason = status, reason


def parse_vapid(header):
    """The (token, key) of an `Authorization: vapid t=…, k=…` header; Rejection(401) when absent or malformed."""
    if not header:
        raise Rejection(401, "no Authorization header")
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "vapid":
        raise Rejection(401, f"authorization scheme {scheme!r} is not vapid")
    parameters = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise Rejection(401, f"malformed vapid parameter {part.strip()!r}")
        parameters[name.strip().lower()] = value.strip()
    if "t" not in parameters or "k" not in parameters:
        raise Rejection(401, "vapid authorization needs both t and k")
    return parameters["t"], parameters["k"]


def verify_vapid(token, key_text, audience):
    """The claims of a valid VAPID token signed by key_text (RFC 8292 §2, §3); Rejection(401) otherwise."""
    try:
        key_bytes = unb64url(key_text)
        if len(key_bytes) != 65 or key_bytes[0] != 4:
            raise ValueError("not a 65-byte uncompressed point")
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key_bytes)
    except Exception as error:
        raise Rejection(401, f"k is not a P-256 public key: {error}")
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(
            token, public_key, algorithms=["ES256"], audience=audience,
            options={"require": ["aud", "exp", "sub"]},
        )
    except jwt.PyJWTError as error:
        raise Rejection(401, f"invalid VAPID token: {type(error).__name__}: {error}")
    if header.get("alg") != "ES256":
        raise Rejection(401, f"JWT alg {header.get('alg')!r} is not ES256")
    if claims["exp"] > time.time() + 24 * 3600:
        raise Rejection(401, f"exp {claims['exp']} is more than 24 hours ahead")
    sub = claims["sub"]
    if not isinstance(sub, str) or not (sub.startswith("mailto:") or sub.startswith("https:")):
        raise Rejection(401, f"sub {sub!r} is not a mailto: or https: URL")
    return claims


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fail-first", type=int, default=0, metavar="N")
    parser.add_argument("--gone", action="store_true")
    parser.add_argument("--vapid-key", default=None, metavar="K")
    options = parser.parse_args()

    subscription = Subscription()
    lock = threading.Lock()
    posts = itertools.count(1)
    messages = itertools.count(1)

    def report(status, payload=None, ttl=None, urgency=None, topic=None, reason=None):
        line = {"status": status, "payload": payload, "ttl": ttl, "urgency": urgency, "topic": topic}
        if reason:
            line["reason"] = reason
        with lock:
            sys.stdout.write(json.dumps({"push": line}) + "\n")
            sys.stdout.flush()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):
            pass

        def answer(self, status, headers=None):
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def read_body(self):
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                body = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return body
                    body += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def do_GET(self):
            self.answer(404)

        def do_POST(self):
            body = self.read_body()
            ttl, urgency, topic = self.headers.get("TTL"), self.headers.get("Urgency"), self.headers.get("Topic")
            if self.path != "/push/sub1":
                report(404, reason=f"no subscription at {self.path}")
                return self.answer(404)
            number = next(posts)
            if options.gone:
                report(410, ttl=ttl, urgency=urgency, topic=topic, reason="subscription gone")
                return self.answer(410)
            if number <= options.fail_first:
                report(503, ttl=ttl, urgency=urgency, topic=topic, reason=f"failing POST {number} of the first {options.fail_first}")
                return self.answer(503, {"Retry-After": "1"})
            try:
                host, port = self.server.server_address[:2]
                token, key = parse_vapid(self.headers.get("Authorization"))
                verify_vapid(token, key, f"http://{host}:{port}")
                if options.vapid_key is not None and unb64url(key) != unb64url(options.vapid_key):
                    raise Rejection(403, "k is not the key this subscription is restricted to")
                if self.headers.get("Content-Encoding", "").strip().lower() != "aes128gcm":
                    raise Rejection(400, f"Content-Encoding {self.headers.get('Content-Encoding')!r} is not aes128gcm")
                if ttl is None or not ttl.strip().isdigit():
                    raise Rejection(400, f"TTL {ttl!r} is not a non-negative integer")
                if urgency is not None and urgency not in URGENCIES:
                    raise Rejection(400, f"Urgency {urgency!r} is not one of {sorted(URGENCIES)}")
                if topic is not None and (not 0 < len(topic) <= 32 or not set(topic) <= BASE64URL):
                    raise Rejection(400, f"Topic {topic!r} is not 1–32 base64url characters")
                if len(body) > MAX_BODY:
                    raise Rejection(413, f"body of {len(body)} bytes is over {MAX_BODY}")
                try:
                    plaintext = http_ece.decrypt(
                        body, private_key=subscription.private_key, auth_secret=subscription.auth_secret,
                        version="aes128gcm",
                    )
                except Exception as error:
                    raise Rejection(400, f"body does not decrypt: {type(error).__name__}: {error}")
            except Rejection as rejection:
                report(rejection.status, ttl=ttl, urgency=urgency, topic=topic, reason=rejection.reason)
                return self.answer(rejection.status)
            report(201, payload=plaintext.decode("utf-8", errors="replace"), ttl=ttl, urgency=urgency, topic=topic)
            self.answer(201, {"Location": f"http://{host}:{port}/message/{next(messages)}", "TTL": ttl.strip()})

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    print(json.dumps({
        "ready": True,
        "endpoint": f"http://127.0.0.1:{port}/push/sub1",
        "p256dh": b64url(subscription.public_key),
        "auth": b64url(subscription.auth_secret),
    }), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
