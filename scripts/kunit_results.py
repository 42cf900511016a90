#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
#
# Prints the leaf results of a "kunit.py run --json" file, one per line:
#   STATUS<TAB>suite/case[/param]
# STATUS is PASS, FAIL, SKIP or ERROR (a crash). A case with parameters
# is not a leaf: its rows are. Exits 2 if the file cannot be read.

import json
import sys


def leaves(group, path):
    for sub in group.get("sub_groups", []):
        yield from leaves(sub, path + [sub["name"]])
    for case in group.get("test_cases", []):
        yield case["status"], "/".join(path + [case["name"]])


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: kunit_results.py RESULTS.json")
    try:
        with open(sys.argv[1]) as f:
            top = json.load(f)
    except (OSError, ValueError) as e:
        print(f"kunit_results.py: {e}", file=sys.stderr)
        sys.exit(2)
    for status, path in leaves(top, []):
        print(f"{status}\t{path}")


if __name__ == "__main__":
    main()
