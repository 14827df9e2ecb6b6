package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gscluster/gscluster/fusefs"
	"github.com/gscluster/gscluster/internal/pathspec"
	"github.com/gscluster/gscluster/internal/pgserver"
	"github.com/gscluster/gscluster/internal/replica"
)

func mountCmd(g *globals) *cobra.Command {
	var (
		locals      []string
		allowOther  bool
		readOnly    bool
		readyFile   string
		maxFileSize int64
		debug       bool
	)
	cmd := &cobra.Command{
		Use:   "mount MOUNTPOINT",
		Short: "Serve the data directory in the database at MOUNTPOINT (foreground; Ctrl-C unmounts)",
		Long: `mount serves the data directory kept in the database as a file system at
MOUNTPOINT, for GeoServer to use as its GEOSERVER_DATA_DIR. Every write is
committed to the database when the file is closed; changes committed elsewhere
(another mount, rollback, import --replace) show within a second.

The node keeps the tree and a cache of file contents under --state-dir, so a
restarted mount serves at once, read-only while the database is unreachable.
Node-local paths (logs, temp files, the tile cache; more with --local) are
kept in the state directory and never reach the database.

Writes that cannot be committed fail with EIO; their content is kept under
STATE-DIR/node/recovery and logged.`,
		Args: exactArgs(1, "MOUNTPOINT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMount(cmd.Context(), g, args[0], mountConfig{locals, allowOther, readOnly, readyFile, maxFileSize, debug})
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&locals, "local", nil, "another glob of node-local paths (repeatable), besides "+strings.Join(pathspec.DefaultLocal, " "))
	f.BoolVar(&allowOther, "allow-other", false, "let other users (the GeoServer user) use the mount; needs user_allow_other in /etc/fuse.conf when not root")
	f.BoolVar(&readOnly, "read-only", false, "mount read-only")
	f.StringVar(&readyFile, "ready-file", "", "create this file once the mount serves (for scripts and systemd)")
	f.Int64Var(&maxFileSize, "max-file-size", 4<<30, "largest file a write may make, in bytes (EFBIG beyond it; 0: no limit)")
	f.BoolVar(&debug, "debug-fuse", false, "log every FUSE request")
	return cmd
}

type mountConfig struct {
	locals      []string
	allowOther  bool
	readOnly    bool
	readyFile   string
	maxFileSize int64
	debug       bool
}

func runMount(ctx context.Context, g *globals, dir string, c mountConfig) error {
	log := g.log
	if !g.verbose {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if st, err := os.Stat(abs); err == nil && !st.IsDir() {
		return fmt.Errorf("mountpoint %s is not a directory", abs)
	} else if err != nil && !isNotConn(err) {
		return fmt.Errorf("mountpoint %s: %w (create it with mkdir -p)", abs, err)
	}
	local, err := pathspec.New(c.locals...)
	if err != nil {
		return err
	}
	node := filepath.Join(g.stateDir, "node")
	if err := os.MkdirAll(node, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	lctx, lcancel := context.WithTimeout(ctx, 3*time.Second)
	unlock, err := pgserver.LockFile(lctx, filepath.Join(node, "lock"))
	lcancel()
	if err != nil {
		return fmt.Errorf("state directory %s is in use by another mount (%w): give each mount its own --state-dir", node, err)
	}
	defer unlock()
	url, err := g.dbURL(ctx)
	if err != nil {
		return err
	}
	recovery := filepath.Join(node, "recovery")
	rescueSpools(filepath.Join(node, "cache", "tmp"), recovery, log)

	var fsys *fusefs.FS
	host, _ := os.Hostname()
	r, err := replica.Open(ctx, url, replica.Options{
		StateDir: node,
		Origin:   "mount@" + host + ":" + abs,
		Logger:   log.With("component", "replica"),
		Invalidate: func(inv []replica.Inval) {
			if fsys != nil { // nothing is cached before the mount
				fsys.Invalidate(inv)
			}
		},
	})
	if err != nil {
		return err
	}
	defer r.Close()
	fsys, err = fusefs.New(fusefs.Options{Replica: r, LocalDir: filepath.Join(node, "local"), Local: local,
		RecoveryDir: recovery, MaxFileSize: c.maxFileSize, ReadOnly: c.readOnly, Logger: log.With("component", "fusefs")})
	if err != nil {
		return err
	}
	srv, cleaned, err := fsys.Mount(abs, fusefs.MountOptions{AllowOther: c.allowOther, ReadOnly: c.readOnly, Debug: c.debug})
	if cleaned {
		log.Warn("a dead mount left by a crash was unmounted first", "mountpoint", abs)
	}
	if err != nil {
		return err
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(runCtx)
	}()
	go prefetch(runCtx, r, log)
	if c.readyFile != "" {
		if err := os.WriteFile(c.readyFile, []byte(abs+"\n"), 0o644); err != nil {
			log.Error("write the ready file", "path", c.readyFile, "err", err)
		}
	}
	fmt.Printf("gscluster: serving %s at revision %d; Ctrl-C unmounts\n", abs, r.Applied())
	<-ctx.Done()
	fmt.Println("gscluster: unmounting", abs)
	unmount(srv, abs, log)
	cctx, ccancel := context.WithTimeout(context.Background(), time.Minute)
	fsys.CommitAll(cctx)
	ccancel()
	stop()
	<-done
	if c.readyFile != "" {
		os.Remove(c.readyFile)
	}
	return nil
}

// unmount unmounts, waiting a little for busy users, then detaches lazily.
func unmount(srv interface{ Unmount() error }, dir string, log *slog.Logger) {
	var err error
	for i := 0; i < 10; i++ {
		if err = srv.Unmount(); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	log.Warn("the mount is busy: detaching it; it goes when its last user leaves", "mountpoint", dir, "err", err)
	if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
		log.Error("unmount", "mountpoint", dir, "err", err)
	}
}

func isNotConn(err error) bool {
	var errno syscall.Errno
	if pe, ok := err.(*os.PathError); ok {
		errno, _ = pe.Err.(syscall.Errno)
	}
	return errno == syscall.ENOTCONN
}

// rescueSpools moves what a crashed daemon was writing and never committed
// (its writers never saw a close succeed) to the recovery folder.
func rescueSpools(tmp, recovery string, log *slog.Logger) {
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range ents {
		p := filepath.Join(tmp, e.Name())
		if info, err := e.Info(); !strings.HasPrefix(e.Name(), "spool-") || err == nil && info.Size() == 0 {
			os.Remove(p)
			continue
		}
		if err := os.MkdirAll(recovery, 0o700); err != nil {
			log.Error("keep an uncommitted write", "path", p, "err", err)
			continue
		}
		dst := filepath.Join(recovery, time.Now().UTC().Format("20060102T150405Z")+"-uncommitted-"+e.Name())
		if err := os.Rename(p, dst); err != nil {
			log.Error("keep an uncommitted write", "path", p, "err", err)
			continue
		}
		log.Warn("a write in progress when the last mount stopped was never committed: its content is kept", "recovery", dst)
	}
}

// prefetch fills the content cache in the background, so that the first
// read of each file is local.
func prefetch(ctx context.Context, r *replica.Replica, log *slog.Logger) {
	for ctx.Err() == nil && r.Store() == nil {
		time.Sleep(time.Second)
	}
	s := r.Store()
	if s == nil {
		return
	}
	r.RLock()
	hashes := r.AllFiles()
	r.RUnlock()
	t0 := time.Now()
	if err := r.Cache.Prefetch(ctx, s, hashes); err != nil && ctx.Err() == nil {
		log.Warn("prefetch file contents", "err", err)
		return
	}
	log.Debug("file contents cached", "files", len(hashes), "took", time.Since(t0))
}
