//! `vigil rules check`, `vigil rules test` and `vigil replay --rules` on the
//! shared Sigma rules, regression cases and the purplesharp Security log.

mod common;

use common::{replay, shared, sql_csv, vigil, vigil_ok};

#[test]
fn rules_check_loads_the_shared_rules() {
    let rules = shared("sigma/rules");
    let out = vigil_ok(&["rules", "check", &rules.display().to_string()]);
    // 418 rule files (SOURCES.md). Three have logsources vigil has no
    // decoder for (Cisco Duo, OneLogin twice): they load but never run.
    let first = out.lines().next().unwrap_or("");
    assert_eq!(
        first,
        "418 rules in 418 files: 415 loaded, 3 without a logsource mapping, 0 failed"
    );
    assert_eq!(
        out.lines().filter(|l| l.starts_with("no mapping")).count(),
        3
    );
}

#[test]
fn rules_check_reports_bad_rules_and_fails() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = "title: ok\nid: good-1\nlogsource: {product: windows, service: security}\n\
                detection:\n  sel: {EventID: 4624}\n  condition: sel\n";
    let files = [
        ("good.yml", good.to_string()),
        (
            "bad_yaml.yml",
            "title: x\nid: bad-yaml\ndetection: [\n".to_string(),
        ),
        (
            "bad_mod.yml",
            good.replace("good-1", "bad-mod")
                .replace("EventID:", "EventID|nosuch:"),
        ),
        (
            "bad_cond.yml",
            good.replace("good-1", "bad-cond")
                .replace("condition: sel", "condition: sel and nope"),
        ),
        (
            "bad_re.yml",
            good.replace("good-1", "bad-re")
                .replace("EventID: 4624", "CommandLine|re: 'a(b'"),
        ),
        (
            // A 1 MB regex: refused by the size limit, not compiled for
            // seconds or held in memory.
            "huge_re.yml",
            good.replace("good-1", "huge-re").replace(
                "EventID: 4624",
                &format!("CommandLine|re: '{}'", "a".repeat(1 << 20)),
            ),
        ),
    ];
    for (name, text) in &files {
        std::fs::write(dir.path().join(name), text).expect("write rule");
    }
    let out = vigil(&["rules", "check", &dir.path().display().to_string()]);
    assert!(!out.status.success(), "check must fail when a rule fails");
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or("");
    assert_eq!(
        first,
        "6 rules in 6 files: 1 loaded, 0 without a logsource mapping, 5 failed"
    );
    for (id, feature) in [
        ("bad-yaml", "[yaml]"),
        ("bad-mod", "[modifier nosuch]"),
        ("bad-cond", "[condition]"),
        ("bad-re", "invalid regex"),
        ("huge-re", "limit"),
    ] {
        let line = text
            .lines()
            .find(|l| l.starts_with("failed") && l.contains(&format!("id {id} ")))
            .unwrap_or_else(|| panic!("no failure line for {id}:\n{text}"));
        assert!(line.contains(feature), "{line}");
    }
    assert!(
        text.contains("unsupported or invalid: condition: 1"),
        "{text}"
    );
}

#[test]
fn rules_test_passes_every_regression_case() {
    let rules = shared("sigma/rules").display().to_string();
    let cases = shared("sigma/regression_data").display().to_string();
    let out = vigil_ok(&["rules", "test", "--rules", &rules, "--cases", &cases]);
    // 192 case folders (SOURCES.md); four have a match_count below what
    // the rule matches in their events (see src/rules.rs), noted only.
    assert_eq!(out.lines().last(), Some("192 passed, 0 failed"), "{out}");
    assert_eq!(out.lines().filter(|l| l.starts_with("FAIL")).count(), 0);
    assert_eq!(out.lines().filter(|l| l.starts_with("NOTE")).count(), 4);
}

#[test]
fn rules_test_fails_a_case_whose_rule_does_not_fire() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules");
    let case = dir.path().join("cases/one");
    std::fs::create_dir_all(&rules).expect("mkdir");
    std::fs::create_dir_all(&case).expect("mkdir");
    let rule = "title: t\nid: r-9\nlogsource: {product: windows, service: security}\n\
                detection:\n  sel: {EventID: 4625}\n  condition: sel\n";
    std::fs::write(rules.join("r.yml"), rule).expect("write");
    std::fs::write(case.join("info.yml"), "rule_metadata:\n  - id: r-9\n").expect("write");
    let ev = r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing"}},"EventID":4624,"Channel":"Security","Computer":"h","TimeCreated":{"#attributes":{"SystemTime":"2024-01-01T00:00:00Z"}}},"EventData":{"TargetUserName":"a"}}}"##;
    std::fs::write(case.join("r-9.json"), ev).expect("write");
    let out = vigil(&[
        "rules",
        "test",
        "--rules",
        &rules.display().to_string(),
        "--cases",
        &dir.path().join("cases").display().to_string(),
    ]);
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("FAIL") && text.contains("rule r-9 matched none of 1 events"),
        "{text}"
    );
    assert_eq!(text.lines().last(), Some("0 passed, 1 failed"));
}

#[test]
fn replay_with_rules_finds_the_kerberoast_and_no_failed_logon_reasons() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input =
        shared("auth/windows_json/purplesharp_ad_playbook_I_2020-10-22042947.security_auth.json");
    let rules = shared("sigma/rules").display().to_string();
    replay(&[&input], dir.path(), &["--rules", &rules]);
    // SOURCES.md known answers: 5 x 496a0e47 (RC4 tickets), 5 x d04ae2b8
    // (Kerberoasting), 0 x 9eb99343 (failed logon reasons).
    let count = |id: &str| {
        sql_csv(
            dir.path(),
            &format!(
                "select count(*) from detection_finding \
                 where finding_info_analytic_uid like '{id}%'"
            ),
        )
    };
    assert_eq!(count("496a0e47"), ["5"]);
    assert_eq!(count("d04ae2b8"), ["5"]);
    assert_eq!(count("9eb99343"), ["0"]);
    // The five RC4 findings concern pgustavo, as SOURCES.md says (the
    // 4769 TargetUserName is pgustavo@THESHIRE.LOCAL, lower-cased as the
    // entity id), and carry distinct stable ids.
    let who = sql_csv(
        dir.path(),
        "select entity_type, entity_id, count(distinct finding_info_uid) \
         from detection_finding where finding_info_analytic_uid like '496a0e47%' group by 1, 2",
    );
    assert_eq!(who, ["user,pgustavo@theshire.local,5"]);
}

/// A nested EVTX-JSON event on one line.
fn evtx_json(channel: &str, id: u32, user: &str, logon_type: u32) -> String {
    format!(
        r##"{{"Event":{{"System":{{"Provider":{{"#attributes":{{"Name":"P"}}}},"EventID":{id},"Channel":"{channel}","Computer":"h","TimeCreated":{{"#attributes":{{"SystemTime":"2024-01-01T00:00:00Z"}}}}}},"EventData":{{"TargetUserName":"{user}","LogonType":{logon_type}}}}}}}"##
    )
}

#[test]
fn rules_match_names_each_matched_event_by_file_and_ordinal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).expect("mkdir");
    let head = "logsource: {product: windows, service: security}\ndetection:\n";
    let logon = format!(
        "title: a\nid: r-logon\n{head}  sel: {{EventID: 4624, LogonType: 3}}\n  condition: sel\n"
    );
    let admin = format!(
        "title: b\nid: r-admin\n{head}  sel: {{TargetUserName|startswith: ADM}}\n  condition: sel\n"
    );
    std::fs::write(rules.join("a.yml"), logon).expect("write");
    std::fs::write(rules.join("b.yml"), admin).expect("write");

    // NDJSON: ordinal 0 is a network logon of alice (r-logon); 1 a failed
    // logon of admin (r-admin); 2 a network logon of administrator (both);
    // 3 is the same as 2 on the Sysmon channel, outside the security
    // service, so neither rule may see it.
    let lines = [
        evtx_json("Security", 4624, "alice", 3),
        evtx_json("Security", 4625, "admin", 3),
        evtx_json("Security", 4624, "administrator", 3),
        evtx_json(
            "Microsoft-Windows-Sysmon/Operational",
            4624,
            "administrator",
            3,
        ),
    ];
    let first = dir.path().join("one.json");
    std::fs::write(&first, lines.join("\n") + "\n").expect("write");
    // Two pretty-printed objects: only the second (ordinal 1, line 4)
    // matches, a type-2 logon of adm.
    let second = dir.path().join("two.json");
    let pretty = format!(
        "{}\n\n{}\n",
        evtx_json("Security", 4624, "bob", 2),
        evtx_json("Security", 4624, "adm", 2)
    )
    .replace("{\"Event\"", "{\n\"Event\"");
    std::fs::write(&second, pretty).expect("write");

    let (a, b) = (first.display().to_string(), second.display().to_string());
    let out = vigil_ok(&[
        "rules",
        "match",
        "--rules",
        &rules.display().to_string(),
        &a,
        &b,
    ]);
    let got: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let want = [
        ("r-logon", &a, 0, 1),
        ("r-admin", &a, 1, 2),
        ("r-admin", &a, 2, 3),
        ("r-logon", &a, 2, 3),
        ("r-admin", &b, 1, 4),
    ];
    let key = |v: &serde_json::Value| {
        (
            v["rule_id"].as_str().unwrap_or("").to_string(),
            v["file"].as_str().unwrap_or("").to_string(),
            v["ordinal"].as_u64(),
            v["line"].as_u64(),
        )
    };
    let mut got_keys: Vec<_> = got.iter().map(key).collect();
    got_keys.sort_by(|x, y| (&x.1, x.2, &x.0).cmp(&(&y.1, y.2, &y.0)));
    let want_keys: Vec<_> = want
        .iter()
        .map(|(r, f, o, l)| (r.to_string(), f.to_string(), Some(*o), Some(*l)))
        .collect();
    assert_eq!(got_keys, want_keys, "{out}");
    // Both matches of ordinal 2 name the same event; ids are 32 hex digits
    // and differ between events.
    let uid = |rule: &str, ord: u64| {
        got.iter()
            .find(|v| v["rule_id"] == rule && v["file"] == a.as_str() && v["ordinal"] == ord)
            .and_then(|v| v["event_uid"].as_str())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(uid("r-logon", 2), uid("r-admin", 2));
    assert_ne!(uid("r-logon", 0), uid("r-logon", 2));
    assert!(
        uid("r-logon", 0).len() == 32 && uid("r-logon", 0).bytes().all(|c| c.is_ascii_hexdigit())
    );
}
