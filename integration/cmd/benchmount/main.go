// Command benchmount measures a generated data directory served through
// `gscluster mount`, each figure beside the same operation on the source
// tree on local disk in the same run, and checks them against the targets
// of the fusefs issue.
//
//	go run ./integration/cmd/benchmount [-layers 10000] [-keep] [-json] [-bin GSCLUSTER]
//
// It builds gscluster (or takes the binary -bin names), starts its own throwaway PostgreSQL (initdb into a
// temporary directory, the server's default settings), generates the tree
// with package gendata, imports it with `gscluster import`, then measures:
//
//   - catalog load, as GeoServer starts: walk the tree and read every
//     regular file, once in Go (filepath.WalkDir and os.ReadFile,
//     single-threaded) and once the shell way (find -print0 | xargs -0
//     cat). Local disk cold (after dropping the page cache) and warm
//     (median of 5). Through the mount: a fresh mount with an empty local
//     cache (a new state directory), a fresh mount with a warm local cache
//     (the same state directory, mounted again: a new mount has an empty
//     kernel cache), and the warm kernel cache (the next 5 runs on that
//     mount, median). Each method has its own state directory, so that
//     both start from an empty local cache. The page cache is dropped
//     after the mount is ready and before every cold run, so a cold run
//     reads the daemon's local cache from disk as local disk reads the
//     tree from disk;
//   - lstat of every entry of the tree, warm (median of 5);
//   - GeoServer's write pattern on 1,000 featuretype.xml files: write
//     NAME.UUID.tmp beside the file, close without fsync, rename it over
//     the file; p50 and p99 per file and files/s;
//   - sequential write (write and close) of a 256 MiB file, then reading
//     it back cold (after dropping the page cache) and warm (median of 5);
//   - the peak RSS of every mount daemon (ru_maxrss at its exit, through
//     package peakrss, so that this driver's own RSS does not count).
//
// Dropping the page cache (sync; echo 3 > /proc/sys/vm/drop_caches) needs
// root; without it the "cold" figures are not cold and the output says so.
// It drops neither PostgreSQL's shared_buffers (128 MB by default: a tree
// smaller than that is read from the server's memory by an empty-cache
// mount) nor a cache the virtual disk may have on its host.
//
// It prints the tables and the targets with PASS or FAIL (or, with -json,
// one JSON document), and exits 1 when a target fails, 2 on error. Every
// mount, the server and the temporary directory are stopped, unmounted and
// removed on the way out, also after an error or an interrupt; -keep keeps
// the directory (tree, state directories, mount logs). A mount that cannot
// be unmounted is unmounted lazily and said so, and its directory is then
// kept: removing it would remove files through the mount.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gscluster/gscluster/integration/internal/peakrss"
	"github.com/gscluster/gscluster/internal/gendata"
	"github.com/gscluster/gscluster/internal/pgserver"
)

// Targets of the fusefs issue.
const (
	maxWarmKernelRatio = 1.5 // load, warm kernel cache, x local warm
	maxWarmCacheRatio  = 3.0 // load, fresh mount with a warm local cache, x local cold
	maxWriteP50        = 5 * time.Millisecond
	minSeqReadRatio    = 0.5 // MB/s, x local
	maxRSSBytes        = 300_000_000
)

// What is measured.
const (
	// Warm figures are the median of warmRuns: the first warm pass on a
	// mount still refreshes every directory's attributes (the kernel marks
	// atime stale after a READDIRPLUS), and page reclaim in the background
	// (DAMON pageout on the test machines) makes single passes vary.
	warmRuns          = 5
	writePatternFiles = 1000
	seqBytes          = 256 << 20
	ioChunk           = 1 << 20
	readyTimeout      = 3 * time.Minute
	stopTimeout       = time.Minute
)

func main() {
	peakrss.Main() // first: this program also runs as peakrss's spawner
	layers := flag.Int("layers", 10000, "layers of the generated data directory")
	seed := flag.Int64("seed", 1, "seed of the generated data directory")
	keep := flag.Bool("keep", false, "keep the temporary directory (tree, state directories, mount logs); mounts and the server are stopped all the same")
	jsonOut := flag.Bool("json", false, "print the figures as one JSON document instead of tables")
	bin := flag.String("bin", "", "run this gscluster binary instead of building cmd/gscluster")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	failed, err := run(ctx, *layers, *seed, *keep, *jsonOut, *bin)
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchmount: %v\n", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

// report is everything measured; -json prints it as it is.
type report struct {
	Layers     int      `json:"layers"`
	Seed       int64    `json:"seed"`
	Files      int      `json:"files"` // regular files of the generated tree
	Dirs       int      `json:"dirs"`
	Bytes      int64    `json:"bytes"`
	CPUs       int      `json:"cpus"`
	Kernel     string   `json:"kernel"`
	Postgres   string   `json:"postgres"`
	LoadBefore string   `json:"load_average_before"`
	LoadAfter  string   `json:"load_average_after"`
	DropCaches string   `json:"drop_caches"` // "yes", or why the page cache could not be dropped
	MountInfo  string   `json:"mount_info"`  // file system type and options of the mount
	Import     string   `json:"import"`      // gscluster import's summary
	Load       []row    `json:"catalog_load"`
	Stat       []row    `json:"lstat"`
	Write      []wrow   `json:"write_pattern"`
	Seq        []row    `json:"sequential"`
	Daemons    []daemon `json:"mount_daemons"`
	Targets    []target `json:"targets"`
	Notes      []string `json:"notes,omitempty"` // oddities seen on the way
}

// row is one timed operation, beside its baseline.
type row struct {
	Where    string  `json:"where"` // local or mount
	Case     string  `json:"case"`
	Method   string  `json:"method,omitempty"` // go or shell
	Files    int     `json:"files,omitempty"`
	Bytes    int64   `json:"bytes,omitempty"`
	Seconds  float64 `json:"seconds"`
	Baseline string  `json:"baseline,omitempty"` // the local row the ratio is to
	Ratio    float64 `json:"ratio,omitempty"`    // seconds / baseline seconds
}

func (r row) key() string { return r.Where + " " + r.Case + " " + r.Method }

// wrow is GeoServer's write pattern on one side.
type wrow struct {
	Where       string  `json:"where"`
	Files       int     `json:"files"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	FilesPerSec float64 `json:"files_per_sec"`
	Errors      int     `json:"errors"`                // files whose write or rename failed
	FirstError  string  `json:"first_error,omitempty"` // of those
}

// daemon is one run of the mount daemon.
type daemon struct {
	Session  string  `json:"session"`
	StateDir string  `json:"state_dir"`
	ReadyS   float64 `json:"ready_seconds"` // from start to the ready file
	StopS    float64 `json:"stop_seconds"`  // from SIGTERM to exit
	Exit     string  `json:"exit"`
	PeakRSS  int64   `json:"peak_rss_bytes"`
}

type target struct {
	Name     string `json:"name"`
	Measured string `json:"measured"`
	Pass     bool   `json:"pass"`
}

// bench holds what the steps share.
type bench struct {
	ctx    context.Context
	tmp    string
	bin    string
	db     string
	src    string
	rep    *report
	mounts []*mount // running, stopped on the way out
	leftUp bool     // a mount could only be unmounted lazily
}

func run(ctx context.Context, layers int, seed int64, keep, jsonOut bool, bin string) (failed bool, err error) {
	tmp, err := os.MkdirTemp("", "gscluster-benchmount-")
	if err != nil {
		return false, err
	}
	b := &bench{ctx: ctx, tmp: tmp, rep: &report{Layers: layers, Seed: seed, CPUs: runtime.NumCPU(), Kernel: kernel()}}
	defer func() {
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("interrupted (%v)", err)
		}
		switch {
		case b.leftUp:
			logf("keeping %s: a mount below it was unmounted lazily and may still serve", tmp)
		case keep:
			logf("keeping %s", tmp)
		default:
			logf("removing %s", tmp)
			if rerr := os.RemoveAll(tmp); rerr != nil && err == nil {
				err = rerr
			}
		}
	}()
	// As root the server runs as postgres, which must enter tmp.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return false, err
	}

	if bin != "" {
		if b.bin, err = filepath.Abs(bin); err != nil {
			return false, err
		}
	} else {
		b.bin = filepath.Join(tmp, "gscluster")
		logf("building gscluster")
		if out, err := exec.CommandContext(ctx, "go", "build", "-o", b.bin, "github.com/gscluster/gscluster/cmd/gscluster").CombinedOutput(); err != nil {
			return false, fmt.Errorf("go build: %w: %s", err, out)
		}
	}
	if out, err := exec.CommandContext(ctx, b.bin, "mount", "--help").CombinedOutput(); err != nil {
		return false, fmt.Errorf("gscluster mount --help: %w: %s (this gscluster has no mount command yet?)", err, lastLines(string(out), 3))
	}

	srv := &pgserver.Server{Dir: filepath.Join(tmp, "pg")}
	logf("starting PostgreSQL in %s", srv.Dir)
	if err := srv.Init(ctx); err != nil {
		return false, err
	}
	if err := srv.Start(ctx); err != nil {
		return false, err
	}
	defer func() {
		logf("stopping PostgreSQL")
		sctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if serr := srv.Stop(sctx); serr != nil && err == nil {
			err = serr
		}
	}()
	// Registered after the server's stop, so run first: mounts go before
	// the server they read from.
	defer func() {
		if serr := b.stopAll(); serr != nil && err == nil {
			err = serr
		}
	}()
	if b.db, b.rep.Postgres, err = createDB(ctx, srv); err != nil {
		return false, err
	}

	b.src = filepath.Join(tmp, "src")
	logf("generating %d layers into %s", layers, b.src)
	st, err := gendata.Generate(b.src, gendata.Options{Layers: layers, Seed: seed})
	if err != nil {
		return false, err
	}
	b.rep.Files, b.rep.Dirs, b.rep.Bytes = st.Files, st.Dirs, st.Bytes
	logf("importing")
	out, err := b.gscluster("import", b.src, "--db", b.db)
	if err != nil {
		return false, err
	}
	b.rep.Import = firstLine(out)
	if err := syncAll(ctx); err != nil {
		return false, err
	}
	b.rep.LoadBefore = loadAvg()
	b.rep.DropCaches = checkDropCaches()
	logf("dropping the page cache: %s", b.rep.DropCaches)

	if err := b.catalogLoad(); err != nil {
		return false, err
	}
	if err := b.writes(); err != nil {
		return false, err
	}
	b.rep.LoadAfter = loadAvg()

	failed = b.checkTargets()
	if jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return failed, enc.Encode(b.rep)
	}
	return failed, b.print()
}

// catalogLoad measures (a) and (b) on local disk and through the mount.
func (b *bench) catalogLoad() error {
	methods := []struct {
		name  string
		load  func(string) (row, error)
		state string
	}{
		{"go", b.loadGo, filepath.Join(b.tmp, "state-go")},
		{"shell", b.loadShell, filepath.Join(b.tmp, "state-shell")},
	}
	localEntries, err := entries(b.src)
	if err != nil {
		return err
	}
	for _, m := range methods {
		logf("catalog load, local disk, %s", m.name)
		cold, err := b.cold(func() (row, error) { return m.load(b.src) })
		if err != nil {
			return err
		}
		b.addLoad(cold, "local", "cold", m.name, "")
		warm, err := median(func() (row, error) { return m.load(b.src) })
		if err != nil {
			return err
		}
		b.addLoad(warm, "local", "warm", m.name, "")
	}
	logf("lstat, local disk")
	lst, err := median(func() (row, error) { return b.lstatAll(localEntries) })
	if err != nil {
		return err
	}
	b.addStat(lst, "local", "")

	mnt := filepath.Join(b.tmp, "mnt")
	for _, m := range methods {
		logf("catalog load, mount, empty local cache, %s", m.name)
		mo, err := b.mount("empty local cache, "+m.name+" load", mnt, m.state)
		if err != nil {
			return err
		}
		if b.rep.MountInfo == "" {
			b.rep.MountInfo = mountInfo(mnt)
		}
		r, err := b.cold(func() (row, error) { return m.load(mnt) })
		if err != nil {
			return err
		}
		b.addLoad(r, "mount", "empty local cache", m.name, "local cold")
		if err := b.unmount(mo); err != nil {
			return err
		}
	}
	for _, m := range methods {
		logf("catalog load, mount, warm local cache, %s", m.name)
		sess := "warm local cache, " + m.name + " load"
		if m.name == "go" {
			sess += ", lstat"
		}
		mo, err := b.mount(sess, mnt, m.state)
		if err != nil {
			return err
		}
		r, err := b.cold(func() (row, error) { return m.load(mnt) })
		if err != nil {
			return err
		}
		b.addLoad(r, "mount", "warm local cache", m.name, "local cold")
		logf("catalog load, mount, warm kernel cache, %s", m.name)
		r, err = median(func() (row, error) { return m.load(mnt) })
		if err != nil {
			return err
		}
		b.addLoad(r, "mount", "warm kernel cache", m.name, "local warm")
		if m.name == "go" {
			logf("lstat, mount")
			mountEntries, err := entries(mnt)
			if err != nil {
				return err
			}
			b.compareTrees(localEntries, mountEntries)
			r, err := median(func() (row, error) { return b.lstatAll(mountEntries) })
			if err != nil {
				return err
			}
			b.addStat(r, "mount", "local warm")
		}
		if err := b.unmount(mo); err != nil {
			return err
		}
	}
	return nil
}

// writes measures (c) and (d) on local disk, then through a mount with
// the warm local cache of the Go load.
func (b *bench) writes() error {
	targets, err := featureTypes(b.src, writePatternFiles)
	if err != nil {
		return err
	}
	if len(targets) < writePatternFiles {
		b.note("the tree has only %d featuretype.xml files: the write pattern runs on those, not on %d", len(targets), writePatternFiles)
	}
	// New contents, as GeoServer rewrites a featuretype: the old one with
	// a change, so that no blob is already stored.
	contents := make([][]byte, len(targets))
	for i, rel := range targets {
		old, err := os.ReadFile(filepath.Join(b.src, rel))
		if err != nil {
			return err
		}
		contents[i] = fmt.Appendf(old, "\n<!-- benchmount %d -->", i)
	}
	seq := make([]byte, seqBytes)
	rng := mrand.NewChaCha8([32]byte{1})
	rng.Read(seq) // incompressible, so that neither side can shortcut it

	logf("write pattern, local disk")
	w, err := b.writePattern("local", b.src, targets, contents)
	if err != nil {
		return err
	}
	b.rep.Write = append(b.rep.Write, w)
	logf("sequential write and read, local disk")
	if err := b.sequential("local", filepath.Join(b.tmp, "seq-local.bin"), seq, true); err != nil {
		return err
	}
	if err := syncAll(b.ctx); err != nil {
		return err
	}

	mnt := filepath.Join(b.tmp, "mnt")
	mo, err := b.mount("warm local cache, writes", mnt, filepath.Join(b.tmp, "state-go"))
	if err != nil {
		return err
	}
	logf("write pattern, mount")
	w, err = b.writePattern("mount", mnt, targets, contents)
	if err != nil {
		return err
	}
	b.rep.Write = append(b.rep.Write, w)
	logf("sequential write and read, mount")
	path := filepath.Join(mnt, "benchmount-seq.bin")
	if err := b.sequential("mount", path, seq, false); err != nil {
		if b.ctx.Err() != nil {
			return err
		}
		// Measured as far as it went; the targets say what is missing.
		b.note("sequential on mount: %v", err)
		os.Remove(path) //nolint:errcheck // best effort: it may not exist
	}
	return b.unmount(mo)
}

// loadGo reads every regular file below dir as GeoServer does at start:
// one thread, a walk and a whole read of each file.
func (b *bench) loadGo(dir string) (row, error) {
	r := row{Method: "go"}
	begin := time.Now()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := b.ctx.Err(); err != nil {
			return err
		}
		if d.Type().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			r.Files++
			r.Bytes += int64(len(data))
		}
		return nil
	})
	r.Seconds = time.Since(begin).Seconds()
	if err != nil {
		return r, fmt.Errorf("load %s: %w", dir, err)
	}
	return r, nil
}

// loadShell reads every regular file below dir with find and cat. It
// counts nothing: the Go load of the same tree gives the counts.
func (b *bench) loadShell(dir string) (row, error) {
	cmd := exec.CommandContext(b.ctx, "bash", "-c", `set -o pipefail; find "$1" -type f -print0 | xargs -0 cat >/dev/null`, "benchmount", dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	begin := time.Now()
	err := cmd.Run()
	r := row{Method: "shell", Seconds: time.Since(begin).Seconds()}
	if err != nil {
		return r, fmt.Errorf("find %s -type f | xargs cat: %w: %s", dir, err, lastLines(stderr.String(), 5))
	}
	return r, nil
}

// lstatAll lstats every path.
func (b *bench) lstatAll(paths []string) (row, error) {
	begin := time.Now()
	for _, p := range paths {
		if _, err := os.Lstat(p); err != nil {
			return row{}, fmt.Errorf("lstat: %w", err)
		}
	}
	return row{Files: len(paths), Seconds: time.Since(begin).Seconds()}, nil
}

// writePattern writes each target as GeoServer does: NAME.UUID.tmp beside
// it, closed without fsync, renamed over it.
func (b *bench) writePattern(where, dir string, targets []string, contents [][]byte) (wrow, error) {
	lat := make([]time.Duration, len(targets))
	names := make([]string, len(targets))
	failed := make([]bool, len(targets))
	w := wrow{Where: where, Files: len(targets)}
	for i, rel := range targets {
		names[i] = filepath.Join(dir, rel) + "." + uuid() + ".tmp"
	}
	begin := time.Now()
	for i, rel := range targets {
		if err := b.ctx.Err(); err != nil {
			return wrow{}, err
		}
		// A failure is counted and the next file written, as GeoServer
		// goes on after failing to save one object.
		t0 := time.Now()
		err := os.WriteFile(names[i], contents[i], 0o644)
		if err == nil {
			err = os.Rename(names[i], filepath.Join(dir, rel))
		}
		lat[i] = time.Since(t0)
		if err != nil {
			failed[i] = true
			w.Errors++
			if w.FirstError == "" {
				w.FirstError = fmt.Sprintf("file %d of %d: %v", i+1, len(targets), err)
				b.note("write pattern on %s: %s", where, w.FirstError)
			}
		}
	}
	wall := time.Since(begin)
	if w.Errors > 0 {
		b.note("write pattern on %s: %d of %d files failed", where, w.Errors, len(targets))
	}
	// What a reader sees afterwards: the new contents and no temporary file.
	for i, rel := range targets {
		if failed[i] {
			continue
		}
		got, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			return wrow{}, fmt.Errorf("write pattern on %s: read back: %w", where, err)
		}
		if !bytes.Equal(got, contents[i]) {
			b.note("write pattern on %s: %s reads back %d bytes that are not the %d written", where, rel, len(got), len(contents[i]))
			break
		}
		if _, err := os.Lstat(names[i]); !errors.Is(err, fs.ErrNotExist) {
			b.note("write pattern on %s: the temporary file %s is still there after the rename (lstat: %v)", where, names[i], err)
			break
		}
	}
	slices.Sort(lat)
	w.P50ms = ms(lat[len(lat)/2])
	w.P99ms = ms(lat[min(len(lat)-1, len(lat)*99/100)])
	w.FilesPerSec = float64(len(targets)) / wall.Seconds()
	return w, nil
}

// sequential writes data to path, reads it back cold and warm, checks what
// it read, and removes the file.
func (b *bench) sequential(where, path string, data []byte, withFsync bool) error {
	n := int64(len(data))
	write := func(fsync bool) (row, error) {
		begin := time.Now()
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			return row{}, err
		}
		for off := 0; off < len(data); off += ioChunk {
			if _, err := f.Write(data[off:min(off+ioChunk, len(data))]); err != nil {
				f.Close()
				return row{}, fmt.Errorf("write %s: %w", path, err)
			}
		}
		if fsync {
			if err := f.Sync(); err != nil {
				f.Close()
				return row{}, fmt.Errorf("fsync %s: %w", path, err)
			}
		}
		if err := f.Close(); err != nil {
			return row{}, fmt.Errorf("close %s: %w", path, err)
		}
		return row{Bytes: n, Seconds: time.Since(begin).Seconds()}, nil
	}
	buf := make([]byte, ioChunk)
	read := func() (row, error) {
		begin := time.Now()
		f, err := os.Open(path)
		if err != nil {
			return row{}, err
		}
		defer f.Close()
		var got int64
		for {
			k, err := f.Read(buf)
			got += int64(k)
			if err == io.EOF {
				break
			}
			if err != nil {
				return row{}, fmt.Errorf("read %s: %w", path, err)
			}
		}
		if got != n {
			return row{}, fmt.Errorf("read %s: %d bytes, want the %d written", path, got, n)
		}
		return row{Bytes: n, Seconds: time.Since(begin).Seconds()}, nil
	}
	r, err := write(false)
	if err != nil {
		return err
	}
	b.addSeq(r, where, "write+close")
	if withFsync {
		// Not what the mount is compared to, but what its close may cost:
		// the data on disk.
		r, err := write(true)
		if err != nil {
			return err
		}
		b.addSeq(r, where, "write+fsync+close")
	}
	r, err = b.cold(read)
	if err != nil {
		return err
	}
	b.addSeq(r, where, "read cold")
	r, err = median(read)
	if err != nil {
		return err
	}
	b.addSeq(r, where, "read warm")
	got, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if !bytes.Equal(got, data) {
		b.note("sequential on %s: %s reads back other bytes than were written", where, path)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}

func (b *bench) addLoad(r row, where, cas, method, baseline string) {
	r.Where, r.Case, r.Method = where, cas, method
	if baseline != "" {
		base := find(b.rep.Load, "local "+strings.TrimPrefix(baseline, "local ")+" "+method)
		r.Baseline, r.Ratio = baseline+" ("+method+")", r.Seconds/base.Seconds
		if r.Files == 0 { // the shell way counts nothing
			r.Files, r.Bytes = find(b.rep.Load, "mount "+cas+" go").Files, find(b.rep.Load, "mount "+cas+" go").Bytes
		}
	} else if r.Files == 0 {
		r.Files, r.Bytes = find(b.rep.Load, "local "+cas+" go").Files, find(b.rep.Load, "local "+cas+" go").Bytes
	}
	b.rep.Load = append(b.rep.Load, r)
}

func (b *bench) addStat(r row, where, baseline string) {
	r.Where, r.Case = where, "warm"
	if baseline != "" {
		r.Baseline, r.Ratio = baseline, r.Seconds/b.rep.Stat[0].Seconds
	}
	b.rep.Stat = append(b.rep.Stat, r)
}

func (b *bench) addSeq(r row, where, op string) {
	r.Where, r.Case = where, op
	if where == "mount" {
		base := find(b.rep.Seq, "local "+op+" ")
		r.Baseline, r.Ratio = "local "+op, r.Seconds/base.Seconds
	}
	b.rep.Seq = append(b.rep.Seq, r)
}

func find(rows []row, key string) row {
	for _, r := range rows {
		if r.key() == key {
			return r
		}
	}
	return row{}
}

// cold drops the page cache, then runs f once.
func (b *bench) cold(f func() (row, error)) (row, error) {
	if err := b.ctx.Err(); err != nil {
		return row{}, err
	}
	dropCaches() // checkDropCaches said whether it works
	return f()
}

// median runs f warmRuns times and returns the run of median time.
func median(f func() (row, error)) (row, error) {
	rs := make([]row, 0, warmRuns)
	for range warmRuns {
		r, err := f()
		if err != nil {
			return row{}, err
		}
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b row) int { return cmpFloat(a.Seconds, b.Seconds) })
	return rs[len(rs)/2], nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareTrees notes paths the mount and the local tree do not share: the
// node-local ones (logs/...) are expected.
func (b *bench) compareTrees(local, mounted []string) {
	rel := func(root string, ps []string) map[string]bool {
		m := make(map[string]bool, len(ps))
		for _, p := range ps {
			r, _ := filepath.Rel(root, p)
			m[r] = true
		}
		return m
	}
	l, m := rel(b.src, local), rel(filepath.Join(b.tmp, "mnt"), mounted)
	var onlyL, onlyM []string
	for p := range l {
		if !m[p] {
			onlyL = append(onlyL, p)
		}
	}
	for p := range m {
		if !l[p] {
			onlyM = append(onlyM, p)
		}
	}
	slices.Sort(onlyL)
	slices.Sort(onlyM)
	short := func(ps []string) string {
		if len(ps) > 5 {
			return strings.Join(ps[:5], ", ") + fmt.Sprintf(" (+%d more)", len(ps)-5)
		}
		return strings.Join(ps, ", ")
	}
	if len(onlyL) > 0 {
		b.note("%d paths on local disk are not on the mount (node-local paths are expected): %s", len(onlyL), short(onlyL))
	}
	if len(onlyM) > 0 {
		b.note("%d paths on the mount are not on local disk: %s", len(onlyM), short(onlyM))
	}
}

// mount is one running `gscluster mount`.
type mount struct {
	session string
	dir     string
	cmd     *exec.Cmd
	rss     func() (int64, error)
	logPath string
	logFile *os.File
	done    chan struct{} // closed when cmd.Wait returns
	waitErr error
	d       daemon
}

// mount starts `gscluster mount` on dir with the state directory state
// and waits for its ready file.
func (b *bench) mount(session, dir, state string) (*mount, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(state, 0o700); err != nil {
		return nil, err
	}
	n := len(b.rep.Daemons) + len(b.mounts) + 1
	ready := filepath.Join(b.tmp, fmt.Sprintf("ready-%d", n))
	logPath := filepath.Join(b.tmp, fmt.Sprintf("mount-%d.log", n))
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(b.bin, "mount", dir, "--db", b.db, "--state-dir", state, "--ready-file", ready)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	rss, err := peakrss.Wrap(cmd)
	if err != nil {
		logFile.Close()
		return nil, err
	}
	m := &mount{session: session, dir: dir, cmd: cmd, rss: rss, logPath: logPath, logFile: logFile, done: make(chan struct{}),
		d: daemon{Session: session, StateDir: filepath.Base(state)}}
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		rss() //nolint:errcheck // only releases the pipe
		logFile.Close()
		return nil, fmt.Errorf("start gscluster mount %s: %w", dir, err)
	}
	b.mounts = append(b.mounts, m)
	go func() {
		m.waitErr = cmd.Wait()
		close(m.done)
	}()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(readyTimeout)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		select {
		case <-tick.C:
		case <-m.done:
			b.unmount(m) //nolint:errcheck // its exit is the error
			return nil, fmt.Errorf("gscluster mount %s (%s) exited before it was ready after %.1fs: %s: %s",
				dir, session, time.Since(begin).Seconds(), m.d.Exit, m.logTail())
		case <-deadline:
			b.unmount(m) //nolint:errcheck // not being ready is the error
			return nil, fmt.Errorf("gscluster mount %s (%s) not ready in %v: %s", dir, session, readyTimeout, m.logTail())
		case <-b.ctx.Done():
			return nil, b.ctx.Err()
		}
	}
	m.d.ReadyS = time.Since(begin).Seconds()
	if !mounted(dir) {
		b.note("session %q: the ready file exists but %s is not in /proc/self/mountinfo", session, dir)
	}
	logf("mounted %s (%s) in %.2fs", dir, session, m.d.ReadyS)
	return m, nil
}

// unmount stops m with SIGTERM, as a person does, records its figures,
// and makes sure nothing stays mounted. Safe to call twice.
func (b *bench) unmount(m *mount) error {
	i := slices.Index(b.mounts, m)
	if i < 0 {
		return nil
	}
	b.mounts = slices.Delete(b.mounts, i, i+1)
	defer m.logFile.Close()
	var errs []error
	begin := time.Now()
	select {
	case <-m.done:
	default:
		m.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck // it may have exited
		select {
		case <-m.done:
		case <-time.After(stopTimeout):
			errs = append(errs, fmt.Errorf("gscluster mount %s (%s) still running %v after SIGTERM; killed it: %s", m.dir, m.session, stopTimeout, m.logTail()))
			m.cmd.Process.Kill() //nolint:errcheck // the child dies with the spawner (Pdeathsig)
			<-m.done
		}
		m.d.StopS = time.Since(begin).Seconds()
	}
	m.d.Exit = "exit 0"
	if m.waitErr != nil {
		m.d.Exit = m.waitErr.Error()
		b.note("session %q: the mount daemon ended with %q after SIGTERM: %s", m.session, m.waitErr, m.logTail())
	}
	rss, err := m.rss()
	if err != nil {
		errs = append(errs, err)
	}
	m.d.PeakRSS = rss
	b.rep.Daemons = append(b.rep.Daemons, m.d)
	if mounted(m.dir) {
		errs = append(errs, fmt.Errorf("gscluster mount %s (%s) exited (%s) and left the mount behind", m.dir, m.session, m.d.Exit))
		if err := lazyUnmount(m.dir); err != nil {
			errs = append(errs, err)
			b.leftUp = true
		} else {
			logf("unmounted %s lazily", m.dir)
		}
	}
	return errors.Join(errs...)
}

// stopAll stops every mount still running, newest first.
func (b *bench) stopAll() error {
	var errs []error
	for len(b.mounts) > 0 {
		errs = append(errs, b.unmount(b.mounts[len(b.mounts)-1]))
	}
	return errors.Join(errs...)
}

func (m *mount) logTail() string {
	data, err := os.ReadFile(m.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if t := lastLines(string(data), 5); t != "" {
		return "log: " + t
	}
	return "(empty log)"
}

func lazyUnmount(dir string) error {
	out, err := exec.Command("fusermount3", "-u", "-z", dir).CombinedOutput()
	if err == nil {
		return nil
	}
	out2, err2 := exec.Command("umount", "-l", dir).CombinedOutput()
	if err2 == nil {
		return nil
	}
	return fmt.Errorf("lazy unmount of %s failed: fusermount3: %v: %s; umount -l: %v: %s", dir, err, bytes.TrimSpace(out), err2, bytes.TrimSpace(out2))
}

// mountLine returns the /proc/self/mountinfo line of the mount at dir.
func mountLine(dir string) string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) > 4 && f[4] == dir {
			return l
		}
	}
	return ""
}

func mounted(dir string) bool { return mountLine(dir) != "" }

// mountInfo is the type, source and options of the mount at dir.
func mountInfo(dir string) string {
	l := mountLine(dir)
	f := strings.Fields(l)
	i := slices.Index(f, "-")
	if i < 0 || i+3 >= len(f) {
		return l
	}
	return fmt.Sprintf("%s %s %s,%s", f[i+1], f[i+2], f[5], f[i+3])
}

// checkDropCaches drops the page cache once and says whether it worked.
func checkDropCaches() string {
	if os.Geteuid() != 0 {
		return "no: not root, so the cold figures are not cold"
	}
	before := meminfo("Cached")
	if err := dropCaches(); err != nil {
		return fmt.Sprintf("no: %v, so the cold figures are not cold", err)
	}
	return fmt.Sprintf("yes (Cached %d MB before the first drop, %d MB after)", before>>20, meminfo("Cached")>>20)
}

func dropCaches() error {
	if os.Geteuid() != 0 {
		return errors.New("not root")
	}
	if err := exec.Command("sync").Run(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if err := os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0); err != nil {
		return fmt.Errorf("drop caches: %w", err)
	}
	return nil
}

// meminfo returns a field of /proc/meminfo in bytes, 0 when unknown.
func meminfo(name string) int64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, name+":"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}

// entries lists every path below dir, dir itself left out.
func entries(dir string) ([]string, error) {
	var ps []string
	err := filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != dir {
			ps = append(ps, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	return ps, nil
}

// featureTypes returns up to n featuretype.xml files below dir, relative
// to it, in sorted order.
func featureTypes(dir string, n int) ([]string, error) {
	var ps []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && d.Name() == "featuretype.xml" {
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			ps = append(ps, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find featuretype.xml files in %s: %w", dir, err)
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("no featuretype.xml file in %s", dir)
	}
	slices.Sort(ps)
	return ps[:min(n, len(ps))], nil
}

// uuid returns a random version 4 UUID, as Java's UUID.randomUUID.
func uuid() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}

// checkTargets fills in the targets and says whether one failed.
func (b *bench) checkTargets() (failed bool) {
	check := func(name, measured string, ok bool) {
		b.rep.Targets = append(b.rep.Targets, target{Name: name, Measured: measured, Pass: ok})
		failed = failed || !ok
	}
	for _, method := range []string{"go", "shell"} {
		r := find(b.rep.Load, "mount warm kernel cache "+method)
		check(fmt.Sprintf("load (%s), warm kernel cache <= %.1fx local warm", method, maxWarmKernelRatio),
			fmt.Sprintf("%.2fx (%.0f ms, local %.0f ms)", r.Ratio, r.Seconds*1e3, find(b.rep.Load, "local warm "+method).Seconds*1e3),
			r.Ratio <= maxWarmKernelRatio)
	}
	for _, method := range []string{"go", "shell"} {
		r := find(b.rep.Load, "mount warm local cache "+method)
		check(fmt.Sprintf("load (%s), fresh mount, warm local cache <= %.0fx local cold", method, maxWarmCacheRatio),
			fmt.Sprintf("%.2fx (%.0f ms, local %.0f ms)", r.Ratio, r.Seconds*1e3, find(b.rep.Load, "local cold "+method).Seconds*1e3),
			r.Ratio <= maxWarmCacheRatio)
	}
	for _, w := range b.rep.Write {
		if w.Where == "mount" {
			check(fmt.Sprintf("write pattern p50 < %v", maxWriteP50), fmt.Sprintf("%.2f ms", w.P50ms), w.P50ms < ms(maxWriteP50))
			measured := fmt.Sprintf("all %d", w.Files)
			if w.Errors > 0 {
				measured = fmt.Sprintf("%d of %d failed, first %s", w.Errors, w.Files, w.FirstError)
			}
			check("write pattern: every file written and renamed", measured, w.Errors == 0)
		}
	}
	for _, op := range []string{"read cold", "read warm"} {
		r := find(b.rep.Seq, "mount "+op+" ")
		if r.Seconds == 0 {
			check(fmt.Sprintf("sequential %s >= %.1fx local MB/s", op, minSeqReadRatio), "not measured (see the notes)", false)
			continue
		}
		// Ratio is of times; the target is of MB/s.
		check(fmt.Sprintf("sequential %s >= %.1fx local MB/s", op, minSeqReadRatio),
			fmt.Sprintf("%.2fx (%.0f MB/s, local %.0f MB/s)", 1/r.Ratio, mbps(r), mbps(find(b.rep.Seq, "local "+op+" "))),
			1/r.Ratio >= minSeqReadRatio)
	}
	var peak daemon
	for _, d := range b.rep.Daemons {
		if d.PeakRSS > peak.PeakRSS {
			peak = d
		}
	}
	check(fmt.Sprintf("mount daemon peak RSS < %d MB (highest of all sessions)", maxRSSBytes/1_000_000),
		fmt.Sprintf("%.0f MB (%s)", float64(peak.PeakRSS)/1e6, peak.Session), peak.PeakRSS < maxRSSBytes)
	return failed
}

func (b *bench) print() error {
	r := b.rep
	fmt.Printf("\ngscluster mount: %d layers (seed %d): %d files, %d directories, %.1f MB; %d CPUs, Linux %s, load average %s before the first load, %s at the end\n",
		r.Layers, r.Seed, r.Files, r.Dirs, float64(r.Bytes)/1e6, r.CPUs, r.Kernel, r.LoadBefore, r.LoadAfter)
	fmt.Printf("PostgreSQL %s (server defaults), the tree, the state directories and the server on the same disk\n", r.Postgres)
	fmt.Printf("import: %s\n", r.Import)
	fmt.Printf("mount: %s\n", r.MountInfo)
	fmt.Printf("page cache dropped before cold runs: %s\n", r.DropCaches)
	fmt.Printf("warm figures are the median of %d runs; ratios are times, mount / baseline\n", warmRuns)

	fmt.Println("\n(a) catalog load: walk and read every file (go: WalkDir + ReadFile, one thread; shell: find | xargs cat)")
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "where\tcache\tmethod\tfiles\tMB\tms\tfiles/s\tbaseline\tx baseline\t")
	for _, l := range r.Load {
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%.1f\t%.0f\t%.0f\t%s\t%s\t\n", l.Where, l.Case, l.Method, l.Files, float64(l.Bytes)/1e6,
			l.Seconds*1e3, float64(l.Files)/l.Seconds, dash(l.Baseline), ratio(l.Ratio))
	}
	if err := w.Flush(); err != nil {
		return err
	}

	fmt.Println("\n(b) lstat of every entry, warm")
	w = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "where\tentries\tms\tentries/s\tx local\t")
	for _, l := range r.Stat {
		fmt.Fprintf(w, "%s\t%d\t%.1f\t%.0f\t%s\t\n", l.Where, l.Files, l.Seconds*1e3, float64(l.Files)/l.Seconds, ratio(l.Ratio))
	}
	if err := w.Flush(); err != nil {
		return err
	}

	fmt.Println("\n(c) GeoServer's write pattern: NAME.UUID.tmp, close without fsync, rename over featuretype.xml")
	w = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "where\tfiles\terrors\tp50 ms\tp99 ms\tfiles/s\tp50 x local\t")
	var local wrow
	for _, l := range r.Write {
		x := "-"
		if l.Where == "local" {
			local = l
		} else if local.P50ms > 0 {
			x = fmt.Sprintf("%.1f", l.P50ms/local.P50ms)
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%.3f\t%.3f\t%.0f\t%s\t\n", l.Where, l.Files, l.Errors, l.P50ms, l.P99ms, l.FilesPerSec, x)
	}
	if err := w.Flush(); err != nil {
		return err
	}

	fmt.Printf("\n(d) sequential I/O of one %d MiB file (1 MiB writes and reads; read cold after dropping the page cache)\n", seqBytes>>20)
	w = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "where\top\tseconds\tMB/s\tbaseline\tMB/s x baseline\t")
	for _, l := range r.Seq {
		x := "-"
		if l.Ratio > 0 {
			x = fmt.Sprintf("%.2f", 1/l.Ratio)
		}
		fmt.Fprintf(w, "%s\t%s\t%.3f\t%.0f\t%s\t%s\t\n", l.Where, l.Case, l.Seconds, mbps(l), dash(l.Baseline), x)
	}
	if err := w.Flush(); err != nil {
		return err
	}

	fmt.Println("\n(e) mount daemons (peak RSS: ru_maxrss over the daemon's life)")
	w = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "session\tstate dir\tready s\tstop s\texit\tpeak RSS MB")
	for _, d := range r.Daemons {
		fmt.Fprintf(w, "%s\t%s\t%.2f\t%.2f\t%s\t%.0f\n", d.Session, d.StateDir, d.ReadyS, d.StopS, d.Exit, float64(d.PeakRSS)/1e6)
	}
	if err := w.Flush(); err != nil {
		return err
	}

	if len(r.Notes) > 0 {
		fmt.Println("\nnotes:")
		for _, n := range r.Notes {
			fmt.Println("  - " + n)
		}
	}

	fmt.Println()
	w = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "target\tmeasured\tresult")
	for _, t := range r.Targets {
		res := "PASS"
		if !t.Pass {
			res = "FAIL"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", t.Name, t.Measured, res)
	}
	return w.Flush()
}

func (b *bench) note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	logf("note: %s", n)
	b.rep.Notes = append(b.rep.Notes, n)
}

// gscluster runs the binary to completion and returns its standard output.
func (b *bench) gscluster(args ...string) (string, error) {
	cmd := exec.CommandContext(b.ctx, b.bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("gscluster %s: %w: %s", args[0], err, lastLines(stderr.String(), 5))
	}
	return stdout.String(), nil
}

// createDB creates the database bench and returns its URL and the
// server's version.
func createDB(ctx context.Context, srv *pgserver.Server) (string, string, error) {
	conn, err := pgx.Connect(ctx, srv.URL("postgres"))
	if err != nil {
		return "", "", fmt.Errorf("connect to the benchmark's postgresql: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE DATABASE bench"); err != nil {
		return "", "", fmt.Errorf("create database bench: %w", err)
	}
	var v string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "", "", fmt.Errorf("read the server version: %w", err)
	}
	return srv.URL("bench"), v, nil
}

// syncAll flushes every file system, so that no step pays for the dirty
// pages of an earlier one.
func syncAll(ctx context.Context) error {
	if out, err := exec.CommandContext(ctx, "sync").CombinedOutput(); err != nil {
		return fmt.Errorf("sync: %w: %s", err, out)
	}
	return nil
}

// loadAvg is the 1-minute load average: other work on the machine skews
// every figure.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}

func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func mbps(r row) float64         { return float64(r.Bytes) / 1e6 / r.Seconds }

func ratio(x float64) string {
	if x == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", x)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// lastLines returns the last n non-empty lines of text, joined by " | ".
func lastLines(text string, n int) string {
	var ls []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			ls = append(ls, l)
		}
	}
	return strings.Join(ls[max(0, len(ls)-n):], " | ")
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchmount: "+format+"\n", args...)
}
