package main

import (
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gscluster/gscluster/internal/datadir"
)

func importCmd(g *globals) *cobra.Command {
	var opt datadir.ImportOptions
	cmd := &cobra.Command{
		Use:   "import SRC",
		Short: "Store a data directory in the database as one revision",
		Long: `Store the data directory SRC in the database, byte for byte: files, directories
(empty ones too), symlinks, hard links, modes, owners and nanosecond mtimes.
Node-local paths (logs/, temp/, tmp/, legendsamples/, filelocks/, *.xml.lock
and the GeoWebCache tile cache under gwc/, but not gwc/geowebcache*.xml) are
left out and listed. The import is one transaction: interrupted, it leaves the
database as it was.`,
		Example: `  gscluster import /var/lib/geoserver/data --db postgres://gs@db1/geoserver
  gscluster import ./data --exclude 'data/**' --replace`,
		Args: exactArgs(1, "SRC, the data directory to import"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			opt.Origin = origin("import")
			opt.Logger = g.log
			opt.Progress = &datadir.Progress{}
			stop := showProgress("importing", opt.Progress)
			res, err := datadir.Import(cmd.Context(), st, args[0], opt)
			stop()
			if err != nil {
				return err
			}
			fmt.Printf("imported %s as revision %d: %d files, %d directories, %d symlinks, %s in %.2fs (%s files/s, %s/s)\n",
				args[0], res.Rev, res.Files+res.Links, res.Dirs, res.Symlinks, human(res.Bytes), res.Duration.Seconds(),
				perSecond(rate(float64(res.Files), res.Duration)), human(int64(rate(float64(res.Bytes), res.Duration))))
			if len(res.Excluded) > 0 {
				fmt.Printf("left out (node-local or excluded): %s\n", strings.Join(res.Excluded, ", "))
			}
			if len(res.Skipped) > 0 {
				fmt.Printf("skipped (not a file, directory or symlink): %s\n", strings.Join(res.Skipped, ", "))
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&opt.Exclude, "exclude", nil, "leave out paths matching this glob (relative to SRC, ** for any depth); repeatable")
	cmd.Flags().BoolVar(&opt.Replace, "replace", false, "replace the tree the database already holds, as a new revision")
	return cmd
}

func exportCmd(g *globals) *cobra.Command {
	var opt datadir.ExportOptions
	cmd := &cobra.Command{
		Use:   "export DST",
		Short: "Write the data directory from the database into a directory",
		Long: `Write the tree held in the database into DST, byte for byte, with modes,
mtimes, symlinks, hard links and (as root) owners. DST must be empty or
missing unless --force. Each file appears whole or not at all.`,
		Example: `  gscluster export /srv/geoserver/data
  gscluster export /tmp/before-upgrade --at 1200`,
		Args: exactArgs(1, "DST, the directory to write"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			opt.Progress = &datadir.Progress{}
			stop := showProgress("exporting", opt.Progress)
			res, err := datadir.Export(cmd.Context(), st, args[0], opt)
			stop()
			if err != nil {
				return err
			}
			fmt.Printf("exported revision %d to %s: %d files, %d directories, %d symlinks, %s in %.2fs\n",
				res.Rev, args[0], res.Files, res.Dirs, res.Symlinks, human(res.Bytes), res.Duration.Seconds())
			return nil
		},
	}
	cmd.Flags().Int64Var(&opt.Rev, "at", 0, "export the tree as it was at this revision (default: the newest)")
	cmd.Flags().BoolVar(&opt.Force, "force", false, "write into a directory that is not empty, replacing files of the same names")
	return cmd
}

func verifyCmd(g *globals) *cobra.Command {
	var opt datadir.VerifyOptions
	cmd := &cobra.Command{
		Use:   "verify DIR",
		Short: "Compare the database with a directory and list every difference",
		Long: `Compare the tree in the database with DIR, leaving out node-local paths, and
list every difference: missing, extra, type, content, mode, mtime, link target
and (as root) owner. Exit 0 when equal, 1 when not.`,
		Example: `  gscluster verify /var/lib/geoserver/data && echo identical`,
		Args:    exactArgs(1, "DIR, the directory to compare"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			opt.Progress = &datadir.Progress{}
			stop := showProgress("verifying", opt.Progress)
			diffs, err := datadir.Verify(cmd.Context(), st, args[0], opt)
			stop()
			if err != nil {
				return err
			}
			for _, d := range diffs {
				fmt.Println(d)
			}
			if len(diffs) > 0 {
				fmt.Fprintf(os.Stderr, "%s differs from the database in %d ways\n", args[0], len(diffs))
				return errDifferent
			}
			fmt.Printf("%s is identical to the database\n", args[0])
			return nil
		},
	}
	cmd.Flags().Int64Var(&opt.Rev, "at", 0, "compare with the tree at this revision (default: the newest)")
	cmd.Flags().StringArrayVar(&opt.Exclude, "exclude", nil, "leave out paths matching this glob; repeatable")
	return cmd
}

func logCmd(g *globals) *cobra.Command {
	var n int
	cmd := &cobra.Command{
		Use:   "log [PATH]",
		Short: "Show the change history of the tree or of a path",
		Long: `Show the changes, newest first, of the whole tree or of PATH (a file, or a
directory and everything below it), relative to the data directory root.`,
		Example: `  gscluster log -n 20
  gscluster log workspaces/topp`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := ""
			if len(args) == 1 {
				path = cleanRel(args[0])
			}
			st, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			changes, err := st.Log(cmd.Context(), path, n)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "REV\tTIME\tORIGIN\tOP\tPATH\tSIZE\tHASH")
			for _, c := range changes {
				p := c.Path
				if p == "" {
					p = "."
				}
				h := ""
				if len(c.Hash) > 0 {
					h = hex.EncodeToString(c.Hash[:6])
				}
				size := ""
				if c.Op != "delete" {
					size = strconv.FormatInt(c.Size, 10)
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Rev, c.At.Local().Format(time.DateTime), c.Origin, c.Op, p, size, h)
			}
			return w.Flush()
		},
	}
	cmd.Flags().IntVarP(&n, "number", "n", 50, "show at most N changes (0: all)")
	return cmd
}

func rollbackCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rollback REV [PATH]",
		Short: "Restore the tree, a subtree or a file as it was at a revision",
		Long: `Restore PATH (a file or a directory with everything below it; default the whole
tree) as it was at revision REV. The restoration is a new revision: history is
never rewritten, so a rollback can itself be rolled back.`,
		Example: `  gscluster rollback 41 workspaces/topp/states_shapefile/states/layer.xml
  gscluster rollback 1200`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			rev, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || rev < 1 {
				return fmt.Errorf("rollback: revision %q is not a positive number (see `gscluster log`)", args[0])
			}
			path := ""
			if len(args) == 2 {
				path = cleanRel(args[1])
			}
			st, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			res, err := datadir.Rollback(cmd.Context(), st, rev, path, origin("rollback"))
			if err != nil {
				return err
			}
			if res.Changed == 0 {
				fmt.Printf("nothing to do: %s is as it was at revision %d\n", displayRel(path), rev)
				return nil
			}
			fmt.Printf("restored %s as at revision %d: %d names changed, as revision %d\n", displayRel(path), rev, res.Changed, res.Rev)
			return nil
		},
	}
	return cmd
}

// cleanRel turns a user's path relative to the data directory root into the
// stored form: no leading ./ or /, no trailing /.
func cleanRel(p string) string {
	p = strings.TrimPrefix(p, "./")
	p = strings.Trim(p, "/")
	if p == "." {
		return ""
	}
	return p
}

func displayRel(p string) string {
	if p == "" {
		return "the whole tree"
	}
	return p
}

// exactArgs is cobra.ExactArgs with a message that names the argument.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return fmt.Errorf("%s: expects %s (see `%s --help`)", cmd.CommandPath(), what, cmd.CommandPath())
		}
		return nil
	}
}
