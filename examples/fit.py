"""A stand-in for a scientist's fit script: the README's examples deposit it as a command."""

import argparse
import json
import sys

parser = argparse.ArgumentParser(description="fit one event's spectrum")
parser.add_argument("--event", type=int, required=True)
args = parser.parse_args()
print(f"fitting event {args.event}", file=sys.stderr)
print(json.dumps({"event": args.event, "chi2": 1.02}))
