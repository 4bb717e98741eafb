#!/usr/bin/env python3
"""Fails when a file under src/owcore includes a layer above its own (docs/architecture.md), when
realtime/engineio includes realtime/socketio, or when the sans-io redis/protocol includes Asio or
redis/io (docs/redis.md). Usage: check_layers.py <repo root>."""
import pathlib
import re
import sys

# Each layer and the layers it may include (itself included).
ALLOWED = {
    "base": {"base"},
    "net": {"base", "net"},
    "redis": {"base", "net", "redis"},
    "db": {"base", "net", "db"},
    "yjs": {"base", "yjs"},
    "coord": {"base", "net", "redis", "db", "yjs", "coord"},
    "realtime": {"base", "net", "redis", "db", "yjs", "coord", "realtime"},
    "http": {"base", "net", "redis", "db", "yjs", "coord", "http"},
    "app": {"base", "net", "redis", "db", "yjs", "coord", "realtime", "http", "app"},
}
ASIO = re.compile(r'^\s*#\s*include\s*[<"]boost/(asio|beast)[/.]')
TESTBED = re.compile(r'^\s*#\s*include\s*[<"]testbed/')
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]owcore/([a-z_]+)/([^">]*)[">]')


def main() -> int:
    src = pathlib.Path(sys.argv[1]) / "src" / "owcore"
    problems = []
    for path in sorted(src.rglob("*")):
        if path.suffix not in (".hpp", ".cpp"):
            continue
        rel = path.relative_to(src)
        layer = rel.parts[0]
        if layer not in ALLOWED:
            problems.append(f"{rel}: folder '{layer}' is not a known layer")
            continue
        sans_io = rel.parts[:2] == ("redis", "protocol")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if sans_io and ASIO.match(line):
                problems.append(f"{rel}:{n}: redis/protocol includes Asio ({line.strip()})")
            if TESTBED.match(line):
                problems.append(f"{rel}:{n}: production code includes src/testbed ({line.strip()})")
            m = INCLUDE.match(line)
            if not m:
                continue
            target, rest = m.group(1), m.group(2)
            if target not in ALLOWED[layer]:
                problems.append(f"{rel}:{n}: {layer} includes {target} ({line.strip()})")
            if sans_io and target == "redis" and not rest.startswith("protocol/") and rest != "error.hpp":
                problems.append(f"{rel}:{n}: redis/protocol includes {target}/{rest} ({line.strip()})")
            if rel.parts[:2] == ("realtime", "engineio") and target == "realtime" and rest.startswith("socketio/"):
                problems.append(f"{rel}:{n}: engineio includes socketio ({line.strip()})")
    for p in problems:
        print(p)
    print(f"check_layers: {len(problems)} upward include(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
