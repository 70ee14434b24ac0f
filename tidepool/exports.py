"""Export formats: read results (a list of rows, or one row) as CSV, JSON, XML or YAML, as Directus writes them.

Directus 12.4.1 encodes ``?export=`` answers with json2csv 5 (nested objects flattened to ``a.b`` columns,
every string quoted, ``null`` empty, arrays as JSON; a row whose cells are all empty is left out),
``JSON.stringify(data, null, "\\t")``, js2xmlparser 5 (root ``<data>``, one ``<data>`` per row, 4-space
indent, ``null`` written as the text ``null``) and js-yaml 4. Each encoder here yields the document in
pieces of ``CHUNK_ROWS`` rows, so a large export is written out as it is encoded instead of being built
into one string first (``tidepool.http.export`` streams them). The same table serves the export endpoint
that writes a file (``POST /utils/export``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from tidepool.query.js import js_number_text

CHUNK_ROWS = 500  # rows encoded per piece of a streamed export

Rows = Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class ExportFormat:
    """One ``?export=`` value: the file extension, Directus's ``Content-Type``, and the encoder."""

    extension: str
    content_type: str
    encode: Callable[[Any], Iterator[str]]


# ------------------------------------------------------------------------------------------ values


def plain(value: Any) -> Any:
    """A read value as JavaScript would hold it: integral floats as integers (``1.0`` prints ``1``), decimals,
    dates and uuids as the strings the JSON answer carries, containers walked."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 1e21 else value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _js_text(value: Any) -> str:
    """JavaScript's ``String(value)`` for a scalar (XML text)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, float):
        return js_number_text(value)
    return str(value)


def _chunks(rows: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(rows), CHUNK_ROWS):
        yield rows[start : start + CHUNK_ROWS]


def _as_rows(data: Any) -> list[Any]:
    return list(data) if isinstance(data, list | tuple) else [data]


# --------------------------------------------------------------------------------------------- CSV


def _flatten(row: Mapping[str, Any], prefix: str = "", into: dict[str, Any] | None = None) -> dict[str, Any]:
    """json2csv's ``flatten`` transform: non-empty nested objects become ``parent.child`` columns."""
    flat: dict[str, Any] = {} if into is None else into
    for key, value in row.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping) and value:
            _flatten(value, path, flat)
        else:
            flat[path] = value
    return flat


def _csv_cell(value: Any) -> str | None:
    """json2csv's ``processValue``: ``None`` for an empty cell, numbers and booleans bare, strings quoted."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _js_text(float(value)) if isinstance(value, float) else str(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return '"' + text.replace('"', '""') + '"'


def encode_csv(data: Any, bom: bool = False) -> Iterator[str]:
    """The header (every column any row has, in order of appearance), then one line per row."""
    if isinstance(data, list | tuple) and not data:
        return
    rows = [_flatten(plain(row)) if isinstance(row, Mapping) else {} for row in _as_rows(data)]
    columns = list(dict.fromkeys(column for row in rows for column in row))
    header = ",".join(_csv_cell(column) or "" for column in columns)
    first = True
    for chunk in _chunks(rows):
        lines = []
        for row in chunk:
            cells = [_csv_cell(row.get(column)) for column in columns]
            if all(cell is None for cell in cells):
                continue  # json2csv drops rows without a single value
            lines.append(",".join(cell or "" for cell in cells))
        if lines:
            yield ("\ufeff" + header if bom else header) + "\n" if first else "\n"
            yield "\n".join(lines)
            first = False
    if first:
        yield ("\ufeff" if bom else "") + header


def encode_csv_utf8(data: Any) -> Iterator[str]:
    return encode_csv(data, bom=True)


# -------------------------------------------------------------------------------------------- JSON


def _json(value: Any) -> str:
    return json.dumps(plain(value), ensure_ascii=False, indent="\t")


def encode_json(data: Any) -> Iterator[str]:
    """``JSON.stringify(data || null, null, "\\t")``, a list written one row at a time."""
    if not isinstance(data, list | tuple) or not data:
        yield _json(data)
        return
    yield "[\n"
    for index, chunk in enumerate(_chunks(data)):
        rows = (_json(row).replace("\n", "\n\t") for row in chunk)
        yield ("" if index == 0 else ",\n") + ",\n".join("\t" + row for row in rows)
    yield "\n]"


# --------------------------------------------------------------------------------------------- XML

_INDENT = "    "


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace("]]>", "]]&gt;")


def _xml_children(value: Any, name: str, indent: str) -> list[str]:
    """The elements ``value`` becomes under its parent (js2xmlparser): one per key of an object, one per
    item (named like the parent's key) of an array."""
    if isinstance(value, Mapping):
        return [part for key, item in value.items() for part in _xml_entry(str(key), item, indent)]
    return [part for item in value for part in _xml_entry(name, item, indent)]


def _xml_entry(name: str, value: Any, indent: str) -> list[str]:
    if isinstance(value, list | tuple):
        return _xml_children(value, name, indent)
    return [_xml_element(name, value, indent)]


def _xml_element(name: str, value: Any, indent: str) -> str:
    if not isinstance(value, Mapping | list | tuple):
        text = _xml_escape(_js_text(value))
        return f"{indent}<{name}>{text}</{name}>" if text else f"{indent}<{name}/>"
    children = _xml_children(value, name, indent + _INDENT)
    if not children:
        return f"{indent}<{name}/>"
    return f"{indent}<{name}>\n" + "\n".join(children) + f"\n{indent}</{name}>"


def encode_xml(data: Any) -> Iterator[str]:
    """``js2xmlparser.parse("data", data)``: a list is one ``<data>`` element per row inside ``<data>``."""
    declaration = "<?xml version='1.0'?>\n"
    value = plain(data)
    if not isinstance(value, list) or not value:
        yield declaration + _xml_element("data", value, "")
        return
    yield declaration + "<data>"
    for chunk in _chunks(value):
        yield "".join("\n" + part for row in chunk for part in _xml_entry("data", row, _INDENT))
    yield "\n</data>"


# -------------------------------------------------------------------------------------------- YAML


class _Dumper(yaml.SafeDumper):
    """js-yaml's layout: a list inside a mapping is indented under its key, a multi-line string is a literal
    block (``|-``), and long lines are not folded."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _string)


def _yaml(value: Any) -> str:
    text: str = yaml.dump(
        value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=2**31 - 1
    )
    return text


def encode_yaml(data: Any) -> Iterator[str]:
    """js-yaml's ``dump(data)``; a list's rows are dumped a chunk at a time (the same text as all at once)."""
    value = plain(data)
    if not isinstance(value, list) or not value:
        yield _yaml(value)
        return
    for chunk in _chunks(value):
        yield _yaml(list(chunk))


# ------------------------------------------------------------------------------------------ formats


def stamp(now: dt.datetime) -> str:
    """Directus's ``getDateTimeFormatted`` in export file names: ``YYYYMMDD-HMS``, the time not zero-padded."""
    return f"{now.year}{now.month:02d}{now.day:02d}-{now.hour}{now.minute}{now.second}"


FORMATS: Mapping[str, ExportFormat] = {
    "csv": ExportFormat("csv", "text/csv; charset=utf-8", encode_csv),
    "csv_utf8": ExportFormat("csv", "text/csv; charset=utf-8", encode_csv_utf8),
    "json": ExportFormat("json", "application/json; charset=utf-8", encode_json),
    "xml": ExportFormat("xml", "text/xml; charset=utf-8", encode_xml),
    "yaml": ExportFormat("yaml", "text/yaml; charset=utf-8", encode_yaml),
}
