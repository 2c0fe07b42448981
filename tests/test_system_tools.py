"""`make test` on a fresh machine (issue 28): before anything else it checks the programs the
suite drives (Chromium, curl, jq, openssl) and installs the missing ones as root with apt-get,
or stops at once naming the exact command. CI (.ci/run) relies on it and installs nothing
itself, so every CI run on a fresh machine checks this path.

The script runs here with a PATH of stand-ins: a fake ``apt-get`` that records its arguments
and "installs" by creating the program, a fake ``id`` for root or not."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from conftest import REPO

SCRIPT = REPO / "tests" / "system-tools.sh"
CHMOD = shutil.which("chmod")
TOOLS = ("chromium", "curl", "jq", "openssl")


def _bin(tmp_path: Path, present: tuple[str, ...], *, uid: int, apt: bool = True) -> Path:
    """A directory to be the whole PATH: ``present`` programs, ``id`` answering ``uid`` and,
    when ``apt``, an apt-get that logs each call and creates the packages it is asked for."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()

    def script(name: str, body: str) -> None:
        path = bin_dir / name
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(0o755)

    for name in present:
        script(name, "exit 0")
    script("id", f'echo "{uid}"')
    if apt:
        log = tmp_path / "apt.log"
        script(
            "apt-get",
            f'echo "$*" >> {log}\n'
            f'if [ "$1" = install ]; then for p in "$@"; do case "$p" in -*|install) ;; '
            f'*) printf "#!/bin/sh\\nexit 0\\n" > {bin_dir}/$p; {CHMOD} +x {bin_dir}/$p;; '
            "esac; done; fi",
        )
    return bin_dir


def _run(bin_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["/bin/sh", str(SCRIPT)],
        env={"PATH": str(bin_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_nothing_missing_is_silent(tmp_path: Path) -> None:
    done = _run(_bin(tmp_path, TOOLS, uid=1000))
    assert done.returncode == 0 and done.stdout == done.stderr == ""
    assert not (tmp_path / "apt.log").exists()


def test_as_root_the_missing_tools_are_installed_with_apt_get(tmp_path: Path) -> None:
    bin_dir = _bin(tmp_path, ("curl", "openssl"), uid=0)
    done = _run(bin_dir)
    assert done.returncode == 0, done.stderr
    assert "installing what the test suite drives: chromium jq" in done.stdout
    assert (tmp_path / "apt.log").read_text().splitlines() == [
        "update -q",
        "install -y -q chromium jq",
    ]
    assert (bin_dir / "chromium").exists() and (bin_dir / "jq").exists()


def test_otherwise_it_stops_at_once_with_the_command_to_run(tmp_path: Path) -> None:
    done = _run(_bin(tmp_path, ("curl", "jq"), uid=1000))
    assert done.returncode == 1 and done.stdout == ""
    assert "the test suite needs chromium openssl" in done.stderr
    assert "sudo apt-get install -y chromium openssl" in done.stderr
    assert not (tmp_path / "apt.log").exists()  # nothing was tried


def test_an_install_that_does_not_provide_the_tool_fails(tmp_path: Path) -> None:
    bin_dir = _bin(tmp_path, ("curl", "jq", "openssl"), uid=0, apt=False)
    (bin_dir / "apt-get").write_text("#!/bin/sh\nexit 0\n")  # "installs" nothing
    (bin_dir / "apt-get").chmod(0o755)
    done = _run(bin_dir)
    assert done.returncode == 1
    assert "apt-get installed chromium but chromium is still not on PATH" in done.stderr


def test_make_test_checks_the_tools_first_and_ci_installs_nothing_itself() -> None:
    makefile = (REPO / "Makefile").read_text()
    target = re.search(r"^test: (.*)$", makefile, re.M)
    assert target is not None and target.group(1).split()[0] == "tools"
    assert re.search(r"^tools:\n\t@sh tests/system-tools\.sh$", makefile, re.M)
    ci = (REPO / ".ci" / "run").read_text()
    commands = [line for line in ci.splitlines() if line and not line.startswith("#")]
    assert commands[-1] == "make test" and "apt-get" not in "\n".join(commands)
