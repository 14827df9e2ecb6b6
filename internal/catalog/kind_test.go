package catalog

import "testing"

// allKinds is every catalog kind, for tests that go over all of them.
var allKinds = []Kind{
	KindWorkspace, KindNamespace,
	KindDataStore, KindCoverageStore, KindWMSStore, KindWMTSStore,
	KindFeatureType, KindCoverage, KindWMSLayer, KindWMTSLayer,
	KindLayer, KindStyle, KindLayerGroup,
}

func TestClassify(t *testing.T) {
	tests := []struct {
		path string
		want Kind
	}{
		// Real paths from the release, minimal and citewms-1.1 fixtures.
		{"workspaces/topp/workspace.xml", KindWorkspace},
		{"workspaces/it.geosolutions/workspace.xml", KindWorkspace},
		{"workspaces/topp/namespace.xml", KindNamespace},
		{"workspaces/topp/states_shapefile/datastore.xml", KindDataStore},
		{"workspaces/ne/NaturalEarth/datastore.xml", KindDataStore},
		{"workspaces/nurc/arcGridSample/coveragestore.xml", KindCoverageStore},
		{"workspaces/sf/sfdem/coveragestore.xml", KindCoverageStore},
		{"workspaces/topp/states_shapefile/states/featuretype.xml", KindFeatureType},
		{"workspaces/cite/Buildings/Buildings/featuretype.xml", KindFeatureType},
		{"workspaces/sf/sfdem/sfdem/coverage.xml", KindCoverage},
		{"workspaces/topp/states_shapefile/states/layer.xml", KindLayer},
		{"workspaces/sf/sfdem/sfdem/layer.xml", KindLayer},
		{"styles/burg.xml", KindStyle},
		{"styles/point.xml", KindStyle},
		{"workspaces/ne/styles/coastline.xml", KindStyle},
		{"layergroups/spearfish.xml", KindLayerGroup},
		{"layergroups/tiger-ny.xml", KindLayerGroup},
		{"workspaces/ne/layergroups/world.xml", KindLayerGroup},
		// Cascaded WMS and WMTS, as GeoServer lays them out.
		{"workspaces/topp/remote/wmsstore.xml", KindWMSStore},
		{"workspaces/topp/remote/states/wmslayer.xml", KindWMSLayer},
		{"workspaces/topp/tiles/wmtsstore.xml", KindWMTSStore},
		{"workspaces/topp/tiles/states/wmtslayer.xml", KindWMTSLayer},
		{"workspaces/topp/remote/states/layer.xml", KindLayer},
		// One leading slash is tolerated.
		{"/workspaces/topp/workspace.xml", KindWorkspace},
		{"/styles/burg.xml", KindStyle},
		// The styles and layergroups folders win over the store layout.
		{"workspaces/topp/styles/datastore.xml", KindStyle},
		{"workspaces/topp/layergroups/layer.xml", KindLayerGroup},
		// A store folder that happens to be called styles still holds layers.
		{"workspaces/topp/styles/states/featuretype.xml", KindFeatureType},

		// Not catalog objects: style sources, service and settings files,
		// the default workspace copy, templates, data.
		{"styles/burg.sld", KindNone},
		{"styles/burg02.svg", KindNone},
		{"workspaces/ne/styles/coastline.sld", KindNone},
		{"global.xml", KindNone},
		{"logging.xml", KindNone},
		{"wms.xml", KindNone},
		{"wmts.xml", KindNone},
		{"workspaces/default.xml", KindNone},
		{"workspaces/ne/settings.xml", KindNone},
		{"workspaces/ne/wms.xml", KindNone},
		{"workspaces/ne/wfs.xml", KindNone},
		{"workspaces/topp/states_shapefile/states/description.ftl", KindNone},
		{"workspaces/topp/states_shapefile/states/title.ftl", KindNone},
		{"security/config.xml", KindNone},
		{"security/usergroup/default/users.xml", KindNone},
		{"validation/IntegrityCheck.xml", KindNone},
		{"layouts/style-editor-legend.xml", KindNone},
		{"coverages/arc_sample/info.xml", KindNone},
		{"citewms-1.1/styles/blue.xml", KindNone}, // not relative to the root
		{"gwc-layers/LayerInfoImpl--570ae188_124761b8d78_-7fc0.xml", KindNone},
		// Wrong depth or file name.
		{"workspace.xml", KindNone},
		{"workspaces/workspace.xml", KindNone},
		{"workspaces/topp/datastore.xml", KindNone},
		{"workspaces/topp/states_shapefile/workspace.xml", KindNone},
		{"workspaces/topp/states_shapefile/layer.xml", KindNone},
		{"workspaces/topp/states_shapefile/featuretype.xml", KindNone},
		{"workspaces/topp/states_shapefile/states/datastore.xml", KindNone},
		{"workspaces/topp/states_shapefile/states/extra/layer.xml", KindNone},
		{"styles/sub/burg.xml", KindNone},
		{"layergroups/sub/spearfish.xml", KindNone},
		{"workspaces/ne/styles/sub/coastline.xml", KindNone},
		{"other/topp/workspace.xml", KindNone},
		// Case matters, as on GeoServer's Linux file system.
		{"Workspaces/topp/workspace.xml", KindNone},
		{"workspaces/topp/Workspace.xml", KindNone},
		{"styles/burg.XML", KindNone},
		// Empty and dot segments are not a layout GeoServer writes.
		{"", KindNone},
		{"/", KindNone},
		{".xml", KindNone},
		{"styles/.xml", KindStyle}, // a hidden file is still a name
		{"workspaces//workspace.xml", KindNone},
		{"workspaces/topp//datastore.xml", KindNone},
		{"workspaces/../workspace.xml", KindNone},
		{"styles/../x.xml", KindNone},
		{"workspaces/./states/datastore.xml", KindNone},
		{"//styles/burg.xml", KindNone},
	}
	for _, tt := range tests {
		if got := Classify(tt.path); got != tt.want {
			t.Errorf("Classify(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestPathWorkspace(t *testing.T) {
	tests := []struct{ path, want string }{
		{"workspaces/topp/workspace.xml", "topp"},
		{"workspaces/topp/namespace.xml", "topp"},
		{"workspaces/topp/states_shapefile/states/layer.xml", "topp"},
		{"workspaces/it.geosolutions/workspace.xml", "it.geosolutions"},
		{"workspaces/ne/styles/coastline.xml", "ne"},
		{"/workspaces/ne/layergroups/world.xml", "ne"},
		{"workspaces/default.xml", ""},
		{"workspaces", ""},
		{"workspaces/", ""},
		{"styles/burg.xml", ""},
		{"layergroups/spearfish.xml", ""},
		{"global.xml", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := PathWorkspace(tt.path); got != tt.want {
			t.Errorf("PathWorkspace(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestKindRoot(t *testing.T) {
	roots := map[string]bool{}
	for _, k := range allKinds {
		r := k.Root()
		if r == "" {
			t.Errorf("%q.Root() is empty", k)
		}
		if roots[r] {
			t.Errorf("root <%s> used twice", r)
		}
		roots[r] = true
		if got := k.IsStore() || k.IsResource(); got && (k == KindLayer || k == KindWorkspace) {
			t.Errorf("%q is classed as store or resource", k)
		}
	}
	for _, k := range []Kind{KindNone, "layerGroup", "sld"} {
		if r := k.Root(); r != "" {
			t.Errorf("%q.Root() = %q, want empty", k, r)
		}
	}
	stores, resources := 0, 0
	for _, k := range allKinds {
		if k.IsStore() {
			stores++
		}
		if k.IsResource() {
			resources++
		}
	}
	if stores != 4 || resources != 4 {
		t.Errorf("%d store kinds and %d resource kinds, want 4 and 4", stores, resources)
	}
}
