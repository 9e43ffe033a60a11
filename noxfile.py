"""Test, lint, type-check, docs, demo and benchmark sessions.

Distributions are discovered under ``packages/``: each gets a ``test-<name>`` session whose
environment holds only the kernel and that distribution, installed from this tree.
"""

from __future__ import annotations

from pathlib import Path

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = True

ROOT = Path(__file__).parent
PACKAGES = ROOT / "packages"
KERNEL = "bmll-basalt"
# Optional features the kernel's own tests exercise.
KERNEL_EXTRAS = ("dask", "talib", "delta", "sql")
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
REPORTS = ROOT / ".nox" / "reports"
"""JUnit reports of the test sessions, one per session (``.ci/count_tests.py`` totals them)."""
DISTRIBUTIONS = sorted(p.name for p in PACKAGES.iterdir() if (p / "pyproject.toml").is_file())

# Fails when any bmll-basalt* distribution in the environment did not come from this tree.
CHECK_LOCAL = """
import importlib.metadata as md, json, pathlib, sys
root = pathlib.Path(sys.argv[1]).resolve().as_uri()
bad = []
for dist in md.distributions():
    name = dist.metadata["Name"]
    if not name.lower().startswith("bmll-basalt"):
        continue
    direct = dist.read_text("direct_url.json")
    url = json.loads(direct)["url"] if direct else "(an index)"
    if not url.startswith(root):
        bad.append(f"{name} from {url}")
if bad:
    sys.exit("not installed from this tree: " + ", ".join(bad))
"""


def short_name(distribution: str) -> str:
    """``bmll-basalt-alpha101`` → ``alpha101``; the kernel is ``basalt``."""
    return distribution.removeprefix(f"{KERNEL}-") if distribution != KERNEL else "basalt"


def install(
    session: nox.Session,
    *distributions: str,
    groups: tuple[str, ...] = ("test",),
    kernel_extras: tuple[str, ...] = (),
) -> None:
    """Install ``distributions`` editable from this tree (the kernel with ``kernel_extras``),
    plus dependency groups."""
    requirements = [r for g in groups for r in nox.project.dependency_groups(PYPROJECT, g)]
    extras = f"[{','.join(kernel_extras)}]" if kernel_extras else ""
    editables = [
        arg
        for d in dict.fromkeys((KERNEL, *distributions))
        for arg in ("-e", f"{PACKAGES / d}{extras if d == KERNEL else ''}")
    ]
    session.install(*editables, *requirements)
    session.run("python", "-c", CHECK_LOCAL, str(ROOT), silent=True)


def report(session: nox.Session) -> str:
    """The pytest option writing the session's JUnit report."""
    return f"--junitxml={REPORTS / session.name}.xml"


def _test_session(distribution: str) -> None:
    def test(session: nox.Session) -> None:
        install(
            session, distribution, kernel_extras=KERNEL_EXTRAS if distribution == KERNEL else ()
        )
        session.run(
            "pytest", str(PACKAGES / distribution / "tests"), report(session), *session.posargs
        )

    test.__doc__ = f"Tests of {distribution} with only the kernel and itself installed."
    nox.session(name=f"test-{short_name(distribution)}")(test)


for _distribution in DISTRIBUTIONS:
    _test_session(_distribution)


@nox.session(name="test-all")
def test_all(session: nox.Session) -> None:
    """Every distribution together: all package tests plus tests/integration."""
    install(session, *DISTRIBUTIONS, kernel_extras=KERNEL_EXTRAS)
    session.run(
        "pytest",
        *(str(PACKAGES / d / "tests") for d in DISTRIBUTIONS),
        "tests/integration",
        report(session),
        *session.posargs,
    )


@nox.session()
def lint(session: nox.Session) -> None:
    """ruff check and format check."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session()
def typecheck(session: nox.Session) -> None:
    """mypy over every distribution's sources."""
    install(session, *DISTRIBUTIONS, groups=("test", "typecheck"), kernel_extras=KERNEL_EXTRAS)
    session.run("mypy", *(str(PACKAGES / d / "src") for d in DISTRIBUTIONS))


@nox.session()
def docs(session: nox.Session) -> None:
    """Build the documentation site strictly (broken links fail)."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "docs"))
    session.run("mkdocs", "build", "--strict", "--site-dir", str(session.create_tmp() + "/site"))


@nox.session()
def demo(session: nox.Session) -> None:
    """Install the kernel and run the demo pipeline on generated sample data."""
    install(session, groups=())
    session.run("basalt", "demo", *session.posargs)


@nox.session()
def bench(session: nox.Session) -> None:
    """Benchmarks on generated lakes (not run by default); see benchmarks/README.md."""
    install(session, groups=(), kernel_extras=KERNEL_EXTRAS)
    session.run("python", "benchmarks/run.py", *session.posargs)


# `nox` runs every session except the benchmark (`nox -s bench`).
nox.options.sessions = [
    *(f"test-{short_name(d)}" for d in DISTRIBUTIONS),
    "test-all",
    "lint",
    "typecheck",
    "docs",
    "demo",
]
