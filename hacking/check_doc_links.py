"""Every relative link (and image) in README.md and docs/**/*.md points at a file or directory.

    python hacking/check_doc_links.py        (nox -s doc-links)

Prints "N passed, N failed" (links) last; exits 1 when a link is broken or none was checked.
"""

import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
LINK = re.compile(r'\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:")


def main():
    pages = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
    checked, broken = 0, []
    for page in pages:
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.S)
        for target in LINK.findall(text):
            if EXTERNAL.match(target) or target.startswith("#"):
                continue
            checked += 1
            if not (page.parent / target.split("#", 1)[0]).exists():
                broken.append("%s: %s" % (page.relative_to(ROOT), target))
    for item in broken:
        print("broken link: " + item)
    print("%d passed, %d failed" % (checked - len(broken), len(broken)))
    return 1 if broken or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
