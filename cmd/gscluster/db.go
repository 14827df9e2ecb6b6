package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/gscluster/gscluster/dbstore"
	"github.com/gscluster/gscluster/internal/pgserver"
)

func dbCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "db",
		Short: "Manage the embedded PostgreSQL and the schema",
		Long: `Manage the PostgreSQL that gscluster runs itself under --state-dir when no
database is given, and the gscluster schema of any database.`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:     "start",
		Short:   "Start the embedded PostgreSQL (initialising it on first use)",
		Example: `  gscluster db start --state-dir /var/lib/gscluster`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			url, err := pgserver.Ensure(cmd.Context(), g.stateDir, g.log.With("component", "pgserver"))
			if err != nil {
				return fmt.Errorf("start embedded database in %s: %w", g.stateDir, err)
			}
			fmt.Printf("embedded PostgreSQL running: %s\n", url)
			return nil
		},
	}, &cobra.Command{
		Use:     "stop",
		Short:   "Stop the embedded PostgreSQL",
		Example: `  gscluster db stop`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := pgserver.StopEmbedded(cmd.Context(), g.stateDir); err != nil {
				return fmt.Errorf("stop embedded database in %s: %w", g.stateDir, err)
			}
			fmt.Println("embedded PostgreSQL stopped")
			return nil
		},
	}, &cobra.Command{
		Use:     "status",
		Short:   "Show whether the embedded PostgreSQL runs, and where",
		Example: `  gscluster db status`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := pgserver.StatusEmbedded(g.stateDir)
			if err != nil {
				return fmt.Errorf("status of embedded database in %s: %w", g.stateDir, err)
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(w, "directory\t%s\n", s.Dir)
			fmt.Fprintf(w, "initialised\t%v\n", s.Initialized)
			fmt.Fprintf(w, "running\t%v\n", s.Running)
			if s.Running {
				fmt.Fprintf(w, "pid\t%d\n", s.PID)
			}
			if s.URL != "" {
				fmt.Fprintf(w, "url\t%s\n", s.URL)
			}
			fmt.Fprintf(w, "log\t%s\n", s.LogFile)
			return w.Flush()
		},
	}, &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending schema migrations to the database",
		Long: `Apply the schema migrations this binary knows and the database lacks. Every
command does this on first use; this command does it explicitly, for example
before a rolling upgrade.`,
		Example: `  gscluster db migrate --db postgres://gs@db1/geoserver`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			fmt.Printf("schema of %s is at version %d\n", st.Addr(), dbstore.SchemaVersion())
			return nil
		},
	})
	return cmd
}
