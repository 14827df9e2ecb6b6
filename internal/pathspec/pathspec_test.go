package pathspec

import "testing"

func TestLocal(t *testing.T) {
	m, err := New("data/cache/**")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path  string
		local bool
	}{
		{"", false},
		{"global.xml", false},
		{"logs", true},
		{"logs/geoserver.log", true},
		{"logsx/a", false},
		{"temp", true},
		{"tmp/x/y", true},
		{"legendsamples/a.png", true},
		{"filelocks/x.lock", true},
		{"workspaces/topp/workspace.xml.lock", true},
		{"global.xml.lock", true},
		{"workspaces/topp/workspace.xml", false},
		{"gwc", false},
		{"gwc/geowebcache.xml", false},
		{"gwc/geowebcache-diskquota.xml", false},
		{"gwc/geowebcache-diskquota-jdbc.xml", false},
		{"gwc/topp_states/EPSG_4326_01/0_0/00_00.png", true},
		{"gwc/topp_states", true},
		{"gwc-layers/x.xml", false},
		{"gwc-gs.xml", false},
		{"data/cache/a", true},
		{"data/shapefiles/states.shp", false},
	} {
		if got := m.Local(c.path); got != c.local {
			t.Errorf("Local(%q) = %v, want %v", c.path, got, c.local)
		}
	}
}

func TestBadGlob(t *testing.T) {
	if _, err := New("a/[b"); err == nil {
		t.Fatal("New accepted a malformed glob")
	}
}
