"""The documentation site builds with warnings as errors, and every page's links and images exist.

Builds the site with ``scripts/docs.sh`` (the gallery's examples and the notebook run) into a
temporary folder, then reads every HTML page: each internal link must reach an existing file (and
the anchor in it, when it names one), and each image, script and stylesheet it references must
exist.
"""

import fcntl
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]


class _Page(HTMLParser):
    """The ids, the links (``href`` of ``a``) and the files (``src``, stylesheets) of one HTML page."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.files: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag in ("img", "script", "source", "video") and attrs.get("src"):
            self.files.append(attrs["src"])
        if tag == "link" and attrs.get("href") and "stylesheet" in (attrs.get("rel") or ""):
            self.files.append(attrs["href"])


def _read(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def broken_references(site: Path) -> list[str]:
    """Every internal link, anchor and referenced file of the site's pages that does not exist."""
    # _static holds the theme's assets (a Jinja template among them), not pages of the site
    pages = {path: _read(path) for path in site.rglob("*.html") if "_static" not in path.relative_to(site).parts}
    broken = []
    for path, page in pages.items():
        where = path.relative_to(site)
        for kind, references in (("link", page.links), ("file", page.files)):
            for reference in references:
                parts = urlsplit(reference)
                if parts.scheme or parts.netloc or reference.startswith(("mailto:", "javascript:")):
                    continue  # outside the site
                target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
                if target.is_dir():
                    target = target / "index.html"
                if not target.is_file():
                    broken.append(f"{where}: {kind} {reference!r}: no such file")
                elif kind == "link" and parts.fragment and target.suffix == ".html":
                    ids = pages[target].ids if target in pages else _read(target).ids
                    if unquote(parts.fragment) not in ids:
                        broken.append(f"{where}: link {reference!r}: no anchor {parts.fragment!r}")
    return broken


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("docs") / "html"
    env = dict(os.environ, PYTHON=sys.executable)
    # the build writes generated sources into docs/ (api/, auto_examples/): one build at a time in a
    # checkout, also when pytest-xdist runs this module's tests in two workers
    lock_path = ROOT / "docs" / "_build" / ".build.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        build = subprocess.run(
            ["bash", str(ROOT / "scripts" / "docs.sh"), str(out)], env=env, capture_output=True, text=True, timeout=900
        )
    assert build.returncode == 0, f"the docs build failed (warnings are errors):\n{build.stdout}\n{build.stderr}"
    return out


@pytest.mark.slow
def test_every_page_link_and_image_exists(site):
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    for expected in (
        "index.html",
        "guide/render.html",
        "guide/fitting.html",
        "guide/movies.html",
        "guide/cli.html",
        "api/ifskit.html",
        "catalog.html",
        "auto_examples/demo_chaos_game.html",
        "notebooks/fit_point_cloud.html",
    ):
        assert expected in pages
    assert broken_references(site) == []


@pytest.mark.slow
def test_gallery_and_notebook_pages_show_their_figures(site):
    # sphinx-gallery keeps each example's figures; the notebook's outputs include its 7 plots
    for example in ("demo_any_start", "demo_chaos_game", "demo_families", "python_api"):
        assert list((site / "_images").glob(f"sphx_glr_{example}_*.png")), example
    notebook = _read(site / "notebooks" / "fit_point_cloud.html")
    assert sum(src.endswith(".png") for src in notebook.files) >= 7


@pytest.mark.slow
def test_api_reference_documents_every_public_name(site):
    import ifskit

    text = (site / "api" / "ifskit.html").read_text(encoding="utf-8")
    modules = {"analysis", "animate", "distributed", "fitting", "formats", "image", "io", "neural", "ops", "render"}
    for name in sorted(set(ifskit.__all__) - modules):
        assert f'id="ifskit.{name}"' in text, name


def test_link_checker_finds_a_missing_page_image_and_anchor(tmp_path):
    (tmp_path / "img.png").write_bytes(b"")
    (tmp_path / "index.html").write_text(
        '<p id="here"><a href="#here">ok</a> <a href="other.html#there">ok</a> <img src="img.png">'
        '<a href="https://example.org/x">outside</a></p>'
    )
    (tmp_path / "other.html").write_text('<h1 id="there">x</h1><a href="index.html">back</a>')
    assert broken_references(tmp_path) == []
    (tmp_path / "other.html").write_text(
        '<h1 id="there">x</h1><a href="gone.html">a</a> <a href="index.html#nowhere">b</a> <img src="gone.png">'
    )
    assert broken_references(tmp_path) == [
        "other.html: link 'gone.html': no such file",
        "other.html: link 'index.html#nowhere': no anchor 'nowhere'",
        "other.html: file 'gone.png': no such file",
    ]


def test_readme_is_short_and_its_links_and_commands_hold():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    # markdown links and images, and HTML src/href: every one inside the repository must exist
    targets = re.findall(r"\]\(([^)\s]+)\)", readme) + re.findall(r'(?:src|href)="([^"]+)"', readme)
    local = [t.split("#")[0] for t in targets if not urlsplit(t).scheme and not t.startswith("#")]
    assert local and [t for t in local if not (ROOT / t).exists()] == []
    # .ci/run runs the README's test command: the two must stay the same
    ci_command = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci_command in readme
