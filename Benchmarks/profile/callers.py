#!/usr/bin/env python3
"""Calls to a function, by calling function, from a callgrind output file.

Cycles, not instructions, separate us from Kamailio: heap allocations and atomic
retain/release. callgrind counts every call exactly, so this names the sites:

  Benchmarks/profile/callers.py /tmp/cg.cg.1234 '^swift_(retain|release)(_n)?$' 40
  Benchmarks/profile/callers.py /tmp/cg.cg.1234 '^swift_allocObject$' 40

Counts are for the whole run: divide by CALLS (200) for per call. Inlined code is
counted at the function it was inlined into.
"""
import collections
import re
import sys


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    path, target = sys.argv[1], re.compile(sys.argv[2])
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    names: dict[str, str] = {}

    def name(field: str) -> str:
        # callgrind compresses names: "(id) name" defines an id, "(id)" reuses it
        m = re.match(r'\((\d+)\)(?: (.*))?', field)
        if not m:
            return field
        if m.group(2):
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), '?')

    calls: collections.Counter[str] = collections.Counter()
    caller = callee = ''
    with open(path, errors='replace') as f:
        for line in f:
            if line.startswith('fn='):
                caller = name(line[3:].rstrip('\n'))
            elif line.startswith('cfn='):
                callee = name(line[4:].rstrip('\n'))
            elif line.startswith('calls=') and target.search(callee):
                calls[caller] += int(line[6:].split()[0])
    print('total', sum(calls.values()))
    for fn, n in calls.most_common(limit):
        print(n, fn)


if __name__ == '__main__':
    main()
