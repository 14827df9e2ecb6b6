package catalog

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// fixtureNames are the real data directories in ../shared/fixtures/datadirs.
var fixtureNames = []string{"release", "minimal", "citewms-1.1"}

// fixtureRoot is where the real data directories are, seen from this
// package's folder. A checkout without ../shared (a user's clone) has none:
// tests that need them skip, the synthetic tests still run.
func fixtureRoot(tb testing.TB) string {
	tb.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "fixtures", "datadirs")
	if _, err := os.Stat(dir); err != nil {
		tb.Skipf("real GeoServer data directories not found at %s (they come with ../shared/fixtures next to the repository; the synthetic tests cover the same shapes): %v", dir, err)
	}
	return dir
}

// fixture is one data directory's catalog, parsed.
type fixture struct {
	objects map[string]Object // by slash path relative to the data directory
	byID    map[string]string // id -> path
	other   []string          // .xml files under workspaces/, styles/, layergroups/ that are not catalog objects
}

func loadFixture(t *testing.T, name string) *fixture {
	t.Helper()
	root := filepath.Join(fixtureRoot(t), name)
	fx := &fixture{objects: map[string]Object{}, byID: map[string]string{}}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		kind := Classify(rel)
		if kind == KindNone {
			top, _, _ := strings.Cut(rel, "/")
			if strings.HasSuffix(rel, ".xml") && (top == "workspaces" || top == "styles" || top == "layergroups") {
				fx.other = append(fx.other, rel)
			}
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		o, err := Parse(kind, data)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		if prev, dup := fx.byID[o.ID]; dup {
			t.Errorf("%s: id %s already used by %s", rel, o.ID, prev)
		}
		fx.byID[o.ID] = rel
		fx.objects[rel] = o
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	sort.Strings(fx.other)
	return fx
}

func (fx *fixture) count() map[Kind]int {
	n := map[Kind]int{}
	for _, o := range fx.objects {
		n[o.Kind]++
	}
	return n
}

func TestFixtures(t *testing.T) {
	wantCounts := map[string]map[Kind]int{
		"release": {
			KindWorkspace: 8, KindNamespace: 8, KindDataStore: 5, KindCoverageStore: 5,
			KindFeatureType: 19, KindCoverage: 5, KindLayer: 24, KindStyle: 27, KindLayerGroup: 4,
		},
		"minimal": {KindWorkspace: 2, KindNamespace: 2, KindStyle: 5},
		"citewms-1.1": {
			KindWorkspace: 5, KindNamespace: 5, KindDataStore: 11, KindFeatureType: 11,
			KindLayer: 11, KindStyle: 20,
		},
	}
	// XML files in the catalog folders that are rightly not catalog objects.
	wantOther := map[string][]string{
		"release": {
			"workspaces/default.xml",
			"workspaces/ne/settings.xml",
			"workspaces/ne/wcs.xml",
			"workspaces/ne/wfs.xml",
			"workspaces/ne/wms.xml",
			"workspaces/ne/wmts.xml",
		},
		"minimal":     nil,
		"citewms-1.1": {"workspaces/default.xml"},
	}
	for _, name := range fixtureNames {
		t.Run(name, func(t *testing.T) {
			fx := loadFixture(t, name)
			if got := fx.count(); !reflect.DeepEqual(got, wantCounts[name]) {
				t.Errorf("objects by kind = %v, want %v", got, wantCounts[name])
			}
			if !reflect.DeepEqual(fx.other, wantOther[name]) {
				t.Errorf("unclassified XML = %q, want %q", fx.other, wantOther[name])
			}
			for p, o := range fx.objects {
				// Every kind has a name in these files, a namespace through
				// its <prefix>.
				if o.ID == "" || o.Name == "" {
					t.Errorf("%s: id %q, name %q", p, o.ID, o.Name)
				}
				if !strings.HasPrefix(o.ID, idPrefix[o.Kind]) {
					t.Errorf("%s: id %q does not start with %s", p, o.ID, idPrefix[o.Kind])
				}
				for _, r := range o.Refs() {
					if strings.ContainsAny(r.ID, " \t\n<>") {
						t.Errorf("%s: %s reference %q is not an id", p, r.Role, r.ID)
					}
				}
				switch {
				case o.Kind == KindLayer:
					if o.Resource == "" || o.DefaultStyle == "" || o.Type == "" {
						t.Errorf("%s: resource %q, default style %q, type %q", p, o.Resource, o.DefaultStyle, o.Type)
					}
				case o.Kind.IsResource():
					if o.Namespace == "" || o.Store == "" || o.NativeName == "" {
						t.Errorf("%s: namespace %q, store %q, native name %q", p, o.Namespace, o.Store, o.NativeName)
					}
				case o.Kind.IsStore():
					if o.Workspace == "" {
						t.Errorf("%s: no workspace", p)
					}
				case o.Kind == KindNamespace:
					if o.URI == "" {
						t.Errorf("%s: no uri", p)
					}
				case o.Kind == KindStyle:
					if o.Filename == "" {
						t.Errorf("%s: no filename", p)
					}
				case o.Kind == KindLayerGroup:
					if len(o.Layers) == 0 || len(o.Layers) != len(o.Styles) {
						t.Errorf("%s: %d publishables, %d styles", p, len(o.Layers), len(o.Styles))
					}
				}
				// The name is the file's or folder's name, as GeoServer
				// lays them out.
				if want := nameFromPath(p, o.Kind); want != "" && o.Name != want {
					t.Errorf("%s: name %q, path says %q", p, o.Name, want)
				}
			}
		})
	}
}

// idPrefix is how GeoServer starts the ids it makes for each kind.
var idPrefix = map[Kind]string{
	KindWorkspace: "WorkspaceInfoImpl-", KindNamespace: "NamespaceInfoImpl-",
	KindDataStore: "DataStoreInfoImpl-", KindCoverageStore: "CoverageStoreInfoImpl-",
	KindWMSStore: "WMSStoreInfoImpl-", KindWMTSStore: "WMTSStoreInfoImpl-",
	KindFeatureType: "FeatureTypeInfoImpl-", KindCoverage: "CoverageInfoImpl-",
	KindWMSLayer: "WMSLayerInfoImpl-", KindWMTSLayer: "WMTSLayerInfoImpl-",
	KindLayer: "LayerInfoImpl-", KindStyle: "StyleInfoImpl-", KindLayerGroup: "LayerGroupInfoImpl-",
}

// nameFromPath is the name the data directory layout implies, where it
// implies one. GeoServer names folders after objects when it creates them,
// but renaming an object in the UI renames its file and folder too, so a
// mismatch is possible in the wild; none is in the fixtures.
func nameFromPath(p string, k Kind) string {
	dir, file := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	switch k {
	case KindWorkspace, KindNamespace, KindLayer:
		return path.Base(dir) // folder; for a layer, its resource's folder
	case KindStyle, KindLayerGroup:
		return strings.TrimSuffix(file, ".xml")
	}
	return ""
}

// TestReleaseKnownValues pins values read from the release data directory.
func TestReleaseKnownValues(t *testing.T) {
	fx := loadFixture(t, "release")
	tru := true
	want := map[string]Object{
		"workspaces/topp/workspace.xml": {
			Kind: KindWorkspace, ID: "WorkspaceInfoImpl--570ae188:124761b8d78:-7ffd", Name: "topp",
		},
		"workspaces/topp/namespace.xml": {
			Kind: KindNamespace, ID: "NamespaceInfoImpl--570ae188:124761b8d78:-7ffe", Name: "topp",
			URI: "http://www.openplans.org/topp",
		},
		"workspaces/topp/states_shapefile/datastore.xml": {
			Kind: KindDataStore, ID: "DataStoreInfoImpl--570ae188:124761b8d78:-7fd9", Name: "states_shapefile",
			Workspace: "WorkspaceInfoImpl--570ae188:124761b8d78:-7ffd", Type: "Shapefile", Enabled: &tru,
		},
		"workspaces/topp/states_shapefile/states/featuretype.xml": {
			Kind: KindFeatureType, ID: "FeatureTypeInfoImpl--570ae188:124761b8d78:-7fc1", Name: "states",
			NativeName: "states", Enabled: &tru,
			Namespace: "NamespaceInfoImpl--570ae188:124761b8d78:-7ffe",
			Store:     "DataStoreInfoImpl--570ae188:124761b8d78:-7fd9",
		},
		"workspaces/topp/states_shapefile/states/layer.xml": {
			Kind: KindLayer, ID: "LayerInfoImpl--570ae188:124761b8d78:-7fc0", Name: "states",
			Type: "VECTOR", Enabled: &tru,
			Resource:     "FeatureTypeInfoImpl--570ae188:124761b8d78:-7fc1",
			DefaultStyle: "StyleInfoImpl--570ae188:124761b8d78:-7fe5",
			Styles:       []string{"StyleInfoImpl--570ae188:124761b8d78:-7fe0", "StyleInfoImpl--570ae188:124761b8d78:-7fee"},
		},
		"workspaces/sf/sfdem/coveragestore.xml": {
			Kind: KindCoverageStore, ID: "CoverageStoreInfoImpl--570ae188:124761b8d78:-7fd8", Name: "sfdem",
			Workspace: "WorkspaceInfoImpl--570ae188:124761b8d78:-7fff", Type: "GeoTIFF", Enabled: &tru,
		},
		"workspaces/sf/sfdem/sfdem/coverage.xml": {
			Kind: KindCoverage, ID: "CoverageInfoImpl--570ae188:124761b8d78:-7fb1", Name: "sfdem",
			NativeName: "sfdem", Enabled: &tru,
			Namespace: "NamespaceInfoImpl--570ae188:124761b8d78:-8000",
			Store:     "CoverageStoreInfoImpl--570ae188:124761b8d78:-7fd8",
		},
		"workspaces/sf/sfdem/sfdem/layer.xml": {
			Kind: KindLayer, ID: "LayerInfoImpl--570ae188:124761b8d78:-7fb0", Name: "sfdem", Type: "RASTER",
			Resource:     "CoverageInfoImpl--570ae188:124761b8d78:-7fb1",
			DefaultStyle: "StyleInfoImpl--570ae188:124761b8d78:-7fe6",
		},
		"styles/burg.xml": {
			Kind: KindStyle, ID: "StyleInfoImpl--570ae188:124761b8d78:-7ff2", Name: "burg", Filename: "burg.sld",
		},
		"workspaces/ne/styles/coastline.xml": {
			Kind: KindStyle, ID: "StyleInfoImpl-1c443fee:182c0f3f209:-7fee", Name: "coastline",
			Workspace: "WorkspaceInfoImpl-1c443fee:182c0f3f209:-7ffe", Format: "sld", Filename: "coastline.sld",
		},
		"layergroups/tasmania.xml": {
			Kind: KindLayerGroup, ID: "LayerGroupInfoImpl--570ae188:124761b8d78:-7fac", Name: "tasmania", Type: "SINGLE",
			Layers: []string{
				"LayerInfoImpl--570ae188:124761b8d78:-7fba", "LayerInfoImpl--570ae188:124761b8d78:-7fb8",
				"LayerInfoImpl--570ae188:124761b8d78:-7fbc", "LayerInfoImpl--570ae188:124761b8d78:-7fbe",
			},
			Styles: []string{"", "", "", ""},
		},
		"workspaces/ne/layergroups/world.xml": {
			Kind: KindLayerGroup, ID: "LayerGroupInfoImpl-1c443fee:182c0f3f209:-7ff4", Name: "world", Type: "NAMED",
			Workspace: "WorkspaceInfoImpl-1c443fee:182c0f3f209:-7ffe",
			Layers: []string{
				"LayerInfoImpl-1c443fee:182c0f3f209:-7ff9", "LayerInfoImpl--72884701:185db6cdd61:-7ffe",
				"LayerInfoImpl-1c443fee:182c0f3f209:-7fef", "LayerInfoImpl-1c443fee:182c0f3f209:-7ff7",
				"LayerInfoImpl-1c443fee:182c0f3f209:-7ff5",
			},
			Styles: []string{"StyleInfoImpl-7e0cef34:18377ed2cb5:-7f29", "StyleInfoImpl--72884701:185db6cdd61:-7ffd", "", "", ""},
		},
	}
	for p, w := range want {
		got, ok := fx.objects[p]
		if !ok {
			t.Errorf("%s: not parsed", p)
			continue
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%s:\n got %+v\nwant %+v", p, got, w)
		}
	}
	// topp:states is drawn with the global population style by default,
	// and offers polygon and pophatch.
	for id, wantPath := range map[string]string{
		"StyleInfoImpl--570ae188:124761b8d78:-7fe5": "styles/population.xml",
		"StyleInfoImpl--570ae188:124761b8d78:-7fe0": "styles/polygon.xml",
		"StyleInfoImpl--570ae188:124761b8d78:-7fee": "styles/pophatch.xml",
	} {
		if got := fx.byID[id]; got != wantPath {
			t.Errorf("style %s is %q, want %s", id, got, wantPath)
		}
	}
}

// TestFixtureReferencesResolve checks that every reference in the fixtures
// names an object of the right kind that is in the same data directory.
// None dangles: not in release (whose ne workspace mixes ids minted by
// four GeoServer sessions, 2009 to 2023, and whose world group draws
// layers of ne with global styles), not in minimal, not in citewms-1.1.
// workspaces/default.xml, which repeats the default workspace's id, is
// rightly not indexed, so it neither resolves nor duplicates anything.
func TestFixtureReferencesResolve(t *testing.T) {
	// dangling lists the references known not to resolve, "path role id".
	dangling := map[string]bool{}
	wantKinds := map[string][]Kind{
		"workspace":       {KindWorkspace},
		"namespace":       {KindNamespace},
		"store":           {KindDataStore, KindCoverageStore, KindWMSStore, KindWMTSStore},
		"resource":        {KindFeatureType, KindCoverage, KindWMSLayer, KindWMTSLayer},
		"defaultStyle":    {KindStyle},
		"style":           {KindStyle},
		"rootLayerStyle":  {KindStyle},
		"groupStyleStyle": {KindStyle},
		"layer":           {KindLayer, KindLayerGroup},
		"rootLayer":       {KindLayer},
		"groupStyleLayer": {KindLayer, KindLayerGroup},
	}
	for _, name := range fixtureNames {
		t.Run(name, func(t *testing.T) {
			fx := loadFixture(t, name)
			refs := 0
			for p, o := range fx.objects {
				for _, r := range o.Refs() {
					refs++
					target, ok := fx.byID[r.ID]
					if !ok {
						if !dangling[p+" "+r.Role+" "+r.ID] {
							t.Errorf("%s: %s %s does not resolve", p, r.Role, r.ID)
						}
						continue
					}
					tk := fx.objects[target].Kind
					ok = false
					for _, k := range wantKinds[r.Role] {
						ok = ok || k == tk
					}
					if !ok {
						t.Errorf("%s: %s %s is a %s (%s)", p, r.Role, r.ID, tk, target)
					}
				}
			}
			t.Logf("%d objects, %d references, all resolve", len(fx.objects), refs)
		})
	}
}

// TestFixturePathsAgree checks what PathWorkspace is for: the workspace a
// path lies in is the one its references lead to, so a layer.xml and a
// namespace.xml, which name none, can be tied to theirs by path.
func TestFixturePathsAgree(t *testing.T) {
	for _, name := range fixtureNames {
		t.Run(name, func(t *testing.T) {
			fx := loadFixture(t, name)
			// Each workspace folder's namespace, by workspace name.
			nsOf := map[string]string{}
			for p, o := range fx.objects {
				if o.Kind == KindNamespace {
					nsOf[PathWorkspace(p)] = o.ID
				}
			}
			dirOf := func(id string) string { return path.Dir(fx.byID[id]) }
			for p, o := range fx.objects {
				ws := PathWorkspace(p)
				if o.Workspace != "" {
					if got := PathWorkspace(fx.byID[o.Workspace]); got != ws {
						t.Errorf("%s: refers to workspace %q, lies in %q", p, got, ws)
					}
				} else if ws != "" && (o.Kind.IsStore() || o.Kind == KindLayerGroup) {
					t.Errorf("%s: lies in workspace %q but names none", p, ws)
				}
				if o.Namespace != "" && o.Namespace != nsOf[ws] {
					t.Errorf("%s: namespace %s is not the one of workspace %q", p, o.Namespace, ws)
				}
				if o.Store != "" && dirOf(o.Store) != path.Dir(path.Dir(p)) {
					t.Errorf("%s: store %s lies in %s", p, o.Store, dirOf(o.Store))
				}
				if o.Resource != "" && dirOf(o.Resource) != path.Dir(p) {
					t.Errorf("%s: resource %s lies in %s", p, o.Resource, dirOf(o.Resource))
				}
			}
		})
	}
}

// workspaces/default.xml names the default workspace by repeating its
// workspace.xml, id included; in release the copy has drifted (another
// dateModified). Indexing it would give that id two files.
func TestFixtureDefaultWorkspace(t *testing.T) {
	root := fixtureRoot(t)
	for name, wantPath := range map[string]string{
		"release":     "workspaces/ne/workspace.xml",
		"citewms-1.1": "workspaces/topp/workspace.xml",
	} {
		fx := loadFixture(t, name)
		data, err := os.ReadFile(filepath.Join(root, name, "workspaces", "default.xml"))
		if err != nil {
			t.Fatal(err)
		}
		o, err := Parse(KindWorkspace, data)
		if err != nil {
			t.Fatalf("%s: workspaces/default.xml: %v", name, err)
		}
		if got := fx.byID[o.ID]; got != wantPath {
			t.Errorf("%s: workspaces/default.xml has the id of %q, want %q", name, got, wantPath)
		}
	}
}
