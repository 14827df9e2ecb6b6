package catalog

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkParse parses real files of three sizes. Each has a baseline
// beside it, "tokens": the bare xml.Decoder.RawToken loop over the same
// bytes, the floor any encoding/xml parser stands on; Parse's figure
// divided by it is what the catalog logic costs on top.
//
//	go test -run '^$' -bench Parse -benchmem ./internal/catalog
func BenchmarkParse(b *testing.B) {
	root := fixtureRoot(b)
	for _, bm := range []struct {
		name string
		kind Kind
		path string
	}{
		{"layer", KindLayer, "release/workspaces/topp/states_shapefile/states/layer.xml"},                   // 634 B
		{"featuretype", KindFeatureType, "release/workspaces/topp/states_shapefile/states/featuretype.xml"}, // 5.3 KB
		{"coverage", KindCoverage, "release/workspaces/sf/sfdem/sfdem/coverage.xml"},                        // 3.9 KB, long WKT
	} {
		data, err := os.ReadFile(filepath.Join(root, bm.path))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bm.name+"/parse", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Parse(bm.kind, data); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bm.name+"/tokens", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				d := xml.NewDecoder(bytes.NewReader(data))
				for {
					if _, err := d.RawToken(); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
