// Package dbstore owns everything gscluster keeps in PostgreSQL: the schema
// and its migrations (embedded .sql files applied on first use), the file
// tree (inodes apart from directory entries), content-addressed blobs chunked
// for large files, the change log, and the catalog index. It is the only
// package that speaks SQL.
//
// # Revisions
//
// Every writing transaction (Store.Write) begins by incrementing the single
// row of the head table. The row lock it takes serializes committers, so the
// revision a transaction receives is also its commit order and no revision
// can be skipped by a reader that follows the change log.
//
// # Errors
//
// Driver errors are translated at this package's edge into its sentinels
// (ErrNotFound, ErrExists, ErrNotEmpty, ErrNotDir, ErrIsDir, ErrUnavailable,
// ErrSchemaNewer, ErrConflict), wrapped with the path or revision they concern,
// so callers test them with errors.Is. Messages never include a password.
package dbstore
