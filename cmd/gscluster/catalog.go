package main

import (
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

// catalogKinds maps what a user types to the kinds of the catalog index.
var catalogKinds = map[string][]string{
	"workspaces":  {"workspace"},
	"namespaces":  {"namespace"},
	"stores":      {"datastore", "coveragestore", "wmsstore", "wmtsstore"},
	"resources":   {"featuretype", "coverage", "wmslayer", "wmtslayer"},
	"layers":      {"layer"},
	"styles":      {"style"},
	"layergroups": {"layergroup"},
}

func catalogCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Query and check the GeoServer catalog index",
		Long: `The catalog index holds the ids, names and references of every GeoServer
catalog object (workspaces, namespaces, stores, resources, layers, styles,
layer groups), parsed from their XML after each commit.`,
	}
	cmd.AddCommand(&cobra.Command{
		Use:       "ls workspaces|namespaces|stores|resources|layers|styles|layergroups",
		Short:     "List catalog objects of one kind",
		Example:   `  gscluster catalog ls layers`,
		ValidArgs: []string{"workspaces", "namespaces", "stores", "resources", "layers", "styles", "layergroups"},
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || catalogKinds[args[0]] == nil {
				return fmt.Errorf("catalog ls: expects one of workspaces, namespaces, stores, resources, layers, styles, layergroups")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			objs, err := st.CatalogList(cmd.Context(), catalogKinds[args[0]])
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "WORKSPACE\tNAME\tKIND\tDETAIL\tPATH")
			for _, o := range objs {
				detail := ""
				switch {
				case o.ParseError != "":
					detail = "does not parse"
				case o.Store != "":
					detail = "store " + o.Store
				case o.Kind == "layer" && o.DefaultStyle != "":
					detail = "style " + o.DefaultStyle
				}
				ws := o.Workspace
				if ws == "" {
					ws = "-"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", ws, o.Name, o.Kind, detail, o.Path)
			}
			return w.Flush()
		},
	}, &cobra.Command{
		Use:   "check",
		Short: "List dangling references and catalog files that do not parse",
		Long: `List every dangling reference of the catalog (a layer whose resource is
missing, a resource whose store or namespace is missing, a store whose
workspace is missing, a missing style or layer group member) and every catalog
file that does not parse. Exit 0 when there is none, 1 otherwise.`,
		Example: `  gscluster catalog check`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			problems, err := st.CatalogCheck(cmd.Context())
			if err != nil {
				return err
			}
			for _, p := range problems {
				fmt.Printf("%s: %s %q: %s\n", p.Path, p.Kind, p.Name, p.Message)
			}
			if len(problems) > 0 {
				fmt.Fprintf(os.Stderr, "%d catalog problems\n", len(problems))
				return errDifferent
			}
			fmt.Println("catalog is consistent: no dangling references")
			return nil
		},
	})
	return cmd
}
