#!/usr/bin/python3
"""Open WebUI v0.11's task registry operations (backend/open_webui/tasks.py), done with redis-py
exactly as Python does them, so owcore's interop can be tested against the real thing.

  --mode own   register a task as create_task does, wait for its stop command, clean up as
               cleanup_task does; exit 0 when the stop arrived with Python's exact JSON.
  --mode stop  stop a task as stop_task does (HGET, PUBLISH, cleanup).
"""
import argparse
import json
import os
import sys
import time

import redis


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--prefix", default="open-webui")
    ap.add_argument("--mode", choices=["own", "stop"], required=True)
    ap.add_argument("--task-id", required=True)
    ap.add_argument("--item-id", default="")
    ap.add_argument("--ready-file", default="")
    ap.add_argument("--timeout", type=float, default=20)
    a = ap.parse_args()
    r = redis.Redis(host="127.0.0.1", port=a.port, decode_responses=True)
    tasks, commands = f"{a.prefix}:tasks", f"{a.prefix}:tasks:commands"
    item_key = f"{a.prefix}:tasks:item:{a.item_id}"

    def cleanup(task_id, item_id):
        pipe = r.pipeline()
        pipe.hdel(tasks, task_id)
        if item_id:
            pipe.srem(item_key, task_id)
        pipe.execute()
        if item_id and r.scard(item_key) == 0:
            r.delete(item_key)

    if a.mode == "own":
        pubsub = r.pubsub()
        pubsub.subscribe(commands)
        pipe = r.pipeline()  # MULTI/EXEC, as create_task's pipeline on standalone
        pipe.hset(tasks, a.task_id, a.item_id or "")
        if a.item_id:
            pipe.sadd(item_key, a.task_id)
        pipe.execute()
        if a.ready_file:
            with open(a.ready_file, "w") as f:
                f.write("ready\n")
        deadline = time.time() + a.timeout
        while time.time() < deadline:
            msg = pubsub.get_message(timeout=0.2)
            if not msg or msg["type"] != "message":
                continue
            expected = json.dumps({"action": "stop", "task_id": a.task_id})
            if msg["data"] != expected:
                print(f"unexpected command bytes: {msg['data']!r} != {expected!r}", file=sys.stderr)
                return 1
            cleanup(a.task_id, a.item_id)
            print("stopped")
            return 0
        print("no stop command arrived", file=sys.stderr)
        return 1

    item = r.hget(tasks, a.task_id)
    r.publish(commands, json.dumps({"action": "stop", "task_id": a.task_id}))
    cleanup(a.task_id, item or "")
    print(f"stop published (item {item!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
