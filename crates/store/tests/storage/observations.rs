//! Observation storage on SQLite and, when `HUREN_TEST_PG_URL` is set, PostgreSQL.

use huren_core::observation::{
    CodeColumn, ObservationQuery, StoredObservation, UnmappedSighting, WriteOutcome, observation_id,
};
use huren_core::ports::{HospitalStore, ObservationStore, PortError};
use huren_core::result::{Identifier, ResultStatus};
use huren_core::{Hospital, HospitalId};
use huren_store::Store;
use huren_testkit::TestDb;

pub(crate) fn each_db(test: impl Fn(&TestDb, &Store)) {
    for db in TestDb::all() {
        let store = Store::connect(db.url()).unwrap();
        store.migrate().unwrap();
        for id in ["hosp-a", "hosp-b"] {
            store
                .upsert_hospital(&Hospital {
                    id: hid(id),
                    name: id.into(),
                    province: String::new(),
                    city: String::new(),
                    level: String::new(),
                    lab: Default::default(),
                })
                .unwrap();
        }
        test(&db, &store);
    }
}

pub(crate) fn hid(id: &str) -> HospitalId {
    HospitalId::parse(id).unwrap()
}

pub(crate) fn obs(hospital: &str, identity: &str, value: &str) -> StoredObservation {
    let hospital = hid(hospital);
    StoredObservation {
        id: observation_id(&hospital, identity),
        hospital,
        identity: identity.into(),
        version: 0,
        status: ResultStatus::Final,
        held: String::new(),
        local_code: "GLU".into(),
        national_code: "9000033-2".into(),
        loinc: "14749-6".into(),
        effective_at: Some(1_000),
        subjects: vec![
            Identifier::new("urn:hosp-a:mrn", "MRN-1"),
            Identifier::new("urn:cn:resident-id", "420106198001011234"),
        ],
        resource: format!(
            r#"{{"resourceType":"Observation","valueQuantity":{{"value":{value}}}}}"#
        ),
        source: "{}".into(),
        updated_at: 0,
        recognition: r#"{"national_code":"9000033-2"}"#.into(),
    }
}

fn sighting(hospital: &str, code: &str, at: i64) -> Option<UnmappedSighting> {
    Some(UnmappedSighting {
        hospital: hid(hospital),
        local_code: code.into(),
        local_name: "新项目".into(),
        unit: "mg/L".into(),
        at,
    })
}

#[test]
fn the_same_result_twice_is_stored_once_and_corrections_keep_history() {
    each_db(|db, store| {
        let first = obs("hosp-a", "urn:lis|1", "5.4");
        let out = store.write_observations(&[(first.clone(), None)]).unwrap();
        assert_eq!(out, [(WriteOutcome::Created, 1)], "{db:?}");
        let out = store.write_observations(&[(first.clone(), None)]).unwrap();
        assert_eq!(out, [(WriteOutcome::Unchanged, 1)], "{db:?}");

        let mut corrected = obs("hosp-a", "urn:lis|1", "5.8");
        corrected.status = ResultStatus::Corrected;
        let out = store
            .write_observations(&[(corrected.clone(), None)])
            .unwrap();
        assert_eq!(out, [(WriteOutcome::Updated, 2)]);
        // A late resend of the original does not undo the correction.
        let out = store.write_observations(&[(first.clone(), None)]).unwrap();
        assert_eq!(out, [(WriteOutcome::Stale, 2)]);

        let stored = store.observation(&first.id).unwrap().unwrap();
        assert_eq!(stored.version, 2);
        assert_eq!(stored.status, ResultStatus::Corrected);
        assert!(stored.resource.contains("5.8"));
        assert_eq!(stored.subjects.len(), 2);
        let versions = store.observation_versions(&first.id).unwrap();
        assert_eq!(
            versions
                .iter()
                .map(|v| (v.version, v.status))
                .collect::<Vec<_>>(),
            [(2, ResultStatus::Corrected), (1, ResultStatus::Final)]
        );
        assert!(versions[1].resource.contains("5.4"));
        assert_eq!(store.observation("nope").unwrap(), None);
        assert!(store.observation_versions("nope").unwrap().is_empty());
    });
}

#[test]
fn one_batch_may_name_a_result_twice() {
    each_db(|db, store| {
        let a = obs("hosp-a", "urn:lis|2", "1.0");
        let mut b = obs("hosp-a", "urn:lis|2", "1.1");
        b.status = ResultStatus::Amended;
        let out = store
            .write_observations(&[(a.clone(), None), (b.clone(), None)])
            .unwrap();
        assert_eq!(
            out,
            [(WriteOutcome::Created, 1), (WriteOutcome::Updated, 2)],
            "{db:?}"
        );
        let stored = store.observation(&a.id).unwrap().unwrap();
        assert_eq!((stored.version, stored.status), (2, ResultStatus::Amended));
    });
}

#[test]
fn search_by_subject_code_and_date() {
    each_db(|db, store| {
        let mut batch = Vec::new();
        for i in 0..5 {
            let mut o = obs("hosp-a", &format!("urn:lis|s{i}"), "1");
            o.effective_at = Some(1_000 * i);
            if i == 4 {
                o.national_code = "9000052-2".into();
                o.loinc = "2823-3".into();
                o.local_code = "K".into();
            }
            batch.push((o, None));
        }
        let mut other = obs("hosp-b", "urn:lis|s0", "1");
        other.subjects = vec![Identifier::new("urn:cn:resident-id", "420106198001011234")];
        other.effective_at = Some(0);
        batch.push((other, None));
        let mut held = obs("hosp-a", "urn:lis|held", "1");
        held.held = "unmapped".into();
        held.national_code.clear();
        held.loinc.clear();
        held.local_code = "X1".into();
        batch.push((held, sighting("hosp-a", "X1", 5)));
        store.write_observations(&batch).unwrap();

        let search = |q: ObservationQuery| {
            store
                .search_observations(&ObservationQuery { limit: 100, ..q })
                .unwrap()
                .into_iter()
                .map(|o| o.identity)
                .collect::<Vec<_>>()
        };
        let national = Identifier::new("urn:cn:resident-id", "420106198001011234");
        // Across hospitals by the national identifier, newest first, held results hidden.
        assert_eq!(
            search(ObservationQuery {
                subject: Some(national.clone()),
                ..Default::default()
            }),
            [
                "urn:lis|s4",
                "urn:lis|s3",
                "urn:lis|s2",
                "urn:lis|s1",
                "urn:lis|s0",
                "urn:lis|s0"
            ],
            "{db:?}"
        );
        assert_eq!(
            search(ObservationQuery {
                subject: Some(Identifier::new("urn:hosp-a:mrn", "MRN-1")),
                hospital: Some(hid("hosp-a")),
                codes: vec![(CodeColumn::Any, "2823-3".into())],
                ..Default::default()
            }),
            ["urn:lis|s4"]
        );
        assert_eq!(
            search(ObservationQuery {
                codes: vec![(CodeColumn::Local, "GLU".into())],
                hospital: Some(hid("hosp-a")),
                effective_from: Some(1_000),
                effective_to: Some(2_000),
                ..Default::default()
            }),
            ["urn:lis|s2", "urn:lis|s1"]
        );
        // A system-less identifier matches any system.
        assert_eq!(
            search(ObservationQuery {
                subject: Some(Identifier::new("", "MRN-1")),
                limit: 2,
                offset: 1,
                ..Default::default()
            })
            .len(),
            4
        );
        let page = store
            .search_observations(&ObservationQuery {
                subject: Some(national),
                limit: 2,
                offset: 4,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(page.len(), 2);

        let held = store
            .held_observations(&hid("hosp-a"), &["X1".into()])
            .unwrap();
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].held, "unmapped");
    });
}

#[test]
fn a_patients_results_carry_every_subject_from_their_source_or_the_table() {
    each_db(|db, store| {
        let national = Identifier::new("urn:cn:resident-id", "420106198001011234");
        let mut sent = huren_core::result::LabResult::new("entry[0]");
        sent.patient.identifiers = vec![Identifier::new("urn:hosp-b:mrn", "B-7"), national.clone()];
        let mut read_back = obs("hosp-b", "urn:lis|src", "2");
        read_back.subjects = huren_core::observation::subjects_of(&sent);
        read_back.source = serde_json::to_string(&sent).unwrap();
        read_back.effective_at = Some(2_000);
        // A source that is not a sent result's JSON: its subjects come from the table.
        let from_table = obs("hosp-a", "urn:lis|old", "1");
        store
            .write_observations(&[(read_back.clone(), None), (from_table.clone(), None)])
            .unwrap();

        let found = store
            .search_observations(&ObservationQuery {
                subject: Some(national),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        let subjects: Vec<(&str, &[Identifier])> = found
            .iter()
            .map(|o| (o.identity.as_str(), o.subjects.as_slice()))
            .collect();
        let mut table = from_table.subjects.clone();
        table.sort();
        assert_eq!(
            subjects,
            [
                ("urn:lis|src", read_back.subjects.as_slice()),
                ("urn:lis|old", table.as_slice())
            ],
            "{db:?}"
        );
        // What the table holds for each is the same.
        for o in &found {
            let stored = store.observation(&o.id).unwrap().unwrap();
            assert_eq!(stored.subjects, o.subjects, "{db:?}");
        }
    });
}

/// A result corrected to another patient (the wrong patient's chart, put right) is found under
/// the new patient only: the rows of the identifiers it was stored with are deleted by their
/// key, whether its source gave them or the table did.
#[test]
fn a_result_corrected_to_another_patient_leaves_the_first_one() {
    each_db(|db, store| {
        let by = |patient: &Identifier| {
            store
                .search_observations(&ObservationQuery {
                    subject: Some(patient.clone()),
                    limit: 10,
                    ..Default::default()
                })
                .unwrap()
                .into_iter()
                .map(|o| (o.identity, o.version, o.subjects))
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
        };
        let wrong = Identifier::new("urn:cn:resident-id", "420106198001010000");
        let right = Identifier::new("urn:cn:resident-id", "420106198001019999");
        let sent_for = |patient: &Identifier| {
            let mut sent = huren_core::result::LabResult::new("entry[0]");
            sent.patient.identifiers = vec![patient.clone()];
            sent
        };
        // Its subjects from its source: the source's, even where the result says otherwise.
        let mut first = obs("hosp-a", "urn:lis|moved", "5.1");
        first.source = serde_json::to_string(&sent_for(&wrong)).unwrap();
        first.subjects = vec![Identifier::new("urn:x", "ignored")];
        // Its subjects from the table (a source that is not a sent result's).
        let mut other = obs("hosp-a", "urn:lis|moved-too", "5.1");
        other.subjects = vec![wrong.clone()];
        store
            .write_observations(&[(first.clone(), None), (other.clone(), None)])
            .unwrap();
        assert_eq!(by(&wrong).len(), 2, "{db:?}");
        assert!(
            by(&Identifier::new("urn:x", "ignored")).is_empty(),
            "{db:?}"
        );

        let mut first_fixed = obs("hosp-a", "urn:lis|moved", "5.2");
        first_fixed.source = serde_json::to_string(&sent_for(&right)).unwrap();
        let mut other_fixed = obs("hosp-a", "urn:lis|moved-too", "5.2");
        other_fixed.subjects = vec![right.clone()];
        store
            .write_observations(&[(first_fixed, None), (other_fixed, None)])
            .unwrap();
        assert!(by(&wrong).is_empty(), "{db:?}: {:?}", by(&wrong));
        assert_eq!(
            by(&right),
            [
                ("urn:lis|moved".to_owned(), 2, vec![right.clone()]),
                ("urn:lis|moved-too".to_owned(), 2, vec![right.clone()])
            ],
            "{db:?}"
        );
    });
}

#[test]
fn unmapped_sightings_are_counted_once_per_new_result() {
    each_db(|db, store| {
        let mut a = obs("hosp-a", "urn:lis|u1", "1");
        a.held = "unmapped".into();
        let mut b = obs("hosp-a", "urn:lis|u2", "2");
        b.held = "unmapped".into();
        let batch = [
            (a.clone(), sighting("hosp-a", "X9", 10)),
            (b, sighting("hosp-a", "X9", 20)),
        ];
        store.write_observations(&batch).unwrap();
        // Sending the same results again does not count them again.
        store.write_observations(&batch).unwrap();
        store
            .write_observations(&[(
                obs("hosp-a", "urn:lis|u3", "3"),
                sighting("hosp-a", "Y1", 30),
            )])
            .unwrap();
        let queue = store.unmapped_codes(&hid("hosp-a")).unwrap();
        let summary: Vec<(&str, i64, i64, i64)> = queue
            .iter()
            .map(|u| (u.local_code.as_str(), u.count, u.first_seen, u.last_seen))
            .collect();
        assert_eq!(summary, [("Y1", 1, 30, 30), ("X9", 2, 10, 20)], "{db:?}");
        assert_eq!(queue[0].local_name, "新项目");
        assert!(store.unmapped_codes(&hid("hosp-b")).unwrap().is_empty());
    });
}

#[test]
fn a_batch_with_an_unknown_hospital_writes_nothing() {
    each_db(|db, store| {
        let good = obs("hosp-a", "urn:lis|r1", "1");
        let bad = obs("nowhere", "urn:lis|r2", "1");
        assert!(
            store
                .write_observations(&[(good.clone(), None), (bad, None)])
                .is_err(),
            "{db:?}"
        );
        assert_eq!(store.observation(&good.id).unwrap(), None);
    });
}

#[test]
fn a_result_with_the_id_of_another_result_is_refused_and_nothing_is_written() {
    each_db(|db, store| {
        let theirs = obs("hosp-a", "urn:lis|r1", "5.4");
        store.write_observations(&[(theirs.clone(), None)]).unwrap();
        // Ids are a hash of hospital and identifier: a crafted collision, another hospital's
        // result or another identifier of the same hospital under the stored result's id.
        for (hospital, identity) in [("hosp-b", "urn:lis|r1"), ("hosp-a", "urn:lis|r9")] {
            let forged = StoredObservation {
                id: theirs.id.clone(),
                ..obs(hospital, identity, "9.9")
            };
            let innocent = obs("hosp-b", "urn:lis|r2", "1");
            let err = store
                .write_observations(&[(innocent.clone(), None), (forged, None)])
                .unwrap_err();
            assert!(
                matches!(&err, PortError::Conflict(m) if m.contains(identity) && !m.contains("5.4")),
                "{db:?}: {err}"
            );
            assert_eq!(store.observation(&innocent.id).unwrap(), None, "{db:?}");
            let kept = store.observation(&theirs.id).unwrap().unwrap();
            assert_eq!(
                (kept.version, kept.resource),
                (1, theirs.resource.clone()),
                "{db:?}"
            );
        }
        // Two results of one batch under one id.
        let a = obs("hosp-b", "urn:lis|r3", "1");
        let b = StoredObservation {
            id: a.id.clone(),
            ..obs("hosp-b", "urn:lis|r4", "2")
        };
        let err = store.write_observations(&[(a.clone(), None), (b, None)]);
        assert!(
            matches!(err, Err(PortError::Conflict(_))),
            "{db:?}: {err:?}"
        );
        assert_eq!(store.observation(&a.id).unwrap(), None, "{db:?}");
    });
}

#[test]
fn large_batches_are_chunked() {
    each_db(|db, store| {
        let batch: Vec<_> = (0..6_000)
            .map(|i| (obs("hosp-a", &format!("urn:lis|big{i}"), "1"), None))
            .collect();
        let out = store.write_observations(&batch).unwrap();
        assert_eq!(out.len(), 6_000, "{db:?}");
        let again = store.write_observations(&batch).unwrap();
        assert!(again.iter().all(|(o, _)| *o == WriteOutcome::Unchanged));
    });
}

#[test]
fn a_grown_wal_is_checkpointed_and_truncated() {
    let db = TestDb::sqlite();
    // As the server opens it: no automatic checkpoint, so only `checkpoint` copies the WAL back.
    let store = Store::connect_checkpointing(db.url(), None).unwrap();
    store.migrate().unwrap();
    store
        .upsert_hospital(&Hospital {
            id: hid("hosp-a"),
            name: "a".into(),
            province: String::new(),
            city: String::new(),
            level: String::new(),
            lab: Default::default(),
        })
        .unwrap();
    let path = db.url().trim_start_matches("sqlite://").to_owned();
    let wal = format!("{path}-wal");
    // Twice what SQLite's automatic checkpoint lets the WAL grow to (1,000 pages, then it starts
    // the file again): with it off, only `checkpoint` copies the WAL back.
    let mut written = Vec::new();
    let wal_size = || std::fs::metadata(&wal).map_or(0, |m| m.len());
    for round in 0..200 {
        if wal_size() > 2000 * 4096 {
            break;
        }
        let batch: Vec<_> = (0..200)
            .map(|i| (obs("hosp-a", &format!("urn:r|{round}-{i}"), "5.1"), None))
            .collect();
        store.write_observations(&batch).unwrap();
        written.extend(batch);
    }
    let size = wal_size();
    assert!(size > 2000 * 4096, "{size}");
    // Under both limits: left alone.
    assert_eq!(store.checkpoint(u64::MAX, u64::MAX).unwrap(), None);
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), size);
    // Over the first only: copied back, the file kept; the next write starts it again from its
    // beginning instead of growing it.
    assert_eq!(store.checkpoint(0, u64::MAX).unwrap(), Some(size));
    assert_eq!(wal_size(), size);
    let one = vec![(obs("hosp-a", "urn:r|after", "5.2"), None)];
    store.write_observations(&one).unwrap();
    written.extend(one);
    assert_eq!(wal_size(), size);
    // Over both: checkpointed into the database and truncated; nothing is lost.
    assert_eq!(store.checkpoint(0, 0).unwrap(), Some(size));
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
    for (o, _) in &written {
        assert!(store.observation(&o.id).unwrap().is_some());
    }
    // PostgreSQL has no WAL of ours to bound.
    if let Some(pg) = TestDb::postgres() {
        let store = Store::connect(pg.url()).unwrap();
        assert_eq!(store.checkpoint(0, 0).unwrap(), None);
    }
}

#[test]
fn results_are_stored_packed_and_rows_from_before_read_as_they_are() {
    each_db(|db, store| {
        let mut o = obs("hosp-a", "urn:lis|packed", "1");
        o.resource =
            r#"{"resourceType":"Observation","note":[{"text":"患者 'quoted' \\ ✓"}]}"#.into();
        o.source = r#"{"value":"5.55","unit":"mmol/L"}"#.into();
        o.recognition = r#"{"national_code":"9000033-2"}"#.into();
        store.write_observations(&[(o.clone(), None)]).unwrap();
        let stored = store.observation(&o.id).unwrap().unwrap();
        assert_eq!(
            (&stored.resource, &stored.source, &stored.recognition),
            (&o.resource, &o.source, &o.recognition)
        );
        // Packed: the text columns are empty, the body holds them.
        db.execute(&format!(
            "CREATE TABLE packed_probe AS SELECT length(resource) AS r, length(body) AS b \
             FROM observations WHERE id = '{}'",
            o.id
        ));
        db.execute(
            "CREATE TABLE packed_check (ok INTEGER CHECK (ok = 1)); \
             INSERT INTO packed_check SELECT CASE WHEN r = 0 AND b > 0 THEN 1 ELSE 0 END \
             FROM packed_probe",
        );
        // A row written before `body` existed: its texts in the old columns, the body empty.
        let quote = |s: &str| s.replace('\'', "''");
        db.execute(&format!(
            "UPDATE observations SET resource = '{}', source = '{}', recognition = '{}', \
             body = substr(body, 1, 0) WHERE id = '{}'",
            quote(&o.resource),
            quote(&o.source),
            quote(&o.recognition),
            o.id
        ));
        let old = store.observation(&o.id).unwrap().unwrap();
        assert_eq!(
            (&old.resource, &old.source, &old.recognition),
            (&o.resource, &o.source, &o.recognition)
        );
        // Rewritten, it is packed again and its history keeps the earlier version.
        let mut newer = o.clone();
        newer.source = r#"{"value":"6.1","unit":"mmol/L"}"#.into();
        newer.resource = r#"{"resourceType":"Observation","valueQuantity":{"value":6.1}}"#.into();
        newer.status = ResultStatus::Corrected;
        store.write_observations(&[(newer.clone(), None)]).unwrap();
        let now = store.observation(&newer.id).unwrap().unwrap();
        assert_eq!(
            (&now.source, &now.resource),
            (&newer.source, &newer.resource)
        );
        assert_eq!(now.version, 2);
        let versions = store.observation_versions(&newer.id).unwrap();
        assert!(
            versions
                .iter()
                .any(|v| v.version == 1 && v.resource == o.resource),
            "{versions:?}"
        );
    });
}
