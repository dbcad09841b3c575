//! Starts real peers (Kamailio, SIPp) for end-to-end tests.
