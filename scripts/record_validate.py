#!/usr/bin/env python3
"""Records what `terraform validate -json` answers for each configuration of the validate corpus.

Usage: scripts/record_validate.py [CORPUS]   (default: crates/cli/tests/validate)

Each directory of CORPUS holds a main.tf. `terraform init` then `terraform validate -json` run in a
scratch copy; the answer (and the exit code) goes to the directory's golden.json. Configurations
only use the built-in terraform provider, so no provider is installed.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "crates/cli/tests/validate")
env = dict(os.environ, TF_CLI_CONFIG_FILE="/dev/null", CHECKPOINT_DISABLE="1")
env.pop("TF_WORKSPACE", None)

for case in sorted(os.listdir(corpus)):
    src = os.path.join(corpus, case)
    if not os.path.isfile(os.path.join(src, "main.tf")):
        continue
    with tempfile.TemporaryDirectory() as tmp:
        work = os.path.join(tmp, case)
        shutil.copytree(src, work, ignore=shutil.ignore_patterns("golden.json"))
        subprocess.run(["terraform", "init", "-input=false", "-backend=false"], cwd=work, env=env,
                       capture_output=True)
        p = subprocess.run(["terraform", "validate", "-json"], cwd=work, env=env, capture_output=True,
                           text=True)
        answer = json.loads(p.stdout)
        answer["exit_code"] = p.returncode
    with open(os.path.join(src, "golden.json"), "w") as f:
        json.dump(answer, f, indent=2, sort_keys=True)
        f.write("\n")
    print(f"{case}: valid={answer['valid']} errors={answer['error_count']} exit={answer['exit_code']}")
