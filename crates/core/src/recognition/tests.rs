//! One case per condition and per boundary: each case changes one fact of a recognizable
//! result and states the decision and the reason codes it must give.

use super::*;
use crate::qc::{EqaEvent, EqaPolicy};

const DAY: i64 = 86_400;
/// 2026-11-02 08:00 UTC, the collection time of the base result.
const COLLECTED: i64 = 1_793_606_400;
const GLU: &str = "9000033-2";

fn wuhan() -> Region {
    Region {
        province: "420000".into(),
        city: "420100".into(),
        alliances: vec!["wh-east".into()],
    }
}

fn yichang() -> Region {
    Region {
        province: "420000".into(),
        city: "420500".into(),
        alliances: vec![],
    }
}

fn changsha() -> Region {
    Region {
        province: "430000".into(),
        city: "430100".into(),
        alliances: vec![],
    }
}

fn entry(scope: &str, days: u32, mark: &str, strict: bool) -> CatalogueEntry {
    CatalogueEntry {
        scope: Scope::parse(scope).unwrap(),
        national_code: GLU.into(),
        validity_days: days,
        mark: mark.into(),
        strict_iqc: strict,
    }
}

/// The facts of one case, owned, changed by each case before the decision.
struct Case {
    result: ResultFacts,
    issuer: Region,
    receiver: Region,
    catalogue: Vec<CatalogueEntry>,
    eqa: Vec<EqaEvent>,
    eqa_policy: EqaPolicy,
    iqc: IqcDay,
    interval: IntervalCheck,
    at: i64,
}

fn eqa_event(id: &str, date_days: i64, samples: u32, acceptable: u32) -> EqaEvent {
    EqaEvent {
        program: "NCCL".into(),
        event: id.into(),
        date: date_days,
        samples,
        acceptable,
        passed: None,
    }
}

fn base() -> Case {
    let today = COLLECTED / DAY;
    Case {
        result: ResultFacts {
            national_code: GLU.into(),
            status: ResultStatus::Final,
            value_in_canonical_unit: true,
            mapping: MappingUse::ApprovedEquivalent,
            collected_at: COLLECTED,
        },
        issuer: wuhan(),
        receiver: yichang(),
        catalogue: vec![entry("420000", 30, "鄂HR", false)],
        eqa: vec![
            eqa_event("2026-1", today - 200, 5, 5),
            eqa_event("2026-2", today - 60, 5, 5),
        ],
        eqa_policy: EqaPolicy::default(),
        iqc: IqcDay::InControl,
        interval: IntervalCheck::Agrees,
        at: COLLECTED + 3 * DAY,
    }
}

fn decide_case(c: &Case) -> Decision {
    let eqa = c.eqa_policy.assess(&c.eqa, c.at / DAY);
    decide(&Facts {
        result: &c.result,
        issuer: &c.issuer,
        receiver: &c.receiver,
        catalogue: &c.catalogue,
        eqa: &eqa,
        iqc: &c.iqc,
        interval: &c.interval,
        at: c.at,
    })
}

/// `expected`: the codes of every reason, failures and warnings alike, in order.
fn check(name: &str, change: impl FnOnce(&mut Case), recognizable: bool, expected: &[&str]) {
    let mut c = base();
    change(&mut c);
    let d = decide_case(&c);
    let codes: Vec<&str> = d.reasons.iter().map(|r| r.code).collect();
    assert_eq!(
        (d.recognizable, codes.as_slice()),
        (recognizable, expected),
        "case `{name}`: {:#?}",
        d.reasons
    );
    for r in &d.reasons {
        assert!(!r.zh.is_empty() && !r.en.is_empty(), "case `{name}`: {r:?}");
    }
}

#[test]
fn the_base_case_is_recognizable_with_its_scope_mark_and_window() {
    let d = decide_case(&base());
    assert!(d.recognizable, "{:#?}", d.reasons);
    assert!(d.reasons.is_empty());
    let e = d.entry.unwrap();
    assert_eq!(
        (e.scope, e.mark.as_str()),
        (Scope::Province("420000".into()), "鄂HR")
    );
    assert_eq!(d.valid_until, Some(COLLECTED + 30 * DAY));
}

#[test]
fn catalogue_and_scope() {
    check(
        "not on any catalogue",
        |c| c.catalogue.clear(),
        false,
        &["not-in-catalogue"],
    );
    check(
        "another item only",
        |c| c.catalogue[0].national_code = "9000052-2".into(),
        false,
        &["not-in-catalogue"],
    );
    check(
        "receiver in another province",
        |c| c.receiver = changsha(),
        false,
        &["scope-not-covering"],
    );
    check(
        "issuer in another province",
        |c| c.issuer = changsha(),
        false,
        &["scope-not-covering"],
    );
    check(
        "city scope, receiver in another city of the province",
        |c| c.catalogue = vec![entry("420100", 30, "武汉HR", false)],
        false,
        &["scope-not-covering"],
    );
    check(
        "city scope, both in the city",
        |c| {
            c.catalogue = vec![entry("420100", 30, "武汉HR", false)];
            c.receiver = wuhan();
        },
        true,
        &[],
    );
    check(
        "alliance scope, receiver outside the alliance",
        |c| c.catalogue = vec![entry("wh-east", 30, "HR", false)],
        false,
        &["scope-not-covering"],
    );
    check(
        "alliance scope, both members",
        |c| {
            c.catalogue = vec![entry("wh-east", 30, "HR", false)];
            c.receiver.alliances.push("wh-east".into());
        },
        true,
        &[],
    );
    check(
        "national scope covers another province",
        |c| {
            c.catalogue = vec![entry("national", 14, "HR", false)];
            c.receiver = changsha();
        },
        true,
        &[],
    );
}

#[test]
fn several_scopes_the_longest_window_wins() {
    let mut c = base();
    c.receiver = wuhan();
    c.catalogue = vec![
        entry("420000", 7, "鄂HR", false),
        entry("420100", 30, "武汉HR", false),
        entry("national", 7, "HR", false),
    ];
    c.at = COLLECTED + 20 * DAY;
    let d = decide_case(&c);
    assert!(d.recognizable, "{:#?}", d.reasons);
    assert_eq!(d.entry.unwrap().mark, "武汉HR");
    // Equal windows: the broader scope's mark.
    c.catalogue = vec![
        entry("420100", 7, "武汉HR", false),
        entry("420000", 7, "鄂HR", false),
    ];
    c.at = COLLECTED;
    assert_eq!(decide_case(&c).entry.unwrap().mark, "鄂HR");
}

#[test]
fn eqa() {
    let today = COLLECTED / DAY + 3;
    check("no EQA at all", |c| c.eqa.clear(), false, &["eqa-missing"]);
    check(
        "latest event 80 % exactly",
        |c| c.eqa[1].acceptable = 4,
        true,
        &[],
    );
    check(
        "latest event 60 %",
        |c| c.eqa[1].acceptable = 3,
        false,
        &["eqa-unsatisfactory"],
    );
    check(
        "two consecutive unsatisfactory",
        |c| {
            c.eqa[0].acceptable = 3;
            c.eqa[1].acceptable = 2;
        },
        false,
        &["eqa-unsatisfactory", "eqa-unsuccessful"],
    );
    check(
        "two of the last three unsatisfactory, latest satisfactory",
        |c| {
            c.eqa[0].acceptable = 3;
            c.eqa[1].acceptable = 1;
            c.eqa.push(eqa_event("2026-3", today - 10, 5, 5));
        },
        false,
        &["eqa-unsuccessful"],
    );
    check(
        "one of the last three unsatisfactory",
        |c| {
            c.eqa[0].acceptable = 3;
            c.eqa.push(eqa_event("2026-3", today - 10, 5, 5));
        },
        true,
        &[],
    );
    check(
        "latest event exactly 365 days old",
        |c| c.eqa = vec![eqa_event("2025-2", today - 365, 5, 5)],
        true,
        &[],
    );
    check(
        "latest event 366 days old",
        |c| c.eqa = vec![eqa_event("2025-2", today - 366, 5, 5)],
        false,
        &["eqa-too-old"],
    );
    check(
        "a policy of six months",
        |c| {
            c.eqa = vec![eqa_event("2026-1", today - 200, 5, 5)];
            c.eqa_policy.max_age_days = 183;
        },
        false,
        &["eqa-too-old"],
    );
    check(
        "the provider's verdict overrides the percentage",
        |c| {
            c.eqa[1].acceptable = 3;
            c.eqa[1].passed = Some(true);
        },
        true,
        &[],
    );
    check(
        "an event after `at` is not known yet",
        |c| c.eqa.push(eqa_event("2026-3", today + 5, 5, 0)),
        true,
        &[],
    );
}

#[test]
fn iqc() {
    check(
        "1-2s only: a warning",
        |c| c.iqc = IqcDay::Warning(vec!["1-2s".into()]),
        true,
        &["iqc-warning"],
    );
    for rule in ["1-3s", "2-2s", "R-4s", "4-1s", "10x"] {
        check(
            rule,
            |c| c.iqc = IqcDay::Rejected(vec![rule.into()]),
            false,
            &["iqc-rejected"],
        );
    }
    check(
        "missing, not strict",
        |c| c.iqc = IqcDay::Missing,
        true,
        &["iqc-missing"],
    );
    check(
        "missing, strict scope",
        |c| {
            c.iqc = IqcDay::Missing;
            c.catalogue[0].strict_iqc = true;
        },
        false,
        &["iqc-missing"],
    );
}

#[test]
fn reference_interval() {
    // Glucose, national 3.9–6.1 mmol/L, TEa 7 %: ±0.273 at 3.9, ±0.427 at 6.1.
    let tea = Tea {
        percent: Some(7.0),
        absolute: None,
    };
    let national = (Some(3.9), Some(6.1));
    let cmp = |low: f64, high: f64| compare_intervals((Some(low), Some(high)), national, &tea);
    check(
        "harmonized",
        |c| c.interval = IntervalCheck::Harmonized,
        true,
        &[],
    );
    check(
        "just inside TEa",
        |c| c.interval = cmp(3.9 - 0.27, 6.1 + 0.42),
        true,
        &[],
    );
    check(
        "exactly at TEa",
        |c| c.interval = cmp(3.9 - 0.273, 6.1),
        true,
        &[],
    );
    check(
        "low bound just outside TEa",
        |c| c.interval = cmp(3.9 - 0.28, 6.1),
        false,
        &["interval-disagrees"],
    );
    check(
        "high bound just outside TEa",
        |c| c.interval = cmp(3.9, 6.1 + 0.43),
        false,
        &["interval-disagrees"],
    );
    check(
        "a bound on one side only",
        |c| c.interval = compare_intervals((None, Some(6.1)), national, &tea),
        false,
        &["interval-disagrees"],
    );
    check(
        "no national interval",
        |c| c.interval = IntervalCheck::NoNationalInterval,
        true,
        &[],
    );
    check(
        "lab interval unknown",
        |c| c.interval = IntervalCheck::NoLabInterval,
        false,
        &["interval-missing"],
    );
    check(
        "no TEa for the item",
        |c| c.interval = compare_intervals((Some(3.9), Some(6.1)), national, &Tea::default()),
        false,
        &["interval-no-tea"],
    );
    // The larger of the absolute and the percentage limit applies: at 3.9, 5 % is 0.195,
    // so only the absolute 0.33 lets 3.58 agree.
    let both = Tea {
        percent: Some(5.0),
        absolute: Some(0.33),
    };
    assert_eq!(
        compare_intervals((Some(3.58), Some(6.1)), national, &both),
        IntervalCheck::Agrees
    );
    assert!(matches!(
        compare_intervals((Some(3.5), Some(6.1)), national, &both),
        IntervalCheck::Disagrees { bound: "low", .. }
    ));
}

#[test]
fn validity_window() {
    check(
        "the last second of the last day",
        |c| c.at = COLLECTED + 30 * DAY,
        true,
        &[],
    );
    check(
        "the day after",
        |c| c.at = COLLECTED + 31 * DAY,
        false,
        &["validity-expired"],
    );
    check(
        "one second late",
        |c| c.at = COLLECTED + 30 * DAY + 1,
        false,
        &["validity-expired"],
    );
    check(
        "a seven-day item on day 8",
        |c| {
            c.catalogue[0].validity_days = 7;
            c.at = COLLECTED + 8 * DAY;
        },
        false,
        &["validity-expired"],
    );
}

#[test]
fn the_result_itself() {
    for (status, ok) in [
        (ResultStatus::Final, true),
        (ResultStatus::Amended, true),
        (ResultStatus::Corrected, true),
        (ResultStatus::Preliminary, false),
        (ResultStatus::Registered, false),
        (ResultStatus::Cancelled, false),
        (ResultStatus::EnteredInError, false),
    ] {
        let expected: &[&str] = if ok { &[] } else { &["status-not-final"] };
        check(status.as_str(), |c| c.result.status = status, ok, expected);
    }
    check(
        "no value in the canonical unit",
        |c| c.result.value_in_canonical_unit = false,
        false,
        &["value-not-canonical"],
    );
    check(
        "unapproved mapping",
        |c| c.result.mapping = MappingUse::NotApproved,
        false,
        &["mapping-not-approved"],
    );
    check(
        "approved but wider mapping",
        |c| c.result.mapping = MappingUse::ApprovedNotEquivalent,
        false,
        &["mapping-not-equivalent"],
    );
    check(
        "sent in a national code",
        |c| c.result.mapping = MappingUse::Direct,
        true,
        &[],
    );
}

#[test]
fn every_failed_condition_is_reported() {
    check(
        "everything wrong at once",
        |c| {
            c.receiver = changsha();
            c.eqa.clear();
            c.iqc = IqcDay::Rejected(vec!["1-3s".into()]);
            c.interval = IntervalCheck::NoLabInterval;
            c.result.status = ResultStatus::Preliminary;
            c.result.mapping = MappingUse::NotApproved;
        },
        false,
        &[
            "scope-not-covering",
            "eqa-missing",
            "iqc-rejected",
            "interval-missing",
            "status-not-final",
            "mapping-not-approved",
        ],
    );
}

#[test]
fn scopes_parse() {
    assert_eq!(Scope::parse("national"), Ok(Scope::National));
    assert_eq!(
        Scope::parse(" 420000 "),
        Ok(Scope::Province("420000".into()))
    );
    assert_eq!(Scope::parse("420100"), Ok(Scope::City("420100".into())));
    assert_eq!(
        Scope::parse("wh-east"),
        Ok(Scope::Alliance("wh-east".into()))
    );
    assert!(Scope::parse("420102").is_err(), "a county is not a scope");
    assert!(Scope::parse("").is_err());
    assert!(Scope::parse("wh east").is_err());
    assert_eq!(Scope::City("420100".into()).to_string(), "420100");
}

#[test]
fn the_interval_condition_from_what_is_known() {
    let tea = Tea {
        percent: Some(7.0),
        absolute: None,
    };
    let national = Some((Some(3.9), Some(6.1)));
    let lab = Some((Some(3.9), Some(6.2)));
    assert_eq!(
        interval_condition(lab, false, None, Some(&tea)),
        IntervalCheck::NoNationalInterval
    );
    assert_eq!(
        interval_condition(None, true, national, None),
        IntervalCheck::Harmonized
    );
    assert_eq!(
        interval_condition(None, false, national, Some(&tea)),
        IntervalCheck::NoLabInterval
    );
    assert_eq!(
        interval_condition(lab, false, national, None),
        IntervalCheck::NoTea
    );
    assert_eq!(
        interval_condition(lab, false, national, Some(&tea)),
        IntervalCheck::Agrees
    );
    assert!(matches!(
        interval_condition(Some((Some(3.5), Some(6.1))), false, national, Some(&tea)),
        IntervalCheck::Disagrees { bound: "low", .. }
    ));
}
