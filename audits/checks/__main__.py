"""``python -m audits.checks``: rewrite the kind reference in audits/README.md from the classes."""

from pathlib import Path

from audits.checks import reference

BEGIN, END = "<!-- kinds:begin -->\n", "<!-- kinds:end -->"

readme = Path(__file__).resolve().parent.parent / "README.md"
text = readme.read_text(encoding="utf-8")
head, rest = text.split(BEGIN, 1)
tail = rest.split(END, 1)[1]
readme.write_text(head + BEGIN + reference() + END + tail, encoding="utf-8")
print(f"updated {readme}")
