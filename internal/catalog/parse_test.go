package catalog

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseKinds(t *testing.T) {
	tru, fls := true, false
	tests := []struct {
		kind Kind
		xml  string
		want Object
	}{
		{KindWorkspace, `<workspace><id>ws1</id><name>topp</name><isolated>false</isolated></workspace>`,
			Object{ID: "ws1", Name: "topp"}},
		{KindNamespace, `<namespace><id>ns1</id><prefix>topp</prefix><uri>http://www.openplans.org/topp</uri></namespace>`,
			Object{ID: "ns1", Name: "topp", URI: "http://www.openplans.org/topp"}},
		{KindDataStore, `<dataStore><id>ds1</id><name>states_shapefile</name><type>Shapefile</type><enabled>true</enabled>
			<workspace><id>ws1</id></workspace>
			<connectionParameters><entry key="namespace">http://www.openplans.org/topp</entry><entry key="url">file:data/shapefiles/states.shp</entry></connectionParameters>
			</dataStore>`,
			Object{ID: "ds1", Name: "states_shapefile", Workspace: "ws1", Type: "Shapefile", Enabled: &tru}},
		{KindCoverageStore, `<coverageStore><id>cs1</id><name>sfdem</name><type>GeoTIFF</type><enabled>false</enabled>
			<workspace><id>ws1</id></workspace><__default>false</__default><url>file:data/sf/sfdem.tif</url></coverageStore>`,
			Object{ID: "cs1", Name: "sfdem", Workspace: "ws1", Type: "GeoTIFF", Enabled: &fls}},
		{KindWMSStore, `<wmsStore><id>wms1</id><name>remote</name><type>WMS</type><enabled>true</enabled>
			<workspace><id>ws1</id></workspace><capabilitiesURL>http://example.com/wms?</capabilitiesURL></wmsStore>`,
			Object{ID: "wms1", Name: "remote", Workspace: "ws1", Type: "WMS", Enabled: &tru}},
		{KindWMTSStore, `<wmtsStore><id>wmts1</id><name>tiles</name><type>WMTS</type>
			<workspace><id>ws1</id></workspace></wmtsStore>`,
			Object{ID: "wmts1", Name: "tiles", Workspace: "ws1", Type: "WMTS"}},
		{KindFeatureType, `<featureType><id>ft1</id><name>states</name><nativeName>STATES</nativeName>
			<namespace><id>ns1</id></namespace><enabled>true</enabled>
			<store class="dataStore"><id>ds1</id></store></featureType>`,
			Object{ID: "ft1", Name: "states", NativeName: "STATES", Namespace: "ns1", Store: "ds1", Enabled: &tru}},
		{KindCoverage, `<coverage><id>cv1</id><name>sfdem</name><nativeName>sfdem</nativeName>
			<namespace><id>ns1</id></namespace><store class="coverageStore"><id>cs1</id></store></coverage>`,
			Object{ID: "cv1", Name: "sfdem", NativeName: "sfdem", Namespace: "ns1", Store: "cs1"}},
		{KindWMSLayer, `<wmsLayer><id>wl1</id><name>states</name><nativeName>topp:states</nativeName>
			<namespace><id>ns1</id></namespace><store class="wmsStore"><id>wms1</id></store></wmsLayer>`,
			Object{ID: "wl1", Name: "states", NativeName: "topp:states", Namespace: "ns1", Store: "wms1"}},
		{KindWMTSLayer, `<wmtsLayer><id>wt1</id><name>states</name>
			<namespace><id>ns1</id></namespace><store class="wmtsStore"><id>wmts1</id></store></wmtsLayer>`,
			Object{ID: "wt1", Name: "states", Namespace: "ns1", Store: "wmts1"}},
		{KindLayer, `<layer><name>states</name><id>l1</id><path>/</path><type>VECTOR</type>
			<defaultStyle><id>st1</id></defaultStyle>
			<styles class="linked-hash-set"><style><id>st2</id></style><style/><style><id>st3</id></style></styles>
			<resource class="featureType"><id>ft1</id></resource><enabled>true</enabled></layer>`,
			Object{ID: "l1", Name: "states", Type: "VECTOR", DefaultStyle: "st1", Styles: []string{"st2", "st3"}, Resource: "ft1", Enabled: &tru}},
		{KindStyle, `<style><id>st1</id><name>coastline</name><workspace><id>ws1</id></workspace>
			<format>sld</format><languageVersion><version>1.0.0</version></languageVersion><filename>coastline.sld</filename></style>`,
			Object{ID: "st1", Name: "coastline", Workspace: "ws1", Format: "sld", Filename: "coastline.sld"}},
		{KindLayerGroup, `<layerGroup><id>lg1</id><name>world</name><mode>NAMED</mode><workspace><id>ws1</id></workspace>
			<publishables><published type="layer"><id>l1</id></published><published type="layerGroup"><id>lg2</id></published></publishables>
			<styles><style><id>st1</id></style><style/></styles></layerGroup>`,
			Object{ID: "lg1", Name: "world", Type: "NAMED", Workspace: "ws1", Layers: []string{"l1", "lg2"}, Styles: []string{"st1", ""}}},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			got, err := Parse(tt.kind, []byte(tt.xml))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			tt.want.Kind = tt.kind
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// Only top-level children count: names, ids and references nested in
// other elements, before or after the real ones, must not be picked up.
func TestParseTopLevelOnly(t *testing.T) {
	const doc = `<featureType>
  <metadata>
    <entry key="x"><id>META-ID</id><name>META-NAME</name></entry>
    <workspace><id>META-WS</id></workspace>
  </metadata>
  <keywords><string><name>KW</name></string></keywords>
  <id>ft1</id>
  <attributes>
    <attribute><name>the_geom</name><id>ATTR-ID</id></attribute>
  </attributes>
  <name>states</name>
  <namespace><id>ns1</id><metadata><id>NESTED</id></metadata></namespace>
  <store class="dataStore"><id>ds1</id></store>
  <virtualTable><name>VT</name><store><id>VT-STORE</id></store></virtualTable>
  <attributes><attribute><name>LATE</name></attribute></attributes>
</featureType>`
	got, err := Parse(KindFeatureType, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "ft1" || got.Name != "states" || got.Namespace != "ns1" || got.Store != "ds1" || got.Workspace != "" {
		t.Errorf("got %+v", got)
	}
}

func TestParseRefForms(t *testing.T) {
	tests := []struct{ ref, want string }{
		{`<workspace><id>WorkspaceInfoImpl--570ae188:124761b8d78:-7ffd</id></workspace>`, "WorkspaceInfoImpl--570ae188:124761b8d78:-7ffd"},
		{"<workspace>\n    <id>  ws1\n </id>\n  </workspace>", "ws1"},
		{`<workspace>ws1</workspace>`, "ws1"},
		{`<workspace>  topp  </workspace>`, "topp"},
		{`<workspace><name>topp</name></workspace>`, "topp"},
		{`<workspace><name>topp</name><id>ws1</id></workspace>`, "ws1"},
		{`<workspace><id>ws1</id><name>topp</name></workspace>`, "ws1"},
		{`<workspace><prefix>topp</prefix></workspace>`, "topp"},
		{`<workspace><other>x</other></workspace>`, ""},
		{`<workspace/>`, ""},
		{`<workspace><!-- c --><id>w<!-- c -->s1</id></workspace>`, "ws1"},
		{`<workspace><id>a&amp;b&#x3a;c</id></workspace>`, "a&b:c"},
		{`<workspace><id><![CDATA[ws<1>]]></id></workspace>`, "ws<1>"},
	}
	for _, tt := range tests {
		doc := `<dataStore><id>ds1</id><name>n</name>` + tt.ref + `</dataStore>`
		got, err := Parse(KindDataStore, []byte(doc))
		if err != nil {
			t.Errorf("%s: %v", tt.ref, err)
			continue
		}
		if got.Workspace != tt.want {
			t.Errorf("%s: Workspace = %q, want %q", tt.ref, got.Workspace, tt.want)
		}
	}
}

func TestParseLayerGroup(t *testing.T) {
	// A group with a nested group, a style group slot (<published/>), a
	// root layer, the pre-2.3 <layers> list and alternative styles.
	const doc = `<layerGroup>
  <id>lg1</id>
  <name>eo</name>
  <mode>EO</mode>
  <rootLayer><id>l0</id></rootLayer>
  <rootLayerStyle><id>st0</id></rootLayerStyle>
  <publishables>
    <published type="layer"><id>l1</id></published>
    <published/>
    <published type="layerGroup"><id>lg2</id></published>
  </publishables>
  <styles>
    <style/>
    <style><id>st2</id></style>
    <style/>
  </styles>
  <layerGroupStyles>
    <LayerGroupStyle>
      <id>lgs1</id>
      <name><name>night</name></name>
      <layers><published type="layer"><id>l1</id></published><published type="layer"><id>l3</id></published></layers>
      <styles><style><id>st9</id></style><style/></styles>
    </LayerGroupStyle>
  </layerGroupStyles>
  <metadata><entry key="rawStyleList"></entry></metadata>
</layerGroup>`
	got, err := Parse(KindLayerGroup, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := Object{
		Kind: KindLayerGroup, ID: "lg1", Name: "eo", Type: "EO",
		RootLayer: "l0", RootLayerStyle: "st0",
		Layers: []string{"l1", "", "lg2"},
		Styles: []string{"", "st2", ""},
		GroupStyles: []GroupStyle{{
			ID: "lgs1", Name: "night",
			Layers: []string{"l1", "l3"},
			Styles: []string{"st9", ""},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\nwant\n%+v", got, want)
	}
	wantRefs := []Ref{
		{"style", "st2"},
		{"layer", "l1"}, {"layer", "lg2"},
		{"rootLayer", "l0"}, {"rootLayerStyle", "st0"},
		{"groupStyleLayer", "l1"}, {"groupStyleLayer", "l3"},
		{"groupStyleStyle", "st9"},
	}
	if refs := got.Refs(); !reflect.DeepEqual(refs, wantRefs) {
		t.Errorf("Refs() =\n%v\nwant\n%v", refs, wantRefs)
	}

	// GeoServer 2.2 and earlier wrote <layers> instead of <publishables>.
	old := `<layerGroup><id>lg1</id><name>old</name><layers><layer><id>l1</id></layer><layer><id>l2</id></layer></layers></layerGroup>`
	got, err = Parse(KindLayerGroup, []byte(old))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Layers, []string{"l1", "l2"}) {
		t.Errorf("legacy <layers>: Layers = %q", got.Layers)
	}
}

func TestParseKindSpecificElements(t *testing.T) {
	// <mode> is a layer group's type; elsewhere <type> is. <layers> and
	// <publishables> mean something only in a layer group.
	got, err := Parse(KindLayer, []byte(`<layer><id>l1</id><mode>X</mode><type>VECTOR</type><layers><layer><id>x</id></layer></layers></layer>`))
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != "VECTOR" || got.Layers != nil {
		t.Errorf("layer: Type %q, Layers %q", got.Type, got.Layers)
	}
	got, err = Parse(KindLayerGroup, []byte(`<layerGroup><id>g</id><type>X</type><mode>SINGLE</mode></layerGroup>`))
	if err != nil {
		t.Fatal(err)
	}
	if got.Type != "SINGLE" {
		t.Errorf("layer group: Type %q, want SINGLE", got.Type)
	}
	// A namespace's name is its prefix; a stray <name> is not.
	got, err = Parse(KindNamespace, []byte(`<namespace><id>n</id><name>nope</name><prefix>topp</prefix></namespace>`))
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "topp" {
		t.Errorf("namespace: Name %q, want topp", got.Name)
	}
	// Enabled only when it is a boolean.
	for in, want := range map[string]string{"true": "true", "TRUE": "true", " false ": "false", "": "nil", "yes": "nil"} {
		got, err := Parse(KindLayer, []byte(`<layer><id>l</id><enabled>`+in+`</enabled></layer>`))
		if err != nil {
			t.Fatal(err)
		}
		s := "nil"
		if got.Enabled != nil {
			s = map[bool]string{true: "true", false: "false"}[*got.Enabled]
		}
		if s != want {
			t.Errorf("<enabled>%s</enabled>: %s, want %s", in, s, want)
		}
	}
}

func TestParseProlog(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string // Name
	}{
		{"declaration", `<?xml version="1.0" encoding="UTF-8"?>` + "\n<style><id>s</id><name>a</name></style>\n", "a"},
		{"comments and doctype", "<!-- c --><!DOCTYPE style>\n<style><id>s</id><name>a</name></style><!-- end -->\n\n", "a"},
		{"BOM", "\uFEFF<style><id>s</id><name>a</name></style>", "a"},
		{"latin1", "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><style><id>s</id><name>caf\xe9</name></style>", "café"},
		{"utf8 non-ASCII", "<style><id>s</id><name>Zürich_北京</name></style>", "Zürich_北京"},
	}
	for _, tt := range tests {
		got, err := Parse(KindStyle, []byte(tt.doc))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got.Name != tt.want || got.ID != "s" {
			t.Errorf("%s: got ID %q Name %q, want s %q", tt.name, got.ID, got.Name, tt.want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		doc  string
		line int    // 0: do not check
		msg  string // substring of the message
	}{
		{"not a kind", KindNone, `<layer><id>l</id></layer>`, 0, `"" is not a catalog kind`},
		{"unknown kind", "dataStore", `<dataStore><id>d</id></dataStore>`, 0, `"dataStore" is not a catalog kind`},
		{"empty", KindLayer, ``, 0, "no root element"},
		{"white space only", KindLayer, "  \n ", 0, "no root element"},
		{"text", KindLayer, `layer`, 1, "text before the root element"},
		{"wrong root", KindDataStore, `<coverageStore><id>c</id></coverageStore>`, 1, "root element is <coverageStore>, want <dataStore>"},
		{"root case", KindLayerGroup, `<layergroup><id>c</id></layergroup>`, 1, "root element is <layergroup>, want <layerGroup>"},
		{"prefixed root", KindLayer, `<gs:layer xmlns:gs="x"><id>l</id></gs:layer>`, 1, "root element is <gs:layer>, want <layer>"},
		{"SLD in place of a style", KindStyle, `<?xml version="1.0"?>` + "\n" + `<StyledLayerDescriptor version="1.0.0"><NamedLayer/></StyledLayerDescriptor>`, 2, "root element is <StyledLayerDescriptor>, want <style>"},
		{"no id", KindLayer, `<layer><name>states</name></layer>`, 0, "no <id> in <layer>"},
		{"empty id", KindLayer, `<layer><id> </id><name>states</name></layer>`, 0, "no <id> in <layer>"},
		{"nested id only", KindLayer, `<layer><metadata><id>x</id></metadata></layer>`, 0, "no <id> in <layer>"},
		{"two ids", KindLayer, "<layer>\n<id>a</id>\n<id>b</id></layer>", 3, "more than one <id> in <layer>"},
		{"two names", KindWorkspace, "<workspace><id>a</id><name>x</name><name>y</name></workspace>", 1, "more than one <name> in <workspace>"},
		{"two resources", KindLayer, "<layer><id>a</id><resource><id>r</id></resource>\n<resource><id>s</id></resource></layer>", 2, "more than one <resource> in <layer>"},
		{"mismatched", KindLayer, "<layer>\n  <id>a</id>\n  <name>x</nam>\n</layer>", 3, "element <name> closed by </nam>"},
		{"mismatched in skipped subtree", KindFeatureType, "<featureType><id>a</id>\n<attributes>\n<attribute><name>x</name></attributes>\n</attribute></featureType>", 3, "element <attribute> closed by </attributes>"},
		{"truncated", KindFeatureType, "<featureType>\n<id>a</id>\n<attributes>\n<attribute>", 4, "unexpected end of file inside <attribute>"},
		{"truncated in tag", KindLayer, "<layer>\n<id>a</id>\n<na", 3, "unexpected EOF"},
		{"unclosed root", KindLayer, "<layer><id>a</id>", 0, "unexpected end of file inside <layer>"},
		{"second root", KindLayer, "<layer><id>a</id></layer>\n<layer><id>b</id></layer>", 2, "second root element <layer>"},
		{"text after root", KindLayer, "<layer><id>a</id></layer>\ngarbage", 2, "text after the root element"},
		{"NUL after root", KindLayer, "<layer><id>a</id></layer>\x00\x00", 1, "illegal character code U+0000"},
		{"stray end", KindLayer, "<layer><id>a</id></layer></layer>", 1, "unexpected end element </layer>"},
		{"bad entity", KindLayer, "<layer>\n<id>a&nbsp;b</id></layer>", 2, "invalid character entity &nbsp;"},
		{"bad attribute", KindLayer, "<layer><id>a</id><resource class=featureType><id>r</id></resource></layer>", 1, "unquoted or missing attribute value"},
		{"unsupported encoding", KindLayer, `<?xml version="1.0" encoding="EBCDIC"?><layer><id>a</id></layer>`, 0, `unsupported encoding "EBCDIC"`},
		{"invalid UTF-8", KindLayer, "<layer><id>a\xff</id></layer>", 1, "invalid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := Parse(tt.kind, []byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", o)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a *ParseError", err, err)
			}
			if o.Kind != tt.kind || pe.Kind != tt.kind {
				t.Errorf("Object.Kind %q, ParseError.Kind %q, want %q", o.Kind, pe.Kind, tt.kind)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "parse "+string(tt.kind)+": ") {
				t.Errorf("message %q does not start with the kind", msg)
			}
			if !strings.Contains(msg, tt.msg) {
				t.Errorf("message %q does not say %q", msg, tt.msg)
			}
			if tt.line != 0 && pe.Line != tt.line {
				t.Errorf("line %d, want %d (%s)", pe.Line, tt.line, msg)
			}
		})
	}
}

// What was read before an error comes back with it, for the index.
func TestParseErrorKeepsWhatWasRead(t *testing.T) {
	o, err := Parse(KindLayer, []byte("<layer><name>states</name><id>l1</id><resource><id>ft1</id></resource><styles><style><id>s1</id>"))
	if err == nil {
		t.Fatal("Parse succeeded on a truncated file")
	}
	if o.Kind != KindLayer || o.ID != "l1" || o.Name != "states" || o.Resource != "ft1" {
		t.Errorf("got %+v", o)
	}
}

func TestRefsSkipsEmpty(t *testing.T) {
	o := Object{Workspace: "w", Styles: []string{"", "s"}, Layers: []string{""}}
	want := []Ref{{"workspace", "w"}, {"style", "s"}}
	if got := o.Refs(); !reflect.DeepEqual(got, want) {
		t.Errorf("Refs() = %v, want %v", got, want)
	}
	if got := (&Object{}).Refs(); got != nil {
		t.Errorf("Refs() of an empty object = %v", got)
	}
}

func TestParseDoesNotKeepInput(t *testing.T) {
	data := []byte(`<layer><id>l1</id><name>states</name><resource><id>ft1</id></resource><styles><style><id>s1</id></style></styles></layer>`)
	o, err := Parse(KindLayer, data)
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		data[i] = 'x'
	}
	if o.ID != "l1" || o.Name != "states" || o.Resource != "ft1" || o.Styles[0] != "s1" {
		t.Errorf("result changed with its input: %+v", o)
	}
}
