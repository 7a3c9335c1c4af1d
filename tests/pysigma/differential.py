"""Differential test: vigil's Sigma engine against pySigma's SQLite backend.

Both sides read the same rules (../shared/data/sigma/rules) and the same
Windows events (events.py: the SigmaHQ regression events and two NXLog
exports). vigil reports its matches through `vigil rules match`; pySigma
converts each rule to SQL, which runs in SQLite over the events flattened
to Sigma field names. For every rule both sides evaluate, the sets of
matching (file, ordinal) must be equal, except for the differences recorded
in known_differences.yml with the side that is right and why.

Logsource: pySigma's SQL backend scopes nothing by logsource, while vigil
runs a rule only on events its logsource covers (rules/mappings/*.yml). So
the conditions of vigil's windows mapping are added to each rule through a
pySigma processing pipeline built from that same file: one
AddConditionTransformation per logsource entry, applied to the rules whose
logsource it covers (LogsourceCondition), with `unmapped[Field]` read as
the Sigma field `Field`. The product-level condition on vigil's own column
`metadata_product_name` has no field in the events; every event here is a
Windows event, which vigil's Windows decoders name with one of the listed
products, so it holds for all of them and is left out. This compares the
engines, not the mapping: a wrong Channel or EventID in windows.yml would
be wrong on both sides alike. Rules of other products (cloud, identity,
linux, zeek) cover none of these events: vigil must match none with them.

SQLite as the backend expects it (as Zircolite builds its table): every
field a TEXT column with COLLATE NOCASE, so `=` is case-insensitive like
Sigma (SQLite folds ASCII only); LIKE is ASCII case-insensitive by default;
REGEXP is Python's re.search, unanchored, flags as the (?i) prefix the
backend writes; fieldless keywords match a `_fulltext` column holding the
event's values, one per line (the backend's fulltext_field option).

Usage: differential.py --vigil target/debug/vigil [--data ../shared/data]
Exits non-zero on any difference not in known_differences.yml, on a
recorded difference that no longer occurs, or on an error.
"""

import argparse
import json
import re
import sqlite3
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import yaml
from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import AddConditionTransformation

import events as ev

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
KNOWN = HERE / "known_differences.yml"


# ---------------------------------------------------------------- rules


def scope_pipeline(mapping_file: Path) -> ProcessingPipeline:
    """vigil's windows logsource conditions as a pySigma pipeline."""
    doc = yaml.safe_load(mapping_file.read_text(encoding="utf-8"))
    items = []
    for i, entry in enumerate(doc["logsources"]):
        conds = {}
        for key, want in (entry.get("conditions") or {}).items():
            m = re.fullmatch(r"unmapped\[(.+)\]", key)
            if m is None:
                if key != "metadata_product_name":
                    raise SystemExit(f"{mapping_file}: entry {i}: no field for {key}")
                continue
            conds[m.group(1)] = [str(w) for w in want] if isinstance(want, list) else str(want)
        if not conds:
            continue
        ls = entry["logsource"]
        items.append(
            ProcessingItem(
                identifier=f"vigil_scope_{i}",
                transformation=AddConditionTransformation(conds),
                rule_conditions=[LogsourceCondition(**ls)],
            )
        )
    return ProcessingPipeline(name="vigil windows logsources", priority=10, items=items)


def rule_files(rules: Path) -> list[Path]:
    return sorted(p for p in rules.rglob("*") if p.suffix in (".yml", ".yaml"))


def convert(rules: Path, pipeline: ProcessingPipeline):
    """{rule id: (path, logsource product, SQL)} and {path: why not}."""
    converted, failed = {}, {}
    for path in rule_files(rules):
        try:
            coll = SigmaCollection.from_yaml(path.read_text(encoding="utf-8"))
            backend = sqliteBackend(pipeline, fulltext_field="_fulltext")
            for rule in coll.rules:
                queries = backend.convert_rule(rule)
                if len(queries) != 1:
                    raise ValueError(f"{len(queries)} queries")
                product = (rule.logsource.product or "").lower()
                converted[str(rule.id)] = (path, product, queries[0])
        except Exception as e:  # pySigma raises many kinds; each is a reason
            failed[path] = f"{type(e).__name__}: {e}".splitlines()[0]
    return converted, failed


# ---------------------------------------------------------------- SQLite


def regexp(pattern, value):
    if value is None:
        return None
    return re.search(_compiled(pattern), str(value)) is not None


_RE_CACHE: dict = {}


def _compiled(pattern):
    if pattern not in _RE_CACHE:
        _RE_CACHE[pattern] = re.compile(pattern)
    return _RE_CACHE[pattern]


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load_sqlite(events) -> sqlite3.Connection:
    columns: dict[str, str] = {}
    for file, i, fields in events:
        for name in fields:
            seen = columns.setdefault(name.lower(), name)
            if seen != name:
                raise SystemExit(
                    f"{file} record {i}: fields {seen!r} and {name!r} differ only in "
                    "case, and SQL column names do not"
                )
    names = sorted(columns.values())
    db = sqlite3.connect(":memory:")
    db.create_function("REGEXP", 2, regexp, deterministic=True)
    cols = ", ".join(f"{quote(n)} TEXT COLLATE NOCASE" for n in names)
    db.execute(f"CREATE TABLE logs (_file TEXT, _ordinal INTEGER, _fulltext TEXT, {cols})")
    marks = ", ".join("?" for _ in range(len(names) + 3))
    rows = [
        (file, i, "\n".join(fields.values()), *(fields.get(n) for n in names))
        for file, i, fields in events
    ]
    db.executemany(f"INSERT INTO logs VALUES ({marks})", rows)
    return db


def run_sql(db: sqlite3.Connection, sql: str) -> set:
    head = "SELECT * FROM logs WHERE "
    if not sql.startswith(head):
        raise ValueError(f"unexpected query shape: {sql[:80]}")
    query = "SELECT _file, _ordinal FROM logs WHERE " + sql[len(head) :]
    while True:
        try:
            return set(db.execute(query).fetchall())
        except sqlite3.OperationalError as e:
            # A field no event has: an empty column, as an absent field.
            m = re.fullmatch(r"no such column: (.+)", str(e))
            if m is None:
                raise
            db.execute(f"ALTER TABLE logs ADD COLUMN {quote(m.group(1))} TEXT COLLATE NOCASE")


# ---------------------------------------------------------------- vigil


def vigil_not_loaded(vigil: str, rules: Path) -> set:
    """Ids of the rules vigil fails to load or cannot place."""
    check = subprocess.run(
        [vigil, "rules", "check", str(rules)], cwd=REPO, capture_output=True, text=True
    )
    ids = set()
    for line in check.stdout.splitlines():
        m = re.search(r"\bid (\S+)", line)
        if m and line.startswith(("failed", "no mapping")):
            ids.add(m.group(1))
    return ids


def vigil_matches(vigil: str, rules: Path, data: Path, files: list[str]) -> dict:
    """{rule id: {(file under data, ordinal)}} from `vigil rules match`."""
    paths = {str(data / f): f for f in files}
    out = subprocess.run(
        [vigil, "rules", "match", "--rules", str(rules), *paths],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise SystemExit(f"vigil rules match failed:\n{out.stderr}")
    if any(l.startswith("dead letter:") for l in out.stderr.splitlines()):
        raise SystemExit(f"vigil could not decode some events:\n{out.stderr}")
    hits = defaultdict(set)
    for line in out.stdout.splitlines():
        m = json.loads(line)
        hits[m["rule_id"]].add((paths[m["file"]], m["ordinal"]))
    return hits


# ---------------------------------------------------------------- compare


def read_known() -> dict:
    if not KNOWN.is_file():
        return {}
    doc = yaml.safe_load(KNOWN.read_text(encoding="utf-8")) or []
    known = {}
    for d in doc:
        for key in ("rule", "file", "ordinal", "right", "why"):
            if key not in d:
                raise SystemExit(f"{KNOWN}: an entry has no {key}: {d}")
        if d["right"] not in ("vigil", "pysigma"):
            raise SystemExit(f"{KNOWN}: right must be vigil or pysigma: {d}")
        known[(d["rule"], d["file"], d["ordinal"])] = d
    return known


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vigil", required=True, help="the vigil binary")
    ap.add_argument("--data", default=str(REPO.parent / "shared/data"))
    ap.add_argument("-v", "--verbose", action="store_true", help="a line per rule")
    a = ap.parse_args()
    data = Path(a.data).resolve()
    rules = data / "sigma/rules"
    vigil = str(Path(a.vigil).resolve()) if "/" in a.vigil else a.vigil
    if not rules.is_dir():
        print(f"{rules}: missing (the differential test needs the shared data)", file=sys.stderr)
        return 1

    events = ev.load(data)
    files = list(dict.fromkeys(f for f, _, _ in events))
    db = load_sqlite(events)
    converted, conv_failed = convert(rules, scope_pipeline(REPO / "rules/mappings/windows.yml"))
    theirs_by_rule = {}
    sql_failed = {}
    for rid, (path, product, sql) in converted.items():
        if product != "windows":
            theirs_by_rule[rid] = set()
            continue
        try:
            theirs_by_rule[rid] = run_sql(db, sql)
        except (sqlite3.Error, ValueError, re.error) as e:
            sql_failed[rid] = f"{type(e).__name__}: {e}"
    not_loaded = vigil_not_loaded(vigil, rules)
    ours_by_rule = vigil_matches(vigil, rules, data, files)

    known = read_known()
    used = set()
    compared = passed = failed = 0
    matches = [0, 0]
    for path, why in sorted(conv_failed.items()):
        print(f"excluded  {path.relative_to(rules)}: pySigma cannot convert it: {why}")
    for rid, why in sorted(sql_failed.items()):
        print(f"excluded  {rid}: its SQL does not run: {why}")
    for rid in sorted(not_loaded):
        print(f"excluded  {rid}: vigil does not load it (see vigil rules check)")
    for rid in sorted(theirs_by_rule):
        if rid in not_loaded:
            continue
        theirs, ours = theirs_by_rule[rid], ours_by_rule.get(rid, set())
        compared += 1
        matches[0] += len(ours)
        matches[1] += len(theirs)
        bad = []
        for side, only in (("vigil", ours - theirs), ("pysigma", theirs - ours)):
            for f, o in sorted(only):
                k = known.get((rid, f, o))
                if k is not None:
                    used.add((rid, f, o))
                    print(f"known     {rid} {f}#{o}: only {side} matches; {k['right']} is right")
                else:
                    bad.append(f"only {side} matches {f}#{o}")
        if bad:
            failed += 1
            print(f"DIFF      {rid} ({converted[rid][0].relative_to(rules)}):")
            for b in bad:
                print(f"            {b}")
        else:
            passed += 1
            if a.verbose:
                print(f"same      {rid}: {len(ours)} events")
    for k in sorted(set(known) - used):
        failed += 1
        print(f"STALE     {k[0]} {k[1]}#{k[2]}: recorded as a difference, but both sides agree")
    windows = sum(
        1 for rid, (_, product, _) in converted.items() if product == "windows" and rid not in not_loaded
    )
    loaded_ids = set(ours_by_rule)
    stray = sorted(loaded_ids - set(theirs_by_rule) - set(sql_failed))
    for rid in stray:
        print(f"note      {rid}: vigil matched events with a rule pySigma could not convert")
    print(
        f"pysigma differential: {compared} rules compared ({windows} of them Windows rules; "
        f"the others cover none of these events) over {len(events)} events "
        f"in {len(files)} files; {matches[0]} matches by vigil, {matches[1]} by pySigma; "
        f"excluded {len(conv_failed)} rule files pySigma cannot convert, "
        f"{len(sql_failed)} whose SQL does not run, {len(not_loaded)} vigil does not load; "
        f"{len(used)} recorded differences"
    )
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
