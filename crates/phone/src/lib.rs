//! The call controller (built in the calls issue).

pub mod dialplan;
