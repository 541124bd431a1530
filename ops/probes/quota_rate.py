#!/usr/bin/env python3
"""Probe: use of a rate quota, in percent (API calls this hour against the plan's limit).

    command = ["python3", "ops/probes/quota_rate.py", "https://api.vendor.example/v1/usage",
               "usage.requests", "limits.requests_per_hour"]

GETs the JSON document (a bearer token from QUOTA_TOKEN, if set) and prints
`quota_used_percent P` and `quota_remaining N`: used * 100 / limit and limit - used.
"""

import json
import os
import sys
import urllib.request


def at(doc, path: str) -> float:
    for part in path.split("."):
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return float(doc)


def main(url: str, used_path: str, limit_path: str) -> None:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    if os.environ.get("QUOTA_TOKEN"):
        request.add_header("Authorization", f"Bearer {os.environ['QUOTA_TOKEN']}")
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - a configured URL
        doc = json.load(response)
    used, limit = at(doc, used_path), at(doc, limit_path)
    if limit <= 0:
        raise SystemExit("quota limit is not positive")
    print(f"quota_used_percent {used * 100.0 / limit:.2f}")
    print(f"quota_remaining {limit - used:g}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit("usage: quota_rate.py URL USED_PATH LIMIT_PATH")
    main(*sys.argv[1:])
