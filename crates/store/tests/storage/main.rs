//! The same storage tests on SQLite and, when `HUREN_TEST_PG_URL` is set, PostgreSQL: the one
//! integration test binary of this crate (each binary links the whole store).

mod integrity;
mod jobs;
mod observations;
mod quality;

use huren_core::mapping::{LocalTerm, MappingChange};
use huren_core::ports::{HospitalStore, MappingStore, PortError, RegistryStore};
use huren_core::{
    Axes, CodeSystem, Concept, Equivalence, Hospital, HospitalId, Mapping, MappingStatus, Status,
};
use huren_store::Store;
use huren_testkit::TestDb;
use std::time::{Duration, Instant};

fn concept(code: &str, with_axes: bool) -> Concept {
    Concept {
        code: code.into(),
        axes: with_axes.then(|| Axes {
            component: "Glucose".into(),
            property: "SCnc".into(),
            time_aspct: "Pt".into(),
            system: "Ser/Plas".into(),
            scale_typ: "Qn".into(),
            method_typ: String::new(),
        }),
        class: "CHEM".into(),
        display_zh: "葡萄糖".into(),
        display_en: "Glucose [Moles/volume] in Serum or Plasma".into(),
        short_name: "Glucose SerPl-sCnc".into(),
        abbreviations: vec!["GLU".into(), "Glu".into()],
        synonyms_zh: vec!["血糖".into(), "空腹血糖".into()],
        synonyms_en: vec!["blood sugar, fasting".into()],
        ucum_unit: "mmol/L".into(),
        molar_mass: Some(180.16),
        status: Status::Active,
        replaced_by: String::new(),
        loinc: "14749-6".into(),
    }
}

fn each_db(test: impl Fn(&TestDb, &Store)) {
    for db in TestDb::all() {
        let store = Store::connect(db.url()).unwrap();
        assert!(
            store.migrate().unwrap() > 0,
            "{db:?}: fresh database, migrations must run"
        );
        assert_eq!(
            store.migrate().unwrap(),
            0,
            "{db:?}: migrations are idempotent"
        );
        test(&db, &store);
    }
}

#[test]
fn releases_round_trip() {
    each_db(|db, store| {
        let mut without_axes = concept("2345-7", false);
        without_axes.molar_mass = None;
        without_axes.abbreviations.clear();
        let concepts = vec![concept("14749-6", true), without_axes];
        let r = store
            .insert_release(CodeSystem::Loinc, "v1", "test.csv", &concepts)
            .unwrap();
        assert_eq!(
            (r.label.as_str(), r.concept_count, r.system),
            ("v1", 2, CodeSystem::Loinc)
        );
        let mut sorted = concepts.clone();
        sorted.sort_by(|a, b| a.code.cmp(&b.code));
        assert_eq!(store.release_concepts(r.id).unwrap(), sorted, "{db:?}");
        assert_eq!(
            store.concept(r.id, "14749-6").unwrap(),
            Some(concepts[0].clone())
        );
        assert_eq!(store.concept(r.id, "1-8").unwrap(), None);
        assert_eq!(store.releases().unwrap(), vec![r]);
    });
}

#[test]
fn a_used_label_is_a_conflict_and_writes_nothing() {
    each_db(|db, store| {
        store
            .insert_release(
                CodeSystem::National,
                "2026.1",
                "a",
                &[concept("9000001-9", true)],
            )
            .unwrap();
        let err = store
            .insert_release(
                CodeSystem::National,
                "2026.1",
                "b",
                &[concept("9000002-7", true)],
            )
            .unwrap_err();
        assert!(matches!(err, PortError::Conflict(_)), "{db:?}: {err:?}");
        assert_eq!(store.releases().unwrap().len(), 1);
        // The same label in another system is fine.
        store
            .insert_release(
                CodeSystem::Loinc,
                "2026.1",
                "c",
                &[concept("14749-6", true)],
            )
            .unwrap();
    });
}

#[test]
fn a_failed_insert_rolls_back_the_whole_release() {
    each_db(|db, store| {
        // A duplicate primary key fails the concept insert after the release row was written.
        let dup = vec![concept("14749-6", true), concept("14749-6", true)];
        assert!(
            store
                .insert_release(CodeSystem::Loinc, "dup", "x", &dup)
                .is_err(),
            "{db:?}"
        );
        assert_eq!(
            store.releases().unwrap(),
            vec![],
            "{db:?}: the release row must be rolled back"
        );
    });
}

#[test]
fn large_releases_are_chunked() {
    each_db(|db, store| {
        // More rows than one PostgreSQL statement can bind (65,535 parameters / 20 columns).
        let concepts: Vec<Concept> = (0..7000u32)
            .map(|i| {
                concept(
                    &huren_core::code::national_code(9_000_000 + i).unwrap(),
                    true,
                )
            })
            .collect();
        let r = store
            .insert_release(CodeSystem::National, "big", "x", &concepts)
            .unwrap();
        assert_eq!(store.release_concepts(r.id).unwrap().len(), 7000, "{db:?}");
    });
}

#[test]
fn concurrent_migrations_are_safe() {
    let all = {
        let db = TestDb::sqlite();
        Store::connect(db.url()).unwrap().migrate().unwrap()
    };
    for db in TestDb::all() {
        let url = db.url().to_owned();
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let url = url.clone();
                std::thread::spawn(move || Store::connect(&url).unwrap().migrate().unwrap())
            })
            .collect();
        let mut applied: Vec<usize> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        applied.sort();
        assert_eq!(
            applied,
            [0, 0, all],
            "{db:?}: exactly one node applies the migrations"
        );
    }
}

fn hid(id: &str) -> HospitalId {
    HospitalId::parse(id).unwrap()
}

fn hospital(id: &str, name: &str) -> Hospital {
    Hospital {
        id: hid(id),
        name: name.into(),
        province: "420000".into(),
        city: "420100".into(),
        level: "三级甲等".into(),
        lab: Default::default(),
    }
}

fn mapping(hosp: &str, local_code: &str, target: &str, status: MappingStatus) -> Mapping {
    Mapping {
        hospital: hid(hosp),
        term: LocalTerm {
            local_code: local_code.into(),
            local_name: "空腹血糖".into(),
            specimen: "血清".into(),
            unit: "mmol/l".into(),
            ref_low: Some(3.9),
            ref_high: Some(6.1),
            ref_text: "3.9–6.1".into(),
            method: "己糖激酶法".into(),
            note: String::new(),
        },
        national_code: target.into(),
        loinc: String::new(),
        unit_ucum: "mmol/L".into(),
        unit_alias: "mmol/l".into(),
        equivalence: Equivalence::Equivalent,
        status,
        proposed_by: "curator-1".into(),
        updated_by: "curator-1".into(),
        updated_at: 1_700_000_000_000,
    }
}

fn change(m: &Mapping, at: i64, action: &str, from: Option<MappingStatus>) -> MappingChange {
    MappingChange {
        hospital: m.hospital.clone(),
        local_code: m.term.local_code.clone(),
        at,
        by: m.updated_by.clone(),
        action: action.into(),
        from_status: from,
        to_status: m.status,
        from_target: String::new(),
        to_target: m.national_code.clone(),
        comment: "导入".into(),
    }
}

/// A store with the hospitals `hosp-a` and `hosp-b`.
fn with_hospitals(store: &Store) {
    store
        .upsert_hospitals(&[hospital("hosp-a", "甲医院"), hospital("hosp-b", "乙医院")])
        .unwrap();
}

#[test]
fn hospitals_are_created_updated_listed_and_read() {
    each_db(|db, store| {
        let a = hospital("hosp-a", "华中科技大学同济医学院附属协和医院");
        assert!(store.upsert_hospital(&a).unwrap(), "{db:?}: new");
        let mut a2 = a.clone();
        a2.name = "协和医院".into();
        a2.level = String::new();
        assert!(!store.upsert_hospital(&a2).unwrap(), "{db:?}: existing");
        assert_eq!(store.hospital(&hid("hosp-a")).unwrap(), Some(a2.clone()));

        // A batch creates and replaces; a repeated id keeps the last.
        let mut a3 = a2.clone();
        a3.city = "420102".into();
        let b = hospital("hosp-b", "同济医院");
        let z = hospital("0-first", "Zero");
        store
            .upsert_hospitals(&[b.clone(), a2.clone(), z.clone(), a3.clone()])
            .unwrap();
        assert_eq!(store.hospitals().unwrap(), vec![z, a3, b], "{db:?}: by id");
        assert_eq!(store.hospital(&hid("nowhere")).unwrap(), None);
        store.upsert_hospitals(&[]).unwrap();
    });
}

#[test]
fn apply_mappings_creates_then_replaces_and_keeps_history_in_order() {
    each_db(|db, store| {
        with_hospitals(store);
        let glu = mapping("hosp-a", "GLU", "", MappingStatus::Proposed);
        let alt = mapping("hosp-a", "ALT", "9000002-7", MappingStatus::Proposed);
        store
            .apply_mappings(
                &[glu.clone(), alt.clone()],
                &[
                    change(&glu, 10, "import", None),
                    change(&alt, 10, "import", None),
                ],
            )
            .unwrap();
        assert_eq!(
            store.mapping(&hid("hosp-a"), "GLU").unwrap(),
            Some(glu.clone())
        );

        let mut approved = glu.clone();
        approved.national_code = "9000001-9".into();
        approved.status = MappingStatus::Approved;
        approved.updated_by = "reviewer-2".into();
        approved.updated_at += 1;
        // Two changes at the same instant keep the order in which they were written.
        let steps = [
            change(&approved, 20, "propose", Some(MappingStatus::Proposed)),
            change(&approved, 20, "approve", Some(MappingStatus::Proposed)),
        ];
        store.apply_mappings(&[approved.clone()], &steps).unwrap();
        assert_eq!(
            store.mapping(&hid("hosp-a"), "GLU").unwrap(),
            Some(approved),
            "{db:?}: replaced"
        );
        assert_eq!(store.mappings(&hid("hosp-a")).unwrap().len(), 2);

        let history = store.mapping_history(&hid("hosp-a"), "GLU").unwrap();
        let actions: Vec<&str> = history.iter().map(|c| c.action.as_str()).collect();
        assert_eq!(actions, ["import", "propose", "approve"], "{db:?}");
        assert_eq!(history[0], change(&glu, 10, "import", None));
        assert_eq!(history[2], steps[1]);
        assert_eq!(
            store.mapping_history(&hid("hosp-a"), "ALT").unwrap().len(),
            1
        );
        assert!(
            store
                .mapping_history(&hid("hosp-b"), "GLU")
                .unwrap()
                .is_empty()
        );
    });
}

#[test]
fn a_batch_naming_an_unknown_hospital_writes_nothing() {
    each_db(|db, store| {
        with_hospitals(store);
        let ok = mapping("hosp-a", "GLU", "9000001-9", MappingStatus::Proposed);
        let stray = mapping("nowhere", "GLU", "9000001-9", MappingStatus::Proposed);
        let history = [
            change(&ok, 1, "import", None),
            change(&stray, 1, "import", None),
        ];
        let err = store
            .apply_mappings(&[ok.clone(), stray], &history)
            .unwrap_err();
        match &err {
            PortError::Conflict(message) => {
                assert!(message.contains("`nowhere`"), "{db:?}: {message}");
                assert!(!message.contains("hosp-a"), "{db:?}: {message}");
            }
            other => panic!("{db:?}: expected a conflict, got {other:?}"),
        }
        assert!(store.mappings(&hid("hosp-a")).unwrap().is_empty(), "{db:?}");
        assert!(
            store
                .mapping_history(&hid("hosp-a"), "GLU")
                .unwrap()
                .is_empty()
        );

        // History alone is checked too.
        let err = store
            .apply_mappings(
                std::slice::from_ref(&ok),
                &[change(
                    &mapping("ghost", "X", "", MappingStatus::Proposed),
                    1,
                    "import",
                    None,
                )],
            )
            .unwrap_err();
        assert!(
            matches!(err, PortError::Conflict(ref m) if m.contains("`ghost`")),
            "{db:?}: {err:?}"
        );
        assert!(store.mappings(&hid("hosp-a")).unwrap().is_empty(), "{db:?}");
    });
}

#[test]
fn mappings_are_listed_by_local_code_and_read_one_by_one() {
    each_db(|db, store| {
        with_hospitals(store);
        // Byte order, whatever the database's collation: digits, upper case, `-`, lower case.
        let codes = ["glu", "a1", "001", "a-1", "GLU", "Z9", "10", "2"];
        let writes: Vec<Mapping> = codes
            .iter()
            .map(|c| mapping("hosp-a", c, "", MappingStatus::Proposed))
            .collect();
        store.apply_mappings(&writes, &[]).unwrap();
        store
            .apply_mappings(
                &[mapping("hosp-b", "000", "", MappingStatus::Proposed)],
                &[],
            )
            .unwrap();
        let listed: Vec<String> = store
            .mappings(&hid("hosp-a"))
            .unwrap()
            .into_iter()
            .map(|m| m.term.local_code)
            .collect();
        let mut expected: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
        expected.sort();
        assert_eq!(listed, expected, "{db:?}");

        assert_eq!(
            store.mapping(&hid("hosp-a"), "a-1").unwrap(),
            Some(writes[3].clone())
        );
        assert_eq!(
            store.mapping(&hid("hosp-a"), "A-1").unwrap(),
            None,
            "{db:?}: exact"
        );
        assert_eq!(store.mapping(&hid("hosp-b"), "glu").unwrap(), None);
        assert_eq!(store.mapping(&hid("nowhere"), "glu").unwrap(), None);
        assert!(store.mappings(&hid("nowhere")).unwrap().is_empty());
    });
}

#[test]
fn a_repeated_local_code_in_one_batch_keeps_the_last() {
    each_db(|db, store| {
        with_hospitals(store);
        let first = mapping("hosp-a", "GLU", "9000001-9", MappingStatus::Proposed);
        let mut last = first.clone();
        last.national_code = "9000002-7".into();
        store.apply_mappings(&[first, last.clone()], &[]).unwrap();
        assert_eq!(
            store.mappings(&hid("hosp-a")).unwrap(),
            vec![last],
            "{db:?}"
        );
    });
}

#[test]
fn approved_names_are_approved_mappings_with_a_target() {
    each_db(|db, store| {
        with_hospitals(store);
        let named = |h: &str, code: &str, name: &str, target: &str, status| {
            let mut m = mapping(h, code, target, status);
            m.term.local_name = name.into();
            m
        };
        let writes = [
            named(
                "hosp-b",
                "1",
                "谷丙转氨酶",
                "9000002-7",
                MappingStatus::Approved,
            ),
            named(
                "hosp-a",
                "2",
                "葡萄糖",
                "9000001-9",
                MappingStatus::Approved,
            ),
            named("hosp-a", "3", "未映射", "", MappingStatus::Approved),
            named("hosp-a", "4", "待审", "9000001-9", MappingStatus::Proposed),
            named("hosp-a", "5", "驳回", "9000001-9", MappingStatus::Rejected),
            named("hosp-a", "6", "停用", "9000001-9", MappingStatus::Retired),
            named("hosp-a", "1", "血糖", "9000001-9", MappingStatus::Approved),
            // Mapped to a LOINC term without a national code.
            {
                let mut m = named("hosp-b", "NH3", "血氨", "", MappingStatus::Approved);
                m.loinc = "16362-6".into();
                m
            },
            {
                let mut m = named("hosp-a", "CO2", "总二氧化碳", "", MappingStatus::Proposed);
                m.loinc = "2028-9".into();
                m
            },
        ];
        store.apply_mappings(&writes, &[]).unwrap();
        let s = |x: &str| x.to_string();
        assert_eq!(
            store.approved_names().unwrap(),
            vec![
                (hid("hosp-a"), s("血糖"), s("9000001-9")),
                (hid("hosp-a"), s("葡萄糖"), s("9000001-9")),
                (hid("hosp-b"), s("谷丙转氨酶"), s("9000002-7")),
                (hid("hosp-b"), s("血氨"), s("16362-6")),
            ],
            "{db:?}"
        );
        // Every LOINC-only mapping, whatever its status, with its target read back.
        let loinc: Vec<(String, String, String, MappingStatus)> = store
            .loinc_mappings()
            .unwrap()
            .into_iter()
            .map(|m| (m.hospital.to_string(), m.term.local_code, m.loinc, m.status))
            .collect();
        assert_eq!(
            loinc,
            vec![
                (s("hosp-a"), s("CO2"), s("2028-9"), MappingStatus::Proposed),
                (s("hosp-b"), s("NH3"), s("16362-6"), MappingStatus::Approved),
            ],
            "{db:?}"
        );
    });
}

#[test]
fn every_mapping_field_round_trips() {
    each_db(|db, store| {
        with_hospitals(store);
        let mut m = mapping("hosp-b", "血糖-01", "9000001-9", MappingStatus::Rejected);
        m.term = LocalTerm {
            local_code: "血糖-01".into(),
            local_name: "葡萄糖（空腹）".into(),
            specimen: "血浆".into(),
            unit: "毫摩尔/升".into(),
            ref_low: None,
            ref_high: Some(6.1),
            ref_text: "<6.1 mmol/L；孕妇另计".into(),
            method: "葡萄糖氧化酶法".into(),
            note: "“引号”与\n换行\t制表".into(),
        };
        // Every text column holds a different value, so that two swapped columns would show.
        m.unit_ucum = "mmol/L".into();
        m.unit_alias = "毫摩尔每升".into();
        m.equivalence = Equivalence::Narrower;
        m.proposed_by = "张三".into();
        m.updated_by = "李四".into();
        m.updated_at = i64::MAX;
        let mut c = change(&m, -1, "reject", Some(MappingStatus::Approved));
        c.from_target = "9000002-7".into();
        c.comment = "单位不符".into();
        store.apply_mappings(&[m.clone()], &[c.clone()]).unwrap();
        assert_eq!(
            store.mapping(&hid("hosp-b"), "血糖-01").unwrap(),
            Some(m.clone()),
            "{db:?}"
        );
        assert_eq!(
            store.mapping_history(&hid("hosp-b"), "血糖-01").unwrap(),
            vec![c]
        );

        for e in Equivalence::ALL {
            for s in MappingStatus::ALL {
                let mut m = mapping("hosp-a", &format!("{e}-{s}"), "", s);
                m.equivalence = e;
                m.term.ref_high = None;
                store.apply_mappings(&[m.clone()], &[]).unwrap();
                assert_eq!(
                    store.mapping(&m.hospital, &m.term.local_code).unwrap(),
                    Some(m)
                );
            }
        }
    });
}

/// `count` mappings of `hosp-a`, with one `import` history entry each.
fn bulk(count: usize, status: MappingStatus) -> (Vec<Mapping>, Vec<MappingChange>) {
    let writes: Vec<Mapping> = (0..count)
        .map(|i| {
            let mut m = mapping("hosp-a", &format!("L{i:06}"), "9000001-9", status);
            m.term.local_name = format!("葡萄糖 {i}");
            m
        })
        .collect();
    let history = writes
        .iter()
        .map(|m| change(m, 1, "import", None))
        .collect();
    (writes, history)
}

#[test]
fn large_mapping_batches_are_chunked() {
    each_db(|db, store| {
        with_hospitals(store);
        // More rows than one statement can bind on either backend.
        let (writes, history) = bulk(5000, MappingStatus::Proposed);
        store.apply_mappings(&writes, &history).unwrap();
        assert_eq!(store.mappings(&hid("hosp-a")).unwrap(), writes, "{db:?}");
        let (writes, _) = bulk(5000, MappingStatus::Approved);
        store.apply_mappings(&writes, &[]).unwrap();
        assert_eq!(store.approved_names().unwrap().len(), 5000, "{db:?}");
    });
}

/// The CPU time this process has used so far (user and system), from `/proc/self/stat`; zero
/// where there is no such file. With SQLite all the work is in this process, so rows per CPU
/// second are meaningful even on a busy machine.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or_default();
    // Fields 14 and 15 of proc(5), counted after the parenthesised name: utime, stime in ticks.
    let ticks: u64 = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// Rows per second of a 100,000-mapping import: new (with one history entry each), replaced
/// (likewise), and replaced without history; the best of three rounds.
/// `cargo test -p huren-store --release -- --ignored --nocapture`
#[test]
#[ignore = "a measurement; run in release"]
fn apply_mappings_throughput() {
    const N: usize = 100_000;
    const ROUNDS: usize = 3;
    each_db(|db, store| {
        with_hospitals(store);
        let (new, new_history) = bulk(N, MappingStatus::Proposed);
        let (changed, changed_history) = bulk(N, MappingStatus::Approved);
        let cases: [(&str, &[Mapping], &[MappingChange]); 3] = [
            ("new + history", &new, &new_history),
            ("replaced + history", &changed, &changed_history),
            ("replaced, no history", &changed, &[]),
        ];
        let mut best = [(Duration::MAX, Duration::MAX); 3];
        for _ in 0..ROUNDS {
            db.execute("DELETE FROM mapping_history; DELETE FROM mappings;");
            for (i, (_, writes, history)) in cases.iter().enumerate() {
                let (wall, cpu) = (Instant::now(), cpu_time());
                store.apply_mappings(writes, history).unwrap();
                let (wall, cpu) = (wall.elapsed(), cpu_time().saturating_sub(cpu));
                best[i] = (best[i].0.min(wall), best[i].1.min(cpu));
            }
        }
        assert_eq!(store.mappings(&hid("hosp-a")).unwrap(), changed, "{db:?}");
        let rate = |d: Duration| N as f64 / d.as_secs_f64().max(1e-9);
        for ((name, _, _), (wall, cpu)) in cases.iter().zip(best) {
            eprintln!(
                "{:>8} {N} mappings, {name:<20}: {wall:>9.2?} = {:>7.0} mappings/s; \
                 this process's CPU {cpu:>9.2?} = {:>7.0} mappings/s",
                store.backend(),
                rate(wall),
                rate(cpu),
            );
        }
    });
}

#[test]
fn a_change_by_another_node_is_read_at_once_and_kept_in_memory_after_a_refresh() {
    each_db(|db, store| {
        with_hospitals(store);
        // A second node: the same database, its own in-memory tables.
        let other = Store::connect(db.url()).unwrap();
        let m = mapping("hosp-a", "GLU", "9000033-2", MappingStatus::Approved);
        store
            .apply_mappings(std::slice::from_ref(&m), &[change(&m, 1, "import", None)])
            .unwrap();
        let seen = |s: &Store| {
            s.mapping(&hid("hosp-a"), "GLU")
                .unwrap()
                .unwrap()
                .national_code
        };
        let in_memory = |s: &Store| {
            s.mapping_in_memory(&hid("hosp-a"), "GLU")
                .map(|m| m.unwrap().national_code)
        };
        assert_eq!(seen(&other), "9000033-2");
        assert_eq!(in_memory(&other).as_deref(), Some("9000033-2"));
        let mut moved = m.clone();
        moved.national_code = "9000034-0".into();
        store
            .apply_mappings(
                std::slice::from_ref(&moved),
                &[change(&moved, 2, "propose", Some(MappingStatus::Approved))],
            )
            .unwrap();
        // Reads through the port see the change on both nodes at once (the stored version is
        // compared first); the other node's in-memory table, which terminology answers use
        // without a query, is the old one until its refresh drops it.
        assert_eq!(seen(store), "9000034-0");
        assert_eq!(in_memory(&other).as_deref(), Some("9000033-2"));
        other.refresh_caches().unwrap();
        assert_eq!(in_memory(&other), None, "dropped by the refresh");
        assert_eq!(seen(&other), "9000034-0");
        assert_eq!(in_memory(&other).as_deref(), Some("9000034-0"));
        assert_eq!(
            other
                .mappings_for(&hid("hosp-a"), &["GLU".into(), "NONE".into()])
                .unwrap()
                .len(),
            1
        );
        // Hospitals too.
        let name = |s: &Store| s.hospital(&hid("hosp-a")).unwrap().unwrap().name;
        let name_in_memory = |s: &Store| {
            s.hospital_in_memory(&hid("hosp-a"))
                .map(|h| h.unwrap().name)
        };
        assert_eq!(name(&other), "甲医院");
        store
            .upsert_hospital(&hospital("hosp-a", "甲医院（新）"))
            .unwrap();
        assert_eq!(name_in_memory(&other).as_deref(), Some("甲医院"));
        assert_eq!(name(&other), "甲医院（新）");
        assert_eq!(name(store), "甲医院（新）");
    });
}
