// Command gscluster keeps a GeoServer data directory in PostgreSQL and
// serves it to every node of a cluster.
//
// Exit codes: 0 success; 1 a check found differences or problems (verify,
// catalog check); 2 an error (bad input, database unreachable, ...); 130
// interrupted.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gscluster/gscluster/dbstore"
	"github.com/gscluster/gscluster/internal/pgserver"
)

// Exit codes.
const (
	exitOK          = 0
	exitDifferent   = 1
	exitError       = 2
	exitInterrupted = 130
)

// errDifferent makes a command exit with exitDifferent after it printed
// its findings.
var errDifferent = errors.New("differences found")

// globals are the flags every command shares.
type globals struct {
	db       string
	dbFile   string
	stateDir string
	verbose  bool
	log      *slog.Logger
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	g := &globals{}
	root := newRoot(g)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errDifferent):
		return exitDifferent
	case ctx.Err() != nil:
		fmt.Fprintln(os.Stderr, "gscluster: interrupted: nothing of the interrupted command was committed")
		return exitInterrupted
	}
	fmt.Fprintf(os.Stderr, "gscluster: %v\n", err)
	return exitError
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "gscluster",
		Short: "Cluster unmodified GeoServers over one data directory kept in PostgreSQL",
		Long: `gscluster keeps a whole GeoServer data directory in PostgreSQL, byte for byte,
with its history, and serves it to every GeoServer of a cluster.

The database is chosen by --db, else $GSCLUSTER_DB, else --db-file or
$GSCLUSTER_DB_FILE (a file holding the URL), else an embedded PostgreSQL that
gscluster starts under its state directory from the system's server binaries.

Exit codes: 0 success, 1 differences or problems found (verify, catalog check),
2 error, 130 interrupted.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelWarn
			if g.verbose {
				level = slog.LevelDebug
			}
			g.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			slog.SetDefault(g.log)
			return nil
		},
	}
	root.CompletionOptions.HiddenDefaultCmd = true
	pf := root.PersistentFlags()
	pf.StringVar(&g.db, "db", "", "PostgreSQL URL or keyword string (default $GSCLUSTER_DB, else the embedded server)")
	pf.StringVar(&g.dbFile, "db-file", "", "file holding the database URL, for credentials kept out of the process list (default $GSCLUSTER_DB_FILE)")
	pf.StringVar(&g.stateDir, "state-dir", defaultStateDir(), "node state: the embedded PostgreSQL, caches")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "log debug messages")
	root.AddCommand(
		importCmd(g), exportCmd(g), verifyCmd(g), logCmd(g), rollbackCmd(g), catalogCmd(g), dbCmd(g), mountCmd(g),
	)
	return root
}

// defaultStateDir is ~/.local/state/gscluster, or /var/lib/gscluster for
// root (whose home the postgres user of the embedded server cannot enter).
func defaultStateDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/gscluster"
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "gscluster")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "gscluster-state")
	}
	return filepath.Join(home, ".local", "state", "gscluster")
}

// dbURL resolves which database to use, starting the embedded one if none
// is given.
func (g *globals) dbURL(ctx context.Context) (string, error) {
	if g.db != "" {
		return g.db, nil
	}
	if v := os.Getenv("GSCLUSTER_DB"); v != "" {
		return v, nil
	}
	file := g.dbFile
	if file == "" {
		file = os.Getenv("GSCLUSTER_DB_FILE")
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read database URL: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	url, err := pgserver.Ensure(ctx, g.stateDir, g.log.With("component", "pgserver"))
	if err != nil {
		return "", fmt.Errorf("embedded database in %s: %w (or give one with --db)", g.stateDir, err)
	}
	return url, nil
}

// open connects to the database and applies pending migrations.
func (g *globals) open(ctx context.Context) (*dbstore.Store, error) {
	url, err := g.dbURL(ctx)
	if err != nil {
		return nil, err
	}
	return dbstore.Open(ctx, url, dbstore.Options{Logger: g.log})
}

// origin names this host and user in the change log.
func origin(cmd string) string {
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	return cmd + "@" + host
}
