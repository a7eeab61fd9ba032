"""The HTML page around the charts: one self-contained file with its CSS and a little JavaScript
(click a column header to sort a table, type to filter its rows). Nothing is fetched from the
network, so a report opens offline and can be mailed or archived as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from accel.report.svg import attr, format_number
from accel.version import version

_CSS = """
:root{--ink:#1d2430;--muted:#5b6472;--line:#e3e7ee;--bg:#f6f8fb;--card:#fff;--accent:#0072b2}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);
 font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}
header{background:#14213d;color:#fff;padding:22px 32px}
header h1{margin:0;font-size:22px;font-weight:600}
header p{margin:4px 0 0;color:#c9d3e6}
main{max-width:1480px;margin:0 auto;padding:20px 32px 48px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;
 padding:18px 20px;margin:18px 0}
h2{font-size:17px;margin:0 0 4px}
.note{color:var(--muted);margin:0 0 12px;font-size:13px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
.card .label{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:24px;font-weight:600;margin-top:2px}
.card .unit{font-size:13px;color:var(--muted);font-weight:400;margin-left:3px}
.card .detail{font-size:12px;color:var(--muted);overflow-wrap:anywhere}
.card.pass{border-color:#009e73;background:#effaf5}.card.fail{border-color:#d55e00;background:#fdf1ea}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(440px,1fr));gap:16px}
.grid3{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:12px}
svg.chart{width:100%;height:auto;display:block}
svg .grid{stroke:#edf0f4}svg .axis{stroke:#9aa3b0}
svg .tick{font-size:11px;fill:#5b6472}svg .axis-label{font-size:12px;fill:#1d2430}
svg .legend{font-size:11.5px;fill:#1d2430}
svg g:hover rect,svg circle:hover{stroke:#111;stroke-width:1}
.params{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:4px 24px}
.params div{display:flex;justify-content:space-between;border-bottom:1px dotted var(--line);
 padding:2px 0}
.params span:first-child{color:var(--muted)}
.tablewrap{overflow:auto;max-height:640px;border:1px solid var(--line);border-radius:8px}
table{border-collapse:collapse;width:100%;font-size:12.5px}
th,td{padding:5px 9px;border-bottom:1px solid var(--line);white-space:nowrap}
th{position:sticky;top:0;background:#eef2f7;cursor:pointer;text-align:left;user-select:none}
th.sorted-asc::after{content:" ▲"}th.sorted-desc::after{content:" ▼"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr:hover td{background:#f3f7fc}tr.failed td{background:#fdf1ea}
input.filter{margin:0 0 8px;padding:6px 10px;width:320px;border:1px solid var(--line);
 border-radius:6px;font:inherit}
details summary{cursor:pointer;color:var(--accent);margin:10px 0}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:24px}
"""

_JS = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('th').forEach(function (th, column) {
    th.addEventListener('click', function () {
      var ascending = !th.classList.contains('sorted-asc');
      table.querySelectorAll('th').forEach(function (h) {
        h.classList.remove('sorted-asc', 'sorted-desc');
      });
      th.classList.add(ascending ? 'sorted-asc' : 'sorted-desc');
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[column].dataset.v, y = b.cells[column].dataset.v;
        var nx = parseFloat(x), ny = parseFloat(y);
        var order = (isNaN(nx) || isNaN(ny)) ? String(x).localeCompare(String(y)) : nx - ny;
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
document.querySelectorAll('input.filter').forEach(function (input) {
  var table = document.getElementById(input.dataset.table);
  input.addEventListener('input', function () {
    var needle = input.value.toLowerCase();
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      row.style.display = row.textContent.toLowerCase().indexOf(needle) < 0 ? 'none' : '';
    });
  });
});
"""


@dataclass(frozen=True)
class Card:
    """One headline number."""

    label: str
    value: str
    unit: str = ""
    detail: str = ""
    status: str = ""  # "pass" or "fail" colours the card


def page(title: str, subtitle: str, sections: Sequence[str]) -> str:
    """The whole report as one HTML document."""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{attr(title)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{attr(title)}</h1><p>{attr(subtitle)}</p></header><main>"
        + "".join(sections)
        + f"<footer>generated by accel {attr(version())}</footer></main>"
        f"<script>{_JS}</script></body></html>\n"
    )


def section(title: str, content: str, note: str = "", anchor: str = "") -> str:
    ident = f' id="{attr(anchor)}"' if anchor else ""
    paragraph = f'<p class="note">{attr(note)}</p>' if note else ""
    return f"<section{ident}><h2>{attr(title)}</h2>{paragraph}{content}</section>"


def cards(items: Sequence[Card]) -> str:
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card {item.status}"><div class="label">{attr(item.label)}</div>'
            f'<div class="value">{attr(item.value)}<span class="unit">{attr(item.unit)}</span>'
            f'</div><div class="detail">{attr(item.detail)}</div></div>'
            for item in items
        )
        + "</div>"
    )


def params_grid(pairs: Sequence[tuple[str, Any]]) -> str:
    return (
        '<div class="params">'
        + "".join(f"<div><span>{attr(k)}</span><span>{attr(v)}</span></div>" for k, v in pairs)
        + "</div>"
    )


def table(
    ident: str,
    columns: Sequence[str],
    rows: Sequence[dict[str, Any]],
    failed: Sequence[bool] = (),
    filter_box: bool = False,
) -> str:
    """A sortable table; numbers right-aligned and sorted numerically."""
    head = "".join(f"<th>{attr(c)}</th>" for c in columns)
    lines = []
    for index, row in enumerate(rows):
        cells = "".join(_cell(row.get(column)) for column in columns)
        css = ' class="failed"' if index < len(failed) and failed[index] else ""
        lines.append(f"<tr{css}>{cells}</tr>")
    box = (
        f'<input class="filter" data-table="{attr(ident)}" placeholder="filter rows…">'
        if filter_box
        else ""
    )
    return (
        f'{box}<div class="tablewrap"><table class="sortable" id="{attr(ident)}">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table></div>"
    )


def _cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        text = "" if value is None else str(value)
        return f'<td data-v="{attr(text)}">{attr(text)}</td>'
    if isinstance(value, int):
        return f'<td class="num" data-v="{value}">{value:,}</td>'
    if isinstance(value, float):
        shown = f"{value:,.4g}" if abs(value) < 1e4 else format_number(value)
        return f'<td class="num" data-v="{value!r}">{shown}</td>'
    return f'<td data-v="{attr(value)}">{attr(value)}</td>'
