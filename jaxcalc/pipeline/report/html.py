"""report.html: report.md as one self-contained page to open and share.

The page is drawn from report.md's text, so the two never disagree: headings, paragraphs,
tables and figures. Figures are inline (base64 PNG); tables sort when a header is clicked
(a few lines of inline script). Nothing is fetched: the page's content security policy
allows no network access at all.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from jaxcalc.pipeline.results import read_figure

__all__ = ["report_html"]

_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)]+)\)")
_HEADING = re.compile(r"(#{1,6}) (.*)")

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 78rem; padding: 0 1rem; color: #1a1a1a; line-height: 1.45; }
h1, h2, h3 { line-height: 1.2; }
code { background: #f2f2f2; padding: 0 0.2em; border-radius: 3px; }
table.sortable { border-collapse: collapse; font-size: 0.9rem; margin: 1rem 0; }
table.sortable th, table.sortable td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; }
table.sortable td.number { text-align: right; font-variant-numeric: tabular-nums; }
table.sortable th { background: #f4f4f4; cursor: pointer; user-select: none;
                    white-space: nowrap; }
table.sortable th[aria-sort="ascending"]::after { content: " \\25B2"; }
table.sortable th[aria-sort="descending"]::after { content: " \\25BC"; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.85rem; }
p.missing { color: #a00; }
"""

# Click a header: sort the rows by that column, numbers as numbers ("-" and empty cells
# last), ascending first, then descending on the next click.
_SCRIPT = """
(function () {
  function key(cell) {
    var text = cell.textContent.trim();
    if (text === "" || text === "-") { return null; }
    if (text === "inf") { return Infinity; }
    if (text === "-inf") { return -Infinity; }
    var number = Number(text.split(" [")[0]);  // "median [q25, q75]": by the median
    return isNaN(number) ? text.toLowerCase() : number;
  }
  function compare(a, b) {
    if (a === null) { return b === null ? 0 : 1; }
    if (b === null) { return -1; }
    if (typeof a === typeof b) { return a < b ? -1 : (a > b ? 1 : 0); }
    return typeof a === "number" ? -1 : 1;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var headers = table.querySelectorAll("thead th");
    headers.forEach(function (th, column) {
      th.title = "click to sort";
      th.addEventListener("click", function () {
        var down = th.getAttribute("aria-sort") === "ascending";
        headers.forEach(function (other) { other.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", down ? "descending" : "ascending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.forEach(function (row, i) { row.dataset.order = i; });
        rows.sort(function (r, s) {
          var a = key(r.cells[column]), b = key(s.cells[column]);
          var c = (a === null || b === null) ? compare(a, b)
                  : (down ? compare(b, a) : compare(a, b));
          return c || (r.dataset.order - s.dataset.order);
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
})();
"""

_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


def _inline(text: str) -> str:
    """Markdown's inline marks as HTML: `code`, **bold**, *emphasis* (text escaped)."""
    parts = re.split(r"(`[^`]*`)", text)
    out = []
    for part in parts:
        if len(part) >= 2 and part.startswith("`") and part.endswith("`"):
            out.append(f"<code>{html.escape(part[1:-1])}</code>")
            continue
        part = html.escape(part, quote=False)
        part = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", part)
        part = re.sub(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])", r"<em>\1</em>", part)
        out.append(part)
    return "".join(out)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return text in ("-", "inf", "-inf")
    return True


def _table(lines: list[str]) -> str:
    header = _cells(lines[0])
    rows = [_cells(line) for line in lines[2:]]
    head = "".join(f'<th scope="col">{_inline(c)}</th>' for c in header)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="number">{html.escape(c)}</td>'
            if _is_number(c)
            else f"<td>{_inline(c)}</td>"
            for c in row
        )
        body.append(f"<tr>{cells}</tr>")
    return (
        f'<table class="sortable"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _figure(alt: str, target: str, folder: Path) -> str:
    data = read_figure(folder, target)
    if data is None:
        return f'<p class="missing">figure {html.escape(target)} is missing</p>'
    encoded = base64.b64encode(data).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{encoded}">'
        f"<figcaption>{html.escape(alt)} ({html.escape(target)})</figcaption></figure>"
    )


def _blocks(text: str) -> list[list[str]]:
    blocks: list[list[str]] = [[]]
    for line in text.splitlines():
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def report_html(markdown: str, folder: Path) -> str:
    """The HTML page of report.md's text, with the figures under ``folder`` inline."""
    body = []
    title = "jaxcalc report"
    for block in _blocks(markdown):
        first = block[0]
        if (m := _HEADING.fullmatch(first)) and len(block) == 1:
            level = len(m.group(1))
            title = m.group(2) if level == 1 else title
            body.append(f"<h{level}>{_inline(m.group(2))}</h{level}>")
        elif all(line.lstrip().startswith("|") for line in block) and len(block) >= 2:
            body.append(_table(block))
        elif all(_IMAGE.fullmatch(line.strip()) for line in block):
            for line in block:
                m = _IMAGE.fullmatch(line.strip())
                body.append(_figure(m.group(1), m.group(2), folder))
        else:
            body.append(f"<p>{_inline(' '.join(line.strip() for line in block))}</p>")
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_POLICY}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + f"\n<script>{_SCRIPT}</script>\n</body></html>\n"
    )
