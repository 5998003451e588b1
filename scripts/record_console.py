#!/usr/bin/env python3
"""Records what `terraform console` answers for each expression of a corpus.

Usage: scripts/record_console.py [--missing] [CASES] [GOLDEN]
  (default: crates/cli/tests/console/cases.txt -> crates/cli/tests/console/golden.jsonl)
  --missing: record only the cases GOLDEN lacks, appending them (keeps recorded answers).

Each non-comment line of CASES is piped alone into `terraform console -no-color`, run in the
corpus's fixture/ directory; stdout, stderr and the exit code go into one JSON line of GOLDEN.
"""
import json
import os
import subprocess
import sys

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
missing = "--missing" in sys.argv[1:]
sys.argv = [a for a in sys.argv if a != "--missing"]
cases = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "crates/cli/tests/console/cases.txt")
golden = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(cases), "golden.jsonl")
fixture = os.path.join(os.path.dirname(cases), "fixture")
env = dict(os.environ, TF_CLI_CONFIG_FILE="/dev/null", CHECKPOINT_DISABLE="1", NO_COLOR="1")
env.pop("TF_WORKSPACE", None)

with open(cases) as f:
    exprs = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
if missing and os.path.exists(golden):
    with open(golden) as f:
        have = {json.loads(l)["expr"] for l in f if l.strip()}
    exprs = [e for e in exprs if e not in have]
with open(golden, "a" if missing else "w") as out:
    for e in exprs:
        p = subprocess.run(["terraform", "console", "-no-color"], input=e + "\n", cwd=fixture,
                           env=env, capture_output=True, text=True)
        out.write(json.dumps({"expr": e, "stdout": p.stdout, "stderr": p.stderr,
                              "code": p.returncode}, ensure_ascii=False) + "\n")
print(f"recorded {len(exprs)} cases into {golden}")
