"""The shared Windows events as flat rows of Sigma field names.

Used by differential.py (SQLite) and bench_duckdb.py (DuckDB), so both load
exactly the events `vigil rules match` reads, named by (file, ordinal): the
file's path under the shared data and the 0-based JSON value within it,
which is how vigil's JSON framing counts records (a top-level array counts
each element).

Flattening follows the convention of SigmaHQ's tooling for EVTX rendered as
JSON (Zircolite, evtx-sigma-checker): an EventData/UserData member is named
by itself (`Image`), a System element by its element name (`Channel`,
`EventID`), an XML attribute as `Element_Attribute` (`Provider_Name`,
`TimeCreated_SystemTime`), `#text` as its element, an array item `name.N`.
The flat NXLog shape keeps its top-level names, with nested members dotted,
and adds the System names NXLog renamed (`Computer` from `Hostname`,
`Provider_Name` from `SourceName`, `EventRecordID` from `RecordNumber`), as
Sigma rules name them. JSON null is left out (Sigma `null` means absent).
Values are text: numbers as written in the JSON, booleans `true`/`false`.

This is written from the convention, not from vigil's decoder, so a
difference in field naming shows up as a difference in matches.
"""

import json
from pathlib import Path

# The flat NXLog exports of Windows logs in the shared data (auth/). The
# third file there is a Sentinel table export, another shape, left out.
NXLOG_FILES = (
    "auth/windows_json/purplesharp_ad_playbook_I_2020-10-22042947.security_auth.json",
    "auth/windows_json/empire_shell_rubeus_asktgt_ptt_2020-09-21223848.json",
)

NXLOG_ALIASES = {
    "Computer": "Hostname",
    "Provider_Name": "SourceName",
    "EventRecordID": "RecordNumber",
}


def event_files(data: Path) -> list[Path]:
    """Every JSON event file: the regression cases, then the NXLog files."""
    cases = sorted((data / "sigma/regression_data").rglob("*.json"))
    return cases + [data / f for f in NXLOG_FILES]


def json_values(text: str, path: Path):
    """The JSON values of a file: NDJSON, concatenated or pretty-printed
    objects; the elements of a top-level array."""
    dec = json.JSONDecoder()
    at = 0
    text = text.lstrip("\ufeff")
    while True:
        while at < len(text) and text[at] in " \t\r\n":
            at += 1
        if at >= len(text):
            return
        try:
            value, at = dec.raw_decode(text, at)
        except json.JSONDecodeError as e:
            raise SystemExit(f"{path}: not JSON at character {at}: {e}") from e
        if isinstance(value, list):
            yield from value
        else:
            yield value


def scalar(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return v
    return json.dumps(v)


def _walk(out: dict, name: str, v, dotted: bool) -> None:
    if v is None:
        return
    if isinstance(v, list):
        for i, x in enumerate(v):
            _walk(out, f"{name}.{i}", x, dotted)
    elif isinstance(v, dict):
        _members(out, name, v, dotted)
    else:
        out.setdefault(name, scalar(v))


def _members(out: dict, parent: str, obj: dict, dotted: bool) -> None:
    for k, v in obj.items():
        if k == "#text":
            _walk(out, parent, v, dotted)
        elif k == "#attributes":
            for a, x in (v or {}).items():
                _walk(out, f"{parent}_{a}" if parent else a, x, dotted)
        elif dotted and parent:
            _walk(out, f"{parent}.{k}", v, dotted)
        else:
            _walk(out, k, v, dotted)


def flatten(rec: dict) -> dict:
    """One event as {Sigma field name: text}."""
    out: dict = {}
    event = rec.get("Event")
    if isinstance(event, dict) and "System" in event:
        _members(out, "", event["System"], dotted=False)
        for part in ("EventData", "UserData"):
            if isinstance(event.get(part), dict):
                _members(out, "", event[part], dotted=False)
        return out
    for k, v in rec.items():
        if k in ("EventData", "UserData") and isinstance(v, dict):
            _members(out, "", v, dotted=False)
        else:
            _walk(out, k, v, dotted=True)
    for sigma_name, nxlog_name in NXLOG_ALIASES.items():
        if sigma_name not in out and nxlog_name in out:
            out[sigma_name] = out[nxlog_name]
    return out


def load(data: Path) -> list[tuple[str, int, dict]]:
    """(file relative to `data`, ordinal, fields) for every event."""
    events = []
    for path in event_files(data):
        if not path.is_file():
            raise SystemExit(f"{path}: missing")
        name = path.relative_to(data).as_posix()
        text = path.read_text(encoding="utf-8")
        for i, rec in enumerate(json_values(text, path)):
            if not isinstance(rec, dict):
                raise SystemExit(f"{path}: record {i} is not a JSON object")
            events.append((name, i, flatten(rec)))
    return events
