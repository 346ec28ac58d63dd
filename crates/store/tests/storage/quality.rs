//! Quality data and the recognition catalogue on SQLite and, when configured, PostgreSQL.

use crate::observations::{each_db, hid};
use huren_core::ports::{PortError, QualityStore};
use huren_core::qc::{ControlObservation, EqaEvent};
use huren_core::recognition::{CatalogueEntry, Scope};

const GLU: &str = "9000033-2";

fn event(id: &str, date: i64, acceptable: u32, passed: Option<bool>) -> (String, EqaEvent) {
    (
        GLU.to_owned(),
        EqaEvent {
            program: "NCCL".into(),
            event: id.into(),
            date,
            samples: 5,
            acceptable,
            passed,
        },
    )
}

fn control(run_at: i64, level: &str, value: f64) -> (String, ControlObservation) {
    (
        GLU.to_owned(),
        ControlObservation {
            run_at,
            level: level.into(),
            value,
            target_mean: 5.5,
            target_sd: 0.12,
        },
    )
}

#[test]
fn eqa_events_are_stored_per_lab_and_item_and_replaced_when_resent() {
    each_db(|db, store| {
        let a = hid("hosp-a");
        let written = store
            .put_eqa_events(
                &a,
                &[
                    event("2026-2", 20_600, 5, None),
                    event("2026-1", 20_500, 3, Some(false)),
                ],
            )
            .unwrap();
        assert_eq!(written, 2, "{db:?}");
        // The provider corrected event 2026-1.
        store
            .put_eqa_events(&a, &[event("2026-1", 20_500, 4, Some(true))])
            .unwrap();
        let events = store.eqa_events(&a, GLU).unwrap();
        assert_eq!(
            events
                .iter()
                .map(|e| (e.event.as_str(), e.acceptable, e.passed))
                .collect::<Vec<_>>(),
            [("2026-1", 4, Some(true)), ("2026-2", 5, None)],
            "{db:?}"
        );
        assert!(store.eqa_events(&hid("hosp-b"), GLU).unwrap().is_empty());
        assert!(store.eqa_events(&a, "9000052-2").unwrap().is_empty());
        // More acceptable samples than samples: refused by the database, nothing written.
        let err = store
            .put_eqa_events(
                &a,
                &[
                    event("2026-3", 20_700, 5, None),
                    event("2026-4", 20_800, 6, None),
                ],
            )
            .unwrap_err();
        assert!(matches!(err, PortError::Conflict(_)), "{db:?}: {err}");
        assert_eq!(store.eqa_events(&a, GLU).unwrap().len(), 2, "{db:?}");
    });
}

#[test]
fn iqc_observations_by_time_window() {
    each_db(|db, store| {
        let a = hid("hosp-a");
        store
            .put_iqc_observations(
                &a,
                &[
                    control(1000, "1", 5.62),
                    control(1000, "2", 15.1),
                    control(2000, "1", 5.40),
                    control(3000, "1", 5.70),
                ],
            )
            .unwrap();
        // A resent measurement replaces the first.
        store
            .put_iqc_observations(&a, &[control(1000, "1", 5.80)])
            .unwrap();
        let got = store.iqc_observations(&a, GLU, 1000, 3000).unwrap();
        assert_eq!(
            got.iter()
                .map(|o| (o.run_at, o.level.as_str(), o.value))
                .collect::<Vec<_>>(),
            [(1000, "1", 5.80), (1000, "2", 15.1), (2000, "1", 5.40)],
            "{db:?}"
        );
        assert!((got[0].z().unwrap() - 2.5).abs() < 1e-9);
        assert!(
            store
                .iqc_observations(&hid("hosp-b"), GLU, 0, i64::MAX)
                .unwrap()
                .is_empty()
        );
    });
}

#[test]
fn the_catalogue_round_trips_every_kind_of_scope() {
    each_db(|db, store| {
        let entry = |scope: &str, days: u32, mark: &str| CatalogueEntry {
            scope: Scope::parse(scope).unwrap(),
            national_code: GLU.into(),
            validity_days: days,
            mark: mark.into(),
            strict_iqc: false,
        };
        let mut entries = vec![
            entry("420000", 30, "鄂HR"),
            entry("420100", 14, "武汉HR"),
            entry("national", 7, "HR"),
            entry("wh-east", 30, "HR"),
        ];
        assert_eq!(store.put_catalogue(&entries).unwrap(), 4);
        entries[0].validity_days = 60;
        entries[0].strict_iqc = true;
        store.put_catalogue(&entries[..1]).unwrap();
        let mut stored = store.catalogue().unwrap();
        stored.sort_by(|a, b| a.scope.cmp(&b.scope));
        entries.sort_by(|a, b| a.scope.cmp(&b.scope));
        assert_eq!(stored, entries, "{db:?}");
    });
}

#[test]
fn a_hospitals_lab_profile_round_trips_and_is_replaced_with_it() {
    use huren_core::ports::HospitalStore;
    use huren_core::{Hospital, LabProfile};
    each_db(|db, store| {
        let mut h = store.hospital(&hid("hosp-a")).unwrap().unwrap();
        h.lab = LabProfile {
            alliances: vec!["wh-east".into(), "jjjl".into()],
            iqc_rules: "1-2s:warning,1-3s,2of3-2s,R-4s,3-1s,6x".into(),
            harmonized_intervals: true,
            accreditation: "CNAS MT0001".into(),
            accredited_until: "2028-03-31".into(),
        };
        assert!(!store.upsert_hospital(&h).unwrap());
        assert_eq!(store.hospital(&h.id).unwrap().unwrap(), h, "{db:?}");
        let plain = Hospital {
            lab: LabProfile::default(),
            ..h.clone()
        };
        store
            .upsert_hospitals(std::slice::from_ref(&plain))
            .unwrap();
        assert_eq!(store.hospital(&h.id).unwrap().unwrap(), plain, "{db:?}");
    });
}

#[test]
fn retests_are_kept_newest_first_and_found_by_observation_or_receiver() {
    use huren_core::ports::ObservationStore;
    use huren_core::recognition::{Retest, RetestReason};
    each_db(|db, store| {
        let o = crate::observations::obs("hosp-a", "urn:x|1", "5.1");
        store.write_observations(&[(o.clone(), None)]).unwrap();
        let stored = store.observation(&o.id).unwrap().unwrap();
        assert_eq!(stored.recognition, o.recognition, "{db:?}");
        let retest = |at: i64, reason, text: &str| Retest {
            id: 0,
            observation_id: o.id.clone(),
            issuer: hid("hosp-a"),
            receiver: hid("hosp-b"),
            clinician: "dr-li".into(),
            reason,
            text: text.into(),
            recognizable: true,
            recorded_at: at,
        };
        let first = store
            .put_retest(&retest(1_000, RetestReason::Emergency, ""))
            .unwrap();
        let second = store
            .put_retest(&retest(2_000, RetestReason::Other, "患者要求"))
            .unwrap();
        assert_ne!(first, second);
        let all = store.retests(Some(&o.id), None).unwrap();
        assert_eq!(
            all.iter().map(|r| (r.id, r.reason)).collect::<Vec<_>>(),
            vec![
                (second, RetestReason::Other),
                (first, RetestReason::Emergency)
            ],
            "{db:?}"
        );
        assert_eq!(all[0].text, "患者要求");
        assert_eq!(store.retests(None, Some(&hid("hosp-b"))).unwrap().len(), 2);
        assert!(
            store
                .retests(None, Some(&hid("hosp-a")))
                .unwrap()
                .is_empty()
        );
        assert!(store.retests(Some("other"), None).unwrap().is_empty());
    });
}
