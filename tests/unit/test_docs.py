"""The README stays a short front page: under 8 KB, every page of docs/ reachable from it, and no
link (README or docs) pointing at a file or heading that is not there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    out = set()
    for line in page.read_text().splitlines():
        if line.startswith("#"):
            text = line.lstrip("#").strip().lower()
            out.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", text)))
    return out


def links(page: Path) -> list[tuple[Path, str]]:
    found = []
    for target in LINK.findall(page.read_text()):
        if "://" in target:
            continue
        path, _, anchor = target.partition("#")
        found.append(((page.parent / path).resolve() if path else page, anchor))
    return found


def test_the_readme_is_a_front_page():
    assert len((ROOT / "README.md").read_bytes()) < 8 * 1024


def test_every_docs_page_is_linked_from_the_readme():
    linked = {path for path, _ in links(ROOT / "README.md")}
    assert set((ROOT / "docs").glob("*.md")) <= linked


def test_every_link_reaches_its_file_and_heading():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for path, anchor in links(page):
            assert path.exists(), f"{page.name} links to {path}, which is not there"
            if anchor and path.suffix == ".md":
                assert anchor in anchors(path), f"{page.name} links to a missing #{anchor}"
