"""Speaks RFC 6455 to Plaza's realtime socket by hand (plain sockets), to check what a library would hide.

Usage: python realtime_protocol.py PORT TOKEN TOPIC SCENARIO
Scenarios, each printing one line per finding:
  refused     the handshake without a token: "status N", "type T" (the problem+json body's type)
  frames      a subscribe split over three frames, a ping, a binary frame, then invalid UTF-8:
              "subscribed T", "pong P", "error CODE", "close CODE"
  unmasked    an unmasked frame: "close CODE"
  too-big     a message over the 16 KiB limit in fragments: "close CODE"
  silent      subscribes, then never answers pings: "ping" for each, "dropped" when the server goes
Exits 0 when the scenario ran to its end.
"""
import base64
import json
import os
import socket
import struct
import sys

port, token, topic, scenario = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


def handshake(with_token=True):
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        "GET /api/v1/realtime HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    if with_token:
        lines.append(f"Authorization: Bearer {token}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    status = int(head.split(b" ", 2)[1])
    headers = {}
    for line in head.decode().split("\r\n")[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return sock, status, headers


def send(sock, opcode, payload, fin=True, masked=True):
    first = (0x80 if fin else 0) | opcode
    length = len(payload)
    header = bytes([first])
    mask_bit = 0x80 if masked else 0
    if length < 126:
        header += bytes([mask_bit | length])
    elif length < 65536:
        header += bytes([mask_bit | 126]) + struct.pack("!H", length)
    else:
        header += bytes([mask_bit | 127]) + struct.pack("!Q", length)
    if masked:
        mask = os.urandom(4)
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        header += mask
    sock.sendall(header + payload)


def exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def receive(sock):
    first, second = exactly(sock, 2)
    length = second & 0x7F
    if length == 126:
        length = struct.unpack("!H", exactly(sock, 2))[0]
    elif length == 127:
        length = struct.unpack("!Q", exactly(sock, 8))[0]
    return first & 0x0F, exactly(sock, length)


def close_code(payload):
    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None


def until_close(sock):
    while True:
        opcode, payload = receive(sock)
        if opcode == 0x8:
            return close_code(payload)


if scenario == "refused":
    sock, status, headers = handshake(with_token=False)
    length = int(headers.get("content-length", "0"))
    body = json.loads(exactly(sock, length)) if length else {}
    print("status", status, flush=True)
    print("type", body.get("type"), flush=True)
elif scenario == "frames":
    sock, status, _ = handshake()
    assert status == 101, status
    text = json.dumps({"type": "subscribe", "topic": topic}).encode()
    send(sock, 0x1, text[:5], fin=False)
    send(sock, 0x0, text[5:12], fin=False)
    send(sock, 0x9, b"between")  # a control frame may come between a message's fragments
    send(sock, 0x0, text[12:], fin=True)
    opcode, payload = receive(sock)
    print("pong", payload.decode() if opcode == 0xA else f"opcode {opcode}", flush=True)
    opcode, payload = receive(sock)
    print("subscribed", json.loads(payload).get("topic"), flush=True)
    send(sock, 0x2, b"\x01\x02")
    opcode, payload = receive(sock)
    print("error", json.loads(payload).get("code"), flush=True)
    send(sock, 0x1, b"\xff\xfe not utf-8")
    print("close", until_close(sock), flush=True)
elif scenario == "unmasked":
    sock, status, _ = handshake()
    send(sock, 0x1, b'{"type":"ping"}', masked=False)
    print("close", until_close(sock), flush=True)
elif scenario == "too-big":
    sock, status, _ = handshake()
    piece = b"x" * 10000
    send(sock, 0x1, piece, fin=False)
    send(sock, 0x0, piece, fin=False)
    print("close", until_close(sock), flush=True)
elif scenario == "silent":
    sock, status, _ = handshake()
    send(sock, 0x1, json.dumps({"type": "subscribe", "topic": topic}).encode())
    receive(sock)
    print("ready", flush=True)
    try:
        while True:
            opcode, _ = receive(sock)
            if opcode == 0x9:
                print("ping", flush=True)
    except (ConnectionError, OSError):
        print("dropped", flush=True)
else:
    sys.exit(f"unknown scenario {scenario}")
