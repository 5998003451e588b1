#!/usr/bin/env python3
"""Records Terraform's answers to plan/apply/destroy in a directory without configuration files.

Terraform refuses to plan or apply there ("No configuration files", exit 1) but destroys (an
empty state: nothing to do, exit 0). Writes crates/cli/tests/noconfig/terraform.json; the weir
test (crates/cli/tests/it/safety.rs) runs the same commands and compares.

Usage: scripts/record_noconfig.py [TERRAFORM]   (default: terraform on PATH)
"""
import json, os, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates/cli/tests/noconfig/terraform.json")
STEPS = [
    ["plan"],
    ["plan", "-refresh-only"],
    ["apply", "-auto-approve"],
    ["plan", "-destroy"],
    ["destroy", "-auto-approve"],
]


def main():
    tf = sys.argv[1] if len(sys.argv) > 1 else shutil.which("terraform")
    env = dict(os.environ, TF_CLI_CONFIG_FILE="/dev/null", CHECKPOINT_DISABLE="1")
    env.pop("TF_WORKSPACE", None)
    version = subprocess.run([tf, "version"], capture_output=True, text=True).stdout.splitlines()[0]
    records = []
    for args in STEPS:
        d = tempfile.mkdtemp()
        p = subprocess.run([tf] + args + ["-no-color"], cwd=d, env=env, capture_output=True,
                           text=True, stdin=subprocess.DEVNULL)
        records.append({"args": args, "code": p.returncode, "stdout": p.stdout, "stderr": p.stderr})
        shutil.rmtree(d)
    with open(OUT, "w") as f:
        json.dump({"terraform": version, "steps": records}, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT} ({len(records)} steps, {version})")


if __name__ == "__main__":
    main()
