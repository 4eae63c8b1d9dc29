"""Two WebSocket clients (Python `websockets`) follow one topic: one reads everything, one never reads.

Usage: python realtime_slow_consumer.py URL TOKEN TOPIC EXPECTED
Prints "ready" once both are subscribed; then the test publishes EXPECTED events. Prints
"fast received N" and "slow closed CODE" and exits 0 when the reader got them all and the
non-reader was closed by the server.
"""
import asyncio
import json
import sys

import websockets

url, token, topic, expected = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
headers = {"Authorization": f"Bearer {token}"}


async def subscribed(ws):
    await ws.send(json.dumps({"type": "subscribe", "topic": topic}))
    frame = json.loads(await ws.recv())
    assert frame["type"] == "subscribed", frame


async def main():
    # No keepalive of the client's own: the stalled client cannot read the answers to its pings, and on a busy
    # machine the library would end the connection itself (1011) before the test looks for the server's 4008.
    fast = await websockets.connect(url, additional_headers=headers, max_size=2**22, ping_interval=None)
    # A tiny receive queue: once it is full the library stops reading the socket, like a stalled client.
    slow = await websockets.connect(url, additional_headers=headers, max_size=2**22, max_queue=1, ping_interval=None)
    await subscribed(fast)
    await subscribed(slow)
    print("ready", flush=True)

    received = 0
    try:
        while received < expected:
            frame = json.loads(await asyncio.wait_for(fast.recv(), timeout=30))
            if frame.get("type") == "event":
                received += 1
                # Progress, so the publisher never gets further ahead of this reader than its queue holds.
                if received % 20 == 0:
                    print(f"fast at {received}", flush=True)
    except Exception as error:  # noqa: BLE001 - report whatever stopped the reader
        print("fast stopped:", repr(error), flush=True)
    print(f"fast received {received}", flush=True)

    code = None
    try:
        while True:
            await asyncio.wait_for(slow.recv(), timeout=30)
    except websockets.ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd else None
    except asyncio.TimeoutError:
        code = "still open"
    print(f"slow closed {code}", flush=True)
    await fast.close()
    sys.exit(0 if received == expected and code == 4008 else 1)


asyncio.run(main())
