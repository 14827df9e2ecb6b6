package catalog_test

import (
	"fmt"

	"github.com/gscluster/gscluster/internal/catalog"
)

func ExampleParse() {
	path := "workspaces/topp/states_shapefile/states/layer.xml"
	data := []byte(`<layer>
  <name>states</name>
  <id>LayerInfoImpl--570ae188:124761b8d78:-7fc0</id>
  <type>VECTOR</type>
  <defaultStyle>
    <id>StyleInfoImpl--570ae188:124761b8d78:-7fe5</id>
  </defaultStyle>
  <resource class="featureType">
    <id>FeatureTypeInfoImpl--570ae188:124761b8d78:-7fc1</id>
  </resource>
</layer>`)

	kind := catalog.Classify(path)
	o, err := catalog.Parse(kind, data)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(o.Kind, o.Name, "in workspace", catalog.PathWorkspace(path))
	for _, r := range o.Refs() {
		fmt.Println(r.Role, r.ID)
	}
	// Output:
	// layer states in workspace topp
	// resource FeatureTypeInfoImpl--570ae188:124761b8d78:-7fc1
	// defaultStyle StyleInfoImpl--570ae188:124761b8d78:-7fe5
}

func ExampleParse_error() {
	_, err := catalog.Parse(catalog.KindDataStore, []byte("<dataStore>\n  <id>DataStoreInfoImpl-1</id>\n  <name>roads</nme>\n</dataStore>"))
	fmt.Println(err)
	// Output:
	// parse datastore: line 3: element <name> closed by </nme>
}
