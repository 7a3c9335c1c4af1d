"""Time DuckDB running pySigma's SQL for the shared rules (not a test).

The same rules and events as differential.py: the rules vigil loads and
pySigma converts (with vigil's logsource conditions added, see there),
sorted by rule id, as (a) the first 100 and (b) all of them; the events of
events.py in one DuckDB table. One pass runs every rule's query once over
the table; the figure is the median of --repeat passes, as events/s
(events divided by the pass time) and seconds per pass.

pySigma has no DuckDB backend that works with pySigma 2, so the SQLite
backend's SQL runs with three rewrites DuckDB needs: `x REGEXP 'r'` becomes
`regexp_matches(x, 'r')`, a bare number compared with a text column
becomes a string (DuckDB would cast the column to a number and stop at the
first value that is not one), and every column is VARCHAR COLLATE NOCASE
(DuckDB's `=` and LIKE then ignore case, as SQLite's NOCASE and LIKE do).
Before timing, each rule's DuckDB result is checked against SQLite's; a
rule whose results differ is reported and left out of the timing.

Usage (after scripts/test.sh has built vigil and the venv):
  ~/.cache/vigil/pysigma-venv/bin/python tests/pysigma/bench_duckdb.py \\
      --vigil target/debug/vigil [--threads 1] [--repeat 5]
"""

import argparse
import re
import shlex
import statistics
import sys
import time
from pathlib import Path

import duckdb

import differential as diff
import events as ev

NUMBER_CMP = re.compile(r"""(?P<f>[A-Za-z_][\w.]*|"[^"]+"|`[^`]+`)(?P<op>=|<>|<=|>=|<|>)(?P<n>-?\d+(?:\.\d+)?)(?=[\s)]|$)""")
REGEXP = re.compile(r"""(?P<f>[A-Za-z_][\w.]*|"[^"]+"|`[^`]+`) REGEXP (?P<r>'(?:[^']|'')*')""")


def duck_sql(sql: str) -> str:
    head = "SELECT * FROM logs WHERE "
    where = sql[len(head) :]
    where = REGEXP.sub(lambda m: f"regexp_matches({m['f']}, {m['r']})", where)
    where = NUMBER_CMP.sub(lambda m: f"{m['f']}{m['op']}'{m['n']}'", where)
    return "SELECT _file, _ordinal FROM logs WHERE " + where


def load_duckdb(events, threads: int, extra_columns) -> duckdb.DuckDBPyConnection:
    names = sorted({n for _, _, f in events for n in f} | set(extra_columns))
    db = duckdb.connect(":memory:")
    db.execute(f"SET threads = {threads}")
    cols = ", ".join(f"{diff.quote(n)} VARCHAR COLLATE NOCASE" for n in names)
    db.execute(f"CREATE TABLE logs (_file VARCHAR, _ordinal INTEGER, _fulltext VARCHAR, {cols})")
    rows = [
        (file, i, "\n".join(fields.values()), *(fields.get(n) for n in names))
        for file, i, fields in events
    ]
    marks = ", ".join("?" for _ in range(len(names) + 3))
    db.executemany(f"INSERT INTO logs VALUES ({marks})", rows)
    return db


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vigil", required=True, help="the vigil binary")
    ap.add_argument("--data", default=str(diff.REPO.parent / "shared/data"))
    ap.add_argument("--threads", type=int, default=1, help="DuckDB threads (default 1)")
    ap.add_argument("--repeat", type=int, default=5, help="timed passes per set")
    a = ap.parse_args()
    data = Path(a.data).resolve()
    rules = data / "sigma/rules"

    events = ev.load(data)
    sqlite = diff.load_sqlite(events)
    converted, _ = diff.convert(rules, diff.scope_pipeline(diff.REPO / "rules/mappings/windows.yml"))
    not_loaded = diff.vigil_not_loaded(a.vigil, rules)
    shared = {}
    for rid, (_, _, sql) in sorted(converted.items()):
        if rid in not_loaded:
            continue
        try:
            shared[rid] = (sql, diff.run_sql(sqlite, sql))
        except Exception as e:  # left out, as in differential.py
            print(f"left out {rid}: its SQL does not run in SQLite: {e}", file=sys.stderr)
    # Columns SQLite had to add for fields no event has.
    extra = [r[1] for r in sqlite.execute("PRAGMA table_info(logs)").fetchall()]
    duck = load_duckdb(events, a.threads, [c for c in extra if not c.startswith("_")])

    agreed = []
    for rid, (sql, want) in shared.items():
        q = duck_sql(sql)
        try:
            got = set(duck.execute(q).fetchall())
        except duckdb.Error as e:
            print(f"left out {rid}: DuckDB cannot run it: {e}".splitlines()[0], file=sys.stderr)
            continue
        if got != want:
            print(f"left out {rid}: DuckDB matches {len(got)}, SQLite {len(want)}", file=sys.stderr)
            continue
        agreed.append((rid, q))

    print(f"command: {shlex.join(sys.argv)}")
    print(
        f"duckdb {duckdb.__version__}, {a.threads} thread(s); {len(events)} events; "
        f"{len(agreed)} rules agree with SQLite of {len(shared)} both sides evaluate"
    )
    for name, rules_set in (("first 100 by id", agreed[:100]), ("all", agreed)):
        passes = []
        for _ in range(a.repeat + 1):
            t0 = time.perf_counter()
            for _, q in rules_set:
                duck.execute(q).fetchall()
            passes.append(time.perf_counter() - t0)
        secs = statistics.median(passes[1:])  # the first pass warms up
        print(
            f"{name:>16}: {len(rules_set)} rules, {len(events) / secs:,.0f} events/s, "
            f"{secs:.3f} s per pass (median of {a.repeat})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
