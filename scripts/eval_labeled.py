#!/usr/bin/env python3
"""Evaluate vigil on the real labelled data in ../shared/data.

Runs from the repository root, reads the shared data in place (never copies
it into the repository), writes sorted or split copies and every replay's
output to a temporary directory, and prints the Markdown tables of the
"Real labelled data" section of EVALUATION.md, each after the command that
produced it.

    python3 scripts/eval_labeled.py [--vigil target/debug/vigil] [--data ../shared/data]
                                    [--rules rules] [--keep] [--part 1 2 3 4]
                                    [--window-minutes 60]

Python 3 standard library only.

Parts:
 1. CIC-IDS2017 (improved, 3 x 2500 sampled flows): time-sorted merged
    replay, flows classified from baseline findings on their source address
    within +-WINDOW minutes (--window-minutes, default the baselines'
    60-minute cooldown), with the +-15-minute figures as a secondary table;
    precision, recall, confusion, flagged BENIGN sources.
 2. Panther rule tests (Okta, Entra, osquery): each test log without mocks
    replayed alone; which vigil findings fire; per-rule coverage and
    agreement with expected_result.
 3. Panther scenario okta-add-administrator, replayed in story order.
 4. Mordor purplesharp AD playbook (password spray, Kerberoasting).
"""

import argparse
import collections
import csv
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile

TMP_TAG = "$TMP"


class Ctx:
    def __init__(self, args):
        self.vigil = args.vigil
        self.data = args.data
        self.rules = args.rules
        self.tmp = args.tmp
        self.verbose = args.verbose
        self.window = args.window_minutes

    def show(self, path):
        """A path as printed in the report: temp dir as $TMP."""
        p = str(path)
        if p.startswith(self.tmp):
            return TMP_TAG + p[len(self.tmp):]
        return p

    def cmd_text(self, argv):
        out = []
        for a in argv:
            a = self.show(a)
            if any(c in a for c in ' "\'*()<>|;&$') and not a.startswith(TMP_TAG):
                a = "'" + a.replace("'", "'\\''") + "'"
            out.append(a)
        return " ".join(out)

    def run(self, argv, check=True):
        if self.verbose:
            print("+ " + self.cmd_text(argv), file=sys.stderr)
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if check and p.returncode != 0:
            sys.exit(f"command failed ({p.returncode}): {self.cmd_text(argv)}\n{p.stderr}")
        return p

    def replay(self, paths, out, fmt=None, rules=True, extra=()):
        if os.path.exists(out):
            shutil.rmtree(out)
        argv = [self.vigil, "replay", *paths, "--out", out]
        if fmt:
            argv += ["--format", fmt]
        if rules:
            argv += ["--rules", rules if isinstance(rules, str) else self.rules]
        argv += list(extra)
        self.run(argv)
        with open(os.path.join(out, "summary.json")) as f:
            return argv, json.load(f)

    def sql(self, lake, query):
        argv = [self.vigil, "sql", "--lake", lake, "--format", "csv", query]
        p = self.run(argv)
        rows = list(csv.DictReader(io.StringIO(p.stdout)))
        return argv, rows


# ---------------------------------------------------------------- helpers


def ts_us(s):
    """RFC 3339 UTC text from `vigil sql` (or a naive CSV time) to epoch us."""
    s = s.strip().replace("T", " ")
    if s.endswith("Z"):
        s = s[:-1]
    frac = 0
    if "." in s:
        s, f = s.split(".", 1)
        frac = int((f + "000000")[:6])
    d = dt.datetime.strptime(s, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.timezone.utc)
    return int(d.timestamp()) * 1_000_000 + frac


def md_table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for r in rows:
        out.append("| " + " | ".join(md_cell(c) for c in r) + " |")
    return "\n".join(out)


def md_cell(c):
    if c is None:
        return ""
    if isinstance(c, float):
        return f"{c:.3f}"
    return str(c).replace("|", "\\|").replace("\n", " ")


def cmd_block(*cmds):
    return "```sh\n" + "\n".join(cmds) + "\n```"


def p(*a):
    print(*a)


def summary_counts(s):
    d = s.get("detector", {})
    return (
        f"records {s['records']}, rows {sum(s['rows'].values())} "
        f"({', '.join(f'{k}={v}' for k, v in sorted(s['rows'].items()))}), "
        f"dead letters {s['dead_letters']}, late {s['late']}, "
        f"baselines.late {d.get('baselines.late', 0)}, findings {s['findings']}, "
        f"risk changes {s['risk_changes']}, decisions {s['decisions']} "
        f"(allow {d.get('risk.decisions_allow', 0)}, step_up {d.get('risk.decisions_step_up', 0)}, "
        f"deny {d.get('risk.decisions_deny', 0)})"
    )


FINDINGS_Q = (
    "select time, metadata_log_name, finding_info_analytic_uid, finding_info_title, "
    "entity_type, entity_id, risk_score, message from detection_finding order by time, finding_info_analytic_uid"
)
RISK_Q = (
    "select time, entity_type, entity_id, risk_score, risk_level, risk_prev_level, message "
    "from entity_risk order by time, event_uid"
)


def print_findings(ctx, lake, title="Findings"):
    argv, rows = ctx.sql(lake, FINDINGS_Q)
    p(f"{title}:\n")
    p(cmd_block(ctx.cmd_text(argv)))
    p()
    p(
        md_table(
            ["time", "log", "analytic", "entity", "score", "message"],
            [
                (
                    r["time"],
                    r["metadata_log_name"],
                    r["finding_info_analytic_uid"]
                    + ("" if r["metadata_log_name"] == "baseline" else f" ({r['finding_info_title']})"),
                    f"{r['entity_type']}:{r['entity_id']}",
                    r["risk_score"],
                    r["message"],
                )
                for r in rows
            ],
        )
    )
    p()
    return rows


def print_risk(ctx, lake):
    argv, rows = ctx.sql(lake, RISK_Q)
    p("Entity risk:\n")
    p(cmd_block(ctx.cmd_text(argv)))
    p()
    p(
        md_table(
            ["time", "entity", "score", "level (from)", "message"],
            [
                (
                    r["time"],
                    f"{r['entity_type']}:{r['entity_id']}",
                    r["risk_score"],
                    f"{r['risk_level']} ({r['risk_prev_level']})",
                    r["message"],
                )
                for r in rows
            ],
        )
    )
    p()
    return rows


# ---------------------------------------------------------------- part 1

CIC_CLASSES = ["BENIGN", "Portscan", "SSH-Patator"]
SCAN = {"vigil.baseline.port_scan", "vigil.baseline.host_scan"}
BRUTE = {"vigil.baseline.network_brute_force"}
MIN = 60_000_000
# The baselines raise a signal at most once per entity per cooldown:
# `cooldown_minutes` of BehaviourConfig::default() in
# detect/src/behaviour/mod.rs. The default classification window.
COOLDOWN_MINUTES = 60
# The window of the secondary table (the window used before).
SECONDARY_WINDOW_MINUTES = 15


def fmt_min(m):
    return f"{m:g}"


def ratio(x):
    """A precision or recall: 3 decimals, 4 when 3 would round it up to 1.000."""
    if x != x:
        return "n/a"
    return f"{x:.4f}" if 0.9995 <= x < 1 else f"{x:.3f}"


def part1(ctx):
    base = os.path.join(ctx.data, "labeled", "cicids2017_improved")
    files = [os.path.join(base, f"{c}_2500.csv") for c in CIC_CLASSES]
    header, rows = None, []
    for path in files:
        with open(path, newline="") as f:
            rd = csv.reader(f)
            h = next(rd)
            if header is None:
                header = h
            if h != header:
                sys.exit(f"{path}: header differs from {files[0]}")
            rows.extend(rd)
    ti = header.index("Timestamp")
    rows.sort(key=lambda r: r[ti])  # fixed-width 'YYYY-MM-DD HH:MM:SS.ffffff' sorts as text
    merged = os.path.join(ctx.tmp, "cicids2017_sorted.csv")
    with open(merged, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)

    # Ground truth, keyed the way the lake can be keyed: the per-day row id
    # `id` is not unique across the sample (it restarts per capture day), but
    # (Label, id, UTC date) is.
    idx = {h: i for i, h in enumerate(header)}
    repeats = len(rows) - len({r[idx["id"]] for r in rows})
    truth = {}
    for r in rows:
        key = (r[idx["Label"]], r[idx["id"]], r[ti][:10])
        if key in truth:
            sys.exit(f"duplicate key {key}")
        truth[key] = r

    out = os.path.join(ctx.tmp, "cic")
    argv, summ = ctx.replay([merged], out, fmt="cicflow")
    lake = os.path.join(out, "lake")

    p("### 1. CIC-IDS2017 (improved), 3 x 2500 sampled flows\n")
    p("All of this subsection:\n")
    p(cmd_block("python3 scripts/eval_labeled.py --part 1"))
    p()
    p(
        "The three files are merged and sorted by `Timestamp` (header kept) into a temp "
        "file, then replayed once. The timestamps are read as UTC (the default; see the "
        "cicflow decoder's module docs on why these files are UTC, not lab time).\n"
    )
    p(
        cmd_block(
            "# python: merge "
            + " ".join(ctx.show(x) for x in files)
            + " sorted by Timestamp > $TMP/cicids2017_sorted.csv",
            ctx.cmd_text(argv),
        )
    )
    p()
    p(f"Summary: {summary_counts(summ)}.\n")

    fargv, findings = ctx.sql(
        lake,
        "select time, metadata_log_name, finding_info_analytic_uid, entity_type, entity_id, message "
        "from detection_finding order by time",
    )
    p("All findings of the replay:\n")
    p(cmd_block(ctx.cmd_text(fargv)))
    p()
    p(
        md_table(
            ["time", "log", "analytic", "entity", "message"],
            [
                (
                    f["time"],
                    f["metadata_log_name"],
                    f["finding_info_analytic_uid"],
                    f"{f['entity_type']}:{f['entity_id']}",
                    f["message"],
                )
                for f in findings
            ],
        )
    )
    p()

    nargv, flows = ctx.sql(
        lake,
        "select src_endpoint_ip, time, unmapped['id'] as row_id, unmapped['Label'] as label, date "
        "from network_activity",
    )
    # Join lake rows back to CSV rows.
    joined = {}
    unmatched = 0
    time_mismatch = 0
    for fl in flows:
        key = (fl["label"], fl["row_id"], fl["date"])
        r = truth.get(key)
        if r is None or key in joined:
            unmatched += 1
            continue
        if ts_us(fl["time"]) != ts_us(r[ti]) or fl["src_endpoint_ip"] != r[idx["Src IP"]]:
            time_mismatch += 1
        joined[key] = fl
    p(
        "Join: each `network_activity` row carries the CSV's own columns in `unmapped` "
        "(`unmapped['id']`, `unmapped['Label']`); `id` restarts per capture day, so it repeats "
        f"({repeats} of the {len(rows)} rows repeat an earlier row's `id`), and the key is "
        "(`Label`, `id`, `date`).\n"
    )
    p(cmd_block(ctx.cmd_text(nargv)))
    p()
    p(
        f"CSV rows {len(truth)}, lake rows {len(flows)}, joined {len(joined)}, lake rows without "
        f"a CSV row {unmatched}, joined rows whose time or source differs from the CSV "
        f"{time_mismatch}.\n"
    )
    if len(joined) != len(truth):
        p(f"**Warning: only {len(joined)} of {len(truth)} CSV rows found in the lake.**\n")

    by_ip = collections.defaultdict(list)
    for f in findings:
        if f["metadata_log_name"] == "baseline" and f["entity_type"] == "ip":
            by_ip[f["entity_id"]].append((ts_us(f["time"]), f["finding_info_analytic_uid"], f))

    def classify(src, t, window, lead=None):
        """Predicted class of a flow at `t` from `src`, from the findings on
        `src` raised at most `window` before the flow or at most `lead`
        (default `window`) after it."""
        lead = window if lead is None else lead
        scan = brute = False
        for ft, kind, _ in by_ip.get(src, ()):
            if -lead <= t - ft <= window:
                scan |= kind in SCAN
                brute |= kind in BRUTE
        if scan:
            return "Portscan", scan and brute
        if brute:
            return "SSH-Patator", False
        return "BENIGN", False

    def score(window, lead=None):
        conf = collections.Counter()
        both = 0
        for key, fl in joined.items():
            pred, b = classify(fl["src_endpoint_ip"], ts_us(fl["time"]), window, lead)
            both += b
            conf[(key[0], pred)] += 1
        stats = {}
        for c in CIC_CLASSES:
            tp = conf[(c, c)]
            fp = sum(conf[(o, c)] for o in CIC_CLASSES if o != c)
            fn = sum(conf[(c, o)] for o in CIC_CLASSES if o != c)
            prec = tp / (tp + fp) if tp + fp else float("nan")
            rec = tp / (tp + fn) if tp + fn else float("nan")
            stats[c] = (tp, fp, fn, prec, rec)
        return conf, stats, both

    win = ctx.window
    W = win * MIN

    def print_scores(w_min, heading):
        conf, stats, both = score(w_min * MIN)
        p(heading + f" Flows matching both: {both}.\n")
        p(
            md_table(
                ["label \\ predicted", *CIC_CLASSES, "total"],
                [
                    (c, *(conf[(c, o)] for o in CIC_CLASSES), sum(conf[(c, o)] for o in CIC_CLASSES))
                    for c in CIC_CLASSES
                ]
                + [("total", *(sum(conf[(c, o)] for c in CIC_CLASSES) for o in CIC_CLASSES), len(joined))],
            )
        )
        p()
        p(
            md_table(
                ["class", "TP", "FP", "FN", "precision", "recall"],
                [(c, *stats[c][:3], ratio(stats[c][3]), ratio(stats[c][4])) for c in CIC_CLASSES],
            )
        )
        p()
        return stats

    why = (
        " This is the baselines' cooldown (`cooldown_minutes`, 60 by default): a baseline raises "
        "a signal at most once per entity per cooldown by design, so while an attack goes on, the "
        "flows up to a cooldown after a finding are covered by that finding, not missed."
        if win == COOLDOWN_MINUTES
        else ""
    )
    p(
        "Rule: a flow is predicted Portscan when its source address has a "
        f"`vigil.baseline.port_scan` or `host_scan` finding within {fmt_min(win)} minutes either "
        "side of the flow's time; else SSH-Patator when it has a "
        f"`vigil.baseline.network_brute_force` finding within {fmt_min(win)} minutes; else BENIGN "
        f"(`--window-minutes {fmt_min(win)}`).{why}\n"
    )
    stats = print_scores(
        win,
        f"Confusion at ±{fmt_min(win)} min (rows: label, columns: predicted), and per-class "
        "precision and recall.",
    )
    if win != SECONDARY_WINDOW_MINUTES:
        sw = SECONDARY_WINDOW_MINUTES
        print_scores(
            sw,
            f"Secondary: the same rule with a ±{fmt_min(sw)} min window. A finding then covers only "
            f"the flows within {fmt_min(sw)} min of it, so the flows of an attack that goes on between "
            "two findings (a cooldown apart) count as missed.",
        )

    # Where the misses are.
    miss = collections.defaultdict(list)
    for key, fl in joined.items():
        pred, _ = classify(fl["src_endpoint_ip"], ts_us(fl["time"]), W)
        if key[0] != "BENIGN" and pred != key[0]:
            miss[key[0]].append(fl["time"])
    span = collections.defaultdict(list)
    for key, fl in joined.items():
        span[key[0]].append(fl["time"])
    rows_m = []
    for c in CIC_CLASSES[1:]:
        m = sorted(miss[c])
        rows_m.append(
            (
                c,
                f"{min(span[c])} .. {max(span[c])}",
                len(m),
                f"{m[0]} .. {m[-1]}" if m else "",
            )
        )
    p(f"Attack flows predicted BENIGN at ±{fmt_min(win)} min, and when:\n")
    p(md_table(["class", "all flows of the class", "missed", "missed flows' times"], rows_m))
    p()

    # When each attack was first flagged, against its flows' times.
    ttd = []
    for c, kinds in (("Portscan", SCAN), ("SSH-Patator", BRUTE)):
        ts = sorted(ts_us(fl["time"]) for key, fl in joined.items() if key[0] == c)
        srcs = {fl["src_endpoint_ip"] for key, fl in joined.items() if key[0] == c}
        hits = sorted(
            ft for s in srcs for ft, k, _ in by_ip.get(s, ()) if k in kinds and ts[0] - W <= ft <= ts[-1] + W
        )
        if not hits:
            ttd.append((c, ", ".join(sorted(srcs)), len(ts), 0, "", "", ""))
            continue
        before = sum(1 for t in ts if t <= hits[0])
        ttd.append(
            (
                c,
                ", ".join(sorted(srcs)),
                len(ts),
                len(hits),
                dt.datetime.fromtimestamp(hits[0] / 1e6, dt.timezone.utc).strftime("%H:%M:%S"),
                before,
                f"{(max(ts) - min(ts)) / 60e6:.0f} min",
            )
        )
    p(
        "When each attack was flagged (findings of the matching kinds on its source, from "
        f"{fmt_min(win)} min before the class's first flow to {fmt_min(win)} min after its last):\n"
    )
    p(
        md_table(
            ["class", "source", "flows", "findings", "first finding (UTC)", "flows of the class up to it",
             "first to last flow"],
            ttd,
        )
    )
    p()

    # BENIGN sources flagged.
    flagged = collections.defaultdict(lambda: [0, set()])
    for key, fl in joined.items():
        if key[0] != "BENIGN":
            continue
        t = ts_us(fl["time"])
        pred, _ = classify(fl["src_endpoint_ip"], t, W)
        if pred != "BENIGN":
            e = flagged[(fl["src_endpoint_ip"], pred)]
            e[0] += 1
            for ft, kind, f in by_ip[fl["src_endpoint_ip"]]:
                if abs(ft - t) <= W:
                    e[1].add(f"{f['time']} {kind}: {f['message']}")
    p(f"BENIGN flows flagged at ±{fmt_min(win)} min, by source address, with the findings that flagged them:\n")
    if flagged:
        p(
            md_table(
                ["source", "predicted", "BENIGN flows", "findings"],
                [(k[0], k[1], v[0], "; ".join(sorted(v[1]))) for k, v in sorted(flagged.items())],
            )
        )
    else:
        p("None.")
    p()
    benign_from_attacker = [
        fl for key, fl in joined.items() if key[0] == "BENIGN" and fl["src_endpoint_ip"] in by_ip
    ]
    if benign_from_attacker:
        p(
            f"BENIGN flows whose source has any finding at all: {len(benign_from_attacker)} "
            f"({', '.join(sorted(fl['src_endpoint_ip'] + ' at ' + fl['time'] for fl in benign_from_attacker))}).\n"
        )

    # Sensitivity to the window.
    srows = []
    for w in sorted({15, 30, 60, 120, win}):
        _, st, _ = score(w * MIN)
        srows.append((f"±{fmt_min(w)} min", *(f"{ratio(st[c][3])} / {ratio(st[c][4])}" for c in CIC_CLASSES)))
    # Only flows at or after a finding, up to the window after it: what the
    # findings covered once raised, without crediting flows before them.
    _, st, _ = score(W, 0)
    srows.append(
        (f"finding at most {fmt_min(win)} min before the flow (none after it)",
         *(f"{ratio(st[c][3])} / {ratio(st[c][4])}" for c in CIC_CLASSES))
    )
    p("Same rule with other windows (precision / recall):\n")
    p(md_table(["window", *CIC_CLASSES], srows))
    p()
    return stats


# ---------------------------------------------------------------- part 2

PANTHER_FILES = [
    ("okta_systemlog.jsonl", "okta", "identity/okta"),
    ("azure_signin_and_audit.jsonl", "entra", "cloud/azure"),
    ("osquery_differential.jsonl", "osquery", None),
]

BF_OKTA = {
    "vigil.baseline.brute_force_success",
    "vigil.baseline.failure_burst",
    "5e3f4a6b-7c8d-4e9f-8a1b-2c3d4e5f6a91",  # Sigma correlation okta_repeated_failures
    "6f4a5b7c-8d9e-4f0a-9b2c-3d4e5f6a7b01",  # Sigma correlation Okta brute force then success
}
STATEFUL = "stateful: one event cannot trigger it"

# Panther rule -> (vigil signals that stand for its behaviour, note).
# Rules not listed are behaviours vigil's baselines and shipped rules do not cover.
COVERAGE = {
    "Standard.BruteForceByUser": (BF_OKTA, "failure_burst / brute_force_success, Sigma okta_repeated_failures; " + STATEFUL),
    "Standard.BruteForceByIP": ({"vigil.baseline.password_spray"} | BF_OKTA, "password_spray (per source), failure_burst; " + STATEFUL),
    "Standard.ImpossibleTravel.Login": ({"vigil.baseline.impossible_travel"}, "impossible_travel; " + STATEFUL),
    "Okta.PotentiallyStolenSession": ({"vigil.baseline.session_hijack"}, "session_hijack; " + STATEFUL),
    "Okta.New.Behavior.Accessing.Admin.Console": (
        {"vigil.baseline.new_country", "vigil.baseline.new_device", "vigil.baseline.new_device_new_country"},
        "partly: new_country / new_device (any sign-in, not the admin console; Okta's own `behaviors` field is not read); " + STATEFUL,
    ),
    "Azure.Audit.ManyFailedSignIns": (
        {"vigil.baseline.failure_burst", "vigil.baseline.brute_force_success", "vigil.baseline.password_spray"},
        "failure_burst / password_spray; " + STATEFUL,
    ),
    "Azure.Audit.ExcessiveAccountLockouts": (
        {"vigil.baseline.failure_burst", "vigil.baseline.password_spray"},
        "partly: failure_burst counts failures, not lockouts; " + STATEFUL,
    ),
    "Azure.Audit.GraphSessionMultipleIPs": ({"vigil.baseline.session_hijack"}, "session_hijack (session id from two places); " + STATEFUL),
}


def part2(ctx):
    base = os.path.join(ctx.data, "labeled", "panther_rule_tests")
    p("### 2. Panther rule tests (Okta, Entra ID, osquery)\n")
    p("All of this subsection:\n")
    p(cmd_block("python3 scripts/eval_labeled.py --part 2"))
    p()
    p(
        "Each test whose `uses_mocks` is false has its `log` written alone to a temp file and "
        "replayed alone with the shipped rules; a second replay of the same file uses the "
        "SigmaHQ rules of that product in the shared data (`sigma/rules/identity/okta`, "
        "`sigma/rules/cloud/azure`), as a check of what Sigma content would add. "
        "vigil's verdict for a rule is whether one of the signals listed for it fired.\n"
    )
    p(
        cmd_block(
            "# for each test N of FILE (uses_mocks false): the test's log -> $TMP/panther/FILE/N.json",
            f"{ctx.vigil} replay $TMP/panther/FILE/N.json --format FMT --rules {ctx.rules} --out $TMP/panther/FILE/N",
            f"{ctx.vigil} sql --lake $TMP/panther/FILE/N/lake --format csv "
            "\"select metadata_log_name, finding_info_analytic_uid, finding_info_title from detection_finding\"",
            f"{ctx.vigil} replay $TMP/panther/FILE/N.json --format FMT --rules {ctx.data}/sigma/rules/SIGMADIR "
            "--no-baselines --out $TMP/panther/FILE/N.sigmahq",
            f"{ctx.vigil} sql --lake $TMP/panther/FILE/N.sigmahq/lake --format csv "
            "\"select distinct finding_info_title from detection_finding\"",
            "# FILE FMT SIGMADIR: okta_systemlog okta identity/okta; azure_signin_and_audit entra cloud/azure; "
            "osquery_differential osquery (none)",
        )
    )
    p()
    per_rule_all = []
    decode_rows = []
    fired_rows = []
    for fname, fmt, sigdir in PANTHER_FILES:
        tests = [json.loads(line) for line in open(os.path.join(base, fname))]
        d = os.path.join(ctx.tmp, "panther", fname.split(".")[0])
        os.makedirs(d, exist_ok=True)
        per_rule = collections.OrderedDict()
        decoded = collections.Counter()
        lowered = collections.Counter()
        for n, t in enumerate(tests):
            r = per_rule.setdefault(
                t["rule_id"],
                {"tests": 0, "mocks": 0, "run": 0, "true": 0, "agree": 0, "disagree": 0,
                 "fired_pos": collections.Counter(), "fired_neg": collections.Counter(),
                 "hq_pos": collections.Counter(), "hq_neg": collections.Counter(),
                 "hq_tp": 0, "hq_fp": 0},
            )
            r["tests"] += 1
            if t["uses_mocks"]:
                r["mocks"] += 1
                continue
            r["run"] += 1
            r["true"] += bool(t["expected_result"])
            src = os.path.join(d, f"{n}.json")
            with open(src, "w") as f:
                json.dump(t["log"], f)
                f.write("\n")
            out = os.path.join(d, str(n))
            _, s = ctx.replay([src], out, fmt=fmt)
            cls = ",".join(f"{k}" for k in sorted(s["rows"])) or "none"
            reasons = []
            dlq = os.path.join(out, "dlq.ndjson")
            if s["dead_letters"] and os.path.exists(dlq):
                reasons = sorted({json.loads(x)["reason"] for x in open(dlq) if x.strip()})
            lower = fmt == "okta" and "eventtype" in t["log"] and "eventType" not in t["log"]
            decoded[(cls, s["dead_letters"], "; ".join(reasons))] += 1
            lowered[cls] += lower
            fired = set()
            if s["findings"]:
                _, rows = ctx.sql(
                    os.path.join(out, "lake"),
                    "select metadata_log_name, finding_info_analytic_uid, finding_info_title from detection_finding",
                )
                for row in rows:
                    fired.add(row["finding_info_analytic_uid"])
                    key = (fname, t["rule_id"], t["test_name"], t["expected_result"])
                    fired_rows.append((*key, row["metadata_log_name"], row["finding_info_analytic_uid"], row["finding_info_title"]))
            tgt = r["fired_pos"] if t["expected_result"] else r["fired_neg"]
            for a in fired:
                tgt[a] += 1
            cov = COVERAGE.get(t["rule_id"])
            if cov:
                verdict = bool(fired & cov[0])
                if verdict == bool(t["expected_result"]):
                    r["agree"] += 1
                else:
                    r["disagree"] += 1
            if sigdir:
                _, s2 = ctx.replay(
                    [src], out + ".sigmahq", fmt=fmt, rules=os.path.join(ctx.data, "sigma", "rules", sigdir),
                    extra=["--no-baselines"],
                )
                if s2["findings"]:
                    _, rows = ctx.sql(
                        os.path.join(out + ".sigmahq", "lake"),
                        "select distinct finding_info_title from detection_finding",
                    )
                    tgt = r["hq_pos"] if t["expected_result"] else r["hq_neg"]
                    for row in rows:
                        tgt[row["finding_info_title"]] += 1
                    if t["expected_result"]:
                        r["hq_tp"] += 1
                    else:
                        r["hq_fp"] += 1
        for (cls, dl, why), n in sorted(decoded.items()):
            decode_rows.append((fname, fmt, cls, dl, why, n, lowered[cls] if fmt == "okta" else ""))
        per_rule_all.append((fname, fmt, per_rule))

    p("How the replayed test logs decode (tables written, dead letters):\n")
    p(
        md_table(
            ["file", "format", "tables", "dead letters", "reason", "tests",
             "of which Panther-lowercased `eventtype` (no `eventType`)"],
            decode_rows,
        )
    )
    p()
    p("Every vigil finding that fired on a single test log (shipped rules and baselines):\n")
    if fired_rows:
        p(md_table(["file", "Panther rule", "test", "expected", "log", "analytic", "title"], fired_rows))
    else:
        p("None.")
    p()

    totals = collections.Counter()
    for fname, fmt, per_rule in per_rule_all:
        p(f"`{fname}` (format `{fmt}`):\n")
        rows = []
        for rid, r in per_rule.items():
            cov = COVERAGE.get(rid)
            fp = sum(r["fired_neg"].values())
            rows.append(
                (
                    rid,
                    r["tests"],
                    r["mocks"],
                    f"{r['run']} ({r['true']} true)",
                    cov[1] if cov else "no",
                    f"{r['agree']} / {r['disagree']}" if cov else "",
                    ", ".join(f"{k} x{v}" for k, v in r["fired_pos"].items()) or "",
                    ", ".join(f"{k} x{v}" for k, v in r["fired_neg"].items()) or "",
                    (
                        f"{r['hq_tp']}/{r['true']} true, {r['hq_fp']}/{r['run'] - r['true']} false"
                        + (": " + "; ".join(sorted(set(r["hq_pos"]) | set(r["hq_neg"]))) if r["hq_pos"] or r["hq_neg"] else "")
                    )
                    if fmt != "osquery"
                    else "n/a",
                )
            )
            totals["rules"] += 1
            totals["tests"] += r["tests"]
            totals["run"] += r["run"]
            totals["covered_rules"] += bool(cov)
            totals["covered_run"] += r["run"] if cov else 0
            totals["agree"] += r["agree"]
            totals["disagree"] += r["disagree"]
            totals["fired_neg"] += fp
        p(
            md_table(
                [
                    "Panther rule", "tests", "mocks (skipped)", "replayed", "covered by vigil?",
                    "agree / disagree", "vigil findings on expected-true", "vigil findings on expected-false",
                    "SigmaHQ rules fired on",
                ],
                rows,
            )
        )
        p()
    p(
        f"Totals: {totals['rules']} Panther rules, {totals['tests']} tests, {totals['run']} replayed "
        f"(no mocks); {totals['covered_rules']} rules ({totals['covered_run']} replayed tests) are "
        f"behaviours vigil covers; on those, agree {totals['agree']}, disagree {totals['disagree']}.\n"
    )
    return totals


# ---------------------------------------------------------------- part 3


def print_decisions(ctx, lake, where=""):
    argv, rows = ctx.sql(
        lake,
        "select time, user_name, device_hostname, src_endpoint_ip, src_endpoint_location_country as country, "
        "decision, decision_reasons, user_risk_score, device_risk_score from trust_decision "
        + where
        + " order by time, event_uid",
    )
    p("Trust decisions:\n")
    p(cmd_block(ctx.cmd_text(argv)))
    p()
    p(
        md_table(
            ["time", "user", "device", "source", "country", "decision", "reasons", "user risk", "device risk"],
            [
                (
                    r["time"], r["user_name"], r["device_hostname"], r["src_endpoint_ip"], r["country"],
                    r["decision"], ", ".join(json.loads(r["decision_reasons"] or "[]")),
                    r["user_risk_score"], r["device_risk_score"],
                )
                for r in rows
            ],
        )
    )
    p()
    return rows


def part3(ctx):
    okta = os.path.join(ctx.data, "auth", "okta")
    steps = ["1_legit_login", "2_brute_force_logins", "3_admin_privs_assigned", "4_new-user"]
    files = [os.path.join(okta, f"panther_scenario_okta-add-administrator_{s}.jsonl") for s in steps]
    out = os.path.join(ctx.tmp, "okta_add_admin")
    argv, s = ctx.replay(files, out)
    lake = os.path.join(out, "lake")
    p("### 3. Panther scenario okta-add-administrator\n")
    p("All of this subsection:\n")
    p(cmd_block("python3 scripts/eval_labeled.py --part 3"))
    p()
    p("The four files in story order, one replay:\n")
    p(cmd_block(ctx.cmd_text(argv)))
    p()
    p(f"Summary: {summary_counts(s)}.\n")
    argv2, evs = ctx.sql(
        lake,
        "select time, metadata_event_code, user_name, status, src_endpoint_ip, "
        "src_endpoint_location_country as country from authentication order by time",
    )
    p("Sign-ins as read:\n")
    p(cmd_block(ctx.cmd_text(argv2)))
    p()
    p(md_table(["time", "event", "user", "status", "source", "country"], [tuple(r.values()) for r in evs]))
    p()
    f = print_findings(ctx, lake)
    rk = print_risk(ctx, lake)
    d = print_decisions(ctx, lake)
    return f, rk, d


# ---------------------------------------------------------------- part 4


def part4(ctx):
    path = os.path.join(
        ctx.data, "auth", "windows_json", "purplesharp_ad_playbook_I_2020-10-22042947.security_auth.json"
    )
    out = os.path.join(ctx.tmp, "purplesharp")
    argv, s = ctx.replay([path], out)
    lake = os.path.join(out, "lake")
    p("### 4. Mordor purplesharp AD playbook I (password spray, Kerberoasting)\n")
    p("All of this subsection:\n")
    p(cmd_block("python3 scripts/eval_labeled.py --part 4"))
    p()
    p(cmd_block(ctx.cmd_text(argv)))
    p()
    p(f"Summary: {summary_counts(s)}.\n")
    f = print_findings(ctx, lake)
    rk = print_risk(ctx, lake)
    argv3, rows = ctx.sql(
        lake,
        "select user_name, decision, count(*) as n, min(time) as first, max(time) as last, "
        "min(user_risk_score) as min_risk, max(user_risk_score) as max_risk, "
        "max(decision_reasons) as reasons from trust_decision group by 1, 2 order by 4",
    )
    p("Trust decisions (all are pgustavo's network logons, type 3, on MORDORDC, WORKSTATION6 and WORKSTATION7):\n")
    p(cmd_block(ctx.cmd_text(argv3)))
    p()
    p(
        md_table(
            ["user", "decision", "logons", "first", "last", "user risk min", "max", "reasons (one)"],
            [tuple(r.values()) for r in rows],
        )
    )
    p()

    # The SigmaHQ Windows Security rules, for the counts SOURCES.md gives by hand.
    sig = os.path.join(ctx.data, "sigma", "rules", "windows", "builtin", "security")
    out2 = os.path.join(ctx.tmp, "purplesharp.sigmahq")
    argv2, s2 = ctx.replay([path], out2, rules=sig, extra=["--no-baselines"])
    argv4, rows = ctx.sql(
        os.path.join(out2, "lake"),
        "select finding_info_analytic_uid, finding_info_title, count(*) as n from detection_finding "
        "group by 1, 2 order by 3 desc, 2",
    )
    p(
        "Check against the hand-counted answers in SOURCES.md (Sigma 496a0e47 RC4 Kerberos: 5, "
        "d04ae2b8 Kerberoasting: 5, 9eb99343 failed-logon reasons: 0) with the SigmaHQ Windows "
        "Security rules of the shared data:\n"
    )
    p(cmd_block(ctx.cmd_text(argv2), ctx.cmd_text(argv4)))
    p()
    p(md_table(["rule id", "title", "matches"], [tuple(r.values()) for r in rows]))
    p()
    return f, rk


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vigil", default="target/debug/vigil")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--rules", default="rules")
    ap.add_argument("--tmp", default=None, help="work directory (default: a new temp dir, removed unless --keep)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--part", type=int, nargs="*", default=[1, 2, 3, 4])
    ap.add_argument(
        "--window-minutes",
        type=float,
        default=COOLDOWN_MINUTES,
        help="part 1: a flow is predicted as an attack class when its source has that class's finding "
        "within this many minutes either side (default %(default)g, the baselines' cooldown_minutes); "
        f"the +-{SECONDARY_WINDOW_MINUTES} min figures are printed as well",
    )
    ap.add_argument("-v", "--verbose", action="store_true", help="echo every command to stderr")
    args = ap.parse_args()
    if not os.path.exists(args.vigil):
        sys.exit(f"{args.vigil} not found: build it with `cargo build --bin vigil` or pass --vigil")
    made = args.tmp is None
    if made:
        args.tmp = tempfile.mkdtemp(prefix="vigil-eval-")
    else:
        os.makedirs(args.tmp, exist_ok=True)
    args.tmp = os.path.abspath(args.tmp)
    ctx = Ctx(args)
    try:
        ver = ctx.run([ctx.vigil, "--version"]).stdout.strip()
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
        p(f"<!-- produced by scripts/eval_labeled.py with {ver}, commit {head}{' plus uncommitted changes' if dirty else ''}; $TMP is the script's temp dir -->\n")
        if 1 in args.part:
            part1(ctx)
        if 2 in args.part:
            part2(ctx)
        if 3 in args.part:
            part3(ctx)
        if 4 in args.part:
            part4(ctx)
    finally:
        if made and not args.keep:
            shutil.rmtree(args.tmp, ignore_errors=True)
        elif args.keep:
            print(f"work directory kept: {args.tmp}", file=sys.stderr)


if __name__ == "__main__":
    main()
