package integration

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gscluster/gscluster/internal/gendata"
)

// small trees: quick to generate, import and compare.
var (
	smallA = gendata.Options{Layers: 20, Seed: 1}
	smallB = gendata.Options{Layers: 20, Seed: 2}
)

// change is one line of `gscluster log`.
type change struct {
	rev  int64
	op   string
	path string
}

// logOf runs `gscluster log -n 0 [path]` and parses its lines: REV, TIME
// (a date and a time), ORIGIN, OP, PATH, SIZE, HASH.
func logOf(t testing.TB, db string, path ...string) []change {
	t.Helper()
	r := gsOK(t, db, append([]string{"log", "-n", "0"}, path...)...)
	ls := lines(r.stdout)
	if len(ls) == 0 || !strings.HasPrefix(ls[0], "REV") {
		t.Fatalf("log prints no header:\n%s", r)
	}
	var out []change
	for _, l := range ls[1:] {
		f := strings.Fields(l)
		if len(f) < 6 {
			t.Fatalf("log line %q has %d fields, want at least 6", l, len(f))
		}
		rev, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			t.Fatalf("log line %q: revision: %v", l, err)
		}
		out = append(out, change{rev: rev, op: f[4], path: f[5]})
	}
	return out
}

// revisions lists the distinct revisions of the change log, newest first.
func revisions(t testing.TB, db string) []int64 {
	t.Helper()
	var revs []int64
	for _, c := range logOf(t, db) {
		if len(revs) == 0 || revs[len(revs)-1] != c.rev {
			revs = append(revs, c.rev)
		}
	}
	return revs
}

// assertRevisions fails the test unless the database has exactly n
// revisions.
func assertRevisions(t testing.TB, db string, n int) {
	t.Helper()
	if revs := revisions(t, db); len(revs) != n {
		t.Errorf("database has revisions %v, want %d", revs, n)
	}
}

// assertHolds exports the database into a new directory and fails the
// test unless that is the tree at want.
func assertHolds(t testing.TB, db, want string) {
	t.Helper()
	dst := filepath.Join(tempDir(t), "export")
	gsOK(t, db, "export", dst)
	assertSameTree(t, want, dst)
}

// importBase imports the small tree A into a fresh database and returns
// the database and the tree.
func importBase(t testing.TB, db string) string {
	t.Helper()
	a, _ := generate(t, smallA)
	gsOK(t, db, "import", a)
	return a
}

// sqlExec runs one SQL statement on db.
func sqlExec(t testing.TB, db, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatalf("connect to %s: %v", db, err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// writeFile writes a file, creating its directory, and fails the test on
// error.
func writeFile(t testing.TB, p string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // past the umask
		t.Fatal(err)
	}
}

// regularFiles lists the regular files of a tree, relative and sorted.
func regularFiles(t testing.TB, root string) []string {
	t.Helper()
	var out []string
	for p, n := range scanTree(t, root, nil) {
		if n.kind == "file" && n.size > 0 {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// randomBytes returns n random bytes.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // never fails
	return b
}
