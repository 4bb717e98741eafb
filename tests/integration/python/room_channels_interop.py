#!/usr/bin/python3
"""An Open WebUI 0.11.5 instance's Socket.IO pub/sub next to one `owcore serve` (docs/wire.md:
room channels), with the standard library and Debian's redis module only. It does what
AsyncRedisRoomChannelManager (python-socketio 5.16 AsyncRedisManager plus room channels) does:

  - SUBSCRIBE socketio and PSUBSCRIBE socketio#*;
  - publish an emit whose room is one string on socketio#<namespace>#<room>, everything else
    (here: a disconnect) on socketio, in python-socketio's JSON;
  - read owcore's room emits from the pattern subscription.

With the socket.io-client of tests/js/redis_room_channels_python_peer.mjs connected to owcore
(it joins ROOM and writes {"sid": ...} to --sid-file):

  1. publish `deliver` {"seq": "once"} and then {"seq": "end"} on socketio#/#ROOM (the client
     checks it got "once" exactly once when "end" arrives);
  2. wait for owcore's emit of `deliver` {"from": "owcore"} to LISTEN_ROOM on
     socketio#/#LISTEN_ROOM (the client broadcasts it), checking the whole message;
  3. publish {"method": "disconnect"} for the client's sid on socketio, as Open WebUI does for a
     role change or a deleted user (the client checks it is disconnected by the server).

Exit 0 when every check passed.
"""
import argparse
import json
import os
import sys
import time
import uuid

import redis

ROOM = "user:room-channel-test"
LISTEN_ROOM = "py-listen"
HEX = set("0123456789abcdef")


def emit_message(host_id, event, data, room):
    return {"method": "emit", "event": event, "data": [data], "binary": False, "namespace": "/",
            "room": room, "skip_sid": None, "callback": None, "host_id": host_id}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--sid-file", required=True)
    ap.add_argument("--timeout", type=float, default=15)
    a = ap.parse_args()
    deadline = time.time() + a.timeout
    r = redis.Redis(host="127.0.0.1", port=a.port)

    # owcore subscribes at start-up (both the channel and the pattern); the client writes its
    # sid once it has joined ROOM.
    while time.time() < deadline and (r.pubsub_numpat() < 1 or r.pubsub_numsub("socketio")[0][1] < 1
                                      or not os.path.exists(a.sid_file)):
        time.sleep(0.05)
    if time.time() >= deadline:
        print("owcore did not subscribe to socketio and socketio#* or the client wrote no sid", file=sys.stderr)
        return 1
    with open(a.sid_file) as f:
        sid = json.load(f)["sid"]

    pubsub = r.pubsub()
    pubsub.subscribe("socketio")
    pubsub.psubscribe("socketio#*")
    confirmed = set()
    while time.time() < deadline and confirmed != {"subscribe", "psubscribe"}:
        msg = pubsub.get_message(timeout=0.2)
        if msg and msg["type"] in ("subscribe", "psubscribe"):
            confirmed.add(msg["type"])

    own = uuid.uuid4().hex
    channel = "socketio#/#" + ROOM
    for seq in ("once", "end"):
        # Receivers: owcore's pattern subscription and this script's own.
        if r.publish(channel, json.dumps(emit_message(own, "deliver", {"seq": seq}, ROOM))) < 2:
            print("owcore is not subscribed to socketio#*", file=sys.stderr)
            return 1

    failures = []
    got = None
    while time.time() < deadline and got is None:
        msg = pubsub.get_message(timeout=0.2)
        if not msg or msg["type"] not in ("message", "pmessage"):
            continue
        text = msg["data"].decode("utf-8")
        data = json.loads(text)
        if data.get("host_id") == own:
            continue  # python-socketio's self-filter
        if data.get("method") != "emit" or data.get("data") != [{"from": "owcore"}]:
            continue
        if msg["type"] != "pmessage" or msg["channel"] != ("socketio#/#" + LISTEN_ROOM).encode():
            failures.append("owcore's room emit arrived on %r (%s)" % (msg["channel"], msg["type"]))
        got = data
    host_id = got.get("host_id") if got else None
    if not isinstance(host_id, str) or len(host_id) != 32 or set(host_id) - HEX:
        failures.append("no owcore room emit, or a bad host_id: %r" % got)
    elif got != emit_message(host_id, "deliver", {"from": "owcore"}, LISTEN_ROOM):
        failures.append("owcore's emit: %r" % got)

    r.publish("socketio", json.dumps({"method": "disconnect", "sid": sid, "namespace": "/", "host_id": own}))
    for f in failures:
        print(f, file=sys.stderr)
    if not failures:
        print("ok: owcore read the room-channel emits and the disconnect; python read owcore's room emit")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
