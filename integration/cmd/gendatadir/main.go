// Command gendatadir writes a synthetic GeoServer data directory for
// benchmarks and tests:
//
//	go run ./integration/cmd/gendatadir -layers N [-seed S] [-dangling D] DIR
//
// DIR is created if missing and must otherwise be empty. The same flags
// give a byte-identical tree. On success it prints one summary line; on
// failure one line naming what went wrong, and exits 1 (2 for bad usage).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/gscluster/gscluster/internal/gendata"
)

func main() {
	fs := flag.NewFlagSet("gendatadir", flag.ContinueOnError)
	layers := fs.Int("layers", 100, "number of layers")
	seed := fs.Int64("seed", 1, "random seed; the same seed gives the same tree")
	dangling := fs.Int("dangling", 0, "number of deliberately broken references")
	workers := fs.Int("workers", 0, "files written in parallel (0: 4 per CPU)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: gendatadir -layers N [-seed S] [-dangling D] DIR")
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		os.Exit(2)
	}
	dir := fs.Arg(0)
	if *layers <= 0 {
		fmt.Fprintf(os.Stderr, "gendatadir: -layers is %d: give a positive number of layers\n", *layers)
		os.Exit(2)
	}

	start := time.Now()
	st, err := gendata.Generate(dir, gendata.Options{Layers: *layers, Seed: *seed, Dangling: *dangling, Workers: *workers})
	if errors.Is(err, gendata.ErrNotEmpty) {
		fmt.Fprintf(os.Stderr, "gendatadir: %s: directory is not empty (give a new or empty directory)\n", dir)
		os.Exit(1)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gendatadir: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%s: %d files, %d dirs, %d bytes (%d layers, %d workspaces, %d stores, %d styles, %d layer groups, %d dangling) in %.2fs\n",
		dir, st.Files, st.Dirs, st.Bytes, st.Layers, st.Workspaces, st.Stores, st.Styles, st.LayerGroups,
		len(st.Dangling), time.Since(start).Seconds())
}
