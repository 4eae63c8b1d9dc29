"""A fake SMS provider speaking Twilio's Messages API, for tests of Plaza's SMS channel.

Usage: python sms_provider.py --account AC... --token TOKEN [--fail-first N]
                              [--status delivered|undelivered|failed] [--callback-delay SECONDS]

Listens on 127.0.0.1 on a free port and prints one JSON line per event, flushed:
  {"ready": true, "url": "http://127.0.0.1:PORT"}               once, when it accepts connections
  {"sms": {"sid": ..., "to": ..., "from": ..., "body": ...}}      for each message it accepted (201)
  {"callback": {"sid": ..., "status": ..., "http": CODE}}         for each status callback it posted
                                                                  (CODE is null and "error" says why when
                                                                  the callback could not be delivered)

POST /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP Basic auth AccountSid:AuthToken, form fields To,
From, Body and optionally StatusCallback. In order:
  - wrong or missing credentials: 401, code 20003;
  - another account in the path, or any other path: 404, code 20404; another method: 405, code 20004;
  - while --fail-first sends remain: 503, code 20503 (these count authenticated sends only);
  - To missing: 400, 21604; To not E.164: 400, 21211; From missing: 400, 21603; Body empty: 400, 21602;
  - otherwise 201 with the message resource in Twilio's shape, status "queued".
Errors carry Twilio's JSON error body: {"code", "message", "more_info", "status"}.

After a 201 whose request named a StatusCallback, a background thread waits --callback-delay seconds (so
the sender has read the 201 first), then POSTs "sent" and then the final --status to that URL, form-encoded
(MessageSid, SmsSid, MessageStatus, SmsStatus, To, From, AccountSid, ApiVersion, and ErrorCode for
undelivered and failed), with X-Twilio-Signature = base64(HMAC-SHA1(token, url + sorted name+value pairs)).
Standard library only.
"""
import argparse
import base64
import email.utils
import hashlib
import hmac
import json
import re
import secrets
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

API_VERSION = "2010-04-01"
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
ERROR_CODES = {"undelivered": 30003, "failed": 30008}  # unreachable handset; unknown error

output_lock = threading.Lock()


def emit(record):
    with output_lock:
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()


def signature(url, pairs, token):
    """Twilio's X-Twilio-Signature: distinct (name, value) pairs sorted by name, then value, appended to the URL."""
    text = url + "".join(name + value for name, value in sorted(set(pairs)))
    return base64.b64encode(hmac.new(token.encode(), text.encode(), hashlib.sha1).digest()).decode()


def now():
    return email.utils.format_datetime(datetime.now(timezone.utc))


class Provider:
    def __init__(self, account, token, fail_first, final_status, callback_delay):
        self.account, self.token = account, token
        self.final_status, self.callback_delay = final_status, callback_delay
        self.failures_left = fail_first
        self.lock = threading.Lock()

    def take_failure(self):
        with self.lock:
            if self.failures_left > 0:
                self.failures_left -= 1
                return True
            return False

    def authorized(self, header):
        expected = "Basic " + base64.b64encode(f"{self.account}:{self.token}".encode()).decode()
        return hmac.compare_digest((header or "").encode(), expected.encode())

    def send_callbacks(self, url, message):
        time.sleep(self.callback_delay)
        for status in ("sent", self.final_status):
            pairs = [
                ("AccountSid", self.account),
                ("ApiVersion", API_VERSION),
                ("From", message["from"]),
                ("MessageSid", message["sid"]),
                ("MessageStatus", status),
                ("SmsSid", message["sid"]),
                ("SmsStatus", status),
                ("To", message["to"]),
            ]
            if status in ERROR_CODES:
                pairs.append(("ErrorCode", str(ERROR_CODES[status])))
            request = urllib.request.Request(url, data=urllib.parse.urlencode(pairs).encode(), method="POST")
            request.add_header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
            request.add_header("User-Agent", "TwilioProxy/1.1")
            request.add_header("X-Twilio-Signature", signature(url, pairs, self.token))
            record = {"sid": message["sid"], "status": status}
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    response.read()
                    record["http"] = response.status
            except urllib.error.HTTPError as error:
                record["http"] = error.code
            except OSError as error:
                record["http"] = None
                record["error"] = str(error)
            emit({"callback": record})


def make_handler(provider):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "FakeTwilio/1.0"

        def log_message(self, format, *args):
            pass

        def reply(self, status, document):
            data = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()

        def error(self, status, code, message):
            self.reply(status, {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            })

        def read_body(self):
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                data = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return data
                    data += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def other_method(self):
            if self.headers.get("Content-Length") or self.headers.get("Transfer-Encoding"):
                self.read_body()
            self.error(405, 20004, "Method not allowed")

        do_GET = do_PUT = do_DELETE = do_PATCH = other_method

        def do_POST(self):
            body = self.read_body()
            if not provider.authorized(self.headers.get("Authorization")):
                return self.error(401, 20003, "Authenticate")
            path = urllib.parse.urlsplit(self.path).path
            if path != f"/{API_VERSION}/Accounts/{provider.account}/Messages.json":
                return self.error(404, 20404, f"The requested resource {path} was not found")
            if provider.take_failure():
                return self.error(503, 20503, "Service unavailable")
            fields = dict(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            to, sender, text = fields.get("To", ""), fields.get("From", ""), fields.get("Body", "")
            if not to:
                return self.error(400, 21604, "A 'To' phone number is required.")
            if not E164.match(to):
                return self.error(400, 21211, f"Invalid 'To' Phone Number: {to}")
            if not sender:
                return self.error(400, 21603, "A 'From' phone number is required.")
            if not text:
                return self.error(400, 21602, "Message body is required.")
            sid = "SM" + secrets.token_hex(16)
            created = now()
            uri = f"/{API_VERSION}/Accounts/{provider.account}/Messages/{sid}.json"
            message = {
                "account_sid": provider.account,
                "api_version": API_VERSION,
                "body": text,
                "date_created": created,
                "date_sent": None,
                "date_updated": created,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": sender,
                "messaging_service_sid": None,
                "num_media": "0",
                "num_segments": "1",
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "queued",
                "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
                "to": to,
                "uri": uri,
            }
            self.reply(201, message)
            emit({"sms": {"sid": sid, "to": to, "from": sender, "body": text}})
            callback = fields.get("StatusCallback")
            if callback:
                threading.Thread(target=provider.send_callbacks, args=(callback, message), daemon=True).start()

    return Handler


def main():
    parser = argparse.ArgumentParser(description="A fake of Twilio's Messages API.")
    parser.add_argument("--account", required=True, help="the AccountSid (AC...) to accept")
    parser.add_argument("--token", required=True, help="the AuthToken: Basic auth password and callback signing key")
    parser.add_argument("--fail-first", type=int, default=0, metavar="N", help="answer the first N sends with 503")
    parser.add_argument("--status", choices=["delivered", "undelivered", "failed"], default="delivered",
                        help="the final status posted to StatusCallback")
    parser.add_argument("--callback-delay", type=float, default=0.2, metavar="SECONDS",
                        help="wait this long after a 201 before the first callback")
    args = parser.parse_args()
    provider = Provider(args.account, args.token, args.fail_first, args.status, args.callback_delay)
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(provider))
    server.daemon_threads = True
    emit({"ready": True, "url": f"http://127.0.0.1:{server.server_address[1]}"})
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
