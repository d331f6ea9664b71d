"""What the report tests share: Debian's interpreter, and running a module of the report
package as a command the way `iodepth report` and `iodepth advise` do (cli/cli_support.cc)."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The report needs Debian's python3 with python3-matplotlib; the python3 first on PATH may be
# another interpreter (pyenv) without it, whichever python runs the tests.
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def run_module(module, *args, env=None, timeout=300):
    """Runs `PYTHON -m module ARGS...` with the repository first on PYTHONPATH (ahead of any
    PYTHONPATH in `env`, default os.environ); returns the CompletedProcess, output as text."""
    env = dict(os.environ if env is None else env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO, env.get("PYTHONPATH")) if p)
    return subprocess.run([PYTHON, "-m", module, *args], capture_output=True, text=True, env=env,
                          timeout=timeout)
