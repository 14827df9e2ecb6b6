// Command benchimport measures a whole import and export of a generated
// data directory through the gscluster binary, beside cp -a of the same
// tree as the baseline, and checks them against the targets of the dbstore
// issue.
//
//	go run ./integration/cmd/benchimport [-layers 10000]
//
// It builds gscluster, starts its own throwaway PostgreSQL (initdb into a
// temporary directory, the server's default settings), generates the tree
// with package gendata, then times, in this order:
//
//   - cp -a of the tree, then sync;
//   - gscluster import of the tree (a subprocess; its peak RSS from rusage,
//     through package peakrss so that this driver's own RSS does not count);
//   - gscluster export into an empty directory, then sync.
//
// It prints one table and the targets with PASS or FAIL, and exits 1 when a
// target fails, 2 on error. Everything it made (the server, the temporary
// directory) is stopped and removed on the way out, also after an error or
// an interrupt.
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gscluster/gscluster/integration/internal/peakrss"
	"github.com/gscluster/gscluster/internal/gendata"
	"github.com/gscluster/gscluster/internal/pgserver"
)

// Targets of the dbstore issue.
const (
	minImportFilesPerSec = 5000
	maxImportRatio       = 4 // x cp -a
	maxExportRatio       = 3 // x cp -a
	maxRSSBytes          = 200_000_000
)

func main() {
	peakrss.Main() // first: this program also runs as peakrss's spawner
	layers := flag.Int("layers", 10000, "layers of the generated data directory")
	seed := flag.Int64("seed", 1, "seed of the generated data directory")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	failed, err := run(ctx, *layers, *seed)
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchimport: %v\n", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

// step is one measured operation.
type step struct {
	name   string
	files  int
	bytes  int64
	wall   time.Duration
	maxRSS int64 // bytes; 0 when not measured
}

func (s step) filesPerSec() float64 { return float64(s.files) / s.wall.Seconds() }
func (s step) mbPerSec() float64    { return float64(s.bytes) / 1e6 / s.wall.Seconds() }

func run(ctx context.Context, layers int, seed int64) (failed bool, err error) {
	tmp, err := os.MkdirTemp("", "gscluster-benchimport-")
	if err != nil {
		return false, err
	}
	defer func() {
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("interrupted (%v)", err)
		}
		logf("removing %s", tmp)
		if rerr := os.RemoveAll(tmp); rerr != nil && err == nil {
			err = rerr
		}
	}()
	// As root the server runs as postgres, which must enter tmp.
	if err := os.Chmod(tmp, 0o755); err != nil {
		return false, err
	}

	bin := filepath.Join(tmp, "gscluster")
	logf("building gscluster")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/gscluster/gscluster/cmd/gscluster").CombinedOutput(); err != nil {
		return false, fmt.Errorf("go build: %w: %s", err, out)
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
	db, settings, err := createDB(ctx, srv)
	if err != nil {
		return false, err
	}

	src := filepath.Join(tmp, "src")
	logf("generating %d layers into %s", layers, src)
	st, err := gendata.Generate(src, gendata.Options{Layers: layers, Seed: seed})
	if err != nil {
		return false, err
	}
	// Start every step with no dirty pages of an earlier one.
	if err := syncAll(ctx); err != nil {
		return false, err
	}

	load0 := loadAvg()
	logf("cp -a")
	cp := step{name: "cp -a + sync", files: st.Files, bytes: st.Bytes}
	begin := time.Now()
	if out, err := exec.CommandContext(ctx, "cp", "-a", "--", src, filepath.Join(tmp, "cp")).CombinedOutput(); err != nil {
		return false, fmt.Errorf("cp -a: %w: %s", err, out)
	}
	if err := syncAll(ctx); err != nil {
		return false, err
	}
	cp.wall = time.Since(begin)

	logf("import")
	imp := step{name: "gscluster import"}
	res, err := gscluster(ctx, bin, "import", src, "--db", db)
	if err != nil {
		return false, err
	}
	imp.wall, imp.maxRSS = res.wall, res.maxRSS
	if err := syncAll(ctx); err != nil { // the cp's and the server's leftovers
		return false, err
	}

	logf("export")
	dst := filepath.Join(tmp, "dst")
	exp := step{name: "gscluster export + sync"}
	res, err = gscluster(ctx, bin, "export", dst, "--db", db)
	if err != nil {
		return false, err
	}
	begin = time.Now()
	if err := syncAll(ctx); err != nil {
		return false, err
	}
	exp.wall, exp.maxRSS = res.wall+time.Since(begin), res.maxRSS
	// What went in and came out: the tree without its node-local paths.
	exp.files, exp.bytes, err = countFiles(dst)
	if err != nil {
		return false, err
	}
	imp.files, imp.bytes = exp.files, exp.bytes

	fmt.Printf("\ngscluster import/export: %d layers (seed %d), %d CPUs, load average %s before cp -a, %s at the end\n",
		layers, seed, runtime.NumCPU(), load0, loadAvg())
	fmt.Printf("PostgreSQL %s on the same disk, server defaults: %s\n\n", settings["server_version"], fmtSettings(settings))
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "step\tfiles\tMB\tseconds\tfiles/s\tMB/s\tx cp -a\tpeak RSS MB\t")
	for _, s := range []step{cp, imp, exp} {
		rss := "-"
		if s.maxRSS > 0 {
			rss = fmt.Sprintf("%.0f", float64(s.maxRSS)/1e6)
		}
		fmt.Fprintf(w, "%s\t%d\t%.1f\t%.2f\t%.0f\t%.1f\t%.2f\t%s\t\n", s.name, s.files, float64(s.bytes)/1e6, s.wall.Seconds(),
			s.filesPerSec(), s.mbPerSec(), s.wall.Seconds()/cp.wall.Seconds(), rss)
	}
	if err := w.Flush(); err != nil {
		return false, err
	}

	fmt.Println()
	w = tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "target\tmeasured\tresult")
	check := func(name, measured string, ok bool) {
		r := "PASS"
		if !ok {
			r, failed = "FAIL", true
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", name, measured, r)
	}
	check(fmt.Sprintf("import >= %d files/s", minImportFilesPerSec), fmt.Sprintf("%.0f files/s", imp.filesPerSec()), imp.filesPerSec() >= minImportFilesPerSec)
	check(fmt.Sprintf("import <= %dx cp -a", maxImportRatio), fmt.Sprintf("%.2fx", imp.wall.Seconds()/cp.wall.Seconds()), imp.wall.Seconds() <= maxImportRatio*cp.wall.Seconds())
	check(fmt.Sprintf("export <= %dx cp -a", maxExportRatio), fmt.Sprintf("%.2fx", exp.wall.Seconds()/cp.wall.Seconds()), exp.wall.Seconds() <= maxExportRatio*cp.wall.Seconds())
	check(fmt.Sprintf("import peak RSS < %d MB", maxRSSBytes/1_000_000), fmt.Sprintf("%.0f MB", float64(imp.maxRSS)/1e6), imp.maxRSS < maxRSSBytes)
	check(fmt.Sprintf("export peak RSS < %d MB", maxRSSBytes/1_000_000), fmt.Sprintf("%.0f MB", float64(exp.maxRSS)/1e6), exp.maxRSS < maxRSSBytes)
	return failed, w.Flush()
}

// createDB creates the database bench and returns its URL and the server
// settings that matter for the figures.
func createDB(ctx context.Context, srv *pgserver.Server) (string, map[string]string, error) {
	conn, err := pgx.Connect(ctx, srv.URL("postgres"))
	if err != nil {
		return "", nil, fmt.Errorf("connect to the benchmark's postgresql: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE DATABASE bench"); err != nil {
		return "", nil, fmt.Errorf("create database bench: %w", err)
	}
	settings := map[string]string{}
	for _, name := range []string{"server_version", "fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "wal_level"} {
		var v string
		if err := conn.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v); err != nil {
			return "", nil, fmt.Errorf("read setting %s: %w", name, err)
		}
		settings[name] = v
	}
	return srv.URL("bench"), settings, nil
}

func fmtSettings(s map[string]string) string {
	var parts []string
	for _, name := range []string{"fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "wal_level"} {
		parts = append(parts, name+"="+s[name])
	}
	return strings.Join(parts, ", ")
}

// result is one gscluster run.
type result struct {
	wall   time.Duration
	maxRSS int64 // bytes
}

// gscluster runs the binary and returns its wall time and peak RSS.
func gscluster(ctx context.Context, bin string, args ...string) (result, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr strings.Builder
	cmd.Stdout = os.Stderr // its summary, beside our progress
	cmd.Stderr = &stderr
	// ru_maxrss of a child started from this process would count this
	// process's own RSS (the generator's, here): see package peakrss.
	rss, err := peakrss.Wrap(cmd)
	if err != nil {
		return result{}, err
	}
	begin := time.Now()
	err = cmd.Run()
	res := result{wall: time.Since(begin)}
	maxRSS, rerr := rss()
	if err != nil {
		return res, fmt.Errorf("gscluster %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	if rerr != nil {
		return res, rerr
	}
	res.maxRSS = maxRSS
	return res, nil
}

// syncAll flushes every file system, so that a step's time includes
// writing its files to disk and the next step does not pay for them.
func syncAll(ctx context.Context) error {
	if out, err := exec.CommandContext(ctx, "sync").CombinedOutput(); err != nil {
		return fmt.Errorf("sync: %w: %s", err, out)
	}
	return nil
}

// countFiles counts the regular files below dir and their bytes.
func countFiles(dir string) (int, int64, error) {
	n, size := 0, int64(0)
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n++
			size += fi.Size()
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("count files in %s: %w", dir, err)
	}
	return n, size, nil
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

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchimport: "+format+"\n", args...)
}
