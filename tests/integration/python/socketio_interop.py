#!/usr/bin/python3
"""python-socketio 5.16.2's Redis pub/sub messages (AsyncPubSubManager / AsyncRedisManager,
docs/wire.md, "The socketio channel"), built and read the way that code does, with the standard
library and Debian's redis module only (python-socketio itself is not installed here).

  --mode publish  publish what AsyncRedisManager publishes for: emit to a room, emit with
                  skip_sid, emit with a bytes value (base64 attachments), emit with two
                  positional arguments, emit without data, emit in orjson's compact dialect, and
                  enter_room. Writes {"host_id": ...} to --out first.
  --mode receive  subscribe, write {"host_id": ...} to --ready-file, then json.loads what owcore
                  publishes, dispatch it like AsyncPubSubManager._thread (the host_id self-filter)
                  and check every field the _handle_* methods read. Exit 0 when all matched.
  --mode adapter-peer
                  be a python-socketio host next to a running `owcore serve` (Redis adapter) whose
                  socket.io-client (tests/js/redis_adapter_python_peer.mjs) writes its sid to
                  --sid-file: once owcore is subscribed, publish an emit of `deliver` to "py-room",
                  an enter_room putting that sid in "py-enter", an emit of `deliver` to "py-enter"
                  and an emit with callback to the room "py-room"; then read owcore's `callback`
                  and the two emits owcore publishes when the client broadcasts, checking each
                  whole message. Exit 0 when all matched.
"""
import argparse
import base64
import json
import os
import sys
import time
import uuid

import redis

# ---------------------------------------------------------------------------------------------
# Message construction, following async_pubsub_manager.py (5.16.2) and packet.py.


def has_binary(value):
    if isinstance(value, (bytes, bytearray)):
        return True
    if isinstance(value, list):
        return any(has_binary(v) for v in value)
    if isinstance(value, dict):
        return any(has_binary(v) for v in value.values())
    return False


def take_out_binary(value, attachments):
    """Replace each bytes value by {"_placeholder": True, "num": i}, collecting the bytes."""
    if isinstance(value, (bytes, bytearray)):
        attachments.append(value)
        return {"_placeholder": True, "num": len(attachments) - 1}
    if isinstance(value, list):
        return [take_out_binary(v, attachments) for v in value]
    if isinstance(value, dict):
        return {k: take_out_binary(v, attachments) for k, v in value.items()}
    return value


def put_back_binary(value, attachments):
    if isinstance(value, list):
        return [put_back_binary(v, attachments) for v in value]
    if isinstance(value, dict):
        if value.get("_placeholder") and "num" in value:
            return attachments[value["num"]]
        return {k: put_back_binary(v, attachments) for k, v in value.items()}
    return value


def emit_message(host_id, event, data, namespace=None, room=None, skip_sid=None, callback=None):
    """The dict AsyncPubSubManager.emit publishes (callback is the (room, namespace, id) triple)."""
    namespace = namespace or "/"
    args = list(data) if isinstance(data, tuple) else [data]
    binary = has_binary(args)
    if binary:
        attachments = []
        payload = take_out_binary(args, attachments)
        args = [payload] + [base64.b64encode(a).decode() for a in attachments]
    return {"method": "emit", "event": event, "data": args, "binary": binary,
            "namespace": namespace, "room": room, "skip_sid": skip_sid,
            "callback": callback, "host_id": host_id}


def enter_room_message(host_id, sid, room, namespace=None):
    return {"method": "enter_room", "sid": sid, "room": room,
            "namespace": namespace or "/", "host_id": host_id}


def stdlib_dumps(obj):
    return json.dumps(obj)


def orjson_like_dumps(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def publish(a):
    r = redis.Redis(host="127.0.0.1", port=a.port)
    host_id = uuid.uuid4().hex
    with open(a.out, "w") as f:
        json.dump({"host_id": host_id}, f)
    status = {"chat_id": "c1", "message_id": "m1",
              "data": {"type": "status", "data": {"description": "h\u00e9llo \U0001F600 \"q\"\n",
                                                   "done": False, "n": 1.5, "neg": -3, "none": None}}}
    messages = [
        (stdlib_dumps, emit_message(host_id, "events", status, room="user:u1")),
        (stdlib_dumps, emit_message(host_id, "events", {"a": 1}, room="user:u1", skip_sid="sidA")),
        (stdlib_dumps, emit_message(host_id, "ydoc:document:update",
                                    {"document_id": "note:1", "update": b"\x00\x01\xfe\xff"},
                                    room="doc_note_1", skip_sid="sidB")),
        (stdlib_dumps, emit_message(host_id, "events", ("first", {"k": [1, 2]}), room="r")),
        (stdlib_dumps, emit_message(host_id, "events", None, room="user:u1")),
        (orjson_like_dumps, emit_message(host_id, "events", {"text": "\u00e9\U0001F600"}, room="user:u2")),
        (stdlib_dumps, enter_room_message(host_id, "sid-remote-000000001", "channel:42")),
    ]
    for dumps, m in messages:
        # AsyncRedisManager._publish: redis.publish(channel, json.dumps(data))
        if r.publish(a.channel, dumps(m)) < 1:
            print("nobody subscribed to " + a.channel, file=sys.stderr)
            return 1
    return 0

# ---------------------------------------------------------------------------------------------
# Receiving, following AsyncPubSubManager._thread and the _handle_* methods.


HEX = set("0123456789abcdef")


def expected_sequence(own, other):
    """What owcore's test publishes, after the self-filter, as the _handle_* methods read it."""
    content = {"chat_id": "c1", "message_id": "m1",
               "data": {"type": "chat:completion",
                        "data": {"content": "h\u00e9llo \U0001F600 \"q\"\n", "done": False,
                                 "usage": 1.5, "n": -3}}}
    return [
        ("emit", {"event": "events", "args": [content], "namespace": "/", "room": "user:u1",
                  "skip_sid": ["sidA", "sidB"], "callback": None}),
        ("emit", {"event": "events", "args": [{"type": "execute:python"}], "namespace": "/",
                  "room": "sid-browser-000000001", "skip_sid": None,
                  "callback": ("sid-browser-000000001", "/", 42)}),
        ("emit", {"event": "ydoc:document:update",
                  "args": [{"document_id": "note:1", "update": b"\x00\x01\xfe\xff"}],
                  "namespace": "/", "room": "doc_note_1", "skip_sid": "sidC", "callback": None}),
        ("callback", {"sid": "room-x", "id": 7, "args": [True, {"x": "y"}]}),
        # the callback addressed to `other` is not processed
        ("disconnect", {"sid": "sid-to-drop-00000001", "namespace": "/"}),
        ("enter_room", {"sid": "sid-remote-000000001", "namespace": "/", "room": "channel:42"}),
        ("leave_room", {"sid": "sid-remote-000000001", "namespace": "/", "room": "channel:42"}),
        ("close_room", {"room": "note:9", "namespace": "/"}),
    ]


def handle(data):
    """The fields python-socketio's _handle_* methods read, in the form they use them."""
    method = data["method"]
    if method == "emit":
        remote_callback = data.get("callback")
        callback = None
        if remote_callback is not None and len(remote_callback) == 3:
            callback = tuple(remote_callback)
        payload = data["data"]
        if data.get("binary"):
            attachments = [base64.b64decode(x) for x in payload[1:]]
            payload = put_back_binary(payload[0], attachments)
        assert isinstance(payload, list), "emit data is not a list"
        return ("emit", {"event": data["event"], "args": payload,
                         "namespace": data.get("namespace"), "room": data.get("room"),
                         "skip_sid": data.get("skip_sid"), "callback": callback})
    if method == "callback":
        return ("callback", {"sid": data["sid"], "id": data["id"], "args": data["args"]})
    if method == "disconnect":
        return ("disconnect", {"sid": data.get("sid"), "namespace": data.get("namespace")})
    if method in ("enter_room", "leave_room"):
        return (method, {"sid": data.get("sid"), "namespace": data.get("namespace"),
                         "room": data.get("room")})
    if method == "close_room":
        return ("close_room", {"room": data.get("room"), "namespace": data.get("namespace")})
    raise AssertionError("unknown method " + method)


def subscribe(a):
    """Subscribes to the channel; (redis, pubsub, deadline), pubsub None without confirmation."""
    r = redis.Redis(host="127.0.0.1", port=a.port)
    pubsub = r.pubsub()
    pubsub.subscribe(a.channel)
    deadline = time.time() + a.timeout
    while time.time() < deadline:  # wait for the subscribe confirmation
        msg = pubsub.get_message(timeout=0.1)
        if msg and msg["type"] == "subscribe":
            return r, pubsub, deadline
    print("no subscribe confirmation", file=sys.stderr)
    return r, None, deadline


def receive(a):
    r, pubsub, deadline = subscribe(a)
    if pubsub is None:
        return 1
    own = uuid.uuid4().hex
    other = a.other_host
    with open(a.ready_file, "w") as f:
        json.dump({"host_id": own}, f)

    failures = []
    rounds = []  # one list of handled messages per publishing style
    for style in ("compact", "stdlib"):
        handled, raw_count, senders = [], 0, set()
        while raw_count < a.count and time.time() < deadline:
            msg = pubsub.get_message(timeout=0.2)
            if not msg or msg["type"] != "message":
                continue
            raw_count += 1
            raw = msg["data"]
            data = json.loads(raw)  # engineio's json.loads is the stdlib one here
            text = raw.decode("utf-8")
            if style == "stdlib" and json.dumps(data) != text:
                failures.append("not byte-exact stdlib json.dumps output: " + text)
            if style == "compact" and orjson_like_dumps(data) != text:
                failures.append("not compact JSON: " + text)
            if "method" not in data:
                failures.append("no method: " + text)
                continue
            host_id = data.get("host_id")
            if not isinstance(host_id, str) or len(host_id) != 32 or set(host_id) - HEX:
                failures.append("bad host_id: " + text)
            # AsyncPubSubManager._thread's self-filter
            if data["method"] == "callback":
                if host_id != own:
                    if host_id != other:
                        failures.append("callback to an unexpected host: " + text)
                    continue
            elif host_id == own:
                continue
            else:
                senders.add(host_id)
            try:
                handled.append(handle(data))
            except (KeyError, AssertionError, TypeError, ValueError) as e:
                failures.append("handler error %r on %s" % (e, text))
        if raw_count < a.count:
            failures.append("%s: received %d of %d messages" % (style, raw_count, a.count))
        if len(senders) != 1:
            failures.append("%s: expected one sending host, got %r" % (style, senders))
        rounds.append(handled)

    want = expected_sequence(own, other)
    for style, handled in zip(("compact", "stdlib"), rounds):
        if handled != want:
            failures.append("%s: handled\n  %r\nexpected\n  %r" % (style, handled, want))
    for f in failures:
        print(f, file=sys.stderr)
    return 1 if failures else 0


# ---------------------------------------------------------------------------------------------
# A python-socketio host beside a running owcore instance (--mode adapter-peer). The payloads
# must match the constants of the same names in tests/js/redis_adapter_python_peer.mjs.

PY_ROOM_PAYLOAD = {"text": "h\u00e9llo \U0001F600 \"q\"\n", "n": 1.5, "neg": -3, "none": None,
                   "list": [1, "two", False]}
PY_ENTER_PAYLOAD = {"via": "enter_room", "text": "\u00fcn\u00ef", "k": [1, 2]}
OWCORE_PAYLOAD = {"from": "owcore", "text": "\u00e9\U0001F600", "n": 2.5, "nested": {"a": [None, True]}}
OWCORE_EXCEPT_PAYLOAD = {"from": "owcore", "except": True}


def adapter_peer(a):
    r, pubsub, deadline = subscribe(a)
    if pubsub is None:
        return 1
    # owcore subscribes at start-up; a message published before would be lost (at-most-once).
    while time.time() < deadline and r.pubsub_numsub(a.channel)[0][1] < 2:
        time.sleep(0.05)
    while time.time() < deadline and not os.path.exists(a.sid_file):
        time.sleep(0.05)
    if time.time() >= deadline:
        print("owcore did not subscribe or the client wrote no sid", file=sys.stderr)
        return 1
    with open(a.sid_file) as f:
        sid = json.load(f)["sid"]

    own = uuid.uuid4().hex
    ack_id = 1  # the first id python-socketio's _generate_ack_id hands out for a room
    messages = [
        (stdlib_dumps, emit_message(own, "deliver", PY_ROOM_PAYLOAD, room="py-room")),
        (stdlib_dumps, enter_room_message(own, sid, "py-enter")),
        (orjson_like_dumps, emit_message(own, "deliver", PY_ENTER_PAYLOAD, room="py-enter")),
        # An emit with a callback to a room (python-socketio's emit(..., room=, callback=)):
        # every member answers; the callback triple names the room, not a sid.
        (stdlib_dumps, emit_message(own, "py-question", {"q": 41}, room="py-room",
                                    callback=("py-room", "/", ack_id))),
    ]
    for dumps, m in messages:
        if r.publish(a.channel, dumps(m)) < 2:
            print("owcore is not subscribed to " + a.channel, file=sys.stderr)
            return 1

    # What owcore must publish, whole: the client's answer to the call, addressed back to this
    # host, and the two broadcasts (AsyncPubSubManager.emit's dict; skip_sid may be the sid or a
    # list of it, which python-socketio's emit reads alike).
    want_callback = {"method": "callback", "host_id": own, "sid": "py-room", "namespace": "/",
                     "id": ack_id, "args": [{"answer": 42}]}

    def want_emit(payload, skip_sid, host_id):
        return {"method": "emit", "event": "deliver", "data": [payload], "binary": False,
                "namespace": "/", "room": "py-room", "skip_sid": skip_sid, "callback": None,
                "host_id": host_id}

    failures = []
    got_callback, emits, owcore_hosts = None, [], set()
    while time.time() < deadline and (got_callback is None or len(emits) < 2):
        msg = pubsub.get_message(timeout=0.2)
        if not msg or msg["type"] != "message":
            continue
        text = msg["data"].decode("utf-8")
        data = json.loads(text)
        if "method" not in data:
            failures.append("no method: " + text)
            continue
        # AsyncPubSubManager._thread's self-filter
        if data["method"] == "callback":
            if data.get("host_id") != own:
                failures.append("callback for another host: " + text)
                continue
        elif data.get("host_id") == own:
            continue
        try:
            handled = handle(data)  # what the _handle_* methods read must be there
        except (KeyError, AssertionError, TypeError, ValueError) as e:
            failures.append("handler error %r on %s" % (e, text))
            continue
        if data["method"] == "callback":
            got_callback = data
        elif data["method"] == "emit":
            host_id = data.get("host_id")
            if not isinstance(host_id, str) or len(host_id) != 32 or set(host_id) - HEX:
                failures.append("bad host_id: " + text)
            owcore_hosts.add(host_id)
            args = handled[1]["args"]
            # _handle_emit passes a one-element list on as that element
            if len(args) != 1:
                failures.append("not one positional argument: " + text)
            emits.append(data)
        else:
            failures.append("unexpected message: " + text)

    if got_callback != want_callback:
        failures.append("callback: got\n  %r\nexpected\n  %r" % (got_callback, want_callback))
    if len(owcore_hosts) != 1:
        failures.append("expected one owcore host_id, got %r" % owcore_hosts)
    owcore = next(iter(owcore_hosts)) if owcore_hosts else None
    for e in emits:
        if e.get("skip_sid") == [sid]:
            e["skip_sid"] = sid
    want = [want_emit(OWCORE_PAYLOAD, None, owcore), want_emit(OWCORE_EXCEPT_PAYLOAD, sid, owcore)]
    if emits != want:
        failures.append("emits: got\n  %r\nexpected\n  %r" % (emits, want))
    for f in failures:
        print(f, file=sys.stderr)
    if not failures:
        print("ok: owcore read python-socketio's emits and enter_room; python read owcore's")
    return 1 if failures else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--channel", default="socketio")
    ap.add_argument("--mode", choices=["publish", "receive", "adapter-peer"], required=True)
    ap.add_argument("--out", default="")
    ap.add_argument("--ready-file", default="")
    ap.add_argument("--other-host", default="")
    ap.add_argument("--count", type=int, default=9)
    ap.add_argument("--sid-file", default="")
    ap.add_argument("--timeout", type=float, default=20)
    a = ap.parse_args()
    if a.mode == "adapter-peer":
        return adapter_peer(a)
    return publish(a) if a.mode == "publish" else receive(a)


if __name__ == "__main__":
    sys.exit(main())
