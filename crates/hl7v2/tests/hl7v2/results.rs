//! The data files as the `LabResult`s the normaliser consumes, checked field by field.

use crate::parse;
use huren_core::result::{
    CodeOrigin, Comparator, Decimal, Identifier, LabResult, PatientIdPolicy, PatientInfo,
    ResultStatus, SentCode, SentRange, SentValue, Sex,
};
use huren_hl7v2::{
    AckCode, ErrorCode, FILLER_ORDER_SYSTEM, Hl7Error, OruR01, PLACER_ORDER_SYSTEM, ResultOptions,
    Severity, ack, lab_results,
};

const NATIONAL: &str = "urn:oid:2.16.156.10011.1.1";
const HOSPITAL: &str = "https://huren.example/hospital/h1/patient";

fn policy() -> PatientIdPolicy {
    PatientIdPolicy {
        national_system: NATIONAL.into(),
        national_types: vec!["NNCHN".into(), "NI".into()],
        hospital_system: HOSPITAL.into(),
    }
}

fn results_of(m: &OruR01, offset: i16) -> (Vec<LabResult>, Vec<Hl7Error>) {
    let patients = policy();
    lab_results(
        m,
        &ResultOptions {
            patients: &patients,
            default_offset_minutes: offset,
        },
    )
}

/// `tests/data/{name}` as results, with Beijing time as the default offset.
fn read(name: &str) -> (Vec<LabResult>, Vec<Hl7Error>) {
    results_of(&parse(name), 480)
}

/// Results of a file that must produce no problem at all.
fn clean(name: &str) -> Vec<LabResult> {
    let (results, problems) = read(name);
    assert!(problems.is_empty(), "{name}: {problems:#?}");
    results
}

fn hospital(id: &str) -> Identifier {
    Identifier::new(HOSPITAL, id)
}

fn national(id: &str) -> Identifier {
    Identifier::new(NATIONAL, id)
}

fn filler(value: &str) -> Option<Identifier> {
    Some(Identifier::new(FILLER_ORDER_SYSTEM, value))
}

fn local(code: &str, display: &str) -> SentCode {
    SentCode {
        origin: CodeOrigin::Local,
        code: code.into(),
        display: display.into(),
    }
}

fn loinc(code: &str, display: &str) -> SentCode {
    SentCode {
        origin: CodeOrigin::Loinc,
        ..local(code, display)
    }
}

fn range(text: &str) -> Option<SentRange> {
    Some(SentRange {
        text: text.into(),
        ..SentRange::default()
    })
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// (value as sent, comparator, unit) of a Quantity.
fn quantity(r: &LabResult) -> (&str, Option<Comparator>, &str) {
    match &r.value {
        SentValue::Quantity {
            value,
            comparator,
            unit,
        } => (value.as_str(), *comparator, unit.as_str()),
        other => panic!("{}: not a quantity: {other:?}", r.source),
    }
}

fn ratio(numerator: &str, denominator: &str) -> SentValue {
    SentValue::Ratio {
        numerator: Decimal::parse(numerator).unwrap(),
        denominator: Decimal::parse(denominator).unwrap(),
    }
}

fn text(r: &LabResult) -> &str {
    match &r.value {
        SentValue::Text { text } => text,
        other => panic!("{}: not text: {other:?}", r.source),
    }
}

/// (local code, value, unit, interpretation) of each quantity result.
fn rows(results: &[LabResult]) -> Vec<(&str, &str, &str, Vec<&str>)> {
    results
        .iter()
        .map(|r| {
            let (value, comparator, unit) = quantity(r);
            assert_eq!(comparator, None, "{}", r.source);
            (
                r.local_code().map_or("", |c| c.code.as_str()),
                value,
                unit,
                r.interpretation.iter().map(String::as_str).collect(),
            )
        })
        .collect()
}

fn wang_xiaoming() -> PatientInfo {
    PatientInfo {
        identifiers: vec![hospital("0012345678"), national("110101198503120012")],
        sex: Some(Sex::Male),
        birth_date: Some("1985-03-12".into()),
    }
}

fn problem_lines(problems: &[Hl7Error]) -> Vec<String> {
    problems
        .iter()
        .map(|p| format!("{} {}: {p}", p.severity().code(), p.code().code()))
        .collect()
}

#[test]
fn cbc_every_field() {
    let results = clean("cbc.hl7");
    assert_eq!(results.len(), 4);
    let wbc = &results[0];
    assert_eq!(
        *wbc,
        LabResult {
            source: "segment 6 (OBX)".into(),
            identifier: filler("LAB2024030500123^LIS|WBC|"),
            patient: wang_xiaoming(),
            codes: vec![
                local("WBC", "白细胞计数"),
                loinc(
                    "6690-2",
                    "Leukocytes [#/volume] in Blood by Automated count"
                ),
            ],
            value: SentValue::Quantity {
                value: huren_core::result::Decimal::parse("6.30").unwrap(),
                comparator: None,
                unit: "10*9/L".into(),
            },
            reference_range: range("3.5-9.5"),
            interpretation: strings(&["N"]),
            status: ResultStatus::Final,
            effective: Some("2024-03-05T08:15:00+08:00".into()),
            issued: Some("2024-03-05T09:30:00+08:00".into()),
            performer: Some("北京市第一人民医院检验科".into()),
            specimen: "全血".into(),
            notes: vec![],
        }
    );
    assert_eq!(quantity(wbc).0, "6.30", "the sender's digits are kept");
    assert_eq!(
        rows(&results),
        [
            ("WBC", "6.30", "10*9/L", vec!["N"]),
            ("RBC", "4.52", "10*12/L", vec!["N"]),
            ("HGB", "158", "g/L", vec!["N"]),
            // OBX-6 `^x10\S\9/L`: the text, unescaped, when there is no identifier.
            ("PLT", "85", "x10^9/L", vec!["L"]),
        ]
    );
    let sources: Vec<&str> = results.iter().map(|r| r.source.as_str()).collect();
    assert_eq!(
        sources,
        [
            "segment 6 (OBX)",
            "segment 7 (OBX)",
            "segment 8 (OBX)",
            "segment 9 (OBX)"
        ]
    );
    for r in &results[1..] {
        assert_eq!(r.identifier.as_ref().unwrap().system, FILLER_ORDER_SYSTEM);
        assert_eq!(r.patient, wang_xiaoming());
        assert_eq!(r.codes.len(), 2);
        assert_eq!(r.codes[1].origin, CodeOrigin::Loinc);
        assert_eq!(r.status, ResultStatus::Final);
        assert_eq!(r.effective.as_deref(), Some("2024-03-05T08:15:00+08:00"));
        assert_eq!(r.issued.as_deref(), Some("2024-03-05T09:30:00+08:00"));
        // No OBX-23 or OBX-15: the sending facility (MSH-4).
        assert_eq!(r.performer.as_deref(), Some("BJCH"));
        assert_eq!(r.specimen, "全血");
    }
    assert_eq!(results[3].identifier, filler("LAB2024030500123^LIS|PLT|"));
    assert_eq!(results[3].codes[0], local("PLT", "血小板计数"));
}

#[test]
fn chemistry_panel_with_local_times_and_units_as_written() {
    let results = clean("chem.hl7");
    let patient = PatientInfo {
        identifiers: vec![hospital("H00456789"), national("310104197001150026")],
        sex: Some(Sex::Female),
        birth_date: Some("1970-01".into()),
    };
    let codes: Vec<&str> = results.iter().map(|r| r.codes[0].code.as_str()).collect();
    assert_eq!(
        codes,
        ["GLU", "CREA", "CREA-J", "ALT", "AG", "TBA", "LDH", "UREA"]
    );
    for r in &results {
        assert_eq!(r.patient, patient, "{}", r.source);
        assert_eq!(r.specimen, "血清", "SPM-4 `^血清` has only a text");
        // OBR-22 `202611200912`: no seconds, no offset; FHIR instant needs both.
        assert_eq!(r.issued.as_deref(), Some("2026-11-20T09:12:00+08:00"));
    }

    let glu = &results[0];
    assert_eq!(glu.source, "segment 5 (OBX)");
    assert_eq!(glu.identifier, filler("LAB2026112000201^LIS|GLU|"));
    assert_eq!(
        glu.codes,
        [
            local("GLU", "葡萄糖"),
            loinc("2345-7", "Glucose [Mass/volume] in Serum or Plasma"),
        ]
    );
    assert_eq!(quantity(glu), ("126", None, "mg/dL"));
    assert_eq!(glu.reference_range, range("70-99"));
    assert_eq!(glu.interpretation, ["H"]);
    assert_eq!(glu.status, ResultStatus::Final);
    // OBX-14 `202611200812` is local time: +08:00 assumed, seconds added.
    assert_eq!(glu.effective.as_deref(), Some("2026-11-20T08:12:00+08:00"));
    assert_eq!(glu.performer.as_deref(), Some("SHRJ"));
    assert!(glu.notes.is_empty());

    // Creatinine twice: `umol/L` (ASCII u) and `μmol/L` (Greek mu), neither touched.
    let crea = &results[1];
    assert_eq!(quantity(crea), ("88", None, "umol/L"));
    assert_eq!(
        crea.effective.as_deref(),
        Some("2026-11-20T07:45:00+08:00"),
        "no OBX-14: OBR-7"
    );
    let crea_j = &results[2];
    assert_eq!(quantity(crea_j), ("90.0", None, "μmol/L"));
    assert_eq!(
        crea_j.codes,
        [local("CREA-J", "肌酐(苦味酸法)")],
        "99zzz is local"
    );
    assert_eq!(
        crea_j.identifier,
        filler("LAB2026112000201^LIS|CREA-J|1"),
        "OBX-4 sub-ID"
    );

    let alt = &results[3];
    assert_eq!(
        alt.codes,
        [
            local("ALT", "丙氨酸氨基转移酶"),
            SentCode {
                origin: CodeOrigin::National,
                code: "9000016-7".into(),
                display: "丙氨酸氨基转移酶".into(),
            },
        ]
    );
    assert_eq!(
        alt.performer.as_deref(),
        Some("SHRJ-LAB"),
        "OBX-15 without OBX-23"
    );

    assert_eq!(quantity(&results[4]), ("1.50", None, ""), "no unit");
    assert_eq!(results[4].reference_range, range("1.2-2.4"));
    assert_eq!(
        quantity(&results[5]),
        ("5.0", None, "umol/L"),
        "SN `^5.0` is a plain quantity"
    );

    let ldh = &results[6];
    assert_eq!(ldh.value, SentValue::Absent);
    assert_eq!(ldh.status, ResultStatus::Cancelled);
    assert!(ldh.interpretation.is_empty());
    assert_eq!(ldh.notes, ["标本溶血，无法测定"]);

    let urea = &results[7];
    assert_eq!(quantity(urea), ("5.60", None, "mmol/L"));
    assert_eq!(urea.status, ResultStatus::Preliminary);
    assert_eq!(
        urea.effective.as_deref(),
        Some("2026-11-20T08:12:30.5+08:00"),
        "fractions and the sender's offset kept"
    );
}

#[test]
fn another_default_offset() {
    let m = parse("v23.hl7");
    let (results, problems) = results_of(&m, -300);
    assert!(problems.is_empty());
    assert_eq!(
        results[0].effective.as_deref(),
        Some("2024-03-05T08:15:00-05:00")
    );
    assert_eq!(
        results[0].issued.as_deref(),
        Some("2024-03-05T10:25:00-05:00")
    );
}

#[test]
fn v23_without_offsets_and_specimen_in_obr_15() {
    let results = clean("v23.hl7");
    assert_eq!(results.len(), 4);
    let tc = &results[0];
    assert_eq!(tc.source, "segment 4 (OBX)");
    assert_eq!(tc.identifier, filler("LAB2024030500128^|TC|"));
    assert_eq!(
        tc.patient,
        PatientInfo {
            identifiers: vec![hospital("0012345678")],
            sex: Some(Sex::Male),
            birth_date: Some("1985-03-12".into()),
        }
    );
    assert_eq!(quantity(tc), ("5.20", None, "mmol/L"));
    assert_eq!(tc.reference_range, range("<5.2"));
    assert!(tc.interpretation.is_empty());
    assert_eq!(tc.effective.as_deref(), Some("2024-03-05T08:15:00+08:00"));
    assert_eq!(tc.issued.as_deref(), Some("2024-03-05T10:25:00+08:00"));
    assert_eq!(tc.specimen, "血清");
    assert_eq!(results[2].reference_range, range(">=1.0"));
    assert_eq!(results[3].interpretation, ["H"]);
}

#[test]
fn kidney_micro_sign_units_and_two_creatinines() {
    let results = clean("kidney.hl7");
    assert_eq!(
        rows(&results),
        [
            ("CREA", "88", "µmol/L", vec!["N"]),
            ("UREA", "5.60", "mmol/L", vec!["N"]),
            ("UA", "452", "µmol/L", vec!["H"]),
            ("CREA-E", "1.00", "mg/dL", vec!["N"]),
        ]
    );
    assert_eq!(
        results[0].codes[1],
        loinc("14682-9", "Creatinine [Moles/volume] in Serum or Plasma")
    );
    assert_eq!(results[3].codes[1].code, "2160-0");
    assert_eq!(results[0].identifier, filler("LAB2024030500125^|CREA|"));
    assert_eq!(results[3].identifier, filler("LAB2024030500125^|CREA-E|"));
    assert_eq!(results[1].codes.len(), 1);
}

#[test]
fn electrolytes() {
    let results = clean("electrolytes.hl7");
    assert_eq!(
        rows(&results),
        [
            ("K", "5.80", "mmol/L", vec!["H"]),
            ("NA", "141", "mmol/L", vec!["N"]),
            ("CL", "102.0", "mmol/L", vec!["N"]),
        ]
    );
    for r in &results {
        assert_eq!(r.specimen, "血清");
        assert_eq!(r.status, ResultStatus::Final);
        assert_eq!(r.issued, None, "no OBR-22");
    }
    assert_eq!(results[2].reference_range, range("99-110"));
}

#[test]
fn structured_numerics_and_a_coded_value() {
    let results = clean("sn.hl7");
    assert_eq!(results.len(), 5);
    assert_eq!(quantity(&results[0]), ("11.0", Some(Comparator::Gt), "%"));
    assert_eq!(results[0].interpretation, ["H"]);
    assert_eq!(
        quantity(&results[1]),
        ("0.5", Some(Comparator::Lt), "mg/L FEU")
    );
    // A titre is a ratio, a range a range (FHIR valueRatio, valueRange).
    assert_eq!(results[2].value, ratio("1", "40"));
    assert_eq!(results[2].reference_range, range("<1:100"));
    assert_eq!(
        results[3].value,
        SentValue::Range {
            low: Some(Decimal::parse("0").unwrap()),
            high: Some(Decimal::parse("3").unwrap()),
            unit: "/HP".into(),
        }
    );
    assert_eq!(
        results[4].value,
        SentValue::Coded {
            system: "http://terminology.hl7.org/CodeSystem/v2-0078".into(),
            code: "NEG".into(),
            display: "阴性".into(),
        }
    );
    assert_eq!(results[4].codes, [local("HBSAG", "乙肝表面抗原")]);
}

#[test]
fn corrected_result_with_its_note() {
    let results = clean("corrected.hl7");
    assert_eq!(results.len(), 1);
    let k = &results[0];
    assert_eq!(k.status, ResultStatus::Corrected);
    assert!(k.status.is_correction());
    assert_eq!(k.identifier, filler("LAB2024030500126^|K|"));
    assert_eq!(quantity(k), ("4.10", None, "mmol/L"));
    assert_eq!(k.notes, ["标本溶血，重新采血复查后更正"]);
    assert_eq!(k.issued.as_deref(), Some("2024-03-05T14:55:00+08:00"));
    assert_eq!(k.specimen, "血清");
    // Same identity as the K of electrolytes.hl7: the correction replaces it.
    assert_eq!(k.identifier, clean("electrolytes.hl7")[0].identifier);
}

#[test]
fn gbk_names_arrive_decoded() {
    let results = clean("gbk.hl7");
    assert_eq!(results.len(), 2);
    let glu = &results[0];
    assert_eq!(
        glu.codes,
        [
            local("GLU", "葡萄糖"),
            loinc("14749-6", "Glucose [Moles/volume] in Serum or Plasma"),
        ]
    );
    assert_eq!(quantity(glu), ("7.20", None, "mmol/L"));
    assert_eq!(glu.performer.as_deref(), Some("北京市第一人民医院检验科"));
    assert_eq!(
        glu.patient,
        PatientInfo {
            identifiers: vec![hospital("0098765432")],
            sex: Some(Sex::Female),
            birth_date: Some("1962-08-15".into()),
        }
    );
    assert_eq!(glu.effective.as_deref(), Some("2024-03-05T07:00:00+08:00"));
    let note = &results[1];
    assert_eq!(note.codes, [local("GLU-C", "血糖备注")]);
    assert_eq!(text(note), "空腹");
    assert_eq!(note.reference_range, None);
    assert_eq!(note.performer.as_deref(), Some("BJCH"));
    assert_eq!(note.effective.as_deref(), Some("2024-03-05T08:15:00+08:00"));
}

#[test]
fn notes_are_those_after_the_obx() {
    let results = clean("nte.hl7");
    assert_eq!(
        results[0].notes,
        [
            "已复检\n涂片镜检：中性粒细胞增多",
            "危急值已电话通知 & 记录（李|王）"
        ]
    );
    assert!(
        results[1].notes.is_empty(),
        "NTE after PID/OBR are not kept"
    );
}

#[test]
fn two_patients_placer_and_no_order_number() {
    let results = clean("two_patients.hl7");
    assert_eq!(results.len(), 5);
    let first = PatientInfo {
        identifiers: vec![hospital("W0001"), national("420102198807070028")],
        sex: Some(Sex::Female),
        birth_date: Some("1988-07-07".into()),
    };
    let second = PatientInfo {
        identifiers: vec![hospital("W0002"), hospital("W0002-OLD")],
        sex: Some(Sex::Unknown),
        birth_date: Some("1956".into()),
    };

    let hcg = &results[0];
    assert_eq!(
        *hcg,
        LabResult {
            source: "segment 4 (OBX)".into(),
            identifier: Some(Identifier::new(
                PLACER_ORDER_SYSTEM,
                "ORD2026112201^HIS|HCG-Q|"
            )),
            patient: first.clone(),
            codes: vec![local("HCG-Q", "尿HCG定性")],
            value: SentValue::Coded {
                system: "http://terminology.hl7.org/CodeSystem/v2-0078".into(),
                code: "POS".into(),
                display: "阳性".into(),
            },
            reference_range: range("阴性"),
            interpretation: strings(&["A"]),
            status: ResultStatus::Final,
            // OBR-7 `2026112208`: hour precision, FHIR needs minutes and seconds.
            effective: Some("2026-11-22T08:00:00+08:00".into()),
            issued: None,
            performer: Some("WHXH".into()),
            specimen: "尿".into(),
            notes: vec![],
        }
    );
    let morph = &results[1];
    assert_eq!(
        text(morph),
        "红细胞形态正常\n未见异常细胞",
        "TX repetitions are lines"
    );
    assert_eq!(
        morph.identifier,
        Some(Identifier::new(
            PLACER_ORDER_SYSTEM,
            "ORD2026112201^HIS|MORPH|"
        ))
    );
    assert_eq!(
        morph.effective.as_deref(),
        Some("2026-11-22T08:30:00+08:00")
    );

    let crp = &results[2];
    assert_eq!(crp.source, "segment 9 (OBX)");
    assert_eq!(crp.patient, second);
    assert_eq!(crp.identifier, None, "neither OBR-3 nor OBR-2");
    assert_eq!(quantity(crp), ("0.5", Some(Comparator::Lt), "mg/L"));
    assert_eq!(crp.effective.as_deref(), Some("2026-11-22T09:00:00+08:00"));
    assert_eq!(crp.specimen, "", "no SPM, no OBR-15");
    assert_eq!(crp.performer.as_deref(), Some("WHXH"));

    let aso = &results[3];
    assert_eq!(aso.value, ratio("1", "40"));
    assert_eq!(aso.performer.as_deref(), Some("武汉协和医院检验科"));
    assert_eq!(aso.effective.as_deref(), Some("2026-11-22T09:30:00+08:00"));
    let upro = &results[4];
    assert_eq!(text(upro), "1+");
    assert_eq!(upro.interpretation, ["A"]);
    assert_eq!(upro.patient, second);
}

#[test]
fn unusable_results_are_reported_and_the_rest_kept() {
    let m = parse("problems.hl7");
    let (results, problems) = results_of(&m, 480);
    assert_eq!(
        problem_lines(&problems),
        [
            "W 103: segment 2 (PID), field 8: PID-8 sex `X` is not a code of HL7 table 0001 \
             (M, F, O, U, A, N); the sex is left out",
            "W 103: segment 5 (OBX), field 8: OBX-8 flag `AC` has no FHIR interpretation; \
             it was not kept",
            "W 102: segment 6 (OBX), field 3, component 4: OBX-3 national code: `9000033-5` \
             has check digit 5, but the mod-10 check digit of its body is 2",
            "E 101: segment 7 (OBX), field 11: required field OBX-11 observation result \
             status is missing",
            "E 205: segment 8 (OBX), field 4: an earlier OBX of this message has the same \
             order number, OBX-3 and OBX-4 (LAB2026112100301^LIS|ALB|); give each result its \
             own OBX-4 sub-ID",
            "W 102: segment 9 (OBX), field 5, repetition 2: OBX-5 has 2 repetitions; only \
             the first is kept",
        ]
    );
    let erl: Vec<String> = problems
        .iter()
        .map(|p| p.location().unwrap().to_erl('^'))
        .collect();
    assert_eq!(
        erl,
        [
            "PID^1^8^1",
            "OBX^2^8^1",
            "OBX^3^3^1^4",
            "OBX^4^11^1",
            "OBX^5^4^1",
            "OBX^6^5^2"
        ]
    );

    let codes: Vec<&str> = results.iter().map(|r| r.codes[0].code.as_str()).collect();
    assert_eq!(codes, ["TP", "TBA", "ALB", "DBIL"]);
    // OBX-11 `R` (entered, not verified) is a preliminary result.
    assert_eq!(
        results[0].status,
        huren_core::result::ResultStatus::Preliminary
    );
    let tba = &results[1];
    assert_eq!(tba.interpretation, ["H"], "AC dropped, H kept");
    assert_eq!(
        tba.patient,
        PatientInfo {
            identifiers: vec![hospital("Z1122334")],
            sex: None,
            birth_date: Some("1990-01-01".into()),
        }
    );
    assert_eq!(tba.issued, None, "OBR-22 has hours only: no instant");
    assert_eq!(tba.effective.as_deref(), Some("2026-11-21T08:10:00+08:00"));
    let alb = &results[2];
    assert_eq!(alb.codes[1].origin, CodeOrigin::National);
    assert_eq!(
        quantity(alb),
        ("42.1", None, "g/L"),
        "the first ALB is kept"
    );
    assert_eq!(quantity(&results[3]), ("3.2", None, "umol/L"));

    // The problems go back to the sender in the ACK: AE, one ERR per problem.
    assert_eq!(AckCode::for_errors(&problems), AckCode::Error);
    let now = time::macros::datetime!(2026-11-21 10:15:01 +08:00);
    let a = ack(
        &m.header,
        AckCode::for_errors(&problems),
        &problems,
        "A1",
        now,
    );
    assert_eq!(a.matches("\rERR|").count(), problems.len());
    let errors: Vec<_> = problems
        .iter()
        .filter(|p| p.severity() == Severity::Error)
        .map(Hl7Error::code)
        .collect();
    assert_eq!(
        errors,
        [
            ErrorCode::RequiredFieldMissing,
            ErrorCode::DuplicateKeyIdentifier
        ]
    );
}

#[test]
fn warnings_alone_accept_the_message() {
    let text = String::from_utf8(crate::data("electrolytes.hl7"))
        .unwrap()
        .replace("|5.80|mmol/L|3.5-5.3|H|", "|5.80|mmol/L|3.5-5.3|H~HM|")
        .replace("|141|mmol/L|", "||mmol/L|");
    let m = huren_hl7v2::parse_oru(&text).unwrap();
    let (results, problems) = results_of(&m, 480);
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].interpretation, ["H"]);
    assert_eq!(results[1].value, SentValue::Absent);
    assert_eq!(results[1].status, ResultStatus::Final);
    assert_eq!(
        problem_lines(&problems),
        [
            "W 103: segment 4 (OBX), field 8: OBX-8 flag `HM` has no FHIR interpretation; it \
             was not kept",
            "W 101: segment 5 (OBX), field 5: OBX-5 is empty although OBX-11 is `F` (final); \
             the result has no value",
        ]
    );
    assert_eq!(AckCode::for_errors(&problems), AckCode::Accept);
}
