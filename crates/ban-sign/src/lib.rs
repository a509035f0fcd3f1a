//! `ban-sign`: coming in its own issue; nothing is implemented yet.
#![forbid(unsafe_code)]
