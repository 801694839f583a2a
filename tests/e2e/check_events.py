#!/usr/bin/env python3
"""Checks NDJSON event files against the table in docs/events.md.

usage: check_events.py EVENTS_MD FILE...  (lines that are not JSON objects
with an "event" field are skipped: a test may keep other output there).
Exits 1 and says which line, event and field when anything is off.
"""
import json
import re
import sys

TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}
PROGRAMS = ("ferry-send", "ferry-recv")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def load_schema(path):
    """{(event, program): {field: (type, always)}} from the table's rows."""
    schema = {}
    row = re.compile(r"^\| `([a-z_]+)` \| (both|ferry-send|ferry-recv) \| `([a-z_]+)` \| "
                     r"(string|integer|number|boolean) \| (always|optional) \|")
    for line in open(path, encoding="utf-8"):
        m = row.match(line)
        if not m:
            continue
        event, program, field, typ, presence = m.groups()
        for p in PROGRAMS if program == "both" else (program,):
            schema.setdefault((event, p), {})[field] = (typ, presence == "always")
    if not schema:
        sys.exit(f"{path}: no event table found")
    return schema


def problems(obj, fields):
    """What is wrong with obj against one program's fields (empty: fits)."""
    out = []
    for key, value in obj.items():
        if key in ("event", "time"):
            continue
        if key not in fields:
            out.append(f"field {key!r} is not documented")
        elif not TYPES[fields[key][0]](value):
            out.append(f"field {key!r} is {value!r}, not a {fields[key][0]}")
    for key, (_, always) in fields.items():
        if always and key not in obj:
            out.append(f"field {key!r} is missing")
    return out


def main():
    schema = load_schema(sys.argv[1])
    bad = 0
    seen = 0
    for path in sys.argv[2:]:
        for n, line in enumerate(open(path, encoding="utf-8", errors="replace"), 1):
            if not line.startswith('{"event"'):
                continue
            where = f"{path}:{n}"
            try:
                obj = json.loads(line)
            except ValueError as e:
                print(f"{where}: not JSON ({e}): {line.strip()[:200]}")
                bad += 1
                continue
            seen += 1
            event = obj.get("event")
            if not TIME.match(str(obj.get("time", ""))):
                print(f"{where}: {event}: no RFC 3339 time with milliseconds")
                bad += 1
            if re.search(r'[0-9]e[-+]?[0-9]', re.sub(r'"(\\.|[^"\\])*"', '""', line)):
                print(f"{where}: {event}: a number with an exponent: {line.strip()[:200]}")
                bad += 1
            fits = [problems(obj, schema[(event, p)]) for p in PROGRAMS if (event, p) in schema]
            if not fits:
                print(f"{where}: event {event!r} is not in docs/events.md")
                bad += 1
            elif all(fits):
                print(f"{where}: {event}: {'; '.join(min(fits, key=len))}")
                bad += 1
    if bad:
        print(f"{bad} event lines do not match docs/events.md")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
