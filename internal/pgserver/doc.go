// Package pgserver runs a PostgreSQL server from the system's server
// binaries: the embedded default database of gscluster, and the throwaway
// servers of package pgtest.
//
// # What it owns
//
// A [Server] owns one data directory: it creates it with initdb
// ([Server.Init]), starts and stops the postmaster with pg_ctl
// ([Server.Start], [Server.Stop]) and reports its state from the
// postmaster.pid file ([Server.Status]). The server listens on 127.0.0.1
// only, with trust authentication for the superuser postgres, and logs to
// postgresql.log inside the data directory.
//
// [Ensure], [StopEmbedded] and [StatusEmbedded] manage the embedded default:
// a server in STATEDIR/pg holding the database gscluster. Ensure initialises,
// starts and creates what is missing and reuses what is there, so calling it
// on every start of gscluster is cheap. The chosen port is remembered in
// STATEDIR/pg/gscluster.port and reused while it is free. STATEDIR/pg.lock
// serialises Ensure and StopEmbedded between processes.
//
// # Binaries and users
//
// The binaries are found with `pg_config --bindir`, falling back to the
// newest /usr/lib/postgresql/VERSION/bin. PostgreSQL refuses to run as
// root: when the process is root, every server program runs as the postgres
// user through runuser, the data directory is chowned to that user, and
// every parent directory must be traversable by it.
//
// # How it fails
//
// Errors are one lowercase line that names the data directory and says what
// to do: missing binaries name the package to install, a parent directory
// that postgres cannot enter is named with the chmod that fixes it, and a
// failed start carries the last lines of the server log and its path. A
// start that fails is followed by a stop, so no half-started server is left
// behind. Stop falls back from fast to immediate shutdown when the fast one
// does not finish.
//
// No type here keeps goroutines running; a [Server] is not safe for
// concurrent use, but separate processes may share a data directory through
// Ensure and StopEmbedded.
package pgserver
