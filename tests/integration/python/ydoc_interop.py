#!/usr/bin/python3
"""Open WebUI v0.11's YdocManager Redis operations (backend/open_webui/socket/utils.py), done with
redis-py and the stdlib json module exactly as Python does them, so owcore's document store can be
tested against the real wire format. No pycrdt: updates come in as hex lines and go out as hex.

  --mode write       append_to_updates for every update of --updates-file (RPUSH of
                     json.dumps(list(update)), then LLEN, as YdocManager does; fewer than 500 so
                     Python's own compaction, which needs pycrdt, never runs), then add_user(doc, sid)
  --mode read        get_updates: LRANGE 0 -1 and bytes(json.loads(e)) for each element; writes
                     the updates to --out as hex lines and the users (SMEMBERS) to --out.users
  --mode disconnect  remove_user_from_all_documents(sid) through the reverse index

Exit status 0 on success; any exception (an element json.loads or bytes() refuses) exits 1.
"""
import argparse
import json
import sys

import redis


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--prefix", default="open-webui")
    ap.add_argument("--mode", choices=["write", "read", "disconnect"], required=True)
    ap.add_argument("--document", default="")
    ap.add_argument("--sid", default="")
    ap.add_argument("--updates-file", default="")
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    r = redis.Redis(host="127.0.0.1", port=a.port, decode_responses=True)
    base = f"{a.prefix}:ydoc:documents"
    doc = a.document.replace(":", "_")

    if a.mode == "write":
        key = f"{base}:{doc}:updates"
        with open(a.updates_file) as f:
            updates = [bytes.fromhex(line.strip()) for line in f if line.strip()]
        for update in updates:
            r.rpush(key, json.dumps(list(update)))
            if r.llen(key) >= 500:
                print("would compact with pycrdt; keep the list shorter", file=sys.stderr)
                return 1
        r.sadd(f"{base}:{doc}:users", a.sid)
        r.sadd(f"{base}:session:{a.sid}:documents", doc)
        return 0

    if a.mode == "read":
        updates = [bytes(json.loads(e)) for e in r.lrange(f"{base}:{doc}:updates", 0, -1)]
        with open(a.out, "w") as f:
            for u in updates:
                f.write(u.hex() + "\n")
        with open(a.out + ".users", "w") as f:
            for sid in sorted(r.smembers(f"{base}:{doc}:users")):
                f.write(sid + "\n")
        return 0

    # disconnect: YdocManager.remove_user_from_all_documents
    session_key = f"{base}:session:{a.sid}:documents"
    for document_id in r.smembers(session_key):
        r.srem(f"{base}:{document_id}:users", a.sid)
        if len(r.smembers(f"{base}:{document_id}:users")) == 0:
            r.delete(f"{base}:{document_id}:updates")
            r.delete(f"{base}:{document_id}:users")
    r.delete(session_key)
    return 0


if __name__ == "__main__":
    sys.exit(main())
