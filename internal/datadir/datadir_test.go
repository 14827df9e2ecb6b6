package datadir

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gscluster/gscluster/dbstore"
	"github.com/gscluster/gscluster/internal/gendata"
	"github.com/gscluster/gscluster/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const fixtures = "../../../shared/fixtures/datadirs"

func openStore(t *testing.T) *dbstore.Store {
	t.Helper()
	st, err := dbstore.Open(context.Background(), pgtest.NewDB(t), dbstore.Options{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// fileState is what a round trip must keep of one name.
type fileState struct {
	typ    fs.FileMode
	mode   fs.FileMode
	mtime  int64
	sum    [32]byte
	target string
}

// snapshot describes a tree for comparison, leaving out node-local paths.
func snapshot(t *testing.T, root string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		top := strings.SplitN(rel, "/", 2)[0]
		switch top {
		case "logs", "temp", "tmp", "legendsamples", "filelocks":
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		s := fileState{typ: info.Mode().Type(), mode: info.Mode().Perm(), mtime: st.Mtim.Nano()}
		switch {
		case info.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			s.sum = sha256.Sum256(b)
		case info.Mode()&fs.ModeSymlink != 0:
			s.target, _ = os.Readlink(p)
			s.mtime = 0 // symlink mtimes are restored but not all tools keep them
		}
		out[rel] = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameTrees(t *testing.T, a, b string) {
	t.Helper()
	sa, sb := snapshot(t, a), snapshot(t, b)
	var diffs []string
	for p, x := range sa {
		y, ok := sb[p]
		switch {
		case !ok:
			diffs = append(diffs, "only in "+a+": "+p)
		case x != y:
			diffs = append(diffs, fmt.Sprintf("%s: %+v != %+v", p, x, y))
		}
	}
	for p := range sb {
		if _, ok := sa[p]; !ok {
			diffs = append(diffs, "only in "+b+": "+p)
		}
	}
	if len(diffs) > 0 {
		if len(diffs) > 10 {
			diffs = append(diffs[:10], fmt.Sprintf("... %d more", len(diffs)-10))
		}
		t.Fatalf("trees differ:\n%s", strings.Join(diffs, "\n"))
	}
}

// addOddities puts what real data directories have and git does not keep:
// empty directories, a symlink, an executable with a nanosecond mtime, a
// hard link, a node-local log.
func addOddities(t *testing.T, dir string) {
	t.Helper()
	must(t, os.MkdirAll(filepath.Join(dir, "empty/dir"), 0o755))
	must(t, os.Symlink("../global.xml", filepath.Join(dir, "empty/link")))
	must(t, os.WriteFile(filepath.Join(dir, "empty/run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o750))
	must(t, os.Chmod(filepath.Join(dir, "empty/run.sh"), 0o750))
	mt := time.Date(2001, 2, 3, 4, 5, 6, 123456789, time.UTC)
	must(t, os.Chtimes(filepath.Join(dir, "empty/run.sh"), mt, mt))
	must(t, os.WriteFile(filepath.Join(dir, "empty/a.txt"), []byte("linked"), 0o640))
	must(t, os.Link(filepath.Join(dir, "empty/a.txt"), filepath.Join(dir, "empty/b.txt")))
	must(t, os.MkdirAll(filepath.Join(dir, "logs"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "logs/geoserver.log"), []byte("node-local\n"), 0o644))
	must(t, os.Chtimes(filepath.Join(dir, "empty"), mt, mt))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s %s: %v: %s", src, dst, err, out)
	}
}

func roundTrip(t *testing.T, src string) {
	t.Helper()
	ctx := context.Background()
	st := openStore(t)
	res, err := Import(ctx, st, src, ImportOptions{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rev != 1 {
		t.Errorf("first import made revision %d, want 1", res.Rev)
	}
	out := filepath.Join(t.TempDir(), "out")
	if _, err := Export(ctx, st, out, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	sameTrees(t, src, out)
	diffs, err := Verify(ctx, st, src, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) != 0 {
		t.Fatalf("verify of the source lists %d differences, first %v", len(diffs), diffs[0])
	}
	if _, err := os.Stat(filepath.Join(out, "logs")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("node-local logs/ was exported: %v", err)
	}
	a, _ := os.Stat(filepath.Join(out, "empty/a.txt"))
	b, _ := os.Stat(filepath.Join(out, "empty/b.txt"))
	if a != nil && b != nil && !os.SameFile(a, b) {
		t.Errorf("hard link empty/a.txt, empty/b.txt exported as two files")
	}
}

func TestRoundTripFixtures(t *testing.T) {
	dirs, err := os.ReadDir(fixtures)
	if err != nil {
		t.Skipf("real data directories not found at %s (they come with the project's shared folder): %v", fixtures, err)
	}
	for _, d := range dirs {
		t.Run(d.Name(), func(t *testing.T) {
			src := filepath.Join(t.TempDir(), "src")
			copyTree(t, filepath.Join(fixtures, d.Name()), src)
			addOddities(t, src)
			roundTrip(t, src)
		})
	}
}

func TestRoundTripGenerated(t *testing.T) {
	for _, layers := range []int{10, 1000, 10000} {
		t.Run(fmt.Sprint(layers), func(t *testing.T) {
			if layers > 1000 && testing.Short() {
				t.Skip("10,000 layers: not in -short")
			}
			src := filepath.Join(t.TempDir(), "src")
			if _, err := gendata.Generate(src, gendata.Options{Layers: layers, Seed: 1}); err != nil {
				t.Fatal(err)
			}
			addOddities(t, src)
			roundTrip(t, src)
		})
	}
}

func TestVerifyFindsEachDifference(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	src := filepath.Join(t.TempDir(), "src")
	if _, err := gendata.Generate(src, gendata.Options{Layers: 10, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	addOddities(t, src)
	if _, err := Import(ctx, st, src, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	check := func(wantPath, wantWhat string) {
		t.Helper()
		diffs, err := Verify(ctx, st, src, VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(diffs) != 1 || diffs[0].Path != wantPath || diffs[0].What != wantWhat {
			t.Fatalf("verify = %v, want one %s difference at %s", diffs, wantWhat, wantPath)
		}
	}
	f := filepath.Join(src, "global.xml")
	fi, _ := os.Stat(f)
	orig, _ := os.ReadFile(f)
	changed := append([]byte(nil), orig...)
	changed[len(changed)/2] ^= 1
	must(t, os.WriteFile(f, changed, 0))
	must(t, os.Chtimes(f, fi.ModTime(), fi.ModTime()))
	check("global.xml", "content")
	must(t, os.WriteFile(f, orig, 0))
	must(t, os.Chtimes(f, fi.ModTime(), fi.ModTime()))

	must(t, os.Chmod(filepath.Join(src, "empty/run.sh"), 0o755))
	check("empty/run.sh", "mode")
	must(t, os.Chmod(filepath.Join(src, "empty/run.sh"), 0o750))

	later := fi.ModTime().Add(time.Nanosecond)
	must(t, os.Chtimes(f, later, later))
	check("global.xml", "mtime")
	must(t, os.Chtimes(f, fi.ModTime(), fi.ModTime()))

	link := filepath.Join(src, "empty/link")
	var old unix.Stat_t
	must(t, unix.Lstat(link, &old))
	must(t, os.Remove(link))
	must(t, os.Symlink("elsewhere", link))
	must(t, unix.UtimesNanoAt(unix.AT_FDCWD, link, []unix.Timespec{old.Mtim, old.Mtim}, unix.AT_SYMLINK_NOFOLLOW))
	mt := time.Date(2001, 2, 3, 4, 5, 6, 123456789, time.UTC)
	must(t, os.Chtimes(filepath.Join(src, "empty"), mt, mt))
	check("empty/link", "link target")
}

func TestRollbackRestoresExactly(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	base := t.TempDir()
	a := filepath.Join(base, "a")
	if _, err := gendata.Generate(a, gendata.Options{Layers: 50, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	addOddities(t, a)
	b := filepath.Join(base, "b")
	copyTree(t, a, b)
	// B: one file changed, one removed, one added, a workspace renamed,
	// a symlink turned into a file.
	must(t, os.WriteFile(filepath.Join(b, "global.xml"), []byte("<global/>\n"), 0o644))
	must(t, os.Remove(filepath.Join(b, "logging.xml")))
	must(t, os.WriteFile(filepath.Join(b, "new.txt"), []byte("new\n"), 0o644))
	ws, _ := filepath.Glob(filepath.Join(b, "workspaces/*/workspace.xml"))
	must(t, os.Rename(filepath.Dir(ws[0]), filepath.Dir(ws[0])+"_renamed"))
	must(t, os.Remove(filepath.Join(b, "empty/link")))
	must(t, os.WriteFile(filepath.Join(b, "empty/link"), []byte("now a file"), 0o644))

	if _, err := Import(ctx, st, a, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	res, err := Import(ctx, st, b, ImportOptions{Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rev != 2 {
		t.Fatalf("replace made revision %d, want 2", res.Rev)
	}

	// One file first: only it goes back.
	rb, err := Rollback(ctx, st, 1, "global.xml", "test")
	if err != nil {
		t.Fatal(err)
	}
	if rb.Rev != 3 || rb.Changed != 1 {
		t.Fatalf("rollback of one file = %+v, want revision 3 with 1 change", rb)
	}
	diffs, err := Verify(ctx, st, b, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) == 0 {
		t.Fatal("after rolling back global.xml, the tree equals b")
	}
	for _, d := range diffs {
		if d.Path != "global.xml" {
			t.Fatalf("after rolling back global.xml, the tree differs from b by %v, want global.xml alone", diffs)
		}
	}

	// Then everything.
	if _, err := Rollback(ctx, st, 1, "", "test"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(base, "out")
	if _, err := Export(ctx, st, out, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	sameTrees(t, a, out)

	// History is kept: the tree at revision 2 is still b.
	out2 := filepath.Join(base, "out2")
	if _, err := Export(ctx, st, out2, ExportOptions{Rev: 2}); err != nil {
		t.Fatal(err)
	}
	sameTrees(t, b, out2)

	// Nothing left to do is no new revision.
	again, err := Rollback(ctx, st, 1, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	if again.Changed != 0 {
		t.Errorf("second rollback changed %d names, want 0", again.Changed)
	}
	log, err := st.Log(ctx, "global.xml", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 3 || log[0].Rev != 3 || log[2].Rev != 1 {
		t.Errorf("log of global.xml has %d changes (%+v), want revisions 3, 2, 1", len(log), log)
	}
}

func TestCancelledImportStoresNothing(t *testing.T) {
	st := openStore(t)
	src := filepath.Join(t.TempDir(), "src")
	if _, err := gendata.Generate(src, gendata.Options{Layers: 2000, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	prog := &Progress{}
	go func() {
		for prog.Files.Load() < 500 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := Import(ctx, st, src, ImportOptions{Progress: prog})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled import returned %v, want context.Canceled", err)
	}
	head, err := st.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tree, err := st.Tree(context.Background(), 0, "")
	if err != nil {
		t.Fatal(err)
	}
	if head != 0 || len(tree.Entries) != 1 {
		t.Fatalf("after a cancelled import: head %d with %d entries, want 0 and the root alone", head, len(tree.Entries))
	}
}

func TestConcurrentImports(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDB(t)
	base := t.TempDir()
	srcs := []string{filepath.Join(base, "a"), filepath.Join(base, "b")}
	for i, s := range srcs {
		if _, err := gendata.Generate(s, gendata.Options{Layers: 300, Seed: int64(10 + i)}); err != nil {
			t.Fatal(err)
		}
	}
	run := func(replace bool) []error {
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range srcs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, err := dbstore.Open(ctx, url, dbstore.Options{})
				if err != nil {
					errs[i] = err
					return
				}
				defer st.Close()
				_, errs[i] = Import(ctx, st, srcs[i], ImportOptions{Replace: replace})
			}()
		}
		wg.Wait()
		return errs
	}
	errs := run(false)
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatal("both imports into an empty database succeeded")
			}
			winner = i
		case !errors.Is(err, ErrNotEmpty):
			t.Fatalf("losing import failed with %v, want ErrNotEmpty", err)
		}
	}
	if winner < 0 {
		t.Fatalf("no import succeeded: %v", errs)
	}
	st := openStoreURL(t, url)
	checkEqual(t, st, srcs[winner])

	for i, err := range run(true) {
		if err != nil {
			t.Fatalf("replacing import %d: %v", i, err)
		}
	}
	diffA, err := Verify(ctx, st, srcs[0], VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	diffB, err := Verify(ctx, st, srcs[1], VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(diffA) != 0 && len(diffB) != 0 {
		t.Fatalf("after two racing replacements the tree is neither source: %d and %d differences", len(diffA), len(diffB))
	}
	if head, _ := st.Head(ctx); head != 3 {
		t.Errorf("head after three imports = %d, want 3", head)
	}
}

func openStoreURL(t *testing.T, url string) *dbstore.Store {
	st, err := dbstore.Open(context.Background(), url, dbstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

func checkEqual(t *testing.T, st *dbstore.Store, dir string) {
	t.Helper()
	diffs, err := Verify(context.Background(), st, dir, VerifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(diffs) > 0 {
		t.Fatalf("%s differs from the database: %v", dir, diffs[0])
	}
}

func TestImportBadInput(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	base := t.TempDir()
	if _, err := Import(ctx, st, filepath.Join(base, "missing"), ImportOptions{}); err == nil || !strings.Contains(err.Error(), "no such directory") {
		t.Errorf("missing source: %v", err)
	}
	file := filepath.Join(base, "file")
	must(t, os.WriteFile(file, nil, 0o644))
	if _, err := Import(ctx, st, file, ImportOptions{}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("source is a file: %v", err)
	}
	src := filepath.Join(base, "src")
	must(t, os.MkdirAll(src, 0o755))
	must(t, os.WriteFile(filepath.Join(src, "ok.xml"), []byte("<a/>"), 0o644))
	bad := filepath.Join(src, "bad-\xff.xml")
	must(t, os.WriteFile(bad, []byte("x"), 0o644))
	_, err := Import(ctx, st, src, ImportOptions{})
	if err == nil || !strings.Contains(err.Error(), "not valid UTF-8") || !strings.Contains(err.Error(), `bad-\xff.xml`) {
		t.Errorf("non-UTF-8 name: %v", err)
	}
	must(t, os.Remove(bad))
	must(t, syscall.Mkfifo(filepath.Join(src, "fifo"), 0o644))
	res, err := Import(ctx, st, src, ImportOptions{Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0], "fifo (FIFO)") {
		t.Errorf("skipped = %v, want the FIFO", res.Skipped)
	}
	if head, _ := st.Head(ctx); head != 1 {
		t.Errorf("head = %d after one good import among failed ones, want 1", head)
	}
	out := filepath.Join(base, "out")
	must(t, os.MkdirAll(out, 0o755))
	must(t, os.WriteFile(filepath.Join(out, "keep"), []byte("mine"), 0o644))
	if _, err := Export(ctx, st, out, ExportOptions{}); !errors.Is(err, ErrTargetNotEmpty) {
		t.Errorf("export into a non-empty directory: %v, want ErrTargetNotEmpty", err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "keep")); string(b) != "mine" {
		t.Errorf("refused export touched the target")
	}
	if _, err := Export(ctx, st, out, ExportOptions{Force: true}); err != nil {
		t.Errorf("export --force: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "ok.xml")); string(b) != "<a/>" {
		t.Errorf("export --force did not write ok.xml")
	}
}

func TestLargeFileChunks(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	src := filepath.Join(t.TempDir(), "src")
	must(t, os.MkdirAll(src, 0o755))
	sizes := map[string]int64{
		"exact.bin": dbstore.ChunkSize,
		"plus1.bin": dbstore.ChunkSize + 1,
		"big.bin":   3*dbstore.ChunkSize + 12345,
		"empty.bin": 0,
	}
	for name, size := range sizes {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i*7 + len(name))
		}
		must(t, os.WriteFile(filepath.Join(src, name), data, 0o644))
	}
	if _, err := Import(ctx, st, src, ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	if _, err := Export(ctx, st, out, ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	sameTrees(t, src, out)
	tree, _ := st.Tree(ctx, 0, "big.bin")
	r, err := st.ReadBlob(ctx, tree.Entries[0].Hash)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(r)
	want, _ := os.ReadFile(filepath.Join(src, "big.bin"))
	if !bytes.Equal(got, want) {
		t.Fatal("ReadBlob of a chunked file differs from the file")
	}
}
