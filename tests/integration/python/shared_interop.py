#!/usr/bin/env python3
"""Open WebUI v0.11's shared dicts and locks (docs/wire.md), for owcore's interop test.

Performs exactly the Redis operations Python Open WebUI performs on P:session_pool,
P:usage_pool, P:models and the two cleanup locks (RedisDict and RedisLock in
backend/open_webui/socket/utils.py, as docs/wire.md describes them), against the Redis that the
GoogleTest in tests/integration/shared_test.cpp also uses, so each side reads what the other
wrote. Written from docs/wire.md; only the standard library and Debian's python3-redis are used.

Exit codes: 0 = every check passed (or the lock operation succeeded), 1 = a check failed (the
details are printed), 3 = the lock operation was refused, 77 = the redis module is missing.
"""

import argparse
import hashlib
import json
import math
import os
import re
import sys
import uuid

try:
    import redis
except ImportError:  # pragma: no cover
    print("python3-redis is not installed (apt-get install python3-redis)", file=sys.stderr)
    sys.exit(77)


class RedisDict:
    """A dict over one hash, values JSON (json.dumps defaults); docs/wire.md, "Shared dicts"."""

    def __init__(self, name, client, dumps=json.dumps):
        self.name = name
        self.redis = client
        self.dumps = dumps
        self._last_digest = None

    def __setitem__(self, key, value):
        self.redis.hset(self.name, key, self.dumps(value))

    def __getitem__(self, key):
        value = self.redis.hget(self.name, key)
        if value is None:
            raise KeyError(key)
        return json.loads(value)

    def __delitem__(self, key):
        if self.redis.hdel(self.name, key) == 0:
            raise KeyError(key)

    def __contains__(self, key):
        return bool(self.redis.hexists(self.name, key))

    def __len__(self):
        return self.redis.hlen(self.name)

    def keys(self):
        return self.redis.hkeys(self.name)

    def values(self):
        return [json.loads(v) for v in self.redis.hvals(self.name)]

    def items(self):
        return [(k, json.loads(v)) for k, v in self.redis.hgetall(self.name).items()]

    def get(self, key, default=None):
        try:
            return self[key]
        except KeyError:
            return default

    def clear(self):
        self.redis.delete(self.name)

    def set(self, mapping):
        """Bulk replace (P:models): DEL when empty; else HKEYS, HSET all, HDEL the rest."""
        if not mapping:
            self.redis.delete(self.name)
            self._last_digest = None
            return
        serialized = {k: self.dumps(v) for k, v in mapping.items()}
        digest = hashlib.sha256()
        for k in sorted(serialized):
            digest.update(k.encode())
            digest.update(b"\0")
            digest.update(serialized[k].encode())
            digest.update(b"\0")
        digest = digest.hexdigest()
        if digest == self._last_digest:
            return
        existing = set(self.redis.hkeys(self.name))
        self.redis.hset(self.name, mapping=serialized)
        gone = existing - set(serialized)
        if gone:
            self.redis.hdel(self.name, *gone)
        self._last_digest = digest


class RedisLock:
    """docs/wire.md, "Locks": SET NX EX acquire, owner-checked renew and release scripts."""

    RENEW = (
        "if redis.call('get', KEYS[1]) == ARGV[1] then "
        "return redis.call('expire', KEYS[1], ARGV[2]) else return 0 end"
    )
    RELEASE = (
        "if redis.call('get', KEYS[1]) == ARGV[1] then "
        "return redis.call('del', KEYS[1]) else return 0 end"
    )

    def __init__(self, client, lock_name, timeout_secs, lock_id=None):
        self.redis = client
        self.lock_name = lock_name
        self.timeout_secs = timeout_secs
        self.lock_id = lock_id or str(uuid.uuid4())

    def aquire_lock(self):
        return bool(self.redis.set(self.lock_name, self.lock_id, nx=True, ex=self.timeout_secs))

    def renew_lock(self):
        return bool(self.redis.eval(self.RENEW, 1, self.lock_name, self.lock_id, self.timeout_secs))

    def release_lock(self):
        return bool(self.redis.eval(self.RELEASE, 1, self.lock_name, self.lock_id))


def orjson_like(value):
    """What orjson.dumps(...).decode() writes (ENABLE_ORJSON): compact, UTF-8 kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# The data both sides agree on (shared_test.cpp has the same constants).
T0, T1, T2, T3 = 1700000000, 1700000100, 1700000200, 1700000300
NAME = "Zo\u00eb \U0001F600"


def user(uid, last_seen_at):
    return {
        "id": uid,
        "email": uid + "@example.com",
        "username": None,
        "role": "user",
        "name": NAME,
        "timezone": None,
        "presence_state": None,
        "status_emoji": None,
        "status_message": None,
        "status_expires_at": None,
        "info": {"score": float("nan"), "big": 2**70, "last_seen_at": 5},
        "settings": {"ui": {"pinnedModels": [], "models": ["m1"]}},
        "oauth": None,
        "scim": None,
        "last_active_at": T0,
        "updated_at": T0,
        "created_at": T0,
        "last_seen_at": last_seen_at,
    }


MODELS_PY = {
    "m1": {"id": "m1", "name": "Model One", "owned_by": "ollama", "info": {"meta": {"tags": []}}, "created": T0},
    "m2": {"id": "m2", "name": "Model Two", "owned_by": "openai", "pipe": None, "created": T0},
}
MODELS_CPP = {
    "m2": {"id": "m2", "name": "Model Two", "owned_by": "openai", "pipe": None, "created": T1},
    "m3": {"id": "m3", "name": "Mod\u00e8le 3", "owned_by": "ollama", "tags": [], "created": T1},
}


class Checker:
    def __init__(self):
        self.failures = []

    def eq(self, what, got, want):
        if got != want or type(got) is not type(want):
            self.failures.append(f"{what}: got {got!r} ({type(got).__name__}), want {want!r} ({type(want).__name__})")

    def true(self, what, cond):
        if not cond:
            self.failures.append(what)

    def done(self):
        for f in self.failures:
            print("FAIL:", f, file=sys.stderr)
        return 1 if self.failures else 0


def phase_write(r, p):
    """Python writes pool entries and models that owcore then reads."""
    sessions = RedisDict(f"{p}:session_pool", r)
    sessions["sid-py"] = user("u-py", T0)
    RedisDict(f"{p}:session_pool", r, dumps=orjson_like)["sid-py-orjson"] = user("u-py2", T0)
    usage = RedisDict(f"{p}:usage_pool", r)
    # socket/main.py `usage`: read the model's map, add the sid, write the whole map back.
    usage["model-a"] = {**usage.get("model-a", {}), "sid-py": {"updated_at": T0}}
    RedisDict(f"{p}:models", r).set(MODELS_PY)
    return 0


def phase_check(r, p):
    """Python reads what owcore wrote, then mutates it the way Open WebUI does."""
    c = Checker()
    sessions = RedisDict(f"{p}:session_pool", r)
    usage = RedisDict(f"{p}:usage_pool", r)
    models = RedisDict(f"{p}:models", r)

    # owcore's usage-pool script merged its sid into Python's map; integers stay integers.
    c.eq("usage model-a", usage["model-a"], {"sid-py": {"updated_at": T0}, "sid-cpp": {"updated_at": T1}})
    # owcore's heartbeat changed only the top-level last_seen_at of Python's entry.
    entry = sessions["sid-py"]
    c.eq("sid-py last_seen_at", entry["last_seen_at"], T2)
    c.eq("sid-py settings", entry["settings"], {"ui": {"pinnedModels": [], "models": ["m1"]}})
    c.eq("sid-py name", entry["name"], NAME)
    c.eq("sid-py big int", entry["info"]["big"], 2**70)
    c.eq("sid-py nested last_seen_at", entry["info"]["last_seen_at"], 5)
    c.true("sid-py NaN kept", isinstance(entry["info"]["score"], float) and math.isnan(entry["info"]["score"]))
    # owcore's own entry: what UserNameResponse(**entry) and the handlers need.
    mine = sessions["sid-cpp"]
    for k in ("id", "name", "role", "email"):
        c.true(f"sid-cpp has {k}", k in mine)
    c.eq("sid-cpp id", mine.get("id"), "u-cpp")
    c.eq("sid-cpp name", mine.get("name"), NAME)
    c.eq("sid-cpp last_seen_at", mine.get("last_seen_at"), T1)
    c.eq("sid-cpp settings", mine.get("settings"), {"ui": {"pinnedModels": []}})
    # owcore replaced P:models: m1 gone, m2 updated, m3 added.
    c.eq("models keys", sorted(models.keys()), ["m2", "m3"])
    c.eq("models", dict(models.items()), MODELS_CPP)
    c.eq("models len", len(models), 2)
    c.true("sid-py in pool", "sid-py" in sessions)

    # Python's heartbeat on owcore's entry (HGET, then HSET with a fresh last_seen_at).
    mine["last_seen_at"] = T3
    sessions["sid-cpp"] = mine
    # Python's `usage` event for another sid and its disconnect of sid-py (whole-map rewrites).
    usage["model-a"] = {**usage.get("model-a", {}), "sid-py2": {"updated_at": T3}}
    current = usage["model-a"]
    del current["sid-py"]
    usage["model-a"] = current
    return c.done()


# --- Open WebUI 0.11.1+ P:models:signature -----------------------------------------------------

def python_digest(stored):
    """RedisDict.set's digest (0.11.1+ keeps it in <name>:signature): SHA-256 over the fields
    sorted by name, each as name bytes, NUL, value JSON text, NUL."""
    digest = hashlib.sha256()
    for k in sorted(stored):
        digest.update(k.encode())
        digest.update(b"\0")
        digest.update(stored[k].encode())
        digest.update(b"\0")
    return digest.hexdigest()


def phase_signature_check(r, p):
    """The signature owcore set names the digest Python computes over the stored hash."""
    sig = r.get(f"{p}:models:signature")
    stored = r.hgetall(f"{p}:models")
    if sig is None or len(sig) != 97 or sig[64] != ":" or set(sig) - set("0123456789abcdef:"):
        print(f"signature {sig!r} is not '<sha256 hex>:<uuid4 hex>'", file=sys.stderr)
        return 1
    if sig[:64] != python_digest(stored):
        print(f"signature {sig!r} does not name the digest {python_digest(stored)} of {stored!r}", file=sys.stderr)
        return 1
    return 0


def phase_signature_monitor(r, p, ready_file):
    """MONITOR the writes to P:models and its signature until the signature is SET again, and
    check Python's replace order: DEL signature, HSET, HDEL, SET signature."""
    models, sig = f"{p}:models", f"{p}:models:signature"
    verbs = []
    with r.monitor() as m:
        with open(ready_file + ".tmp", "w") as f:
            f.write("ready")
        os.rename(ready_file + ".tmp", ready_file)
        for info in m.listen():
            parts = info["command"].split(" ")
            if len(parts) < 2 or parts[0].upper() not in ("DEL", "HSET", "HDEL", "SET"):
                continue
            verb, key = parts[0].upper(), parts[1]
            if key == sig and verb in ("DEL", "SET"):
                verbs.append(verb + " signature")
            elif key == models and verb in ("HSET", "HDEL"):
                verbs.append(verb)
            if verbs and verbs[-1] == "SET signature":
                break
    if not re.fullmatch(r"DEL signature,(HSET,)+(HDEL,)+SET signature", ",".join(verbs)):
        print(f"write order {verbs!r}, expected DEL signature, HSET..., HDEL..., SET signature", file=sys.stderr)
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--phase", required=True,
                    choices=["write", "check", "lock-acquire", "lock-renew", "lock-release", "lock-holder",
                             "signature-check", "signature-monitor"])
    ap.add_argument("--ready-file", default="")
    ap.add_argument("--lock", default="usage_cleanup_lock")
    ap.add_argument("--owner", default=None)
    ap.add_argument("--ttl", type=int, default=60)
    a = ap.parse_args()

    r = redis.Redis(host="127.0.0.1", port=a.port, decode_responses=True, socket_timeout=10)
    if a.phase == "write":
        return phase_write(r, a.prefix)
    if a.phase == "check":
        return phase_check(r, a.prefix)
    if a.phase == "signature-check":
        return phase_signature_check(r, a.prefix)
    if a.phase == "signature-monitor":
        return phase_signature_monitor(r, a.prefix, a.ready_file)

    lock = RedisLock(r, f"{a.prefix}:{a.lock}", a.ttl, a.owner)
    if a.phase == "lock-acquire":
        return 0 if lock.aquire_lock() else 3
    if a.phase == "lock-renew":
        return 0 if lock.renew_lock() else 3
    if a.phase == "lock-release":
        return 0 if lock.release_lock() else 3
    holder = r.get(lock.lock_name)
    if holder != a.owner:
        print(f"holder is {holder!r}, expected {a.owner!r}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
