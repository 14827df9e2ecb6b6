// Package pgtest gives each test binary a throwaway PostgreSQL server and
// each test its own database on it.
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestX(t *testing.T) {
//		url := pgtest.NewDB(t) // a fresh, empty database, dropped when t ends
//		...
//	}
//
// # What it owns
//
// [Main] starts one server per test binary, runs the tests, stops the
// server and removes its directory, checks for leaked goroutines with
// goleak and exits. The server runs with fsync, synchronous_commit and
// full_page_writes off and max_connections 200: fast, and worthless after
// a crash, which is fine for data that lives as long as the test binary.
//
// Running initdb takes seconds, so it runs once per PostgreSQL major version
// and user into a template directory,
// os.TempDir()/gscluster-pgtest-template-VERSION-UID, built under a flock
// (the same name with .lock) so that parallel test binaries wait for one
// another instead of racing. Each test binary copies the
// template with cp -a into its own os.TempDir()/gscluster-pgtest-* and
// starts the server there. The template is never modified after it is
// built; delete it to force a rebuild.
//
// A test binary that dies (panic, timeout, kill) cannot run its cleanup,
// so Main first starts a watchdog process in its own session that waits for
// the test binary to exit, then stops the server in immediate mode and
// removes its directory. Main kills the watchdog after a clean stop.
//
// # How it fails
//
// Nothing is skipped: when PostgreSQL or another prerequisite is missing,
// Main prints what to install (`apt-get install postgresql`) and the test
// binary fails. NewDB fails its test when Main did not start the server or
// when the database cannot be created or dropped.
//
// Main, NewDB and URL are safe for concurrent use by parallel tests.
package pgtest
