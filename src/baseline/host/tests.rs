//! Tests of the host state: compare() for each kind of change, collect() on fixtures and on
//! this host.

use super::*;
