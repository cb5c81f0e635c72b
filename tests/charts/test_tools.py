"""versions.env is the one place a version is written, and the tools run at its versions from $BROOK_HOME/bin."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tools import versions

pytestmark = pytest.mark.charts
ROOT = versions.ROOT
BIN = versions.brook_home() / "bin"
PINS = versions.load()


def run(*command: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=cwd, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def module_version(binary: Path) -> str:
    """The module version Go stamped into a binary built by `go install module@version`."""
    info = run("go", "version", "-m", str(binary))
    return re.search(r"^\s+mod\s+\S+\s+(\S+)", info, re.M).group(1)


# --- versions.env --------------------------------------------------------------------------------------------------


def test_versions_file_is_plain_key_value_with_a_comment_each() -> None:
    """make includes it and sh sources it: KEY=value only, and each block of keys is explained by a comment."""
    lines = versions.VERSIONS_FILE.read_text().splitlines()
    for i, line in enumerate(lines):
        if not line.strip() or line.startswith("#"):
            continue
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*=\S+", line), f"versions.env:{i + 1}: {line!r}"
        above = next(prev for prev in reversed(lines[:i]) if not re.fullmatch(r"[A-Z][A-Z0-9_]*=\S+", prev))
        assert above.startswith("#"), f"versions.env:{i + 1}: {line.split('=')[0]} has no comment above it"


def test_versions_file_parser_refuses_what_make_would_misread(tmp_path: Path) -> None:
    for bad in ("KAFKA_VERSION = 9.9.9", "KAFKA_VERSION=9.9.9 # inline", 'KAFKA_VERSION="9.9.9"', "A=$(B)", "A=1\nA=2"):
        path = tmp_path / "versions.env"
        path.write_text(bad + "\n")
        with pytest.raises(ValueError):
            versions.load.__wrapped__(path)


def test_make_reads_the_same_versions() -> None:
    """The Makefile includes versions.env: make's value of each key is the file's."""
    keys = ["KUBERNETES_VERSION", "KAFKA_VERSION", "FLINK_VERSION", "HELM_VERSION", "AIRFLOW_CHART_VERSION"]
    script = "".join(f"\t@echo {key}=$({key})\n" for key in keys)
    proc = subprocess.run(
        ["make", "-s", "-f", "Makefile", "-f", "-", "print-versions"],
        input=f"print-versions:\n{script}",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert dict(line.split("=", 1) for line in proc.stdout.split()) == {key: PINS[key] for key in keys}


def test_every_version_make_uses_is_in_the_file() -> None:
    """A *_VERSION variable an mk file uses comes from versions.env, or is read off the file that pins it: the Go
    module (go.mod: a wrapper module's require line is the pin, e.g. tools/skaffold) or a Dockerfile's ARG default
    (the image's pin, e.g. images/airflow/Dockerfile's AIRFLOW_VERSION for make images-local)."""
    from_pin_files, used = set(), set()
    for mk in [ROOT / "Makefile", *sorted((ROOT / "mk").glob("*.mk"))]:
        text = mk.read_text()
        used |= set(re.findall(r"\$\(([A-Z][A-Z0-9_]*_VERSION)\)", text))
        for name, definition in re.findall(r"^([A-Z][A-Z0-9_]*_VERSION)\s*[:?]?=(.*)$", text, re.M):
            read_off = (
                "go.mod" in definition or "list -m" in definition or re.search(r"\^ARG \w+=.*Dockerfile", definition)
            )
            assert read_off, f"{mk.name}: {name} belongs in versions.env"
            from_pin_files.add(name)
    assert used, "no version variables found in mk/"
    assert not used - set(PINS) - from_pin_files, f"neither in versions.env nor a go.mod: {used - set(PINS)}"
    assert not from_pin_files & set(PINS), f"defined twice: {from_pin_files & set(PINS)}"


# The pinned versions whose literal must appear in no other tracked file. Exempt: generated files (locks, go.sum,
# jars.sha256, k8s/flink/ rendered from the chart), pip's own pins (requirements/*.in, tied by test_images.py),
# measured results (bench/results), and the files still carrying a copy while their owners rework them (PENDING).
SINGLE_SOURCED = ["KUBERNETES_VERSION", "FLINK_VERSION", "KAFKA_VERSION", "FLINK_KAFKA_CONNECTOR_VERSION"]
EXEMPT = re.compile(
    r"^(versions\.env|.*\.lock|.*go\.(sum|mod)|images/flink-job/jars\.sha256|k8s/flink/.*|requirements/.*\.in"
    r"|bench/results/.*)$"
)
# Copies a tool cannot avoid, each tied to versions.env by a test: skaffold passes helm flags verbatim.
TIED = {("skaffold.yaml", "KUBERNETES_VERSION"): "tests/charts/test_k8s.py"}
PENDING = {
    # Not a pin but Strimzi's own table (the versions it runs, KAFKA_VERSION among them, as data read by a test):
    # it belongs in EXEMPT, which this file's owner edits.
    "operators/strimzi-kafka-versions.yaml": "a fact table of Strimzi 1.2.0's supported Kafka versions, not a pin",
}


def test_pinned_versions_are_written_only_in_versions_env() -> None:
    files = run("git", "ls-files", cwd=ROOT).split()
    found: dict[str, list[str]] = {}
    for key in SINGLE_SOURCED:
        literal = re.compile(rf"(?<![\w.-]){re.escape(PINS[key])}(?![\w-]|\.\d)")
        for name in files:
            path = ROOT / name
            if EXEMPT.match(name) or name in PENDING or (name, key) in TIED or not path.is_file():
                continue
            try:
                text = path.read_text()
            except UnicodeDecodeError:
                continue
            if literal.search(text):
                found.setdefault(key, []).append(name)
    assert not found, f"versions.env values copied elsewhere (name the key instead): {found}"


def test_pending_copies_still_exist() -> None:
    """PENDING lists real leftovers only: drop an entry once its file no longer carries a version literal."""
    values = [PINS[key] for key in SINGLE_SOURCED]
    for name in PENDING:
        path = ROOT / name
        assert path.is_file() and any(v in path.read_text() for v in values), f"{name} is clean: remove it"


def test_brook_home_is_honoured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BROOK_HOME", str(tmp_path))
    assert versions.brook_home() == tmp_path
    monkeypatch.delenv("BROOK_HOME")
    assert versions.brook_home() == ROOT / ".brook"


def test_the_brook_home_default_is_spelled_once() -> None:
    """Only the Makefile (BROOK_HOME ?= .brook) and tools/versions.py (brook_home()) name the default; mk/, tools/ and
    these tests go through them, so BROOK_HOME=/elsewhere moves everything."""
    allowed = {"Makefile", "tools/versions.py", "tests/charts/test_tools.py"}
    owned = ["test_images.py", "test_k8s.py", "test_operators.py", "test_schemas.py"]
    paths = [ROOT / "Makefile", *(ROOT / "mk").glob("*.mk"), *(ROOT / "tools").rglob("*.py")]
    paths += [ROOT / "tests" / "charts" / name for name in owned]
    path_like = re.compile(r"[/\"']\.brook\b")  # a path or a string, not prose such as "(default .brook)"
    offenders = [
        f"{path.relative_to(ROOT)}:{i}"
        for path in paths
        if str(path.relative_to(ROOT)) not in allowed
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if path_like.search(line) and "ignore.ignored(" not in line  # .dockerignore checks name the default
    ]
    assert not offenders, f"hard-coded .brook (use $(BROOK_HOME) / tools.versions.brook_home()): {offenders}"


def test_chart_values_come_from_the_file() -> None:
    assert versions.chart_values() == {"kafka.version": PINS["KAFKA_VERSION"], "flink.release": PINS["FLINK_VERSION"]}
    assert versions.helm_sets() == [
        "--set",
        f"kafka.version={PINS['KAFKA_VERSION']},flink.release={PINS['FLINK_VERSION']}",
    ]


# --- the tools at their pins ---------------------------------------------------------------------------------------


def test_helm() -> None:
    assert run(str(BIN / "helm"), "version", "--short").startswith("v3.")  # go-installed: no patch in ldflags
    assert module_version(BIN / "helm") == PINS["HELM_VERSION"]


def test_kubeconform() -> None:
    run(str(BIN / "kubeconform"), "-v")  # prints "development" for go-installed builds, hence:
    assert module_version(BIN / "kubeconform") == PINS["KUBECONFORM_VERSION"]


def test_minio() -> None:
    assert module_version(BIN / "minio") == PINS["MINIO_VERSION"]


def test_skaffold_is_the_go_module_pin() -> None:
    pinned = re.search(
        r"^\s*github\.com/GoogleContainerTools/skaffold/v2 (v\S+)", (ROOT / "tools/skaffold/go.mod").read_text(), re.M
    )
    assert pinned, "tools/skaffold/go.mod does not require skaffold"
    assert run(str(BIN / "skaffold"), "version").strip() == pinned.group(1)


def test_hadolint() -> None:
    assert re.search(r"Haskell Dockerfile Linter \d+\.\d+", run(str(BIN / "hadolint"), "--version"))
