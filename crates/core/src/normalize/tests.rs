use super::*;
use crate::code::national_code;
use crate::concept::{Axes, Release};
use crate::mapping::{Equivalence, HospitalId, LocalTerm};
use crate::reference::ReferenceInterval;
use crate::registry::CurrentRelease;
use crate::result::{Identifier, Sex};

fn code(n: u32) -> String {
    national_code(9_000_000 + n).unwrap()
}

fn concept(n: u32, loinc: &str, component: &str, property: &str, unit: &str) -> Concept {
    let molar_mass = match component {
        "Glucose" => Some(180.16),
        "Creatinine" => Some(113.12),
        _ => None,
    };
    Concept {
        code: code(n),
        axes: Some(Axes {
            component: component.into(),
            property: property.into(),
            time_aspct: "Pt".into(),
            system: "Ser/Plas".into(),
            scale_typ: "Qn".into(),
            method_typ: String::new(),
        }),
        class: "CHEM".into(),
        display_zh: component.into(),
        display_en: component.into(),
        short_name: String::new(),
        abbreviations: vec![],
        synonyms_zh: vec![],
        synonyms_en: vec![],
        ucum_unit: unit.into(),
        molar_mass,
        status: Status::Active,
        replaced_by: String::new(),
        loinc: loinc.into(),
    }
}

fn registry() -> Registry {
    let concepts = vec![
        concept(33, "14749-6", "Glucose", "SCnc", "mmol/L"),
        concept(34, "2345-7", "Glucose", "MCnc", "mg/dL"),
        concept(29, "14682-9", "Creatinine", "SCnc", "umol/L"),
        concept(16, "1742-6", "Alanine aminotransferase", "CCnc", "U/L"),
        concept(52, "2823-3", "Potassium", "SCnc", "mmol/L"),
        concept(1, "6690-2", "Leukocytes", "NCnc", "10*9/L"),
        concept(55, "2000-8", "Calcium", "SCnc", "mmol/L"),
    ];
    let release = Release {
        id: 1,
        system: CodeSystem::National,
        label: "test".into(),
        imported_at: String::new(),
        source: String::new(),
        concept_count: concepts.len() as i64,
    };
    Registry::new(
        vec![release.clone()],
        vec![CurrentRelease::new(release, concepts)],
    )
}

fn intervals() -> ReferenceIntervals {
    let row = |sex, low: &str, high: &str| ReferenceInterval {
        national_code: code(16),
        sex,
        age_low: Some(20.0),
        age_high: Some(80.0),
        low: Decimal::parse(low),
        high: Decimal::parse(high),
        unit: "U/L".into(),
        method: String::new(),
        standard: "WS/T 404.1-2012".into(),
    };
    ReferenceIntervals::new(vec![
        row(Some(Sex::Male), "9", "50"),
        row(Some(Sex::Female), "7", "40"),
    ])
}

fn mapping(local: &str, target: u32, unit: &str, status: MappingStatus) -> Mapping {
    Mapping {
        hospital: HospitalId::parse("hosp-a").unwrap(),
        term: LocalTerm {
            local_code: local.into(),
            local_name: "葡萄糖".into(),
            unit: unit.into(),
            ..LocalTerm::default()
        },
        national_code: if target == 0 {
            String::new()
        } else {
            code(target)
        },
        loinc: String::new(),
        unit_ucum: unit.into(),
        unit_alias: String::new(),
        equivalence: Equivalence::Equivalent,
        status,
        proposed_by: "a".into(),
        updated_by: "b".into(),
        updated_at: 0,
    }
}

fn result(origin: CodeOrigin, code: &str, value: &str, unit: &str) -> LabResult {
    let mut r = LabResult::new("test");
    r.identifier = Some(Identifier::new("urn:test", "1"));
    r.codes.push(SentCode {
        origin,
        code: code.into(),
        display: "葡萄糖".into(),
    });
    let (comparator, number) = Comparator::split(value);
    r.value = SentValue::Quantity {
        value: Decimal::parse(number).unwrap(),
        comparator,
        unit: unit.into(),
    };
    r
}

fn run(r: LabResult, m: Option<&Mapping>) -> Normalized {
    let registry = registry();
    let intervals = intervals();
    let options = NormalizeOptions::default();
    let ctx = Context {
        registry: &registry,
        intervals: &intervals,
        options: &options,
    };
    normalize(&ctx, r, m)
}

fn reported(n: &Normalized) -> (String, String, String) {
    let SentValue::Quantity { value, unit, .. } = &n.value.value else {
        panic!("not a quantity: {:?}", n.value)
    };
    (
        n.concept.as_ref().map_or(String::new(), |c| c.code.clone()),
        value.to_string(),
        unit.clone(),
    )
}

#[test]
fn glucose_in_mg_dl_is_reported_in_mmol_l_under_the_molar_code() {
    let m = mapping("001", 33, "mg/dL", MappingStatus::Approved);
    let n = run(result(CodeOrigin::Local, "001", "100", "mg/dL"), Some(&m));
    assert_eq!(reported(&n), (code(33), "5.551".into(), "mmol/L".into()));
    assert_eq!(n.value.ucum.as_deref(), Some("mmol/L"));
    let original = n.original.unwrap();
    assert_eq!(
        (original.value.as_str(), original.unit.as_str()),
        ("100", "mg/dL")
    );
    assert!(n.hold.is_none());
}

#[test]
fn a_mass_code_switches_to_its_molar_twin() {
    // Mapped to the mass code, or sent with the mass LOINC: never mmol/L on the mass code.
    let m = mapping("001", 34, "mg/dL", MappingStatus::Approved);
    let n = run(result(CodeOrigin::Local, "001", "100", "mg/dL"), Some(&m));
    assert_eq!(reported(&n), (code(33), "5.551".into(), "mmol/L".into()));
    assert!(n.issues.iter().any(|i| i.code == "code-switch"));
    let n = run(result(CodeOrigin::Loinc, "2345-7", "126", "mg/dl"), None);
    assert_eq!(reported(&n), (code(33), "6.994".into(), "mmol/L".into()));
    assert!(n.issues.iter().any(|i| i.code == "unit-alias"));
}

#[test]
fn values_in_the_canonical_unit_keep_their_digits() {
    let m = mapping("GLU", 33, "mmol/L", MappingStatus::Approved);
    let n = run(result(CodeOrigin::Local, "GLU", "6.30", "mmol/L"), Some(&m));
    assert_eq!(reported(&n), (code(33), "6.30".into(), "mmol/L".into()));
    assert!(n.original.is_none());
    // A respelled unit keeps the number but records what was sent.
    let n = run(result(CodeOrigin::Local, "GLU", "6.30", "mmol/l"), Some(&m));
    assert_eq!(reported(&n), (code(33), "6.30".into(), "mmol/L".into()));
    assert_eq!(n.original.unwrap().unit, "mmol/l");
}

#[test]
fn comparators_survive_conversion() {
    let n = run(result(CodeOrigin::Loinc, "14682-9", "<0.5", "mg/dL"), None);
    let SentValue::Quantity {
        comparator, value, ..
    } = &n.value.value
    else {
        panic!()
    };
    assert_eq!(*comparator, Some(Comparator::Lt));
    assert_eq!(value.as_str(), "44.2");
}

#[test]
fn unknown_units_are_flagged_never_guessed() {
    for unit in ["K/ul", "K/uL", "G/l/", "bananas"] {
        let n = run(result(CodeOrigin::National, &code(1), "6.1", unit), None);
        let SentValue::Quantity {
            value, unit: kept, ..
        } = &n.value.value
        else {
            panic!()
        };
        assert_eq!((value.as_str(), kept.as_str()), ("6.1", unit));
        assert_eq!(n.value.ucum, None, "{unit}");
        assert!(
            n.issues
                .iter()
                .any(|i| i.code == "unit-unknown" && i.severity == Severity::Warning),
            "{unit}: {:?}",
            n.issues
        );
    }
    // A valid unit of the wrong kind is kept unconverted and flagged too.
    let n = run(result(CodeOrigin::National, &code(33), "5.5", "%"), None);
    assert!(n.issues.iter().any(|i| i.code == "unit-mismatch"));
    assert_eq!(reported(&n).1, "5.5");
}

#[test]
fn unmapped_and_unapproved_local_codes_are_held_and_queued() {
    let n = run(result(CodeOrigin::Local, "XYZ", "1", "mmol/L"), None);
    assert_eq!(n.hold.as_ref().unwrap().reason, "unmapped");
    assert_eq!(n.unmapped_local.as_ref().unwrap().code, "XYZ");
    assert!(n.concept.is_none());
    let m = mapping("001", 33, "mg/dL", MappingStatus::Proposed);
    let n = run(result(CodeOrigin::Local, "001", "100", "mg/dL"), Some(&m));
    assert_eq!(n.hold.as_ref().unwrap().reason, "not-approved");
    // The value is still kept as sent.
    assert_eq!(reported(&n).1, "100");
    // With a LOINC code beside it the result goes through, but the local code is queued.
    let mut r = result(CodeOrigin::Local, "XYZ", "100", "mg/dL");
    r.codes.push(SentCode {
        origin: CodeOrigin::Loinc,
        code: "2345-7".into(),
        display: String::new(),
    });
    let n = run(r, None);
    assert!(n.hold.is_none());
    assert_eq!(reported(&n).0, code(33));
    assert_eq!(n.unmapped_local.unwrap().code, "XYZ");
}

#[test]
fn reference_ranges_come_from_the_sender_then_the_mapping_then_the_nation() {
    let mut m = mapping("001", 33, "mg/dL", MappingStatus::Approved);
    let mut r = result(CodeOrigin::Local, "001", "126", "mg/dL");
    r.reference_range = Some(crate::result::SentRange {
        text: "70-110".into(),
        ..Default::default()
    });
    let n = run(r.clone(), Some(&m));
    let range = n.reference_range.clone().unwrap();
    assert_eq!(range.source, RangeSource::Sender);
    assert_eq!(range.low.unwrap().as_str(), "3.89");
    assert_eq!(range.high.unwrap().as_str(), "6.106");
    assert_eq!(range.text, "70-110");
    assert_eq!(n.interpretation, ["H"]);
    assert!(n.interpretation_computed);

    r.reference_range = None;
    m.term.ref_low = Some(70.0);
    m.term.ref_high = Some(110.0);
    let n = run(r.clone(), Some(&m));
    let range = n.reference_range.unwrap();
    assert_eq!(range.source, RangeSource::HospitalMapping);
    assert_eq!(range.low.unwrap().as_str(), "3.885");

    let mut alt = result(CodeOrigin::National, &code(16), "45", "U/L");
    alt.patient.sex = Some(Sex::Female);
    alt.patient.birth_date = Some("1980-05-01".into());
    alt.effective = Some("2026-11-20T08:00:00+08:00".into());
    let n = run(alt.clone(), None);
    let range = n.reference_range.unwrap();
    assert_eq!(range.source, RangeSource::NationalInterval);
    assert_eq!(range.high.unwrap().as_str(), "40");
    assert_eq!(n.interpretation, ["H"]);
    alt.patient.sex = Some(Sex::Male);
    assert_eq!(run(alt.clone(), None).interpretation, ["N"]);
    // The sender's flag wins over the computation.
    alt.interpretation = vec!["A".into()];
    let n = run(alt, None);
    assert_eq!(n.interpretation, ["A"]);
    assert!(!n.interpretation_computed);
}

#[test]
fn comparators_only_interpret_when_they_decide() {
    let mut r = result(CodeOrigin::National, &code(16), "<5", "U/L");
    r.reference_range = Some(crate::result::SentRange {
        text: "9-50".into(),
        ..Default::default()
    });
    assert_eq!(run(r.clone(), None).interpretation, ["L"]);
    r.value = SentValue::Quantity {
        value: Decimal::parse("20").unwrap(),
        comparator: Some(Comparator::Lt),
        unit: "U/L".into(),
    };
    assert!(run(r, None).interpretation.is_empty());
}

#[test]
fn equivalents_convert_through_the_ions_charge() {
    let n = run(
        result(CodeOrigin::National, &code(55), "5.0", "meq/L"),
        None,
    );
    assert_eq!(reported(&n), (code(55), "2.50".into(), "mmol/L".into()));
}

#[test]
fn annotations_are_unity_and_a_hospital_declares_what_its_k_ul_means() {
    // `{cells}/uL` is `/uL` to UCUM: 7000 cells per microlitre are 7 × 10⁹/L.
    let n = run(
        result(CodeOrigin::National, &code(1), "7000", "{cells}/uL"),
        None,
    );
    assert_eq!(reported(&n), (code(1), "7.0000".into(), "10*9/L".into()));
    // A spelling from the alias table.
    let n = run(
        result(CodeOrigin::National, &code(1), "6.8", "giga.l-1"),
        None,
    );
    assert_eq!(reported(&n), (code(1), "6.8".into(), "10*9/L".into()));
    // `K/uL` without a declaration: flagged, kept as sent.
    let n = run(result(CodeOrigin::National, &code(1), "6.8", "K/uL"), None);
    assert_eq!(n.value.ucum, None);
    assert!(
        n.issues.iter().any(|i| i.code == "unit-unknown"),
        "{:?}",
        n.issues
    );
    // The hospital's mapping row declares it: thousands per microlitre.
    let mut m = mapping("WBC", 1, "10*3/uL", MappingStatus::Approved);
    m.unit_alias = "K/uL".into();
    let mut r = result(CodeOrigin::Local, "WBC", "6.8", "K/uL");
    r.codes[0].display = "白细胞".into();
    let n = run(r, Some(&m));
    assert_eq!(reported(&n), (code(1), "6.80".into(), "10*9/L".into()));
}

#[test]
fn a_loinc_code_the_registry_lacks_is_kept_not_held() {
    // 30180-4 is a real LOINC code (basophils %) that the test registry does not have.
    let n = run(result(CodeOrigin::Loinc, "30180-4", "1.0", "%"), None);
    assert_eq!(n.hold, None);
    assert_eq!(n.concept, None);
    assert_eq!(n.registry_gap.as_deref(), Some("30180-4"));
    assert!(
        n.issues.iter().any(|i| i.code == "registry-gap"),
        "{:?}",
        n.issues
    );
    assert!(
        !n.issues.iter().any(|i| i.code == "no-concept"),
        "{:?}",
        n.issues
    );
    assert_eq!(n.value.ucum.as_deref(), Some("%"), "the unit is still read");
    // A range sent with it keeps its bounds, in the same unit as the value.
    let mut r = result(CodeOrigin::Loinc, "30180-4", "1.0", "%");
    r.reference_range = Some(crate::result::SentRange {
        low: None,
        high: None,
        text: "0-1".into(),
        unit: String::new(),
    });
    let n = run(r, None);
    let range = n.reference_range.unwrap();
    assert_eq!(
        (
            range.low.map(|d| d.to_string()),
            range.high.map(|d| d.to_string())
        ),
        (Some("0".to_owned()), Some("1".to_owned()))
    );
    // A bad check digit is no LOINC code: held.
    let n = run(result(CodeOrigin::Loinc, "30180-5", "1.0", "%"), None);
    assert_eq!(n.hold.map(|h| h.reason), Some("no-concept"));
    assert_eq!(n.registry_gap, None);
    // A local code without an approved mapping is still queued, and the LOINC code used.
    let mut r = result(CodeOrigin::Local, "BASO%", "1.0", "%");
    r.codes.push(SentCode {
        origin: CodeOrigin::Loinc,
        code: "30180-4".into(),
        display: String::new(),
    });
    let n = run(r, None);
    assert_eq!(n.hold, None);
    assert_eq!(n.unmapped_local.map(|c| c.code), Some("BASO%".to_owned()));
    assert_eq!(n.registry_gap.as_deref(), Some("30180-4"));
}

/// [`registry`] plus a LOINC release with lipase (example unit U/L), and, when `national` is
/// true, a national release that has since given lipase a code.
fn registry_with_loinc(national: bool) -> Registry {
    let base = registry();
    let n = base.current(CodeSystem::National).unwrap();
    let mut concepts: Vec<Concept> = n.concepts.iter().map(|c| (**c).clone()).collect();
    if national {
        concepts.push(concept(
            77,
            "3040-3",
            "Triacylglycerol lipase",
            "CCnc",
            "U/L",
        ));
    }
    let mut lipase = concept(0, "", "Triacylglycerol lipase", "CCnc", "U/L");
    lipase.code = "3040-3".into();
    lipase.display_zh.clear();
    lipase.display_en = "Lipase [Enzymatic activity/volume] in Serum or Plasma".into();
    let loinc = Release {
        id: 2,
        system: CodeSystem::Loinc,
        label: "2.80".into(),
        imported_at: String::new(),
        source: String::new(),
        concept_count: 1,
    };
    Registry::new(
        vec![n.release.clone(), loinc.clone()],
        vec![
            CurrentRelease::new(n.release.clone(), concepts),
            CurrentRelease::new(loinc, vec![lipase]),
        ],
    )
}

fn run_with(registry: &Registry, r: LabResult, m: Option<&Mapping>) -> Normalized {
    let intervals = intervals();
    let options = NormalizeOptions::default();
    let ctx = Context {
        registry,
        intervals: &intervals,
        options: &options,
    };
    normalize(&ctx, r, m)
}

#[test]
fn a_loinc_only_mapping_reports_under_the_loinc_term_in_its_unit() {
    let mut m = mapping("LIP", 0, "ukat/L", MappingStatus::Approved);
    m.loinc = "3040-3".into();
    m.term.ref_high = Some(1.0);
    let registry = registry_with_loinc(false);
    let n = run_with(
        &registry,
        result(CodeOrigin::Local, "LIP", "0.50", "ukat/L"),
        Some(&m),
    );
    assert_eq!(n.hold, None);
    assert_eq!(n.unmapped_local, None, "an approved mapping is not queued");
    assert_eq!(n.concept, None);
    assert_eq!(n.registry_gap.as_deref(), Some("3040-3"));
    assert_eq!(
        n.loinc_term.as_ref().map(|t| t.code.as_str()),
        Some("3040-3")
    );
    // 1 µkat/L = 60 U/L: converted into the LOINC term's example unit.
    let SentValue::Quantity { value, unit, .. } = &n.value.value else {
        panic!("{:?}", n.value)
    };
    assert_eq!((value.to_string(), unit.as_str()), ("30.0".into(), "U/L"));
    // The mapping's range converts with it; no national interval applies.
    let range = n.reference_range.as_ref().unwrap();
    assert_eq!(range.source, RangeSource::HospitalMapping);
    assert_eq!(range.high.as_ref().map(Decimal::value), Some(60.0));
    let gap = n.issues.iter().find(|i| i.code == "registry-gap").unwrap();
    assert!(
        gap.message.contains("mapped to LOINC `3040-3`"),
        "{}",
        gap.message
    );
    // Not approved: held, as any mapping.
    m.status = MappingStatus::Proposed;
    let n = run_with(
        &registry,
        result(CodeOrigin::Local, "LIP", "0.50", "ukat/L"),
        Some(&m),
    );
    assert_eq!(n.hold.map(|h| h.reason), Some("not-approved"));
    assert_eq!(n.registry_gap, None);
    // Without a LOINC release the term is unknown: kept under its code, in the sent unit.
    m.status = MappingStatus::Approved;
    let n = run(result(CodeOrigin::Local, "LIP", "0.50", "ukat/L"), Some(&m));
    assert_eq!(n.registry_gap.as_deref(), Some("3040-3"));
    assert_eq!(n.value.ucum.as_deref(), Some("ukat/L"));
}

#[test]
fn a_loinc_only_mapping_follows_a_national_release_that_adds_the_code() {
    let mut m = mapping("LIP", 0, "U/L", MappingStatus::Approved);
    m.loinc = "3040-3".into();
    let registry = registry_with_loinc(true);
    let n = run_with(
        &registry,
        result(CodeOrigin::Local, "LIP", "30", "U/L"),
        Some(&m),
    );
    assert_eq!(reported(&n), (code(77), "30".into(), "U/L".into()));
    assert_eq!(n.registry_gap, None);
    assert!(
        n.issues.iter().any(|i| i.code == "loinc-now-national"),
        "{:?}",
        n.issues
    );
}
