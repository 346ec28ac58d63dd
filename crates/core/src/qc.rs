//! Laboratory quality data: internal quality control with Westgard multirules (`westgard`)
//! and external quality assessment (`eqa`). Both are pure rules over values the readers
//! produce; the thresholds and rule sets are data with documented defaults.

pub mod eqa;
pub mod westgard;

pub use eqa::{EqaAssessment, EqaEvent, EqaPolicy};
pub use westgard::{
    Action, CHINA_OFFSET_MINUTES, ControlObservation, DayStatus, Rule, RuleKind, RuleSet,
    RunStatus, day_of, day_statuses, evaluate,
};
