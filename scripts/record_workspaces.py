#!/usr/bin/env python3
"""Records Terraform's answers to the workspace and force-unlock verbs on the local backend.

Runs one sequence of commands (each twice: with colour and with -no-color) in a fresh
directory with `terraform` and writes crates/cli/tests/workspace/terraform.json: for every
step its arguments, environment, exit code, stdout and stderr. The weir test
(crates/cli/tests/it/workspace.rs) replays the same steps with weir and compares.

Usage: scripts/record_workspaces.py [TERRAFORM]   (default: terraform on PATH)
"""
import json, os, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates/cli/tests/workspace/terraform.json")
CONFIG = 'resource "terraform_data" "a" {\n  input = "x"\n}\n'

# (args, extra environment, compare?) -- steps with compare=False only set the scene.
STEPS = [
    (["workspace", "show"], {}, True),
    (["workspace", "list"], {}, True),
    (["workspace", "new", "dev"], {}, True),
    (["workspace", "new", "dev"], {}, True),
    (["workspace", "new", "a/b"], {}, True),
    (["workspace", "list"], {}, True),
    (["workspace", "show"], {}, True),
    (["workspace", "select", "default"], {}, True),
    (["workspace", "select", "default"], {}, True),
    (["workspace", "select", "nope"], {}, True),
    (["workspace", "select", "-or-create", "fresh"], {}, True),
    (["workspace", "select", "default"], {}, True),
    (["workspace", "delete", "fresh"], {}, True),
    (["workspace", "delete", "default"], {}, True),
    (["workspace", "delete", "nope"], {}, True),
    (["workspace", "select", "dev"], {}, True),
    (["apply", "-auto-approve"], {}, False),
    (["workspace", "select", "default"], {}, True),
    (["workspace", "delete", "dev"], {}, True),
    (["workspace", "delete", "-force", "dev"], {}, True),
    (["workspace", "list"], {}, True),
    (["workspace", "select", "default"], {"TF_WORKSPACE": "dev"}, True),
    (["workspace", "new", "other"], {"TF_WORKSPACE": "dev"}, True),
    (["workspace", "list"], {"TF_WORKSPACE": "dev"}, True),
    (["workspace", "show"], {"TF_WORKSPACE": "dev"}, True),
    (["workspace", "show"], {"TF_WORKSPACE": "a/b"}, True),
    (["force-unlock", "0123"], {}, True),
    (["force-unlock", "-force", "0123"], {}, True),
]


def run(tf, d, args, env, color):
    e = dict(os.environ, TF_CLI_CONFIG_FILE="/dev/null", CHECKPOINT_DISABLE="1")
    e.pop("TF_WORKSPACE", None)
    e.update(env)
    argv = [tf] + (args if color else args + ["-no-color"])
    p = subprocess.run(argv, cwd=d, env=e, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def main():
    tf = sys.argv[1] if len(sys.argv) > 1 else shutil.which("terraform")
    version = subprocess.run([tf, "version"], capture_output=True, text=True).stdout.splitlines()[0]
    records = []
    for color in (False, True):
        d = tempfile.mkdtemp()
        with open(os.path.join(d, "main.tf"), "w") as f:
            f.write(CONFIG)
        subprocess.run([tf, "init", "-no-color"], cwd=d, capture_output=True, check=True,
                       env=dict(os.environ, TF_CLI_CONFIG_FILE="/dev/null", CHECKPOINT_DISABLE="1"))
        for args, env, compare in STEPS:
            code, out, err = run(tf, d, args, env, color)
            records.append({"args": args, "env": env, "color": color, "compare": compare,
                            "code": code, "stdout": out, "stderr": err})
        shutil.rmtree(d)
    with open(OUT, "w") as f:
        json.dump({"terraform": version, "steps": records}, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT} ({len(records)} steps, {version})")


if __name__ == "__main__":
    main()
