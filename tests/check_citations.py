#!/usr/bin/env python3
"""Fails when a file of the repository cites a document that lives outside it: the wire
specification, the Yjs notes, the house style or architecture notes, the database notes or the
review that the project was started from, by name or by bare section number (RFC sections
excepted), or a path into the shared folder beside the repository. Comments cite docs/ instead
(docs/architecture.md, "Conventions"). Usage: check_citations.py <repo root>."""
import os
import pathlib
import re
import sys

# The outside names are spelled in pieces so that this file does not match itself.
OUTSIDE = re.compile(
    r"\bSP" + r"EC\b|"  # the Redis wire specification, with or without .md or a version
    + r"\b(?:YJS|STYLE|ARCHITECTURE|REVIEW)" + r"\.md\b|"
    + r"\bOWUI" + r"-DB\b|"
    + r"\.\./" + r"shared\b"
)
SECTION = re.compile("\u00a7" + r"\s*\d")  # a section sign before a number
ROOTS = ("src", "tests", "bench", "scripts", "cmake", "docs")
FILES = ("README.md", "CMakeLists.txt")
TEXT = {".cpp", ".hpp", ".h", ".c", ".py", ".mjs", ".js", ".cmake", ".txt", ".md", ".sh"}
SKIP_DIRS = {"node_modules", "seeds", "fixtures", ".git"}


def candidates(root: pathlib.Path):
    for name in FILES:
        if (root / name).is_file():
            yield root / name
    for top in ROOTS:
        for folder, dirs, files in os.walk(root / top):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
            for name in sorted(files):
                path = pathlib.Path(folder) / name
                if path.suffix in TEXT or name == "CMakeLists.txt":
                    yield path
                elif path.suffix == "" and path.read_bytes()[:2] == b"#!":
                    yield path  # scripts without an extension


def main() -> int:
    root = pathlib.Path(sys.argv[1]).resolve()
    me = pathlib.Path(__file__).resolve()
    problems = []
    for path in candidates(root):
        if path.resolve() == me:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for n, line in enumerate(text.splitlines(), 1):
            if OUTSIDE.search(line) or (SECTION.search(line) and "RFC" not in line):
                problems.append(f"{path.relative_to(root)}:{n}: {line.strip()}")
    for p in problems:
        print(p)
    print(f"check_citations: {len(problems)} citation(s) of files outside the repository")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
