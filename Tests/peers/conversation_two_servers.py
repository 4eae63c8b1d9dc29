"""A message sent through one `plaza serve` reaches a WebSocket subscriber of another on the same database.

Usage: python conversation_two_servers.py URL_A URL_B
Registers two people through A, starts a thread, subscribes the second person on B, sends through A,
and waits for the message on B. Prints each step; exits 0 on success.
"""
import asyncio
import json
import sys
import urllib.request

import websockets

a, b = sys.argv[1].rstrip("/"), sys.argv[2].rstrip("/")


def call(base, method, path, body=None, token=None):
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    request = urllib.request.Request(base + path, method=method, data=data)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
        return json.loads(text) if text else None


def account(email):
    call(a, "POST", "/api/v1/auth/register", {"email": email, "password": "correct horse", "firstName": "Two", "lastName": "Servers"})
    token = call(a, "POST", "/api/v1/auth/login", {"email": email, "password": "correct horse"})["accessToken"]
    return call(a, "GET", "/api/v1/me", token=token)["id"], token


async def main():
    ada, ada_token = account("ada@example.com")
    bob, bob_token = account("bob@example.com")
    thread = call(a, "POST", "/api/v1/conversations", {"participantIds": [bob]}, ada_token)
    topic = f"conversation:{thread['id'].lower()}"
    ws_url = b.replace("http://", "ws://") + f"/api/v1/realtime?access_token={bob_token}"
    async with websockets.connect(ws_url) as ws:
        await ws.send(json.dumps({"type": "subscribe", "topic": topic}))
        frame = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert frame["type"] == "subscribed", frame
        print("subscribed on B", flush=True)
        call(a, "POST", f"/api/v1/conversations/{thread['id']}/messages", {"body": "Hello from A"}, ada_token)
        print("sent through A", flush=True)
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if frame.get("type") == "event" and frame["data"].get("kind") == "message.created":
                assert frame["data"]["message"]["body"] == "Hello from A", frame
                print("received on B", flush=True)
                break
        # A passing signal travels by NOTIFY, not through the event log.
        call(a, "POST", f"/api/v1/conversations/{thread['id']}/typing", token=ada_token)
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if frame.get("type") == "signal" and frame["data"].get("kind") == "typing":
                print("typing seen on B", flush=True)
                return


asyncio.run(main())
