//! The messages in `tests/data`, checked field by field.

use crate::{data, parse};
use huren_hl7v2::{
    Charset, CodedElement, Comparator, Hl7Error, Number, Observation, OruR01, Precision,
    SnSeparator, StructuredNumeric, Value, ValueType, decode, parse_oru, parse_oru_bytes,
};

fn observations(m: &OruR01) -> Vec<&Observation> {
    m.observations().map(|(_, _, obx)| obx).collect()
}

/// The NM value of an OBX, as sent.
fn nm(obx: &Observation) -> &str {
    match obx.value() {
        Some(Value::Numeric(n)) => n.as_str(),
        other => panic!("OBX {} is not NM: {other:?}", obx.segment),
    }
}

fn sn(obx: &Observation) -> &StructuredNumeric {
    match obx.value() {
        Some(Value::StructuredNumeric(sn)) => sn,
        other => panic!("OBX {} is not SN: {other:?}", obx.segment),
    }
}

/// (segment index, OBX-3.1, OBX-3.2, value, unit, OBX-7, OBX-8) for each OBX.
type Row<'a> = (usize, &'a str, &'a str, &'a str, &'a str, &'a str, &'a str);

fn rows(m: &OruR01) -> Vec<Row<'_>> {
    observations(m)
        .into_iter()
        .map(|o| {
            (
                o.segment,
                o.code.identifier.as_str(),
                o.code.text.as_str(),
                nm(o),
                o.unit().unwrap_or(""),
                o.reference_range.as_str(),
                o.abnormal_flags.first().map_or("", String::as_str),
            )
        })
        .collect()
}

#[test]
fn cbc() {
    let m = parse("cbc.hl7");
    let h = &m.header;
    assert_eq!(h.sending_application.namespace_id, "LIS");
    assert_eq!(h.sending_facility.namespace_id, "BJCH");
    assert_eq!(h.sending_facility.universal_id, "12110000400000000X");
    assert_eq!(h.sending_facility.universal_id_type, "ISO");
    assert_eq!(h.receiving_application.namespace_id, "HUREN");
    assert_eq!(h.time.as_ref().unwrap().to_string(), "20240305093012+0800");
    assert_eq!(h.message_type.to_string(), "ORU^R01^ORU_R01");
    assert_eq!(h.control_id, "LIS20240305000123");
    assert_eq!(h.processing_id, "P");
    assert_eq!(h.version, "2.5.1");
    assert_eq!(h.character_sets, ["UNICODE UTF-8"]);

    assert_eq!(m.patient_results.len(), 1);
    let p = m.patient_results[0].patient.as_ref().unwrap();
    assert_eq!(p.segment, 2);
    assert_eq!(p.identifiers.len(), 2);
    assert_eq!(p.identifiers[0].id, "0012345678");
    assert_eq!(p.identifiers[0].assigning_authority.namespace_id, "BJCH");
    assert_eq!(
        p.identifiers[0].assigning_authority.universal_id,
        "12110000400000000X"
    );
    assert_eq!(p.identifiers[0].type_code, "MR");
    assert_eq!(p.identifiers[1].id, "110101198503120012");
    assert_eq!(
        p.identifiers[1].assigning_authority.universal_id,
        "2.16.156.10011.1.1"
    );
    assert_eq!(p.identifiers[1].type_code, "NNCHN");
    assert_eq!(p.names[0].family, "王小明");
    assert_eq!(p.names[0].given, "");
    let dob = p.birth_date.as_ref().unwrap();
    assert_eq!((dob.year, dob.month, dob.day), (1985, Some(3), Some(12)));
    assert_eq!(dob.precision(), Precision::Day);
    assert_eq!(p.sex, "M");

    let order = &m.patient_results[0].orders[0];
    assert_eq!(order.segment, 5);
    assert_eq!(order.set_id, "1");
    let placer = order.placer_order_number.as_ref().unwrap();
    assert_eq!(
        (placer.id.as_str(), placer.namespace_id.as_str()),
        ("ORD0001", "HIS")
    );
    let filler = order.filler_order_number.as_ref().unwrap();
    assert_eq!(
        (filler.id.as_str(), filler.namespace_id.as_str()),
        ("LAB2024030500123", "LIS")
    );
    let service = order.service.as_ref().unwrap();
    assert_eq!(
        (
            service.identifier.as_str(),
            service.text.as_str(),
            service.coding_system.as_str()
        ),
        ("CBC", "血常规", "L")
    );
    assert_eq!(
        order.observation_time.as_ref().unwrap().to_string(),
        "20240305081500+0800"
    );
    assert_eq!(
        order.status_change_time.as_ref().unwrap().to_string(),
        "20240305093000+0800"
    );
    assert_eq!(order.result_status, "F");
    let specimen = order.specimen.as_ref().unwrap();
    assert_eq!((specimen.segment, specimen.field), (10, 4));
    assert_eq!(specimen.kind.identifier, "BLD");
    assert_eq!(specimen.kind.text, "全血");
    assert_eq!(specimen.kind.coding_system, "HL70487");

    assert_eq!(
        rows(&m),
        [
            (6, "WBC", "白细胞计数", "6.30", "10*9/L", "3.5-9.5", "N"),
            (7, "RBC", "红细胞计数", "4.52", "10*12/L", "4.3-5.8", "N"),
            (8, "HGB", "血红蛋白", "158", "g/L", "130-175", "N"),
            // `^x10\S\9/L`: no identifier, so the unit is the text, with its escaped caret.
            (9, "PLT", "血小板计数", "85", "x10^9/L", "125-350", "L"),
        ]
    );

    let wbc = observations(&m)[0];
    assert_eq!(wbc.occurrence, 1);
    assert_eq!(wbc.set_id, Some(1));
    assert_eq!(wbc.value_type, Some(ValueType::Numeric));
    assert_eq!(wbc.code.alternate_identifier, "6690-2");
    assert_eq!(
        wbc.code.alternate_text,
        "Leukocytes [#/volume] in Blood by Automated count"
    );
    assert_eq!(wbc.code.alternate_coding_system, "LN");
    assert_eq!(wbc.sub_id, "");
    assert_eq!(wbc.raw_value, "6.30");
    assert_eq!(
        wbc.units,
        Some(CodedElement {
            identifier: "10*9/L".into(),
            text: "10*9/L".into(),
            coding_system: "UCUM".into(),
            ..CodedElement::default()
        })
    );
    match wbc.value() {
        Some(Value::Numeric(n)) => {
            assert_eq!((n.as_str(), n.decimals(), n.to_f64()), ("6.30", 2, 6.3));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(wbc.result_status, "F");
    assert_eq!(
        wbc.observation_time.as_ref().unwrap().to_string(),
        "20240305081500+0800"
    );
    let producer = wbc.producer.as_ref().unwrap();
    assert_eq!(
        (producer.identifier.as_str(), producer.text.as_str()),
        ("BJCH", "北京市第一人民医院")
    );
    assert_eq!(wbc.responsible_observers.len(), 1);
    let observer = &wbc.responsible_observers[0];
    assert_eq!(
        (
            observer.id.as_str(),
            observer.family.as_str(),
            observer.given.as_str()
        ),
        ("1001", "李", "娜")
    );
    assert_eq!(
        wbc.analysis_time.as_ref().unwrap().to_string(),
        "20240305085012+0800"
    );
    let lab = wbc.performing_organization.as_ref().unwrap();
    assert_eq!(lab.name, "北京市第一人民医院检验科");
    assert_eq!(lab.id, "12110000400000000X");
    assert!(wbc.notes.is_empty());

    let plt = observations(&m)[3];
    assert_eq!(plt.units.as_ref().unwrap().identifier, "");
    assert_eq!(plt.raw_value, "85");
    assert!(plt.performing_organization.is_none());
    assert!(plt.producer.is_none());
    assert!(plt.analysis_time.is_none());
}

#[test]
fn liver_panel() {
    let m = parse("liver.hl7");
    assert_eq!(
        rows(&m),
        [
            (4, "ALT", "丙氨酸氨基转移酶", "45", "U/L", "9-50", "N"),
            (5, "AST", "天门冬氨酸氨基转移酶", "62", "U/L", "15-40", "H"),
            (6, "TBIL", "总胆红素", "12.6", "µmol/L", "0-26", "N"),
            (7, "ALB", "白蛋白", "42.5", "g/L", "40-55", "N"),
        ]
    );
    let order = &m.patient_results[0].orders[0];
    assert_eq!(order.service.as_ref().unwrap().text, "肝功能");
    assert_eq!(order.specimen.as_ref().unwrap().kind.identifier, "SER");
    assert!(order.placer_order_number.is_some());
    assert_eq!(observations(&m)[1].code.alternate_identifier, "1920-8");
}

#[test]
fn kidney_panel_with_umol_and_mg_dl() {
    let m = parse("kidney.hl7");
    assert_eq!(
        rows(&m),
        [
            (4, "CREA", "肌酐", "88", "µmol/L", "57-111", "N"),
            (5, "UREA", "尿素", "5.60", "mmol/L", "3.1-8.0", "N"),
            (6, "UA", "尿酸", "452", "µmol/L", "208-428", "H"),
            (7, "CREA-E", "肌酐(酶法)", "1.00", "mg/dL", "0.7-1.3", "N"),
        ]
    );
    let crea = observations(&m)[0];
    assert_eq!(crea.units.as_ref().unwrap().text, "µmol/L");
    assert_eq!(crea.code.alternate_identifier, "14682-9");
    assert_eq!(observations(&m)[3].code.alternate_identifier, "2160-0");
    assert!(m.patient_results[0].orders[0].status_change_time.is_none());
}

#[test]
fn electrolytes() {
    let m = parse("electrolytes.hl7");
    assert_eq!(
        rows(&m),
        [
            (4, "K", "钾", "5.80", "mmol/L", "3.5-5.3", "H"),
            (5, "NA", "钠", "141", "mmol/L", "137-147", "N"),
            (6, "CL", "氯", "102.0", "mmol/L", "99-110", "N"),
        ]
    );
}

#[test]
fn gb18030_message() {
    let bytes = data("gbk.hl7");
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the file must really be GB18030"
    );
    let decoded = decode(&bytes).unwrap();
    assert_eq!(decoded.charset, Charset::Gb18030);
    assert_eq!(decoded.declared.as_deref(), Some("GB 18030-2000"));
    assert!(!decoded.mismatch);

    let m = parse_oru(&decoded.text).unwrap();
    assert_eq!(m.header.character_sets, ["GB 18030-2000"]);
    let p = m.patient_results[0].patient.as_ref().unwrap();
    assert_eq!(
        (p.names[0].family.as_str(), p.names[0].given.as_str()),
        ("张", "三")
    );
    assert_eq!(p.sex, "F");
    assert_eq!(p.birth_date.as_ref().unwrap().to_string(), "19620815");
    assert_eq!(
        m.patient_results[0].orders[0]
            .service
            .as_ref()
            .unwrap()
            .text,
        "空腹血糖"
    );
    let glu = observations(&m)[0];
    assert_eq!(
        (
            glu.segment,
            glu.code.identifier.as_str(),
            glu.code.text.as_str()
        ),
        (4, "GLU", "葡萄糖")
    );
    assert_eq!(
        (nm(glu), glu.unit(), glu.reference_range.as_str()),
        ("7.20", Some("mmol/L"), "3.9-6.1")
    );
    assert_eq!(glu.abnormal_flags, ["H"]);
    let note = observations(&m)[1];
    assert_eq!(note.value_type, Some(ValueType::String));
    assert_eq!(note.code.text, "血糖备注");
    assert_eq!(note.values, [Value::Text("空腹".into())]);
    assert_eq!(note.unit(), None);
    assert_eq!(
        observations(&m)[0]
            .performing_organization
            .as_ref()
            .unwrap()
            .name,
        "北京市第一人民医院检验科"
    );
    // The one-step API gives the same message.
    assert_eq!(parse_oru_bytes(&bytes).unwrap(), m);
}

#[test]
fn version_2_3() {
    let m = parse("v23.hl7");
    assert_eq!(m.header.version, "2.3");
    assert_eq!(m.header.message_type.to_string(), "ORU^R01");
    assert!(m.header.character_sets.is_empty());
    let t = m.header.time.as_ref().unwrap();
    assert_eq!((t.offset_minutes, t.precision()), (None, Precision::Second));

    let order = &m.patient_results[0].orders[0];
    let specimen = order.specimen.as_ref().unwrap();
    assert_eq!((specimen.segment, specimen.field), (3, 15));
    assert_eq!(specimen.kind.identifier, "SER");
    assert_eq!(specimen.kind.text, "血清");
    assert_eq!(specimen.kind.coding_system, "HL70070");
    assert_eq!(
        rows(&m),
        [
            (4, "TC", "总胆固醇", "5.20", "mmol/L", "<5.2", ""),
            (5, "TG", "甘油三酯", "1.70", "mmol/L", "<1.7", ""),
            (
                6,
                "HDL-C",
                "高密度脂蛋白胆固醇",
                "1.15",
                "mmol/L",
                ">=1.0",
                ""
            ),
            (
                7,
                "LDL-C",
                "低密度脂蛋白胆固醇",
                "3.42",
                "mmol/L",
                "<3.4",
                "H"
            ),
        ]
    );
    assert!(
        observations(&m)
            .iter()
            .all(|o| o.performing_organization.is_none())
    );
}

#[test]
fn lf_separators() {
    let bytes = data("lf.hl7");
    assert!(!bytes.contains(&b'\r'));
    let m = parse("lf.hl7");
    assert_eq!(
        rows(&m),
        [(4, "CRP", "C反应蛋白", "8.5", "mg/L", "0-10", "N")]
    );
    assert_eq!(
        m.patient_results[0].orders[0]
            .specimen
            .as_ref()
            .unwrap()
            .segment,
        5
    );

    // The same with CRLF, and with blank lines, which are not counted as segments.
    let text = String::from_utf8(bytes).unwrap();
    for variant in [text.replace('\n', "\r\n"), text.replace('\n', "\n\n")] {
        assert_eq!(parse_oru(&variant).unwrap(), m);
    }
}

#[test]
fn structured_numerics() {
    let m = parse("sn.hl7");
    let obx = observations(&m);
    let hba1c = sn(obx[0]);
    assert_eq!(hba1c.comparator, Some(Comparator::Gt));
    assert_eq!(hba1c.num1, Number::parse("11.0"));
    assert_eq!((hba1c.separator, &hba1c.num2), (None, &None));
    assert_eq!(obx[0].raw_value, ">^11.0");
    assert_eq!(obx[0].unit(), Some("%"));

    let dd = sn(obx[1]);
    assert_eq!(dd.comparator, Some(Comparator::Lt));
    assert_eq!(dd.num1.as_ref().unwrap().as_str(), "0.5");
    assert_eq!(obx[1].unit(), Some("mg/L FEU"));

    let titre = sn(obx[2]);
    assert_eq!(titre.comparator, None);
    assert_eq!(titre.num1.as_ref().unwrap().as_str(), "1");
    assert_eq!(titre.separator, Some(SnSeparator::Colon));
    assert_eq!(titre.num2.as_ref().unwrap().as_str(), "40");
    assert_eq!(obx[2].reference_range, "<1:100");

    let range = sn(obx[3]);
    assert_eq!(range.separator, Some(SnSeparator::Range));
    assert_eq!(range.to_hl7('^'), "^0^-^3");

    assert_eq!(obx[4].value_type, Some(ValueType::Coded("CWE".into())));
    match obx[4].value() {
        Some(Value::Coded(c)) => {
            assert_eq!(
                (
                    c.identifier.as_str(),
                    c.text.as_str(),
                    c.coding_system.as_str()
                ),
                ("NEG", "阴性", "HL70078")
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(obx[4].reference_range, "阴性");
}

#[test]
fn corrected_result() {
    let m = parse("corrected.hl7");
    let order = &m.patient_results[0].orders[0];
    assert_eq!(order.result_status, "C");
    assert_eq!(
        order.filler_order_number.as_ref().unwrap().id,
        "LAB2024030500126"
    );
    let k = observations(&m)[0];
    assert_eq!(k.result_status, "C");
    assert_eq!(nm(k), "4.10");
    assert_eq!(k.code.identifier, "K");
    assert_eq!(k.notes.len(), 1);
    assert_eq!(k.notes[0].segment, 5);
    assert_eq!(k.notes[0].source, "L");
    assert_eq!(k.notes[0].text, "标本溶血，重新采血复查后更正");
    // The SPM after the NTE is the order's, and the NTE stays with the OBX.
    assert_eq!(order.specimen.as_ref().unwrap().segment, 6);
    assert!(order.notes.is_empty());
}

#[test]
fn no_obx_is_an_error_with_the_header_kept() {
    let e = parse_oru_bytes(&data("no_obx.hl7")).unwrap_err();
    assert_eq!(e.errors, [Hl7Error::NoObservations]);
    assert_eq!(
        e.errors[0].to_string(),
        "the ORU^R01 message has no OBX segment"
    );
    assert_eq!(e.header.as_ref().unwrap().control_id, "LIS20240305000132");
    assert_eq!(e.ack_code(), huren_hl7v2::AckCode::Error);
}

#[test]
fn notes_attach_where_they_stand() {
    let m = parse("nte.hl7");
    let pr = &m.patient_results[0];
    let patient = pr.patient.as_ref().unwrap();
    assert_eq!(patient.notes.len(), 1);
    assert_eq!(
        (patient.notes[0].segment, patient.notes[0].source.as_str()),
        (3, "P")
    );
    assert_eq!(patient.notes[0].text, "患者空腹");

    let order = &pr.orders[0];
    assert_eq!(order.notes.len(), 1);
    assert_eq!(
        (order.notes[0].segment, order.notes[0].text.as_str()),
        (5, "标本轻度脂血")
    );

    let obx = observations(&m);
    assert_eq!(obx[0].notes.len(), 2);
    assert_eq!(obx[0].notes[0].text, "已复检\n涂片镜检：中性粒细胞增多");
    assert_eq!(obx[0].notes[1].segment, 8);
    assert_eq!(obx[0].notes[1].text, "危急值已电话通知 & 记录（李|王）");
    assert_eq!((obx[1].segment, obx[1].occurrence), (9, 2));
    assert!(obx[1].notes.is_empty());
    assert!(m.notes.is_empty());
}

#[test]
fn every_data_file_decodes_and_all_but_one_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "hl7") {
            continue;
        }
        seen += 1;
        let name = path.file_name().unwrap().to_str().unwrap();
        let result = parse_oru_bytes(&std::fs::read(&path).unwrap());
        assert_eq!(result.is_err(), name == "no_obx.hl7", "{name}: {result:?}");
    }
    assert_eq!(seen, 14);
}
