#!/usr/bin/python3
"""The Redis side of one Python Open WebUI 0.11.5 instance, with the standard library and Debian's
redis module only, for tests/js/openwebui_interop.mjs. It does what Open WebUI's socket/main.py,
utils/redis.py and tasks.py do on Redis (the formats are in docs/wire.md and
docs/openwebui-events.md):

  - the usage-pool cleaner under P:usage_cleanup_lock (0.11.1+: contends forever, sleeping
    uniform(T/2, T); every 3 s renews, then rewrites each model's map without the sids older than
    3 s, HDEL when none is left);
  - the session-pool reaper under P:session_cleanup_lock (0.11.2+: HSCAN batches of 200, one HDEL
    per batch of entries whose last_seen_at is older than the session timeout; then waits a
    session timeout, renewing every max(T/2, 0.5) s; back to contending after a failed renew);
  - RedisLock: SET NX EX to acquire, the owner-checked Lua scripts to renew and release;
  - python-socketio's pub/sub manager: emits (single-room emits on socketio#/#<room> when room
    channels are on, everything else on socketio), sio.call (an emit with a callback, answered by
    a `callback` message to this host_id), and `disconnect` messages;
  - tasks.py: create_task's registry entries, stop_task / stop_item_tasks, and the stop commands
    on P:tasks:commands.

Commands come as JSON lines on stdin, answers and events go as JSON lines to stdout:
  {"op": "emit", "event", "data", "room"}            -> {"re": "emit", "receivers": n}
  {"op": "call", "event", "data", "to", "timeout"}   -> {"re": "call", "args": [...]} | {"re": "call", "error": "timeout"}
  {"op": "disconnect", "sid"}                         -> {"re": "disconnect"}
  {"op": "register-task", "item"}                     -> {"re": "register-task", "task_id"}
  {"op": "stop-item-when-registered", "item", "timeout"} -> {"re": "stop-item-when-registered", "stopped": [...]}
  {"op": "stops"}                                     -> {"re": "stops", "task_ids": [...]}  (stop commands seen)
  {"op": "quit"}
Events: {"ev": "hello", "owner", "host_id"}, {"ev": "lock", "job", "held"}, {"ev": "swept", "deleted": [...]}.
The process ends by itself after --lifetime seconds.
"""
import argparse
import json
import random
import sys
import threading
import time
import uuid

import redis

RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) else return 0 end"
RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
USAGE_TIMEOUT = 3
SCAN_BATCH_SIZE = 200

out_lock = threading.Lock()
stopping = threading.Event()


def say(obj):
    with out_lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


class RedisLock:
    def __init__(self, r, name, ttl, owner):
        self.r, self.name, self.ttl, self.owner = r, name, ttl, owner

    def acquire(self):
        return bool(self.r.set(self.name, self.owner, nx=True, ex=self.ttl))

    def renew(self):
        return bool(self.r.eval(RENEW, 1, self.name, self.owner, self.ttl))

    def release(self):
        self.r.eval(RELEASE, 1, self.name, self.owner)


def contend(lock, job):
    """Python 0.11.1+: try until the lock is held, sleeping uniform(T/2, T) between attempts."""
    while not stopping.is_set():
        try:
            if lock.acquire():
                say({"ev": "lock", "job": job, "held": True})
                return True
        except redis.RedisError:
            pass
        stopping.wait(random.uniform(lock.ttl / 2, lock.ttl))
    return False


def usage_cleaner(r, prefix, lock):
    pool = prefix + ":usage_pool"
    while contend(lock, "usage"):
        while not stopping.is_set():
            try:
                if not lock.renew():
                    say({"ev": "lock", "job": "usage", "held": False})
                    break
                now = int(time.time())
                for model, raw in r.hgetall(pool).items():
                    sids = json.loads(raw)
                    kept = {sid: v for sid, v in sids.items() if now - v.get("updated_at", 0) <= USAGE_TIMEOUT}
                    if not kept:
                        r.hdel(pool, model)
                    else:
                        r.hset(pool, model, json.dumps(kept))
            except (redis.RedisError, ValueError):
                pass
            stopping.wait(USAGE_TIMEOUT)
    try:
        lock.release()
    except redis.RedisError:
        pass


def session_reaper(r, prefix, lock, timeout):
    pool = prefix + ":session_pool"
    renew_every = max(lock.ttl / 2, 0.5)
    while contend(lock, "sessions"):
        held = True
        while held and not stopping.is_set():
            deleted = []
            try:
                now = time.time()
                cursor = 0
                while True:
                    cursor, batch = r.hscan(pool, cursor, count=SCAN_BATCH_SIZE)
                    expired = []
                    for sid, raw in batch.items():
                        try:
                            seen = json.loads(raw).get("last_seen_at", 0)
                        except ValueError:
                            continue
                        if now - seen > timeout:
                            expired.append(sid)
                    if expired:
                        r.hdel(pool, *expired)
                        deleted += [s.decode() for s in expired]
                    if cursor == 0:
                        break
            except redis.RedisError:
                pass
            say({"ev": "swept", "deleted": deleted})
            waited = 0.0
            while waited < timeout and not stopping.is_set():
                stopping.wait(renew_every)
                waited += renew_every
                try:
                    held = lock.renew()
                except redis.RedisError:
                    held = False
                if not held:
                    say({"ev": "lock", "job": "sessions", "held": False})
                    break
    try:
        lock.release()
    except redis.RedisError:
        pass


class Peer:
    def __init__(self, r, prefix, room_channels, host_id):
        self.r, self.prefix, self.room_channels, self.host_id = r, prefix, room_channels, host_id
        self.calls = {}
        self.next_id = 1
        self.stops = []
        self.mu = threading.Lock()
        self.pubsub = r.pubsub()
        self.pubsub.subscribe("socketio", prefix + ":tasks:commands")
        if room_channels:
            self.pubsub.psubscribe("socketio#*")
        threading.Thread(target=self.listen, daemon=True).start()

    def listen(self):
        while not stopping.is_set():
            try:
                msg = self.pubsub.get_message(timeout=0.2)
            except redis.RedisError:
                continue
            if not msg or msg["type"] not in ("message", "pmessage"):
                continue
            try:
                data = json.loads(msg["data"])
            except ValueError:
                continue
            if msg["channel"] == (self.prefix + ":tasks:commands").encode():
                if data.get("action") == "stop":
                    with self.mu:
                        self.stops.append(data.get("task_id"))
                continue
            # python-socketio processes a callback only when it is addressed to this host.
            if data.get("method") == "callback" and data.get("host_id") == self.host_id:
                with self.mu:
                    waiter = self.calls.get(data.get("id"))
                if waiter:
                    waiter["args"] = data.get("args")
                    waiter["done"].set()

    def channel_for(self, room):
        if self.room_channels and isinstance(room, str):
            return "socketio#/#" + room
        return "socketio"

    def emit_message(self, event, data, room, callback=None):
        return {"method": "emit", "event": event, "data": [data], "binary": False, "namespace": "/", "room": room,
                "skip_sid": None, "callback": callback, "host_id": self.host_id}

    def emit(self, event, data, room):
        return self.r.publish(self.channel_for(room), json.dumps(self.emit_message(event, data, room)))

    def call(self, event, data, to, timeout):
        with self.mu:
            call_id = self.next_id
            self.next_id += 1
            waiter = {"done": threading.Event(), "args": None}
            self.calls[call_id] = waiter
        self.r.publish(self.channel_for(to), json.dumps(self.emit_message(event, data, to, [to, "/", call_id])))
        ok = waiter["done"].wait(timeout)
        with self.mu:
            del self.calls[call_id]
        return waiter["args"] if ok else None

    def disconnect(self, sid):
        self.r.publish("socketio", json.dumps({"method": "disconnect", "sid": sid, "namespace": "/",
                                               "host_id": self.host_id}))

    def register_task(self, item):
        task_id = str(uuid.uuid4())
        p = self.r.pipeline(transaction=True)
        p.hset(self.prefix + ":tasks", task_id, item)
        p.sadd(self.prefix + ":tasks:item:" + item, task_id)
        p.execute()
        return task_id

    def stop_task(self, task_id):
        item = self.r.hget(self.prefix + ":tasks", task_id)
        self.r.publish(self.prefix + ":tasks:commands", json.dumps({"action": "stop", "task_id": task_id}))
        p = self.r.pipeline(transaction=True)
        p.hdel(self.prefix + ":tasks", task_id)
        if item:
            p.srem(self.prefix + ":tasks:item:" + item.decode(), task_id)
        p.execute()
        if item and self.r.scard(self.prefix + ":tasks:item:" + item.decode()) == 0:
            self.r.delete(self.prefix + ":tasks:item:" + item.decode())

    def stop_item_when_registered(self, item, timeout):
        """Polls the item's task set and runs stop_item_tasks as soon as it is not empty."""
        end = time.time() + timeout
        key = self.prefix + ":tasks:item:" + item
        while time.time() < end:
            ids = sorted(s.decode() for s in self.r.smembers(key))
            if ids:
                for task_id in ids:
                    self.stop_task(task_id)
                return ids
            time.sleep(0.005)
        return []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--prefix", default="open-webui")
    ap.add_argument("--room-channels", choices=["true", "false"], default="true")
    ap.add_argument("--lock-timeout", type=int, default=60)
    ap.add_argument("--session-timeout", type=int, default=120)
    ap.add_argument("--lifetime", type=float, default=120)
    a = ap.parse_args()

    r = redis.Redis(host="127.0.0.1", port=a.port)
    owner = str(uuid.uuid4())
    host_id = uuid.uuid4().hex
    peer = Peer(r, a.prefix, a.room_channels == "true", host_id)
    say({"ev": "hello", "owner": owner, "host_id": host_id})
    jobs = [
        threading.Thread(target=usage_cleaner, args=(r, a.prefix, RedisLock(r, a.prefix + ":usage_cleanup_lock",
                                                                          a.lock_timeout, owner))),
        threading.Thread(target=session_reaper, args=(r, a.prefix, RedisLock(r, a.prefix + ":session_cleanup_lock",
                                                                           a.lock_timeout, owner), a.session_timeout)),
    ]
    for j in jobs:
        j.start()
    threading.Timer(a.lifetime, stopping.set).start()

    def serve(cmd):
        op = cmd.get("op")
        if op == "emit":
            return {"receivers": peer.emit(cmd["event"], cmd["data"], cmd.get("room"))}
        if op == "call":
            args = peer.call(cmd["event"], cmd["data"], cmd["to"], float(cmd.get("timeout", 5)))
            return {"error": "timeout"} if args is None else {"args": args}
        if op == "disconnect":
            peer.disconnect(cmd["sid"])
            return {}
        if op == "register-task":
            return {"task_id": peer.register_task(cmd["item"])}
        if op == "stop-item-when-registered":
            return {"stopped": peer.stop_item_when_registered(cmd["item"], float(cmd.get("timeout", 5)))}
        if op == "stops":
            with peer.mu:
                return {"task_ids": list(peer.stops)}
        raise ValueError("unknown op %r" % op)

    for line in sys.stdin:
        if stopping.is_set():
            break
        try:
            cmd = json.loads(line)
        except ValueError:
            continue
        if cmd.get("op") == "quit":
            break
        try:
            answer = serve(cmd)
        except (KeyError, ValueError, redis.RedisError) as e:
            answer = {"error": repr(e)}
        answer["re"] = cmd.get("op")
        say(answer)
    stopping.set()
    for j in jobs:
        j.join(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
