// Package integration holds the end-to-end tests of gscluster: each test
// runs the built gscluster binary as a separate process against its own
// database on a throwaway PostgreSQL server (package pgtest), and observes
// the result through the binary itself (export, verify, log, catalog) and
// through the files it writes.
//
// The tests need the PostgreSQL server binaries (apt-get install
// postgresql) and run as root for the parts that switch users. The real
// GeoServer data directories in ../../shared/fixtures/datadirs are used when
// present; tests that need them skip with a message when they are absent.
//
// cmd/benchimport is the whole-system import and export benchmark; see
// BENCHMARKS.md.
package integration
