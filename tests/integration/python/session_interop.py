#!/usr/bin/env python3
"""Session interop with owcore, using only what a Python Open WebUI instance would do.

Python's side of tests/integration/session_test.cpp. It needs Debian's python3-redis and the
standard library only: starsessions, Starlette and itsdangerous are not installed, so their
formats are re-implemented here from their descriptions (docs/wire.md, "Sessions"):

  * starsessions 2.2.1 RedisStore + JsonSerializer: key "P:session:<id>" ("session:<id>" when
    P is empty), value json.dumps(session) with the application data first and
    "__metadata__": {"lifetime": 0, "created": time.time(), "last_access": time.time()} last,
    written with SET key value EX 2592000 (gc_ttl, because the lifetime is 0).
  * Starlette SessionMiddleware: base64(json.dumps(session)), then itsdangerous'
    TimestampSigner(WEBUI_SECRET_KEY): value "." b64url(int_to_bytes(now)) "." b64url(HMAC-SHA1),
    key = sha1(b"itsdangerous.Signer" + b"signer" + secret), max_age 14 days.

Modes (exit status 0 = every check passed, 1 = a check failed, 2 = usage):
  write  --id ID --data JSON [--secret S]
         stores ID's session as starsessions does; with --secret also prints
         "cookie=<Starlette cookie of the same data>" on stdout.
  check  --id ID --data JSON [--secret S --cookie C]
         reads ID's session written by owcore and checks its shape, data and TTL; with --secret
         verifies owcore's signed cookie C and checks that it carries the same data.
  absent --id ID
         checks that ID's key does not exist.
  vectors
         prints the known-answer vectors hard-coded in tests/unit/session_signed_cookie_test.cpp.
"""

import argparse
import base64
import hashlib
import hmac
import json
import struct
import sys
import time

GC_TTL = 2592000
MAX_AGE = 14 * 24 * 60 * 60


# --- itsdangerous TimestampSigner (HMAC-SHA1, django-concat key derivation, default salt) ---

def derive_key(secret: bytes) -> bytes:
    return hashlib.sha1(b"itsdangerous.Signer" + b"signer" + secret).digest()


def b64url(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def b64url_decode(text: bytes) -> bytes:
    return base64.urlsafe_b64decode(text + b"=" * (-len(text) % 4))


def int_to_bytes(n: int) -> bytes:
    return struct.pack(">Q", n).lstrip(b"\x00")


def bytes_to_int(raw: bytes) -> int:
    return struct.unpack(">Q", raw.rjust(8, b"\x00"))[0]


def signature(secret: bytes, value: bytes) -> bytes:
    return b64url(hmac.new(derive_key(secret), value, hashlib.sha1).digest())


def sign(secret: bytes, value: bytes, timestamp: int) -> bytes:
    value = value + b"." + b64url(int_to_bytes(timestamp))
    return value + b"." + signature(secret, value)


def unsign(secret: bytes, signed: bytes, max_age: int, now: int) -> bytes:
    if b"." not in signed:
        raise ValueError("no separator")
    value, sig = signed.rsplit(b".", 1)
    expected = hmac.new(derive_key(secret), value, hashlib.sha1).digest()
    if not hmac.compare_digest(b64url_decode(sig), expected):
        raise ValueError("bad signature")
    value, ts = value.rsplit(b".", 1)
    age = now - bytes_to_int(b64url_decode(ts))
    if age > max_age or age < 0:
        raise ValueError(f"expired (age {age})")
    return value


# --- Starlette SessionMiddleware ---

def starlette_cookie(secret: bytes, session: dict, now: int) -> str:
    data = base64.b64encode(json.dumps(session).encode("utf-8"))
    return sign(secret, data, now).decode("utf-8")


def starlette_read(secret: bytes, cookie: str, now: int) -> dict:
    data = unsign(secret, cookie.encode("utf-8"), MAX_AGE, now)
    return json.loads(base64.b64decode(data))


# --- starsessions RedisStore ---

def session_key(prefix: str, session_id: str) -> str:
    return (f"{prefix}:session:" if prefix else "session:") + session_id


def connect(args):
    import redis  # Debian's python3-redis

    if args.cluster:
        from redis.cluster import RedisCluster
        return RedisCluster(host=args.host, port=args.port)
    return redis.Redis(host=args.host, port=args.port)


def fail(message: str) -> int:
    print(f"FAIL: {message}", flush=True)
    return 1


def mode_write(args) -> int:
    data = json.loads(args.data)
    now = time.time()
    session = dict(data)
    session["__metadata__"] = {"lifetime": 0, "created": now, "last_access": now}
    r = connect(args)
    r.set(session_key(args.prefix, args.id), json.dumps(session).encode("utf-8"), ex=GC_TTL)
    if args.secret is not None:
        print("cookie=" + starlette_cookie(args.secret.encode("utf-8"), data, int(time.time())))
    print("ok", flush=True)
    return 0


def mode_check(args) -> int:
    expected = json.loads(args.data)
    r = connect(args)
    key = session_key(args.prefix, args.id)
    raw = r.get(key)
    if raw is None:
        return fail(f"{key} does not exist")
    session = json.loads(raw)  # what starsessions' JsonSerializer does
    if not isinstance(session, dict):
        return fail(f"{key} is not a JSON object: {raw!r}")
    meta = session.pop("__metadata__", None)
    if not isinstance(meta, dict):
        return fail(f"{key} has no __metadata__ object: {raw!r}")
    if meta.get("lifetime") != 0 or type(meta.get("lifetime")) is not int:
        return fail(f"lifetime is not the integer 0: {meta!r}")
    for field in ("created", "last_access"):
        if type(meta.get(field)) is not float:
            return fail(f"{field} is not a float: {meta!r}")
    if not (meta["created"] <= meta["last_access"] <= time.time() + 5):
        return fail(f"timestamps out of order: {meta!r}")
    if session != expected:
        return fail(f"data {session!r} != expected {expected!r}")
    ttl = r.ttl(key)
    if not (GC_TTL - 60 <= ttl <= GC_TTL):
        return fail(f"TTL {ttl} is not about 30 days")
    if args.secret is not None:
        try:
            got = starlette_read(args.secret.encode("utf-8"), args.cookie, int(time.time()))
        except Exception as e:  # noqa: BLE001 - any failure is a failed check
            return fail(f"owcore's cookie does not verify: {e}")
        if got != expected:
            return fail(f"cookie data {got!r} != expected {expected!r}")
        try:
            starlette_read(b"another key", args.cookie, int(time.time()))
            return fail("owcore's cookie verifies with the wrong key")
        except ValueError:
            pass
    print("ok", flush=True)
    return 0


def mode_absent(args) -> int:
    r = connect(args)
    key = session_key(args.prefix, args.id)
    if r.exists(key):
        return fail(f"{key} exists: {r.get(key)!r}")
    print("ok", flush=True)
    return 0


def mode_vectors(_args) -> int:
    def show(name, value):
        print(f"{name} = {value}")

    show("derive_key('secret-key')", derive_key(b"secret-key").hex())
    show("sign('secret-key', 'hello', 1700000000)", sign(b"secret-key", b"hello", 1700000000).decode())
    show("sign('secret-key', '', 0)", sign(b"secret-key", b"", 0).decode())
    show("sign('secret-key', 'v', 255)", sign(b"secret-key", b"v", 255).decode())
    unicode_secret = "ключ-🔑".encode("utf-8")
    show("sign(unicode, 'hello', 1700000000)", sign(unicode_secret, b"hello", 1700000000).decode())
    show("starlette python {'a': 1, 'b': 'x'}",
         starlette_cookie(b"s3cr3t", {"a": 1, "b": "x"}, 1700000000))
    compact = base64.b64encode(json.dumps({"a": 1, "b": "x"}, separators=(",", ":")).encode())
    show("starlette compact {'a':1,'b':'x'}", sign(b"s3cr3t", compact, 1700000000).decode())
    nested = {"_state_google_abc": {"data": {"redirect_uri": "https://x/cb", "nonce": "n"},
                                    "exp": 1700003600.5}, "ünï": "ça va"}
    show("starlette python nested", starlette_cookie(b"s3cr3t", nested, 1700000000))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["write", "check", "absent", "vectors"])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=6379)
    p.add_argument("--prefix", default="open-webui")
    p.add_argument("--cluster", action="store_true")
    p.add_argument("--id")
    p.add_argument("--data", default="{}")
    p.add_argument("--secret")
    p.add_argument("--cookie")
    args = p.parse_args()
    if args.mode in ("write", "check", "absent") and not args.id:
        p.error("--id is required")
    if args.mode == "check" and args.secret is not None and args.cookie is None:
        p.error("--cookie is required with --secret")
    modes = {"write": mode_write, "check": mode_check, "absent": mode_absent, "vectors": mode_vectors}
    return modes[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
