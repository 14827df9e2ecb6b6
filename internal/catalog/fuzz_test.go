package catalog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, whatever the bytes and the
// kind, and keeps its promises: an error is a *ParseError of the kind
// asked, a success has an id, and no reference in Refs is empty.
//
//	go test -run '^$' -fuzz FuzzParse ./internal/catalog
func FuzzParse(f *testing.F) {
	// Seeds: one real file of each kind when the fixtures are there, and
	// synthetic documents that reach every branch either way.
	if root := filepath.Join("..", "..", "..", "shared", "fixtures", "datadirs"); dirExists(root) {
		for _, p := range []string{
			"release/workspaces/topp/workspace.xml",
			"release/workspaces/topp/namespace.xml",
			"release/workspaces/topp/states_shapefile/datastore.xml",
			"release/workspaces/topp/states_shapefile/states/featuretype.xml",
			"release/workspaces/topp/states_shapefile/states/layer.xml",
			"release/workspaces/sf/sfdem/coveragestore.xml",
			"release/workspaces/sf/sfdem/sfdem/coverage.xml",
			"release/workspaces/ne/styles/coastline.xml",
			"release/workspaces/ne/layergroups/world.xml",
			"release/layergroups/spearfish.xml",
		} {
			data, err := os.ReadFile(filepath.Join(root, p))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(kindIndex(Classify(strings.SplitN(p, "/", 2)[1])), data)
		}
	}
	seeds := []struct {
		kind Kind
		doc  string
	}{
		{KindLayer, `<layer><name>n</name><id>l</id><resource class="featureType"><id>r</id></resource><styles><style><id>s</id></style><style/></styles><enabled>true</enabled></layer>`},
		{KindLayerGroup, `<layerGroup><id>g</id><mode>EO</mode><rootLayer><id>l0</id></rootLayer><publishables><published type="layer"><id>l</id></published><published/></publishables><styles><style/><style>s</style></styles><layerGroupStyles><s><id>x</id><name><name>n</name></name><layers><published><id>l</id></published></layers><styles><style/></styles></s></layerGroupStyles><layers><layer><id>o</id></layer></layers></layerGroup>`},
		{KindNamespace, `<?xml version="1.0" encoding="ISO-8859-1"?><namespace><id>n</id><prefix>caf` + "\xe9" + `</prefix><uri>u</uri></namespace>`},
		{KindDataStore, `<dataStore><id>d</id><workspace><name>topp</name></workspace><workspace>x</workspace></dataStore>`},
		{KindStyle, "\uFEFF<!DOCTYPE x><!-- c --><style><id>a&amp;<![CDATA[b]]></id></style>"},
		{KindFeatureType, "<featureType><id>f</id><attributes><attribute><name>x</name></attributes></featureType>"},
		{KindCoverage, "<coverage><id>c</id>"},
		{KindWMSLayer, "<wmsLayer><id>w</id></wmsLayer>trailing"},
		{KindNone, "<layer/>"},
	}
	for _, s := range seeds {
		f.Add(kindIndex(s.kind), []byte(s.doc))
	}
	f.Fuzz(func(t *testing.T, k uint8, data []byte) {
		kind := fuzzKind(k)
		o, err := Parse(kind, data)
		if o.Kind != kind {
			t.Fatalf("Object.Kind = %q, want %q", o.Kind, kind)
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Kind != kind || pe.Msg == "" {
				t.Fatalf("error %T %v", err, err)
			}
			return
		}
		if o.ID == "" {
			t.Fatal("success without an id")
		}
		for _, r := range o.Refs() {
			if r.ID == "" || r.Role == "" {
				t.Fatalf("empty reference %+v", r)
			}
		}
	})
}

// fuzzKind maps a fuzzed byte to a kind, KindNone and a bogus kind included.
func fuzzKind(k uint8) Kind {
	switch n := int(k) % (len(allKinds) + 2); n {
	case len(allKinds):
		return KindNone
	case len(allKinds) + 1:
		return "bogus"
	default:
		return allKinds[n]
	}
}

func kindIndex(k Kind) uint8 {
	for i, kk := range allKinds {
		if kk == k {
			return uint8(i)
		}
	}
	return uint8(len(allKinds))
}

func dirExists(dir string) bool {
	fi, err := os.Stat(dir)
	return err == nil && fi.IsDir()
}
