#!/usr/bin/env python3
"""Records Terraform's answers for the engine scenarios in crates/cli/tests/scenarios.

Each scenario has step1/, step2/, ... directories of configuration. Every step but the last is
applied; the last is planned (plan.json from `terraform show -json`, plan.txt from
`terraform show -no-color`), then applied (outputs.json, state.json). A step may hold:
  ARGS    extra plan arguments (one line), MODE "destroy" to plan a destroy,
  EXPECT  "error": the plan must fail (error.txt keeps the diagnostics);
          "apply-error" (a step before the last): its apply must fail part-way
          (apply-error.txt keeps the diagnostics).
Goldens go to <scenario>/golden/. Run it where terraform is installed:
  python3 scripts/record_scenarios.py [scenario ...]
"""
import json, os, shutil, subprocess, sys, tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "cli", "tests", "scenarios")
ENV = dict(os.environ, TF_CLI_CONFIG_FILE="/dev/null", TF_IN_AUTOMATION="1", CHECKPOINT_DISABLE="1")
CONTROL = {"ARGS", "MODE", "EXPECT"}


def run(args, cwd, check=True):
    p = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True)
    if check and p.returncode != 0:
        sys.exit(f"{' '.join(args)} failed in {cwd}:\n{p.stdout}\n{p.stderr}")
    return p


def load_step(src, work):
    for name in os.listdir(work):
        if name.endswith(".tf") or (os.path.isdir(os.path.join(work, name)) and not name.startswith(".") and name != "golden"):
            p = os.path.join(work, name)
            shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
    for name in os.listdir(src):
        if name in CONTROL:
            continue
        s = os.path.join(src, name)
        (shutil.copytree if os.path.isdir(s) else shutil.copy)(s, os.path.join(work, name))


def read(path):
    return open(path).read().strip() if os.path.exists(path) else ""


def record(name):
    sdir = os.path.join(ROOT, name)
    steps = sorted(d for d in os.listdir(sdir) if d.startswith("step"))
    gold = os.path.join(sdir, "golden")
    os.makedirs(gold, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        for i, step in enumerate(steps):
            src = os.path.join(sdir, step)
            load_step(src, work)
            run(["terraform", "init", "-no-color", "-input=false"], work)
            mode = read(os.path.join(src, "MODE"))
            args = read(os.path.join(src, "ARGS")).split()
            if mode == "destroy":
                args.append("-destroy")
            if i < len(steps) - 1:
                apply = ["terraform", "apply", "-auto-approve", "-no-color", "-input=false"] + args
                if read(os.path.join(src, "EXPECT")) == "apply-error":
                    p = run(apply, work, check=False)
                    if p.returncode == 0:
                        sys.exit(f"{name}: expected the apply of {step} to fail")
                    open(os.path.join(gold, "apply-error.txt"), "w").write(p.stderr)
                else:
                    run(apply, work)
                continue
            p = run(["terraform", "plan", "-no-color", "-input=false", "-out=plan.bin"] + args, work, check=False)
            if read(os.path.join(src, "EXPECT")) == "error":
                if p.returncode == 0:
                    sys.exit(f"{name}: expected the plan to fail")
                open(os.path.join(gold, "error.txt"), "w").write(p.stderr)
                continue
            if p.returncode != 0:
                sys.exit(f"{name}: plan failed:\n{p.stderr}")
            show = run(["terraform", "show", "-json", "plan.bin"], work).stdout
            open(os.path.join(gold, "plan.json"), "w").write(json.dumps(json.loads(show), indent=2, sort_keys=True) + "\n")
            open(os.path.join(gold, "plan.txt"), "w").write(run(["terraform", "show", "-no-color", "plan.bin"], work).stdout)
            run(["terraform", "apply", "-no-color", "-input=false", "plan.bin"], work)
            out = run(["terraform", "output", "-json"], work).stdout
            open(os.path.join(gold, "outputs.json"), "w").write(out)
            st = run(["terraform", "show", "-json"], work).stdout
            open(os.path.join(gold, "state.json"), "w").write(json.dumps(json.loads(st), indent=2, sort_keys=True) + "\n")
    print(f"recorded {name}")


if __name__ == "__main__":
    names = sys.argv[1:] or sorted(d for d in os.listdir(ROOT) if os.path.isdir(os.path.join(ROOT, d)))
    for n in names:
        record(n)
