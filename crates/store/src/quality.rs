//! Laboratory quality data (EQA events, IQC control observations) and the recognition
//! catalogue: core's [`QualityStore`] port.

use crate::ledger::{Ledger, NewAudit};
use crate::schema::{catalogue, eqa_events, iqc_observations, retests};
use crate::{Pools, Store, StoreError, port_error, rows_per_statement};
use diesel::prelude::*;
use diesel::upsert::excluded;
use huren_core::HospitalId;
use huren_core::audit::AuditAction;
use huren_core::ports::{PortError, QualityStore};
use huren_core::qc::{ControlObservation, EqaEvent};
use huren_core::recognition::{CatalogueEntry, Retest, RetestReason, Scope};

/// Items per `IN (…)` list: far below SQLite's bind limit, and more than a report holds.
const CODES_PER_QUERY: usize = 500;

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(table_name = eqa_events, treat_none_as_default_value = false)]
struct EqaRow {
    hospital_id: String,
    national_code: String,
    program: String,
    event: String,
    event_date: i64,
    samples: i32,
    acceptable: i32,
    passed: Option<bool>,
}

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(table_name = iqc_observations, treat_none_as_default_value = false)]
struct IqcRow {
    hospital_id: String,
    national_code: String,
    run_at: i64,
    control_level: String,
    value: f64,
    target_mean: f64,
    target_sd: f64,
}

#[derive(Insertable, Debug)]
#[diesel(table_name = retests, treat_none_as_default_value = false)]
struct NewRetest<'a> {
    observation_id: &'a str,
    issuer_id: &'a str,
    receiver_id: &'a str,
    clinician: &'a str,
    reason: &'a str,
    text: &'a str,
    recognizable: bool,
    recorded_at: i64,
}

#[derive(Queryable, Selectable, Debug)]
#[diesel(table_name = retests)]
struct RetestRow {
    id: i64,
    observation_id: String,
    issuer_id: String,
    receiver_id: String,
    clinician: String,
    reason: String,
    text: String,
    recognizable: bool,
    recorded_at: i64,
}

impl RetestRow {
    /// `None` for a row no writer of this crate produced (an unknown reason, a bad id).
    fn into_retest(self) -> Option<Retest> {
        Some(Retest {
            id: self.id,
            observation_id: self.observation_id,
            issuer: HospitalId::parse(&self.issuer_id).ok()?,
            receiver: HospitalId::parse(&self.receiver_id).ok()?,
            clinician: self.clinician,
            reason: RetestReason::parse(&self.reason)?,
            text: self.text,
            recognizable: self.recognizable,
            recorded_at: self.recorded_at,
        })
    }
}

#[derive(Queryable, Selectable, Insertable, Debug, Clone)]
#[diesel(table_name = catalogue, treat_none_as_default_value = false)]
struct CatalogueRow {
    scope: String,
    national_code: String,
    validity_days: i32,
    mark: String,
    strict_iqc: bool,
}

/// Counts beyond `i32` are refused by the port's callers' readers (a `u32` parsed from a
/// file); saturate rather than wrap should one ever arrive.
fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Stored counts are non-negative (CHECK constraints).
fn to_u32(n: i32) -> u32 {
    u32::try_from(n).unwrap_or_default()
}

impl Store {
    fn put_eqa_impl(
        &self,
        hospital: &HospitalId,
        events: &[(String, EqaEvent)],
    ) -> Result<usize, StoreError> {
        use crate::schema::eqa_events::dsl as e;
        let rows: Vec<EqaRow> = events
            .iter()
            .map(|(code, ev)| EqaRow {
                hospital_id: hospital.as_str().to_owned(),
                national_code: code.clone(),
                program: ev.program.clone(),
                event: ev.event.clone(),
                event_date: ev.date,
                samples: to_i32(ev.samples),
                acceptable: to_i32(ev.acceptable),
                passed: ev.passed,
            })
            .collect();
        let audit = self.quality_audit(
            "eqa",
            hospital,
            events.iter().map(|(c, e)| {
                format!(
                    "EqaEvent/{}/{c}/{}/{}",
                    hospital.as_str(),
                    e.program,
                    e.event
                )
            }),
        );
        with_write_conn!(self, |conn| conn.transaction(|conn| {
            for chunk in rows.chunks(rows_per_statement(8)) {
                diesel::insert_into(e::eqa_events)
                    .values(chunk)
                    .on_conflict((e::hospital_id, e::national_code, e::program, e::event))
                    .do_update()
                    .set((
                        e::event_date.eq(excluded(e::event_date)),
                        e::samples.eq(excluded(e::samples)),
                        e::acceptable.eq(excluded(e::acceptable)),
                        e::passed.eq(excluded(e::passed)),
                    ))
                    .execute(conn)?;
            }
            conn.insert_audit(&audit)?;
            Ok::<_, StoreError>(rows.len())
        }))
    }

    fn eqa_impl(
        &self,
        hospital: &HospitalId,
        national_codes: &[String],
    ) -> Result<Vec<(String, EqaEvent)>, StoreError> {
        use crate::schema::eqa_events::dsl as e;
        let mut rows: Vec<EqaRow> = Vec::new();
        for codes in national_codes.chunks(CODES_PER_QUERY) {
            rows.extend(with_conn!(self, |conn| e::eqa_events
                .filter(e::hospital_id.eq(hospital.as_str()))
                .filter(e::national_code.eq_any(codes))
                .order((e::event_date, e::program, e::event))
                .select(EqaRow::as_select())
                .load::<EqaRow>(conn)?));
        }
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    r.national_code,
                    EqaEvent {
                        program: r.program,
                        event: r.event,
                        date: r.event_date,
                        samples: to_u32(r.samples),
                        acceptable: to_u32(r.acceptable),
                        passed: r.passed,
                    },
                )
            })
            .collect())
    }

    fn put_iqc_impl(
        &self,
        hospital: &HospitalId,
        observations: &[(String, ControlObservation)],
    ) -> Result<usize, StoreError> {
        use crate::schema::iqc_observations::dsl as q;
        let rows: Vec<IqcRow> = observations
            .iter()
            .map(|(code, o)| IqcRow {
                hospital_id: hospital.as_str().to_owned(),
                national_code: code.clone(),
                run_at: o.run_at,
                control_level: o.level.clone(),
                value: o.value,
                target_mean: o.target_mean,
                target_sd: o.target_sd,
            })
            .collect();
        let audit = self.quality_audit(
            "iqc",
            hospital,
            observations.iter().map(|(c, o)| {
                format!(
                    "ControlObservation/{}/{c}/{}/{}",
                    hospital.as_str(),
                    o.run_at,
                    o.level
                )
            }),
        );
        with_write_conn!(self, |conn| conn.transaction(|conn| {
            for chunk in rows.chunks(rows_per_statement(7)) {
                diesel::insert_into(q::iqc_observations)
                    .values(chunk)
                    .on_conflict((
                        q::hospital_id,
                        q::national_code,
                        q::run_at,
                        q::control_level,
                    ))
                    .do_update()
                    .set((
                        q::value.eq(excluded(q::value)),
                        q::target_mean.eq(excluded(q::target_mean)),
                        q::target_sd.eq(excluded(q::target_sd)),
                    ))
                    .execute(conn)?;
            }
            conn.insert_audit(&audit)?;
            Ok::<_, StoreError>(rows.len())
        }))
    }

    fn iqc_impl(
        &self,
        hospital: &HospitalId,
        national_codes: &[String],
        from: i64,
        to: i64,
    ) -> Result<Vec<(String, ControlObservation)>, StoreError> {
        use crate::schema::iqc_observations::dsl as q;
        let mut rows: Vec<IqcRow> = Vec::new();
        for codes in national_codes.chunks(CODES_PER_QUERY) {
            rows.extend(with_conn!(self, |conn| q::iqc_observations
                .filter(q::hospital_id.eq(hospital.as_str()))
                .filter(q::national_code.eq_any(codes))
                .filter(q::run_at.ge(from))
                .filter(q::run_at.lt(to))
                .order((q::run_at, q::control_level))
                .select(IqcRow::as_select())
                .load::<IqcRow>(conn)?));
        }
        Ok(rows
            .into_iter()
            .map(|r| {
                (
                    r.national_code,
                    ControlObservation {
                        run_at: r.run_at,
                        level: r.control_level,
                        value: r.value,
                        target_mean: r.target_mean,
                        target_sd: r.target_sd,
                    },
                )
            })
            .collect())
    }

    fn put_catalogue_impl(&self, entries: &[CatalogueEntry]) -> Result<usize, StoreError> {
        use crate::schema::catalogue::dsl as c;
        let rows: Vec<CatalogueRow> = entries
            .iter()
            .map(|e| CatalogueRow {
                scope: e.scope.to_string(),
                national_code: e.national_code.clone(),
                validity_days: to_i32(e.validity_days),
                mark: e.mark.clone(),
                strict_iqc: e.strict_iqc,
            })
            .collect();
        let mut audit = self.record("catalogue", AuditAction::Update);
        audit.entities = entries
            .iter()
            .map(|e| format!("Catalogue/{}/{}", e.scope, e.national_code))
            .collect();
        audit.description = format!("{} catalogue entries added or replaced", entries.len());
        let audit = NewAudit::new(&audit);
        with_write_conn!(self, |conn| conn.transaction(|conn| {
            for chunk in rows.chunks(rows_per_statement(5)) {
                diesel::insert_into(c::catalogue)
                    .values(chunk)
                    .on_conflict((c::scope, c::national_code))
                    .do_update()
                    .set((
                        c::validity_days.eq(excluded(c::validity_days)),
                        c::mark.eq(excluded(c::mark)),
                        c::strict_iqc.eq(excluded(c::strict_iqc)),
                    ))
                    .execute(conn)?;
            }
            conn.insert_audit(&audit)?;
            Ok::<_, StoreError>(rows.len())
        }))
    }

    fn catalogue_impl(&self) -> Result<Vec<CatalogueEntry>, StoreError> {
        use crate::schema::catalogue::dsl as c;
        let rows: Vec<CatalogueRow> = with_conn!(self, |conn| c::catalogue
            .order((c::national_code, c::scope))
            .select(CatalogueRow::as_select())
            .load(conn)?);
        Ok(rows
            .into_iter()
            // Every stored scope was written from a parsed `Scope`.
            .filter_map(|r| {
                Some(CatalogueEntry {
                    scope: Scope::parse(&r.scope).ok()?,
                    national_code: r.national_code,
                    validity_days: to_u32(r.validity_days),
                    mark: r.mark,
                    strict_iqc: r.strict_iqc,
                })
            })
            .collect())
    }
}

/// Retests.
impl Store {
    fn put_retest_impl(&self, r: &Retest) -> Result<i64, StoreError> {
        use crate::schema::retests::dsl as t;
        let new = NewRetest {
            observation_id: &r.observation_id,
            issuer_id: r.issuer.as_str(),
            receiver_id: r.receiver.as_str(),
            clinician: &r.clinician,
            reason: r.reason.as_str(),
            text: &r.text,
            recognizable: r.recognizable,
            recorded_at: r.recorded_at,
        };
        let mut audit = self.record("retest", AuditAction::Create);
        audit.entities = vec![format!("Observation/{}", r.observation_id)];
        // Where the event happened: the clinician's hospital (the result's is `issuer`).
        audit.site = Some(r.receiver.clone());
        audit.purpose = Some((r.reason.as_str().to_owned(), r.text.clone()));
        audit.description = format!(
            "the result of {} was {}recognizable; the clinician ordered the test again",
            r.issuer,
            if r.recognizable { "" } else { "not " }
        );
        let audit = NewAudit::new(&audit);
        with_write_conn!(self, |conn| conn.transaction(|conn| {
            let id = diesel::insert_into(t::retests)
                .values(&new)
                .returning(t::id)
                .get_result(conn)?;
            conn.insert_audit(&audit)?;
            Ok::<_, StoreError>(id)
        }))
    }

    /// The audit record of a quality-data upload.
    fn quality_audit(
        &self,
        kind: &str,
        hospital: &HospitalId,
        entities: impl Iterator<Item = String>,
    ) -> NewAudit {
        let mut audit = self.record(kind, AuditAction::Update);
        audit.entities = entities.collect();
        audit.site = Some(hospital.clone());
        audit.description = format!("{} {kind} rows added or replaced", audit.entities.len());
        NewAudit::new(&audit)
    }

    fn retests_impl(
        &self,
        observation_id: Option<&str>,
        receiver: Option<&HospitalId>,
    ) -> Result<Vec<Retest>, StoreError> {
        use crate::schema::retests::dsl as t;
        let rows: Vec<RetestRow> = with_conn!(self, |conn| {
            let mut q = t::retests.into_boxed();
            if let Some(o) = observation_id {
                q = q.filter(t::observation_id.eq(o));
            }
            if let Some(r) = receiver {
                q = q.filter(t::receiver_id.eq(r.as_str()));
            }
            q.order((t::recorded_at.desc(), t::id.desc()))
                .select(RetestRow::as_select())
                .load(conn)?
        });
        Ok(rows
            .into_iter()
            .filter_map(RetestRow::into_retest)
            .collect())
    }
}

impl QualityStore for Store {
    fn put_eqa_events(
        &self,
        hospital: &HospitalId,
        events: &[(String, EqaEvent)],
    ) -> Result<usize, PortError> {
        self.put_eqa_impl(hospital, events).map_err(port_error)
    }

    fn eqa_events_of(
        &self,
        hospital: &HospitalId,
        national_codes: &[String],
    ) -> Result<Vec<(String, EqaEvent)>, PortError> {
        Ok(self.eqa_impl(hospital, national_codes)?)
    }

    fn put_iqc_observations(
        &self,
        hospital: &HospitalId,
        observations: &[(String, ControlObservation)],
    ) -> Result<usize, PortError> {
        self.put_iqc_impl(hospital, observations)
            .map_err(port_error)
    }

    fn iqc_observations_of(
        &self,
        hospital: &HospitalId,
        national_codes: &[String],
        from: i64,
        to: i64,
    ) -> Result<Vec<(String, ControlObservation)>, PortError> {
        Ok(self.iqc_impl(hospital, national_codes, from, to)?)
    }

    fn put_catalogue(&self, entries: &[CatalogueEntry]) -> Result<usize, PortError> {
        self.put_catalogue_impl(entries).map_err(port_error)
    }

    fn catalogue(&self) -> Result<Vec<CatalogueEntry>, PortError> {
        Ok(self.catalogue_impl()?)
    }

    fn put_retest(&self, retest: &Retest) -> Result<i64, PortError> {
        self.put_retest_impl(retest).map_err(port_error)
    }

    fn retests(
        &self,
        observation_id: Option<&str>,
        receiver: Option<&HospitalId>,
    ) -> Result<Vec<Retest>, PortError> {
        Ok(self.retests_impl(observation_id, receiver)?)
    }
}
