package gendata

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
)

// ErrNotEmpty is returned by Generate when the target directory already
// holds something: the generator never writes into or over an existing tree.
var ErrNotEmpty = errors.New("directory is not empty")

// Options shape a generated data directory. The zero value is valid: every
// zero field takes its default.
type Options struct {
	// Layers is the number of layers (and so of feature types and
	// coverages). Default 100.
	Layers int

	// Seed drives every random choice. The same Seed and Options give a
	// byte-identical tree, modification times included. Default 0 (a
	// valid seed like any other).
	Seed int64

	// LayersPerStore is the mean number of layers of a PostGIS store;
	// shapefile directory stores hold about half as many and GeoTIFF
	// stores exactly one. Default 10.
	LayersPerStore int

	// StoresPerWorkspace is the mean number of stores of a workspace.
	// Default 5.
	StoresPerWorkspace int

	// LayersPerStyle is about how many layers share one generated style,
	// on top of the five built-in styles (point, line, polygon, raster,
	// generic). Default 5.
	LayersPerStyle int

	// LayersPerGroup is about how many layers there are per layer group.
	// Default 50.
	LayersPerGroup int

	// Dangling is the number of deliberately broken references, for
	// testing a catalog consistency check. They rotate over three kinds:
	// a layer whose resource does not exist, a resource whose store does
	// not exist, and a layer whose default style does not exist. Each one
	// is a distinct layer. Must not exceed Layers. Default 0.
	Dangling int

	// Workers is how many files are written in parallel. It changes
	// nothing in the result. Default 4 per CPU (GOMAXPROCS), as the work
	// is mostly waiting on the file system.
	Workers int
}

// withDefaults returns o with every zero field set to its default.
func (o Options) withDefaults() Options {
	if o.Layers == 0 {
		o.Layers = 100
	}
	if o.LayersPerStore == 0 {
		o.LayersPerStore = 10
	}
	if o.StoresPerWorkspace == 0 {
		o.StoresPerWorkspace = 5
	}
	if o.LayersPerStyle == 0 {
		o.LayersPerStyle = 5
	}
	if o.LayersPerGroup == 0 {
		o.LayersPerGroup = 50
	}
	if o.Workers == 0 {
		o.Workers = 4 * runtime.GOMAXPROCS(0)
	}
	return o
}

func (o Options) validate() error {
	switch {
	case o.Layers < 0:
		return fmt.Errorf("layers is %d: must be positive", o.Layers)
	case o.LayersPerStore < 0, o.StoresPerWorkspace < 0, o.LayersPerStyle < 0, o.LayersPerGroup < 0, o.Workers < 0:
		return errors.New("per-object ratios and workers must be positive")
	case o.Dangling < 0:
		return fmt.Errorf("dangling is %d: must not be negative", o.Dangling)
	case o.Dangling > o.Layers:
		return fmt.Errorf("dangling is %d: must not exceed the %d layers", o.Dangling, o.Layers)
	}
	return nil
}

// Stats tells what Generate wrote.
type Stats struct {
	Files int   // regular files
	Dirs  int   // directories below the root (the root itself not counted)
	Bytes int64 // sum of the sizes of the regular files

	Layers      int
	Workspaces  int
	Stores      int // data stores and coverage stores
	Styles      int // built-in, global and workspace styles
	LayerGroups int

	// Dangling lists the deliberately broken references, in path order.
	Dangling []DanglingRef
}

// DanglingKind names what a deliberately broken reference points to.
type DanglingKind string

// The kinds of dangling references Options.Dangling produces.
const (
	DanglingResource DanglingKind = "resource"     // layer.xml -> missing featuretype/coverage
	DanglingStore    DanglingKind = "store"        // featuretype.xml/coverage.xml -> missing store
	DanglingStyle    DanglingKind = "defaultStyle" // layer.xml -> missing default style
)

// DanglingRef is one deliberately broken reference: the file that holds it
// (slash-separated, relative to the root), what it should point to, and the
// id it names, which no object in the tree has.
type DanglingRef struct {
	Path string
	Kind DanglingKind
	ID   string
}

// Generate writes a synthetic GeoServer data directory into dir, which is
// created if missing and must otherwise be empty (else ErrNotEmpty,
// wrapped). See the package documentation for the layout.
//
// On error the tree may be partly written; the caller removes it. Generate
// is safe to call concurrently for distinct directories.
func Generate(dir string, opt Options) (Stats, error) {
	opt = opt.withDefaults()
	if err := opt.validate(); err != nil {
		return Stats{}, fmt.Errorf("generate %s: %w", dir, err)
	}
	if err := prepareDir(dir); err != nil {
		return Stats{}, err
	}
	m := buildModel(opt)
	p := m.plan()
	st, err := p.write(dir, opt.Workers)
	if err != nil {
		return Stats{}, err
	}
	st.Layers = len(m.layers)
	st.Workspaces = len(m.workspaces)
	st.Stores = len(m.stores)
	st.Styles = len(m.styles)
	st.LayerGroups = len(m.groups)
	st.Dangling = m.danglingRefs()
	return st, nil
}

// prepareDir creates dir if it does not exist and checks that it is empty.
func prepareDir(dir string) error {
	fi, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("check %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("check %s: not a directory", dir)
	}
	f, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("check %s: %w", dir, err)
	}
	defer f.Close()
	if _, err := f.Readdirnames(1); err == nil {
		return fmt.Errorf("check %s: %w", dir, ErrNotEmpty)
	} else if err != io.EOF {
		return fmt.Errorf("check %s: %w", dir, err)
	}
	return nil
}
